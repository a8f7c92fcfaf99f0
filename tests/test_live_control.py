"""Controlling live sessions from outside (SPEC §4.1, §4.3, §11, §12): pause, resume, abort,
close, status, a host killed with SIGKILL, launch failures and broken agent configs."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from live_helpers import (
    AGENTS,
    PYTHON,
    Live,
    agent,
    is_running,
    live_fixture,  # noqa: F401  (the `live` fixture)
    proc_state,
    wait_for,
)


def last_tick(text: str) -> int:
    found = re.findall(r"tick (\d+)", text)
    return int(found[-1]) if found else -1


def transitions(live: Live, sid: str) -> list[tuple[str, str]]:
    return [
        (e["details"]["from"], e["details"]["to"])
        for e in live.audit(sid)
        if e["action"] == "state_changed"
    ]


def quiet_output(live: Live, sid: str, settle: float = 0.3) -> str:
    """The recorded output once it has stopped changing for ``settle`` seconds."""
    previous = None

    def settled() -> str | None:
        nonlocal previous
        current = live.output(sid)
        if current == previous:
            return current
        previous = current
        return None

    return wait_for(settled, interval=settle, what="the output to settle")


def wait_gone(*pids: int) -> None:
    wait_for(lambda: not any(is_running(p) for p in pids), what=f"processes {pids} to end")


def test_pause_stops_output_and_resume_continues_it(live: Live) -> None:
    sid = live.start(*agent("counter.py", "0.05"))
    live.wait_output(sid, "tick 5")
    agent_pid = live.agent_pid(sid)

    assert "paused" in live.ok("session", "pause", sid)
    assert live.state(sid) == "paused"
    wait_for(lambda: proc_state(agent_pid) == "T", what="the agent to be stopped")
    paused_at = last_tick(quiet_output(live, sid))
    time.sleep(1.0)  # a window in which a running counter would print 20 lines
    assert last_tick(live.output(sid)) == paused_at
    status = live.json("session", "status", sid, "--json")
    assert status["state"] == "paused"
    assert status["host"]["status"] == "live"

    live.ok("session", "resume", sid)
    assert live.state(sid) == "active"  # resume leaves it active, not paused
    wait_for(lambda: last_tick(live.output(sid)) >= paused_at + 5, what="ticks after the resume")
    assert live.json("session", "status", sid, "--json")["state"] == "active"
    assert transitions(live, sid) == [("active", "paused"), ("paused", "active")]


@pytest.mark.parametrize("from_state", ["active", "paused"])
def test_abort_kills_the_whole_process_group(live: Live, from_state: str) -> None:
    pid_file = live.workdir / "pids"
    sid = live.start(*agent("spawner.py", str(pid_file)))
    wait_for(pid_file.exists, what="the agent to start its children")
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) == 3 and all(is_running(p) for p in pids)
    if from_state == "paused":
        live.ok("session", "pause", sid)

    result = live.ta("session", "abort", sid, "--reason", "the test says stop")
    assert result.returncode == 0, result.stderr
    assert "aborted" in result.stdout
    # The agent, its child, and the child that ignores SIGHUP and SIGTERM: all gone.
    wait_gone(*pids)
    live.wait_host_gone(sid)
    assert live.state(sid) == "aborted"
    contents = [m["content"] for m in live.messages(sid)]
    assert any(c.startswith("Session aborted by") and "the test says stop" in c for c in contents)
    assert transitions(live, sid)[-1] == (from_state, "aborted")


def test_close_from_paused_ends_completed_via_active(live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT pid=")
    live.ok("session", "pause", sid)
    result = live.ta("session", "close", sid)
    assert result.returncode == 0, result.stderr
    assert "completed" in result.stdout
    live.wait_host_gone(sid)
    assert live.state(sid) == "completed"
    assert transitions(live, sid) == [
        ("active", "paused"),
        ("paused", "active"),
        ("active", "completed"),
    ]
    assert not any("invalid" in m["content"] for m in live.messages(sid))


def test_pause_abort_and_status_act_on_the_live_session(live: Live) -> None:
    sid = live.start(*agent("counter.py", "0.1"))
    live.wait_output(sid, "tick 1")
    agent_pid = live.agent_pid(sid)
    live.connect(sid, role="attach", channel_id="test:watcher")

    status = live.json("session", "status", sid, "--json")
    assert status["state"] == "active"
    assert status["host"]["status"] == "live"
    assert status["host"]["pid"] == live.host_pid(sid)
    assert status["activity"] == "running"
    assert {"channel_id": "test:watcher", "role": "attach"} in status["channels"]

    live.ok("session", "pause", sid)
    wait_for(lambda: proc_state(agent_pid) == "T", what="the agent to be stopped (SIGSTOP)")
    assert live.json("session", "status", sid, "--json")["state"] == "paused"

    live.ok("session", "abort", sid)
    wait_gone(agent_pid)
    live.wait_host_gone(sid)
    status = live.json("session", "status", sid, "--json")
    assert status["state"] == "aborted"
    assert status["host"]["status"] == "none"


RESUMABLE_YAML = """\
name: resumable
command: {python}
args_template: ["{agents}/echo.py", "--first-run"]
interactive:
  enabled: true
  output_capture: pty
  resume_cmd: "{python} {agents}/echo.py --resumed {{session_id}}"
