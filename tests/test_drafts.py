"""Building and showing drafts (SPEC §2.3, §7): artifacts for every kind of change, what is
hashed, where draft ids are recorded, rebuilds, a vanished staging folder, and the CLI views.

Sessions are real (``ta run`` with the editing agent of ``draft_agents/editor.py``); drafts are
read back from ``.ta/drafts/`` as files.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import ta_session.workspace.drafts as drafts_module
from draft_helpers import (
    URI,
    artifacts_by_path,
    audit_actions,
    draft,
    draft_files,
    editor,
    finish,
    goal_record,
    only_draft_of,
    run_goal,
    session_file,
    session_record,
    sha,
    staging_of,
    wait_draft,
    write,
)
from live_helpers import (
    TIMEOUT,
    Live,
    is_running,
    live_fixture,  # noqa: F401  (the `live` fixture)
    wait_for,
)
from ta_session.workspace.drafts import build_artifacts
from ta_session.workspace.staging import create_staging

BIN_OLD = b"\x89PNG\x00\x01\x02"
BIN_NEW = b"\x89PNG\x00\x01\x02\x03\xff\x00"


def test_artifacts_for_add_modify_delete_binary_symlink_and_mode_change(live: Live) -> None:
    write(live.root, {
        "mod.txt": "line1\nline2\n", "gone.txt": "old\n", "bin.dat": BIN_OLD,
        "script.sh": "#!/bin/sh\n", "untouched.txt": "same\n",
    })  # fmt: skip
    os.chmod(live.root / "script.sh", 0o644)
    os.symlink("mod.txt", live.root / "link_old")
    ops = [
        ("write", "mod.txt", "line1\nLINE2\n"),
        ("delete", "gone.txt"),
        ("write", "added.txt", "fresh\n"),
        ("bytes", "bin.dat", BIN_NEW.hex()),
        ("bytes", "newbin.png", BIN_OLD.hex()),
        ("symlink", "link_old", "added.txt"),
        ("symlink", "newlink", "mod.txt"),
        ("chmod", "script.sh", "755"),
    ]
    sid = run_goal(live, ops)

    record = only_draft_of(live, sid)  # built by the host when the agent exited
    assert record["status"] == "pending_review"
    assert record["session_id"] == sid and record["goal_id"] == session_record(live, sid)["goal_id"]
    assert record["summary"] == "3 added, 4 modified, 1 deleted"
    arts = artifacts_by_path(record)
    assert list(arts) == sorted(arts)  # one artifact per path, in path order
    assert set(arts) == {"mod.txt", "gone.txt", "added.txt", "bin.dat", "newbin.png",
                         "link_old", "newlink", "script.sh"}  # fmt: skip
    for path, a in arts.items():
        assert a["resource_uri"] == URI + path
        assert a["disposition"] == "pending"
        assert a["decided_by"] is a["decided_at"] is a["reason"] is None

    text, binary = {"kind": "file", "binary": False}, {"kind": "file", "binary": True}
    link = {"kind": "symlink", "binary": False, "diff": None}
    expected: dict[str, dict[str, object]] = {
        "mod.txt": {**text, "change_type": "modify",
                    "base_hash": sha("line1\nline2\n"), "new_hash": sha("line1\nLINE2\n"),
                    "diff": "--- a/mod.txt\n+++ b/mod.txt\n@@ -1,2 +1,2 @@\n"
                            " line1\n-line2\n+LINE2\n"},
        "gone.txt": {**text, "change_type": "delete", "base_hash": sha("old\n"),
                     "new_hash": None, "base_size": 4, "new_size": None,
                     "diff": "--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-old\n"},
        "added.txt": {**text, "change_type": "add", "base_hash": None,
                      "new_hash": sha("fresh\n"), "base_size": None, "new_size": 6,
                      "diff": "--- /dev/null\n+++ b/added.txt\n@@ -0,0 +1 @@\n+fresh\n"},
        # Binary: a marker with sizes and hashes, never a diff.
        "bin.dat": {**binary, "change_type": "modify", "base_hash": sha(BIN_OLD),
                    "new_hash": sha(BIN_NEW), "base_size": len(BIN_OLD),
                    "new_size": len(BIN_NEW), "diff": None},
        "newbin.png": {**binary, "change_type": "add", "base_hash": None,
                       "new_hash": sha(BIN_OLD), "new_size": len(BIN_OLD), "diff": None},
        # Symlinks: the hash is of the link target; a changed target and an added link.
        "link_old": {**link, "change_type": "modify", "base_hash": sha("mod.txt"),
                     "new_hash": sha("added.txt"), "link_target": "added.txt"},
        "newlink": {**link, "change_type": "add", "base_hash": None,
                    "new_hash": sha("mod.txt"), "link_target": "mod.txt"},
        # chmod +x: same content, new mode, nothing to diff.
        "script.sh": {**text, "change_type": "modify", "base_hash": sha("#!/bin/sh\n"),
                      "new_hash": sha("#!/bin/sh\n"), "base_mode": "0644",
                      "new_mode": "0755", "diff": None},
    }  # fmt: skip
    for path, want in expected.items():
        assert {k: arts[path][k] for k in want} == want, path

    # The host recorded the draft when the agent exited: message and audit event.
    messages = [m["content"] for m in live.messages(sid)]
    short = record["draft_id"][:8]
    assert f"Draft {short} ready: 3 added, 4 modified, 1 deleted (8 artifacts)" in messages
    (built,) = audit_actions(live, sid, "draft_built")
    assert built["details"]["draft_id"] == record["draft_id"]
    assert built["details"]["artifacts"] == [URI + p for p in sorted(arts)]

    # `ta draft view` says the same in words: the binary marker and the mode change.
    view = live.ok("draft", "view", short)
    sizes = f"{len(BIN_OLD)} → {len(BIN_NEW)} bytes"
    assert f"binary file: {sizes}, {sha(BIN_OLD)} → {sha(BIN_NEW)}" in view
    assert "modified script.sh  (mode 644 → 755)" in view
    assert "symlink → added.txt" in view
    assert "\x1b" not in view


def test_a_touched_file_is_not_an_artifact(live: Live) -> None:
    write(live.root, {"a.txt": "alpha\n", "b.txt": "beta\n", "c.txt": "gamma\n"})
    ops = [("touch", "a.txt"), ("write", "b.txt", "beta\n"), ("append", "c.txt", "delta\n")]
    sid = run_goal(live, ops)
    staging = staging_of(live, sid)
    assert os.stat(staging / "a.txt").st_mtime_ns != os.stat(live.root / "a.txt").st_mtime_ns
    assert os.stat(staging / "b.txt").st_mtime_ns != os.stat(live.root / "b.txt").st_mtime_ns
    record = only_draft_of(live, sid)
    assert list(artifacts_by_path(record)) == ["c.txt"]

    # Only touched, nothing changed: no draft at all.
    other = run_goal(live, [("touch", "a.txt"), ("write", "b.txt", "beta\n")])
    assert session_record(live, other).get("draft_ids", []) == []
    assert len(draft_files(live)) == 1


def _tree(root: Path, count: int) -> list[str]:
    paths = []
    for i in range(count):
        rel = f"d{i % 7}/sub{i % 3}/f{i:03}.txt"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {i}\n" * (i % 5 + 1))
        # An old mtime: a same-size edit made now is certain to change it.
        os.utime(path, ns=(1_500_000_000_000_000_000, 1_500_000_000_000_000_000))
        paths.append(rel)
    return paths


def test_only_changed_files_are_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, staging = tmp_path / "src", tmp_path / "staging"
    paths = _tree(source, 200)
    manifest = create_staging(source, staging)
    assert sum(1 for e in manifest.values() if e.kind == "file") == 200

    hashed: list[str] = []
    real = drafts_module.digest_file

    def counting(path: Path | str) -> str:
        hashed.append(os.path.relpath(path, staging))
        return real(path)

    monkeypatch.setattr(drafts_module, "digest_file", counting)
    same_size, longer, touched = paths[10], paths[150], paths[77]
    text = (staging / same_size).read_text()
    (staging / same_size).write_text(text.upper())  # same size: only the mtime tells
    (staging / longer).write_text("longer now\n" * 9)

    artifacts = build_artifacts(manifest, source, staging)
    assert [a.path for a in artifacts] == sorted([same_size, longer])
    assert sorted(hashed) == sorted([same_size, longer])

    hashed.clear()
    os.utime(staging / touched)  # mtime changes, content does not
    artifacts = build_artifacts(manifest, source, staging)
    assert [a.path for a in artifacts] == sorted([same_size, longer])
    assert sorted(hashed) == sorted([same_size, longer, touched])  # checked, not an artifact


def test_draft_ids_in_session_show_and_in_the_session_file(live: Live) -> None:
    write(live.root, {"a.txt": "a\n", "b.txt": "b\n"})
    sid = run_goal(live, [("append", "a.txt", "more\n")])
    first = wait_draft(live, sid, 1)
    (staging_of(live, sid) / "b.txt").write_text("b changed\n")
    out = live.ok("draft", "build")
    second = wait_draft(live, sid, 2)
    assert f"Draft {second} built: 2 modified." in out

    # The session file, in the reference's exact format (field order, 2-space indent, one id
    # per line, no trailing newline).
    raw = session_file(live, sid).read_text(encoding="utf-8")
    data = json.loads(raw)
    assert list(data) == ["session_id", "goal_id", "channel_id", "agent_id", "state",
                          "created_at", "updated_at", "messages", "draft_ids"]  # fmt: skip
    assert data["draft_ids"] == [first, second]
    assert raw == json.dumps(data, indent=2, ensure_ascii=False)
    assert raw.endswith(f'  "draft_ids": [\n    "{first}",\n    "{second}"\n  ]\n}}')

    shown = live.show(sid)
    assert shown["draft_ids"] == [first, second]
    assert shown["drafts"] == [{"draft_id": first, "status": "superseded"},
                               {"draft_id": second, "status": "pending_review"}]  # fmt: skip
    text = live.ok("session", "show", sid)
    lines = text.splitlines()
    i = lines.index("Drafts:")
    assert lines[i + 1].split() == [first, "superseded"]
    assert lines[i + 2].split() == [second, "pending_review"]
    assert f"Draft {second[:8]} ready: 2 modified (2 artifacts)" in text


def test_a_rebuild_supersedes_the_pending_draft_and_no_changes_builds_nothing(live: Live) -> None:
    write(live.root, {"a.txt": "a\n", "b.txt": "b\n"})
    sid = run_goal(live, [("append", "a.txt", "more\n")])
    first = wait_draft(live, sid, 1)
    live.ok("draft", "approve", first, "--artifact", "a.txt")
    assert draft(live, first)["status"] == "approved"

    (staging_of(live, sid) / "b.txt").write_text("b changed\n")
    goal_id = session_record(live, sid)["goal_id"]
    live.ok("draft", "build", goal_id[:8])
    second = wait_draft(live, sid, 2)
    assert draft(live, first)["status"] == "superseded"
    newer = draft(live, second)
    assert newer["status"] == "pending_review"
    assert [a["disposition"] for a in newer["artifacts"]] == ["pending", "pending"]
    (superseded,) = audit_actions(live, sid, "draft_superseded")
    assert superseded["details"] == {"draft_id": first, "by": second}

    # A superseded draft takes no more decisions and cannot be applied.
    result = live.ta("draft", "apply", first)
    assert result.returncode == 1 and "superseded" in result.stderr
    result = live.ta("draft", "reject", first, "--reason", "late")
    assert result.returncode == 1 and "superseded" in result.stderr
    assert (live.root / "a.txt").read_text() == "a\n"

    # Another goal with changes of its own does not touch this goal's draft; a goal without
    # changes gets a clear message and no draft.
    other = run_goal(live, [("write", "c.txt", "c\n")])
    assert len(session_record(live, other)["draft_ids"]) == 1
    assert draft(live, second)["status"] == "pending_review"
    idle = run_goal(live, [])
    assert session_record(live, idle).get("draft_ids", []) == []
    before = set(draft_files(live))
    result = live.ta("draft", "build", goal_record(live, idle)["goal_id"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "No changes in the workspace: no draft was built.\n"
    assert set(draft_files(live)) == before


# ----------------------------------------------------------------------- vanished staging


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ta: error: ") and "Traceback" not in result.stderr
    return lines[0]


def test_a_deleted_staging_folder_is_a_clear_error_for_draft_build(live: Live) -> None:
    write(live.root, {"a.txt": "a\n"})
    sid = run_goal(live, [])
    staging = staging_of(live, sid)
    shutil.rmtree(staging)
    result = live.ta("draft", "build")
    assert result.returncode == 1
    line = _one_error_line(result)
    assert f"the staging workspace {staging} no longer exists" in line
    assert draft_files(live) == {}


def test_a_live_session_whose_staging_was_removed_can_still_be_closed(
    live: Live, tmp_path: Path
) -> None:
    write(live.root, {"a.txt": "a\n"})
    sid = live.start(*editor([("append", "a.txt", "b\n")], listen=tmp_path / "heard.log"))
    live.wait_output(sid, "EDITS DONE")
    shutil.rmtree(staging_of(live, sid))

    result = live.ta("draft", "build")  # through the live host
    assert result.returncode == 1 and "no longer exists" in _one_error_line(result)

    result = live.ta("session", "close", sid)
    assert result.returncode == 0, result.stderr
    assert "completed" in result.stdout
    finish(live, sid)
    assert session_record(live, sid)["state"] == "completed"
    assert any(m["content"].startswith("No draft: ") for m in live.messages(sid))
    assert draft_files(live) == {}


def test_a_lost_session_whose_staging_was_removed_can_still_be_closed(
    live: Live, tmp_path: Path
) -> None:
    write(live.root, {"a.txt": "a\n"})
    sid = live.start(*editor([("append", "a.txt", "b\n")], listen=tmp_path / "heard.log"))
    live.wait_output(sid, "EDITS DONE")
    host, agent_pid = live.host_pid(sid), live.agent_pid(sid)
    os.kill(host, signal.SIGKILL)
    wait_for(lambda: not is_running(host) and not is_running(agent_pid), TIMEOUT,
             what="the killed host and its agent to be gone")  # fmt: skip
    assert live.listed(sid)["host"]["status"] == "lost"
    shutil.rmtree(staging_of(live, sid))

    result = live.ta("session", "close", sid)
    assert result.returncode == 0, result.stderr
    assert "No draft: the staging workspace" in result.stdout
    assert "closed (active → completed)" in result.stdout
    assert session_record(live, sid)["state"] == "completed"
    assert draft_files(live) == {}


# ----------------------------------------------------------------------- list / view


def _script(live: Live, *args: str, env: dict[str, str]) -> str:
    """Run ``ta`` under ``script``: its stdout is a real pseudo-terminal."""
    command = " ".join([live.ta_command(), *args])
    result = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        cwd=live.root, env=env, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result
    return result.stdout


def test_draft_list_and_view_json_and_diffs_coloured_only_on_a_terminal(live: Live) -> None:
    write(live.root, {"mod.txt": "line1\nline2\n", "bin.dat": BIN_OLD})
    sid = run_goal(live, [("write", "mod.txt", "line1\nLINE2\n"), ("write", "new.txt", "n\n"),
                          ("bytes", "bin.dat", BIN_NEW.hex())])  # fmt: skip
    record = only_draft_of(live, sid)
    draft_id = record["draft_id"]

    listed = live.json("draft", "list", "--json")
    assert [d["draft_id"] for d in listed] == [draft_id]
    assert listed[0]["status"] == "pending_review" and listed[0]["session_id"] == sid
    assert [a["resource_uri"] for a in listed[0]["artifacts"]] == [
        URI + "bin.dat",
        URI + "mod.txt",
        URI + "new.txt",
    ]
    assert all("diff" not in a for a in listed[0]["artifacts"])  # a listing stays small
    goal_id = record["goal_id"]
    assert [d["draft_id"] for d in live.json("draft", "list", "--json", "--goal", goal_id)] == [
        draft_id
    ]

    viewed = live.json("draft", "view", draft_id[:8], "--json")
    assert viewed == record  # the whole record, as stored

    text = live.ok("draft", "list")
    assert draft_id in text and "1 draft(s)." in text
    plain = live.ok("draft", "view", draft_id)
    assert "\x1b" not in plain
    for artifact in record["artifacts"]:
        if artifact["diff"]:
            assert artifact["diff"].rstrip("\n") in plain
    assert "modified mod.txt" in plain and "added    new.txt" in plain

    env = {k: v for k, v in live.env.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"
    coloured = _script(live, "draft", "view", draft_id, env=env)
    assert "\x1b[32m+LINE2\x1b[0m" in coloured
    assert "\x1b[31m-line2\x1b[0m" in coloured
    assert "\x1b[36m@@ -1,2 +1,2 @@\x1b[0m" in coloured
    # NO_COLOR is honoured on a terminal too.
    assert "\x1b[" not in _script(live, "draft", "view", draft_id, env={**env, "NO_COLOR": "1"})
