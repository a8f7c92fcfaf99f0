"""The agent sandbox (bubblewrap): a hostile agent is stopped by the kernel, and the draft holds
only what it did in its staging workspace. Without the sandbox, what it does outside staging is
impossible or reported in the draft.

Real parts only: the real ``ta``, real hosts, bubblewrap from Debian (installed by the test
command), a real bash and Python agent.
"""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path

import pytest

from draft_helpers import URI, draft, editor, finish, session_record
from live_helpers import PYTHON, Live, agent, live_fixture, wait_for

live = live_fixture

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")


@pytest.fixture
def scene(live: Live, tmp_path: Path) -> dict[str, Path | str]:
    """A project with a file, links to it and outside it, and a draft waiting for review."""
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("victim\n")
    (live.root / "file.txt").write_text("original\n")
    (live.root / "link_out").symlink_to(victim)
    (live.root / "link_in").symlink_to(live.root / "file.txt")
    waiting = live.start(*editor([("write", "pending.txt", "waiting for review\n")]))
    finish(live, waiting)
    return {"victim": victim, "draft": session_record(live, waiting)["draft_ids"][0]}


def attempts(live: Live, sid: str) -> dict[str, str]:
    text = live.wait_output(sid, "HOSTILE DONE")
    found = {}
    for line in text.splitlines():
        if line.startswith("ATTEMPT "):
            name, _, outcome = line[len("ATTEMPT ") :].partition(": ")
            found[name] = outcome
    return found


def run_hostile(
    live: Live, scene: dict[str, Path | str], sandbox: str
) -> tuple[str, dict[str, str]]:
    live.env["TA_SANDBOX"] = sandbox
    sid = live.start(
        *agent("hostile.py", str(live.root), str(scene["victim"]), str(scene["draft"]))
    )
    seen = attempts(live, sid)
    finish(live, sid)
    return sid, seen


def test_a_hostile_agent_is_stopped_by_the_kernel(live: Live, scene: dict[str, Path | str]) -> None:
    sid, seen = run_hostile(live, scene, "on")
    # A link into the project by absolute path was re-pointed into staging: writing through it
    # is ordinary work, which the draft shows.
    assert seen["staging"] == seen["link_in"] == "done"
    for name in ("link_out", "project_path", "victim_path", "audit_read",
                 "socket_connect", "draft_edit", "draft_approve", "draft_apply"):  # fmt: skip
        assert seen[name].startswith("denied"), (name, seen[name])
    # .ta/ is out of sight: a write there lands in an empty throwaway folder, not the project's.
    assert not (live.ta_dir / "planted.txt").exists()
    assert (live.root / "file.txt").read_text() == "original\n"
    assert Path(scene["victim"]).read_text() == "victim\n"
    pending = draft(live, str(scene["draft"]))
    assert pending["status"] == "pending_review"
    assert all(a["disposition"] == "pending" for a in pending["artifacts"])
    # The draft holds exactly the work done in staging.
    built = draft(live, session_record(live, sid)["draft_ids"][0])
    assert sorted(a["resource_uri"] for a in built["artifacts"]) == [
        f"{URI}file.txt", f"{URI}work.txt"
    ]  # fmt: skip
    assert not built.get("warnings")
    shown = live.show(sid)
    assert shown["sandbox"]["enabled"] is True
    log = [m["content"] for m in shown["messages"]]
    assert any(c.startswith("Sandbox: bubblewrap") for c in log)
    assert any("link_out → " in c for c in log if c.startswith("Links leading outside"))


def test_without_the_sandbox_writes_outside_staging_are_reported(
    live: Live, scene: dict[str, Path | str]
) -> None:
    sid, seen = run_hostile(live, scene, "off")
    assert seen["staging"] == "done"
    built = draft(live, session_record(live, sid)["draft_ids"][0])
    # Writes outside staging are in the draft, not silent: through the link to a file outside
    # the project, and into the project by absolute path.
    kinds = {(w["kind"], w["path"]) for w in built["warnings"]}
    assert ("outside_write", "link_out") in kinds
    assert ("project_changed", "file.txt") in kinds
    assert "WARNING" in built["summary"]
    assert live.show(sid)["sandbox"] == {
        "enabled": False, "reason": "turned off for this session (--no-sandbox or TA_SANDBOX)"
    }  # fmt: skip
    # Decisions are the human's: `ta draft approve`/`apply` run by the agent are refused.
    for name in ("draft_approve", "draft_apply"):
        assert seen[name].startswith("denied") and "human reviewer" in seen[name], seen[name]
    assert draft(live, str(scene["draft"]))["status"] == "pending_review"
    # An edited draft is refused at apply (its seal no longer matches).
    assert seen["draft_edit"] == "done"
    result = live.ta("draft", "apply", str(scene["draft"]))
    assert result.returncode == 1