"""


def test_killed_host_shows_lost_and_resume_relaunches_with_resume_cmd(live: Live) -> None:
    live.write_agent("resumable", RESUMABLE_YAML.format(python=PYTHON, agents=AGENTS))
    sid = live.start(agent="resumable")
    first_cwd = re.search(r"args=\['--first-run'\] cwd=(\S+)", live.wait_output(sid, "--first-run"))
    live.ok("session", "send", sid, "before the crash")
    live.wait_output(sid, "got: before the crash")
    before = live.messages(sid)
    host_pid, agent_pid = live.host_pid(sid), live.agent_pid(sid)

    os.kill(host_pid, signal.SIGKILL)
    wait_gone(host_pid, agent_pid)  # the agent goes with its host
    (entry,) = [s for s in live.listing(all_sessions=False) if s["session_id"] == sid]
    assert entry["state"] == "active"
    assert entry["host"]["status"] == "lost"
    assert entry["activity"] is None
    assert live.show(sid)["host"]["status"] == "lost"

    result = live.ta("session", "resume", sid)
    assert result.returncode == 0, result.stderr
    resumed = live.wait_output(sid, f"args=['--resumed', '{sid}']")
    assert first_cwd is not None
    assert f"args=['--resumed', '{sid}'] cwd={first_cwd[1]}\r\n" in resumed  # same workspace
    assert live.listed(sid)["host"]["status"] == "live"
    assert live.host_pid(sid) != host_pid
    live.ok("session", "send", sid, "after the resume")
    live.wait_output(sid, "got: after the resume")

    after = live.messages(sid)
    assert after[: len(before)] == before  # nothing acknowledged was lost
    added = [m["content"] for m in after[len(before) :]]
    assert "Session host lost; relaunching" in added
    assert any(c.startswith("Agent launched:") and "--resumed" in c for c in added)
    assert [m["content"] for m in after if m["sender"] == "human"] == [
        "before the crash",
        "after the resume",
    ]
    actions = [e["action"] for e in live.audit(sid)]
    assert "host_lost" in actions and "host_recovered" in actions
    # One recording across both hosts, still in order.
    lines = live.cast_path(sid).read_text().splitlines()
    assert sum(line.startswith("{") for line in lines) == 1  # one header
    times = [json.loads(line)[0] for line in lines[1:]]
    assert times == sorted(times)


@pytest.mark.parametrize("capture", ["pty", "pipe"])
def test_agent_does_not_outlive_a_host_killed_with_sigkill(live: Live, capture: str) -> None:
    # `sleep` neither reads nor writes its terminal, so nothing but the SIGHUP sent when its
    # host dies can end it.
    live.write_agent(
        "sleeper",
        f"name: sleeper\ncommand: sleep\nargs_template: ['300']\n"
        f"interactive: {{enabled: true, output_capture: {capture}}}\n",
    )
    sid = live.start(agent="sleeper")
    host_pid, agent_pid = live.host_pid(sid), live.agent_pid(sid)
    os.kill(host_pid, signal.SIGKILL)
    wait_gone(host_pid, agent_pid)
    assert live.listed(sid)["host"]["status"] == "lost"


def test_close_of_a_lost_paused_session_completes_via_active(live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT pid=")
    live.ok("session", "pause", sid)
    host_pid, agent_pid = live.host_pid(sid), live.agent_pid(sid)
    os.kill(host_pid, signal.SIGKILL)
    wait_gone(host_pid, agent_pid)  # even a stopped agent must not outlive its host
    assert live.listed(sid)["host"]["status"] == "lost"

    result = live.ta("session", "close", sid)
    assert result.returncode == 0, result.stderr
    assert live.state(sid) == "completed"
    assert transitions(live, sid) == [
        ("active", "paused"),
        ("paused", "active"),
        ("active", "completed"),
    ]


def test_a_missing_agent_binary_is_one_clear_line_and_leaves_nothing_behind(live: Live) -> None:
    result = live.ta("run", "t", "--detach", "--", "no-such-agent-binary-xyz", "--flag")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ta: error: ")
    assert "no-such-agent-binary-xyz" in lines[0]
    assert "not found" in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    # Checked before anything is written: no session, goal, staging folder or audit event.
    assert live.listing() == []
    for folder in ("interactive_sessions", "goals", "staging", "baselines"):
        assert not any((live.ta_dir / folder).glob("*")), folder
    assert live.json("goal", "list", "--json") == []


def test_an_agent_that_cannot_be_started_ends_its_session_as_aborted(live: Live) -> None:
    """The program exists but the kernel cannot run it (its interpreter is missing): the host
    reports the failed launch, and the session and its goal end aborted."""
    broken = live.workdir / "broken-agent"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o755)
    result = live.ta("run", "t", "--detach", "--", str(broken))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ta: error: "), result.stderr
    (entry,) = live.listing()
    sid = entry["session_id"]
    assert entry["state"] == "aborted"
    assert entry["host"]["status"] == "none"
    contents = [m["content"] for m in live.messages(sid)]
    assert any(c.startswith("Agent launch failed") for c in contents), contents
    assert transitions(live, sid) == [("active", "aborted")]


def test_broken_agent_yaml_is_an_error_naming_the_file(live: Live) -> None:
    path: Path = live.write_agent("broken", "name: broken\ncommand: [unclosed\n")
    result = live.ta("run", "t", "--agent", "broken", "--detach")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    assert "Traceback" not in result.stderr
    assert live.session_ids() == set()  # nothing was started


@pytest.mark.parametrize("agent_survives", [True, False], ids=["agent-ignores-hup", "child-only"])
def test_what_a_lost_host_left_running_is_ended_by_abort(live: Live, agent_survives: bool) -> None:
    # Pipe capture: no terminal hangs up when the host dies, so processes that ignore SIGHUP
    # outlive it. Handling the lost session must end the agent's whole process group.
    trap = "trap '' HUP; " if agent_survives else ""
    script = f"{trap}(trap '' HUP; exec sleep 300) & echo child=$!; sleep 300"
    live.write_agent(
        "stubborn",
        "name: stubborn\ncommand: sh\n"
        f"args_template: ['-c', {script!r}]\n"
        "interactive: {enabled: true, output_capture: pipe}\n",
    )
    sid = live.start(agent="stubborn")
    output = live.wait_output(sid, "child=")
    child = int(output.split("child=")[1].split()[0])
    host_pid, agent_pid = live.host_pid(sid), live.agent_pid(sid)
    os.kill(host_pid, signal.SIGKILL)
    wait_for(lambda: live.listed(sid)["host"]["status"] == "lost", what="the host to be lost")
    assert is_running(child)  # the orphan this test is about

    result = live.ta("session", "abort", sid, "--reason", "host died")
    assert result.returncode == 0, result.stderr
    wait_gone(child, agent_pid)
    assert live.state(sid) == "aborted"
