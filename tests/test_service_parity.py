"""One session service for every path: the CLI's commands give the same results and the same
errors whether the session's host is live (the command asks it over its socket) or lost (the
service writes the records itself, under the session's lock).

Each test runs the same commands against two sessions of one project, one with a live host and
one whose host was killed with SIGKILL, and compares what a user sees: exit codes, output (with
the ids put in neutral form) and the records left behind.
"""

from __future__ import annotations

import ast
import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from draft_helpers import URI, editor, goal_record, session_record, wait_draft
from live_helpers import Live, live_fixture, wait_for

live = live_fixture
SRC = Path(__file__).resolve().parents[1] / "src" / "ta_session"


def start_listening(live: Live, tmp_path: Path, name: str) -> str:
    """A session whose agent made one edit and keeps running (reading its input)."""
    log = tmp_path / f"{name}.heard"
    sid = live.start(*editor([("write", "a.txt", "new\n")], listen=log), title=name)
    live.wait_output(sid, "EDITS DONE")
    return sid


def make_lost(live: Live, sid: str) -> None:
    """Kill the host the hard way: the session stays active, with no host (lost)."""
    os.kill(live.host_pid(sid), signal.SIGKILL)
    wait_for(lambda: live.listed(sid)["host"]["status"] == "lost", what="the host to be lost")


def neutral(text: str, sid: str, draft_ids: list[str]) -> str:
    """``text`` with this session's and its drafts' ids replaced by placeholders."""
    for i, draft_id in enumerate(draft_ids):
        text = text.replace(draft_id, f"<draft{i}>").replace(draft_id[:8], f"<draft{i}>")
    return text.replace(sid, "<session>").replace(sid[:8], "<session>")


def seen(live: Live, sid: str, *args: str) -> tuple[int, str, str]:
    """Run ``ta ARGS`` (``{S}`` stands for the session id, ``{D}`` for its newest draft)."""
    drafts = session_record(live, sid).get("draft_ids", [])
    argv = [a.replace("{S}", sid).replace("{D}", drafts[-1] if drafts else "none") for a in args]
    result = live.ta(*argv)
    drafts = session_record(live, sid).get("draft_ids", [])
    return (result.returncode, neutral(result.stdout, sid, drafts),
            neutral(result.stderr, sid, drafts))  # fmt: skip


@pytest.fixture
def pair(live: Live, tmp_path: Path) -> dict[str, str]:
    """Two sessions in the same state: one with a live host, one lost."""
    sessions = {"live": start_listening(live, tmp_path, "live"),
                "lost": start_listening(live, tmp_path, "lost")}  # fmt: skip
    make_lost(live, sessions["lost"])
    assert live.host_live(sessions["live"])
    return sessions


def same_for_both(live: Live, pair: dict[str, str], *args: str) -> tuple[int, str, str]:
    live_seen = seen(live, pair["live"], *args)
    lost_seen = seen(live, pair["lost"], *args)
    assert live_seen == lost_seen, f"ta {' '.join(args)}: live {live_seen} != lost {lost_seen}"
    return live_seen


def records(live: Live, sid: str) -> dict[str, Any]:
    """What the session left behind, in a form comparable across sessions."""
    session = session_record(live, sid)
    return {
        "state": session["state"],
        "goal_state": goal_record(live, sid)["state"],
        "drafts": len(session.get("draft_ids", [])),
        # The host's record, socket and lock go; its diagnostic log (``<id>.log``) stays.
        "run_files": sorted(
            p.name for p in (live.ta_dir / "run").glob(f"{sid}.*") if p.suffix != ".log"
        ),
    }


