"""Live sessions seen from real terminals (SPEC §4.1, §4.2, §12): each test drives its own tmux
server with a fixed window size, running the real ``ta`` in a real shell."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from live_helpers import (
    HEIGHT,
    PYTHON,
    WIDTH,
    Live,
    agent,
    children,
    is_running,
    live_fixture,  # noqa: F401  (the `live` fixture)
    ns,
    wait_for,
)


def sh(argv: list[str]) -> str:
    return shlex.join(argv)


def channel_of(term_tty: str) -> str:
    """The channel id ``ta`` uses in a terminal: ``cli:pts/N``."""
    return "cli:" + term_tty.removeprefix("/dev/")


def ticks(text: str) -> int:
    """How many ``tick N`` lines a counter agent has printed."""
    return len(re.findall(r"tick \d+", text))


def test_live_output_appears_in_two_attached_terminals_at_once(live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    first, second = live.tmux(), live.tmux()
    for term in (first, second):
        term.run(f"ta session attach {sid}")
    for term in (first, second):
        term.wait_text("ECHO-AGENT pid=")

    live.ok("session", "send", sid, "sent-from-outside")
    for term in (first, second):
        term.wait_text("got: sent-from-outside")

    # What one terminal types, the agent answers, and both terminals show it.
    first.type("typed-in-first")
    second.wait_text("got: typed-in-first")
    first.wait_text("got: typed-in-first")

    status = live.json("session", "status", sid, "--json")
    attached = {c["channel_id"] for c in status["channels"] if c["role"] == "attach"}
    assert {channel_of(first.pane_tty()), channel_of(second.pane_tty())} <= attached


def test_typed_lines_and_send_are_logged_as_human_messages_with_time_and_channel(
    live: Live,
) -> None:
    term = live.tmux()
    term.run(f"ta run typing -- {sh(agent('echo.py'))}")
    term.wait_text("ECHO-AGENT pid=")
    sid = live.only_session()
    terminal_channel = channel_of(term.pane_tty())

    before_typed = time.time_ns()
    term.type("typed line one")
    term.wait_text("got: typed line one")
    after_typed = time.time_ns()

    before_sent = time.time_ns()
    sender = subprocess.Popen(
        [PYTHON, "-m", "ta_session", "session", "send", sid, "sent by a command"],
        cwd=live.root,
        env=live.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, err = sender.communicate(timeout=60)
    after_sent = time.time_ns()
    assert sender.returncode == 0, err
    term.wait_text("got: sent by a command")

    # Logged while the agent still runs, not when it exits.
    assert live.state(sid) == "active"
    human = [m for m in live.messages(sid) if m["sender"] == "human"]
    assert [m["content"] for m in human] == ["typed line one", "sent by a command"]
    assert before_typed <= ns(human[0]["timestamp"]) <= after_typed
    assert before_sent <= ns(human[1]["timestamp"]) <= after_sent

    events = [
        e for e in live.audit(sid) if e["action"] == "message" and e["details"]["sender"] == "human"
    ]
    assert [(e["channel_id"], e["details"]["content"]) for e in events] == [
        (terminal_channel, "typed line one"),
        (f"cli:{sender.pid}", "sent by a command"),
    ]
    assert [e["timestamp"] for e in events] == [m["timestamp"] for m in human]

    term.type("quit")
    live.wait_state(sid, "completed")


def test_detach_leaves_agent_running_and_reattach_redraws_recent_output(live: Live) -> None:
    term = live.tmux()
    term.run(f"ta run detaching -- {sh(agent('echo.py'))}")
    term.wait_text("ECHO-AGENT pid=")
    sid = live.only_session()
    term.type("before-detach")
    term.wait_text("got: before-detach")
    agent_pid = live.agent_pid(sid)

    term.detach_key()
    term.wait_text("[detached from session")
    term.run("echo SHELL-$((40+2))")
    term.wait_text("SHELL-42")  # `ta run` returned: the shell is back
    assert is_running(agent_pid)
    assert live.host_live(sid)
    assert live.state(sid) == "active"
    assert live.listed(sid)["host"]["status"] == "live"

    # The agent keeps working while nobody is attached.
    live.ok("session", "send", sid, "while-detached")
    live.wait_output(sid, "got: while-detached")

    term.run("clear")
    wait_for(lambda: "before-detach" not in term.screen(), what="a cleared terminal")
    term.clear()
    term.run(f"ta session attach {sid}")
    screen = term.wait_text("got: while-detached")
    assert "got: before-detach" in screen
    assert is_running(agent_pid)


@pytest.mark.parametrize("how", ["kill-terminal", "sighup-attach-client"])
def test_closing_the_starting_terminal_does_not_stop_the_session(live: Live, how: str) -> None:
    term = live.tmux()
    term.run(f"ta run counting -- {sh(agent('counter.py', '0.1'))}")
    term.wait_text("tick 2")
    sid = live.only_session()
    agent_pid = live.agent_pid(sid)
    host_pid = live.host_pid(sid)

    if how == "kill-terminal":
        term.kill()  # the terminal goes away: its shell and `ta run` get SIGHUP
    else:
        (client_pid,) = children(term.pane_pid())  # `ta run`, attached
        os.kill(client_pid, signal.SIGHUP)
        wait_for(lambda: not is_running(client_pid), what="the attach client to exit")

    seen = ticks(live.output(sid))
    wait_for(lambda: ticks(live.output(sid)) >= seen + 5, what="more output from the agent")
    assert is_running(agent_pid)
    assert is_running(host_pid)
    assert live.state(sid) == "active"
    entry = live.listed(sid)
    assert entry["state"] == "active"
    assert entry["host"]["status"] == "live"
    assert entry["host"]["pid"] == host_pid


@pytest.mark.parametrize("ending", ["detach", "agent-exit", "signal"])
def test_terminal_modes_are_identical_after_attach(live: Live, ending: str) -> None:
    term = live.tmux()
    before, after = live.workdir / "stty-before", live.workdir / "stty-after"
    term.run(
        f"stty -a > {before}; ta run modes -- {sh(agent('echo.py'))}; "
        f"stty -a > {after}; echo MODES-$((40+2))"
    )
    term.wait_text("ECHO-AGENT pid=")
    sid = live.only_session()
    if ending == "detach":
        term.detach_key()
    elif ending == "agent-exit":
        live.ok("session", "send", sid, "quit")
    else:
        (client_pid,) = children(term.pane_pid())  # `ta run`, attached
        os.kill(client_pid, signal.SIGTERM)
    term.wait_text("MODES-42")
    assert before.read_text()  # stty worked
    assert after.read_text() == before.read_text()
    if ending == "agent-exit":
        live.wait_state(sid, "completed")


def test_ctrl_c_goes_to_the_agent_and_the_session_ends_properly(live: Live) -> None:
    term = live.tmux()
    term.run(f"ta run interrupt -- {sh(agent('ttyprobe.py'))}; echo RUN-RC=$?")
    term.wait_text("TTYPROBE ready")
    sid = live.only_session()
    term.send("C-c")
    match = term.wait_regex(r"RUN-RC=(\d+)")
    assert "caught SIGINT" in term.screen()  # the agent got it, not `ta`
    assert match[1] == "3"  # `ta run` exits with the agent's exit code
    live.wait_state(sid, "completed")  # never left active
    live.wait_host_gone(sid)
    contents = [m["content"] for m in live.messages(sid)]
    assert "Agent exited with code 3" in contents
    assert live.listed(sid)["host"]["status"] == "none"


def test_ctrl_c_interrupts_an_agent_with_default_signal_handling(live: Live) -> None:
    # `sleep` has no SIGINT handler of its own: it ends only if it did not inherit an ignored
    # SIGINT from the host.
    term = live.tmux()
    term.run("ta run interrupt -- sleep 300; echo RUN-RC=$?")
    sid = live.only_session()
    term.wait_raw()  # attached: from now on Ctrl-C is a byte for the agent
    term.send("C-c")
    match = term.wait_regex(r"RUN-RC=(\d+)")
    assert match[1] == str(128 + signal.SIGINT)  # as a shell reports a death by signal
    live.wait_state(sid, "completed")
    contents = [m["content"] for m in live.messages(sid)]
    assert f"Agent exited with code {128 + signal.SIGINT}" in contents


def test_human_input_is_logged_when_typed_not_when_the_agent_exits(live: Live) -> None:
    sid = live.start(*agent("echo.py"))
    live.wait_output(sid, "ECHO-AGENT pid=")
    agent_pid = live.agent_pid(sid)
    client = live.connect(sid, role="attach", channel_id="test:keyboard")
    before = time.time_ns()
    client.send_input(b"first guidance\r")

    def logged() -> list[dict[str, object]]:
        return [m for m in live.messages(sid) if m["sender"] == "human"]

    (message,) = wait_for(logged, what="the typed line in the message log")
    assert message["content"] == "first guidance"
    assert before <= ns(str(message["timestamp"])) <= time.time_ns()
    assert is_running(agent_pid)  # the agent has not exited
    assert live.state(sid) == "active"


def test_agent_pty_gets_the_terminal_window_size_and_follows_resize(live: Live) -> None:
    term = live.tmux()
    term.run(f"ta run sizes -- {sh(agent('ttyprobe.py'))}")
    term.wait_text(f"SIZE {WIDTH}x{HEIGHT}")
    sid = live.only_session()
    term.resize(120, 40)
    term.wait_text("SIZE 120x40")
    header, events = live.cast(sid)
    assert (header["width"], header["height"]) == (WIDTH, HEIGHT)
    assert [e[2] for e in events if e[1] == "r"][-1] == "120x40"
    term.type("q", enter=False)
    live.wait_state(sid, "completed")


def test_attached_terminal_is_raw_a_single_keypress_reaches_the_agent(live: Live) -> None:
    term = live.tmux()
    term.run(f"ta run keys -- {sh(agent('ttyprobe.py'))}")
    term.wait_text("TTYPROBE ready")
    sid = live.only_session()
    assert {"-icanon", "-isig", "-echo"} <= term.modes()
    term.type("x", enter=False)  # no Enter: a cooked terminal would keep it
    term.wait_text("KEY 78")
    term.type("q", enter=False)
    term.wait_text("KEY 71")
    live.wait_state(sid, "completed")


def test_ta_run_returns_promptly_after_the_agent_exits(live: Live) -> None:
    term = live.tmux()
    term.run(f"ta run brief -- {sh(agent('brief.py', '0.3'))}; echo RUN-RC=$?")
    term.wait_text("BRIEF working")
    started = time.monotonic()
    match = term.wait_regex(r"RUN-RC=(\d+)", timeout=10)  # nobody presses Enter
    assert time.monotonic() - started < 10
    assert match[1] == "0"
    assert "BRIEF done" in term.screen()
    sid = live.only_session()
    assert live.state(sid) == "completed"


def test_the_detach_key_pressed_twice_reaches_the_agent(live: Live, tmp_path: Path) -> None:
    """Ctrl-\\ twice sends one Ctrl-\\ to the agent and stays attached; once, it detaches."""
    received = tmp_path / "received"
    term = live.tmux()
    term.run(f"ta run literal -- {sh(agent('querier.py', str(received)))}")
    term.wait_text("QUERIER ready")
    sid = live.only_session()
    term.send_hex("1c", "1c")
    wait_for(lambda: received.exists() and b"\x1c" in received.read_bytes(),
             what="the literal Ctrl-\\ at the agent")  # fmt: skip
    assert received.read_bytes().count(b"\x1c") == 1
    assert "[detached from session" not in term.screen()
    term.detach_key()
    term.wait_text("[detached from session")
    assert live.host_live(sid) and received.read_bytes().count(b"\x1c") == 1
