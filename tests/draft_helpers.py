"""Helpers for the workspace and draft tests (``test_staging``, ``test_drafts``, ``test_apply``,
``test_review_live``): a scriptable editing agent, and ways to look at goals, staging folders,
drafts and whole trees from outside, the way a user's tools would see them.

Sessions are started with the ``live`` fixture of ``live_helpers`` (real ``ta``, real hosts, a
leak check at teardown).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from live_helpers import PYTHON, Live, wait_for

DRAFT_AGENTS = Path(__file__).resolve().parent / "draft_agents"
EDITOR = DRAFT_AGENTS / "editor.py"
URI = "fs://workspace/"

Op = tuple[str, str] | tuple[str, str, str]


def editor(ops: list[Op] | None = None, listen: Path | None = None) -> list[str]:
    """The command line of the editing agent (see ``draft_agents/editor.py``)."""
    argv = [PYTHON, str(EDITOR), json.dumps([list(op) for op in ops or []])]
    return argv + (["--listen", str(listen)] if listen is not None else [])


def sha(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def session_file(live: Live, sid: str) -> Path:
    return live.ta_dir / "interactive_sessions" / f"{sid}.json"


def session_record(live: Live, sid: str) -> dict[str, Any]:
    return json.loads(session_file(live, sid).read_text())


def goal_record(live: Live, sid: str) -> dict[str, Any]:
    goal_id = session_record(live, sid)["goal_id"]
    return json.loads((live.ta_dir / "goals" / f"{goal_id}.json").read_text())


def staging_of(live: Live, sid: str) -> Path:
    return live.ta_dir / "staging" / session_record(live, sid)["goal_id"]


def draft_files(live: Live) -> dict[str, dict[str, Any]]:
    folder = live.ta_dir / "drafts"
    if not folder.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


def draft(live: Live, draft_id: str) -> dict[str, Any]:
    return json.loads((live.ta_dir / "drafts" / f"{draft_id}.json").read_text())


def artifacts_by_path(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["resource_uri"].removeprefix(URI): a for a in record["artifacts"]}


def finish(live: Live, sid: str) -> None:
    """Wait until the agent has exited and the host has finished the session."""
    live.wait_state(sid, "completed")
    live.wait_host_gone(sid)


def run_goal(live: Live, ops: list[Op] | None = None) -> str:
    """``ta run`` the editing agent with ``ops``; wait until the host has finished."""
    sid = live.start(*editor(ops))
    finish(live, sid)
    return sid


def only_draft_of(live: Live, sid: str) -> dict[str, Any]:
    ids = session_record(live, sid).get("draft_ids", [])
    assert len(ids) == 1, ids
    return draft(live, ids[0])


def wait_draft(live: Live, sid: str, count: int = 1) -> str:
    """The id of the session's ``count``-th draft, once it is recorded."""

    def ready() -> str | None:
        ids = session_record(live, sid).get("draft_ids", [])
        return ids[count - 1] if len(ids) >= count else None

    return wait_for(ready, what=f"draft #{count} of session {sid}")


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every path under ``root`` except ``.ta/``: kind, mode, content or link target, mtime.

    Folder mtimes are left out (creating and removing entries changes them legitimately).
    """
    out: dict[str, tuple[Any, ...]] = {}
    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        if rel_folder == ".":
            dirs[:] = [d for d in dirs if d != ".ta"]
        for name in sorted(dirs + files):
            path = os.path.join(folder, name)
            rel = os.path.normpath(os.path.join(rel_folder, name))
            st = os.lstat(path)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode)
            else:
                out[rel] = ("file", mode, Path(path).read_bytes(), st.st_mtime_ns)
    return out


def tree_files(root: Path) -> set[str]:
    """Relative paths of everything under ``root`` (folders with a trailing ``/``)."""
    out = set()
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        for name in dirs:
            path = os.path.join(folder, name)
            suffix = "" if os.path.islink(path) else "/"
            out.add(os.path.normpath(os.path.join(rel, name)) + suffix)
        for name in files:
            out.add(os.path.normpath(os.path.join(rel, name)))
    return out


def audit_actions(live: Live, sid: str, action: str) -> list[dict[str, Any]]:
    return [e for e in live.audit(sid) if e["action"] == action]