def test_close_draft_decisions_and_refusals_are_the_same_live_and_lost(
    live: Live, pair: dict[str, str]
) -> None:
    # A draft built now: through the live host, or by the service itself.
    for name, sid in pair.items():
        goal = session_record(live, sid)["goal_id"]
        result = live.ta("draft", "build", goal)
        assert result.returncode == 0, (name, result.stderr)
        assert re.search(r"Draft \S+ built: 1 added\.", result.stdout), (name, result.stdout)
        wait_draft(live, sid)

    # Refusals read the same on both paths, and change nothing.
    code, _, err = same_for_both(live, pair, "draft", "approve", "{D}", "--artifact", "nope.txt")
    assert code == 1 and "nope.txt" in err
    code, _, err = same_for_both(live, pair, "session", "send", "{S}", "")
    assert code == 2 and err.count("\n") == 1

    # Decisions are recorded the same way.
    code, out, _ = same_for_both(live, pair, "draft", "reject", "{D}", "--artifact",
                                 f"{URI}a.txt", "--reason", "not like this")  # fmt: skip
    assert code == 0 and "Rejected" in out and "draft is" in out

    # Closing: the same summary and the same note about the draft built at the end.
    code, out, err = same_for_both(live, pair, "session", "close", "{S}")
    assert code == 0, err
    assert "Session <session> closed (active → completed)." in out
    assert "No changes in the workspace: no draft." in out or "built" in out
    assert records(live, pair["live"]) == records(live, pair["lost"])
    assert records(live, pair["live"])["goal_state"] == "completed"
    assert records(live, pair["live"])["run_files"] == []

    # Once ended, every path gives the same answers.
    code, out, _ = same_for_both(live, pair, "session", "close", "{S}")
    assert code == 0 and "already completed — nothing to close" in out
    code, _, err = same_for_both(live, pair, "session", "abort", "{S}")
    assert code == 1
    assert "already completed — it cannot be aborted" in err
    for command in ("pause", "send", "answer"):
        extra = ["hello"] if command in ("send", "answer") else []
        code, _, err = same_for_both(live, pair, "session", command, "{S}", *extra)
        assert code == 1 and "has ended" in err, (command, err)


def test_abort_is_the_same_live_and_lost(live: Live, pair: dict[str, str]) -> None:
    code, out, err = same_for_both(live, pair, "session", "abort", "{S}", "--reason", "wrong way")
    assert code == 0, err
    assert out == "Session <session> aborted (active → aborted).\n"
    assert records(live, pair["live"]) == records(live, pair["lost"])
    assert records(live, pair["live"]) == {
        "state": "aborted", "goal_state": "aborted", "drafts": 0, "run_files": []
    }  # fmt: skip
    for sid in pair.values():
        assert any("wrong way" in m["content"] for m in live.messages(sid))


def test_a_paused_session_refuses_the_same_way_live_and_lost(live: Live, tmp_path: Path) -> None:
    pair = {"live": start_listening(live, tmp_path, "live"),
            "lost": start_listening(live, tmp_path, "lost")}  # fmt: skip
    for sid in pair.values():
        live.ok("session", "pause", sid)
        live.wait_state(sid, "paused")
    make_lost(live, pair["lost"])
    code, _, err = same_for_both(live, pair, "session", "pause", "{S}")
    assert code == 1 and "is paused — it cannot be paused" in err
    code, _, err = same_for_both(live, pair, "session", "send", "{S}", "more tests")
    assert code == 1 and "resume" in err
    # Closing a paused session passes through active, on both paths.
    code, out, err = same_for_both(live, pair, "session", "close", "{S}", "--no-draft")
    assert code == 0, err
    assert "closed (paused → completed)" in out
    assert records(live, pair["live"]) == records(live, pair["lost"])


def test_actions_that_need_the_agent_say_how_to_get_it_back(live: Live, tmp_path: Path) -> None:
    sid = start_listening(live, tmp_path, "gone")
    make_lost(live, sid)
    for args in (["send", sid, "hi"], ["answer", sid, "yes"], ["pause", sid], ["complete", sid]):
        result = live.ta("session", *args)
        assert result.returncode == 1, args
        assert result.stderr.count("\n") == 1, result.stderr
        assert "no live host (it is lost)" in result.stderr
        assert f"ta session resume {sid[:8]}" in result.stderr
    assert session_record(live, sid)["state"] == "active"  # nothing changed