def test_real_agents_work_normally_in_the_sandbox(live: Live, tmp_path: Path) -> None:
    """A bash agent and a Python agent edit files, run tests, use /tmp and reach a loopback
    HTTP server from inside the sandbox."""

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"hello from loopback"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    (live.root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    live.env["TA_SANDBOX"] = "on"
    try:
        script = (
            "set -e; sed -i 's/a - b/a + b/' calc.py; "
            f"{PYTHON} -c 'from calc import add; assert add(2, 3) == 5; print(\"TESTS PASS\")'; "
            "echo scratch > /tmp/scratch && cat /tmp/scratch; "
            f"{PYTHON} -c 'import urllib.request; "
            f'print(urllib.request.urlopen("{url}").read().decode())\'; echo BASH DONE'
        )
        sid = live.start("bash", "-c", script)
        text = live.wait_output(sid, "BASH DONE")
        assert "TESTS PASS" in text and "scratch" in text and "hello from loopback" in text
        finish(live, sid)
        built = draft(live, session_record(live, sid)["draft_ids"][0])
        assert [a["resource_uri"] for a in built["artifacts"]] == [f"{URI}calc.py"]
    finally:
        server.shutdown()
    assert not Path("/tmp/scratch").exists() or Path("/tmp/scratch").read_text() != "scratch\n"
    assert wait_for(lambda: live.show(sid)["state"] == "completed")


def test_without_bubblewrap_ta_run_refuses_unless_told_to_run_unconfined(live: Live) -> None:
    live.env["TA_SANDBOX"] = ""  # the default: the agent config's (on)
    live.env["TA_BWRAP"] = "/nonexistent/bwrap"
    before = sorted(p.name for p in live.ta_dir.iterdir())
    result = live.ta("run", "t", "--detach", "--", PYTHON, "-c", "print('hi')")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no sandbox on this machine" in result.stderr
    assert "--no-sandbox" in result.stderr
    assert sorted(p.name for p in live.ta_dir.iterdir()) == before  # nothing was created
    doctor = live.json("doctor", "--json")
    assert {"name": "sandbox", "ok": False}.items() <= next(
        f for f in doctor if f["name"] == "sandbox"
    ).items()
    sid = live.ok("run", "t", "--detach", "--no-sandbox", "--", PYTHON, "-c", "print('hi')").strip()
    finish(live, sid)
    assert live.show(sid)["sandbox"]["enabled"] is False


def test_only_what_the_agent_runs_from_is_shown_again_in_the_private_tmp(tmp_path: Path) -> None:
    """A program installed under /tmp (a node_modules/.bin link, a script) stays reachable in
    the sandbox, but the real /tmp, with other programs' sockets, never is."""
    from ta_session.workspace.sandbox import SandboxPolicy, wrap

    assert tmp_path.is_relative_to("/tmp")
    package = tmp_path / "tools" / "node_modules" / "pkg"
    package.mkdir(parents=True)
    (package / "cli.js").write_text("#!/bin/sh\necho cli\n")
    (package / "cli.js").chmod(0o755)
    (tmp_path / "tools" / "node_modules" / ".bin").mkdir()
    (tmp_path / "tools" / "node_modules" / ".bin" / "tool").symlink_to("../pkg/cli.js")
    script = tmp_path / "scripts" / "agent.sh"
    script.parent.mkdir()
    script.write_text("echo hi\n")
    project = tmp_path / "proj"
    (project / ".ta" / "staging" / "g").mkdir(parents=True)
    policy = SandboxPolicy(project / ".ta" / "staging" / "g", project,
                           hidden=(project / ".ta",), search_path="/usr/bin")  # fmt: skip
    args = wrap([str(tmp_path / "tools/node_modules/.bin/tool"), str(script)], policy, "bwrap")
    shown = {args[i + 1] for i, a in enumerate(args) if a == "--ro-bind"}
    assert str(tmp_path / "tools" / "node_modules") in shown  # the link and what it points to
    assert str(script.parent) in shown and str(project) in shown
    assert "/tmp" not in {args[i + 1] for i, a in enumerate(args) if a.endswith("bind")}
    assert all(Path(p).is_relative_to(tmp_path) or p == "/" for p in shown)