def test_no_package_imports_the_cli() -> None:
    """The web and MCP channels will call the service; nothing below the CLI may import it."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.is_relative_to(SRC / "cli") or path == SRC / "__main__.py":  # the entry point
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [f"{path.relative_to(SRC)}: {n}" for n in names
                          if n == "ta_session.cli" or n.startswith("ta_session.cli.")]  # fmt: skip
    assert offenders == []


def test_arguments_that_are_not_utf8_are_refused_in_one_line(live: Live, tmp_path: Path) -> None:
    sid = start_listening(live, tmp_path, "bytes")
    before = len(live.messages(sid))
    not_utf8 = "caf\udce9"  # the bytes b"caf\xe9" as Python receives them in argv
    for args in (["session", "send", sid, not_utf8], ["session", "answer", sid, not_utf8],
                 ["session", "abort", sid, "--reason", not_utf8]):  # fmt: skip
        result = live.ta(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "not valid UTF-8" in result.stderr
    assert live.host_live(sid) and session_record(live, sid)["state"] == "active"
    assert len(live.messages(sid)) == before
    live.ok("session", "send", sid, "café")  # the same text, properly encoded, goes through
    live.wait_output(sid, "heard: café")


def test_concurrent_resumes_start_one_host(live: Live, tmp_path: Path) -> None:
    import subprocess
    import sys

    sid = start_listening(live, tmp_path, "twice")
    make_lost(live, sid)
    for attempt in range(3):  # a race: try it a few times
        commands = [
            subprocess.Popen(
                [sys.executable, "-m", "ta_session", "session", "resume", sid],
                cwd=live.root,
                env=live.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        results = [(c.wait(60), *c.communicate()) for c in commands]
        started = [r for r in results if r[0] == 0 and "resumed with a new host" in r[1]]
        refused = [
            r
            for r in results
            if r[0] == 1 and ("already has a running host" in r[2] or "nothing to resume" in r[2])
        ]
        assert len(started) == 1 and len(refused) == 2, results
        assert all(r[2].count("\n") == 1 for r in refused)
        host = live.host_pid(sid)
        agents = [p for p in live_agent_pids(live, sid) if p != host]
        assert len(agents) == 1, agents
        if attempt < 2:
            make_lost(live, sid)


def live_agent_pids(live: Live, sid: str) -> list[int]:
    """Pids of processes running the session's editing agent (its command line names it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if any(part.endswith(b"editor.py") for part in cmdline) and sid.encode() in environ:
            status = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if status not in ("Z", "X"):
                pids.append(int(entry.name))
    return pids


def test_concurrent_close_and_abort_end_the_session_once(live: Live, tmp_path: Path) -> None:
    import subprocess
    import sys

    sid = start_listening(live, tmp_path, "race")
    commands = [["session", "close", sid], ["session", "close", sid], ["session", "abort", sid]]
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "ta_session", *args],
            cwd=live.root,
            env=live.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    results = [(p.wait(60), *p.communicate()) for p in running]
    ended = [r for r in results if r[0] == 0 and re.search(r"(closed|aborted) \(active → ", r[1])]
    assert len(ended) == 1, results
    final = session_record(live, sid)["state"]
    for code, out, err in results:
        if (code, out, err) in ended:
            continue
        assert "host is running but did not answer" not in err
        assert f"already {final}" in out + err, (code, out, err)
        assert err.count("\n") <= 1
    changes = [e for e in live.audit(sid) if e["action"] == "state_changed"]
    assert len(changes) == 1, changes


def test_attach_without_an_id(live: Live, tmp_path: Path) -> None:
    """No live session: one clear line. One: it is attached. Several: a numbered choice (in a
    terminal), or one line naming them (in a script)."""
    none = live.ta("session", "attach")
    assert none.returncode == 1 and "no live session to attach to" in none.stderr
    first = start_listening(live, tmp_path, "first")
    term = live.tmux()  # a shell
    term.type(f"{live.ta_command()} session attach")
    term.wait_raw()
    term.wait_text(f"attached to session {first[:8]}")
    term.detach_key()
    second = start_listening(live, tmp_path, "second")
    scripted = live.ta("session", "attach")
    assert scripted.returncode == 1 and scripted.stderr.count("\n") == 1
    assert first[:8] in scripted.stderr and second[:8] in scripted.stderr
    term.type(f"{live.ta_command()} session attach")
    term.wait_text("Attach to which (1-2)?")
    term.type("2")  # the list is newest first: 2 is the first session
    term.wait_text(f"attached to session {first[:8]}")
    term.detach_key()
