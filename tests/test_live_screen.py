"""The screen model with real processes, ptys and tmux (SPEC §4.2, §4.4): re-attaching draws
the screen without re-asking the terminal anything, prompts drawn with cursor moves are seen,
typed lines are logged as the agent received them, and detaching from a full-screen program
leaves the terminal as it was."""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from pathlib import Path

from live_helpers import (
    AGENTS,
    PYTHON,
    Live,
    Tmux,
    agent,
    live_fixture,  # noqa: F401  (the `live` fixture)
    wait_for,
)


def sh(argv: list[str]) -> str:
    return shlex.join(argv)


def run_bash(live: Live, title: str) -> tuple[Tmux, str]:
    """``ta run`` of an interactive bash (prompt ``bash$``) in a tmux terminal; the session."""
    term = live.tmux()
    term.run(f"ta run {title} -- env PS1='bash$ ' bash --norc --noprofile -i")
    term.wait_text("bash$")
    return term, live.only_session()


def human_lines(live: Live, sid: str) -> list[str]:
    return [m["content"] for m in live.messages(sid) if m["sender"] == "human"]


def test_reattaching_to_a_program_that_queried_the_terminal_sends_it_no_replies(
    live: Live, tmp_path: Path
) -> None:
    received = tmp_path / "received.bin"
    term = live.tmux()
    term.run(f"ta run querier -- {sh(agent('querier.py', str(received)))}")
    term.wait_text("QUERIER ready")
    sid = live.only_session()
    term.send_hex("61")  # "a": everything before it is the live terminal's answers
    wait_for(lambda: received.exists() and b"a" in received.read_bytes(), what="the key a")
    term.detach_key()
    term.wait_text("[detached from session")
    answered = received.read_bytes()

    term.run(f"ta session attach {sid}")
    term.wait_text("QUERIER ready")
    term.wait_raw()
    term.send_hex("7a")  # "z": the only thing the agent may receive after re-attaching
    wait_for(lambda: received.read_bytes().endswith(b"z"), what="the key z")
    assert received.read_bytes() == answered + b"z"


def test_reattaching_to_vim_shows_its_screen_on_the_alternate_screen(live: Live) -> None:
    notes = live.root / "notes.txt"
    notes.write_text("".join(f"note line {i}\n" for i in range(1, 6)))
    term = live.tmux()
    vim = "vim -u NONE -i NONE -N notes.txt"
    term.run(f"ta run editing -- {vim}")
    term.wait_text("note line 5")
    sid = live.only_session()
    assert term.pane("alternate_on") == "1"
    term.detach_key()
    term.wait_text("[detached from session")
    assert term.pane("alternate_on") == "0"

    screen = live.connect(sid).request({"type": "screen"})
    assert screen["ok"] and screen["alternate"] is True
    assert "note line 3" in screen["lines"][2]

    term.run("clear")
    wait_for(lambda: "note line" not in term.screen(), what="a cleared terminal")
    term.run(f"ta session attach {sid}")
    term.wait_text("note line 5")
    assert term.pane("alternate_on") == "1"
    term.send("Escape")
    term.type(":q!")
    live.wait_state(sid, "completed")


def test_detaching_from_full_screen_programs_leaves_the_terminal_as_it_was(live: Live) -> None:
    term = live.tmux()
    flags = ("alternate_on", "cursor_flag", "keypad_flag", "keypad_cursor_flag", "mouse_any_flag")
    before = {flag: term.pane(flag) for flag in flags}
    # vim turns on the alternate screen, the keypad and cursor-key modes; top hides the cursor
    (live.root / "buffer.txt").write_text("in the vim buffer\n")
    for command, drawn in (("vim -u NONE -i NONE -N buffer.txt", "in the vim buffer"),
                           ("top -d 5", "PID")):  # fmt: skip
        term.run("clear")  # the previous round's "[detached …]" must not satisfy this one's
        wait_for(lambda: "[detached" not in term.screen(), what="a cleared terminal")
        term.run(f"ta run full-screen -- {command}")
        term.wait_text(drawn)
        assert {flag: term.pane(flag) for flag in flags} != before, command
        term.detach_key()
        term.wait_text("[detached from session")
        assert {flag: term.pane(flag) for flag in flags} == before, command
    for sid in live.session_ids():
        live.ok("session", "abort", sid)


def test_a_menu_drawn_with_cursor_moves_makes_the_session_waiting(live: Live) -> None:
    live.write_agent(
        "menu",
        json.dumps(
            {
                "name": "menu",
                "command": PYTHON,
                "args_template": [str(AGENTS / "menu.py")],
                "interactive": {"enabled": True, "output_capture": "pty"},
                "idle_after": 0.5,
                "prompt_patterns": [r"Do you want to .+\?"],
            }
        ),
    )
    began = time.monotonic()
    sid = live.start(agent="menu")
    wait_for(
        lambda: (live.host_record(sid) or {}).get("activity") == "waiting",
        what="the menu session to be waiting",
    )
    print(f"waiting after {time.monotonic() - began:.2f} s (idle_after 0.5 s)")
    (question,) = wait_for(
        lambda: [e for e in live.audit(sid) if e["action"] == "question_asked"],
        what="the question in the audit log",
    )
    assert question["details"]["prompt"] == "Do you want to proceed?"
    screen = live.connect(sid).request({"type": "screen"})
    assert "│ ❯ 1. Yes" in screen["lines"]


def test_lines_edited_and_recalled_in_bash_are_logged_as_bash_ran_them(live: Live) -> None:
    (live.root / "completion-target.txt").write_text("the completed file\n")
    term, sid = run_bash(live, "shell")
    term.wait_raw()
    term.type("echo abc", enter=False)
    term.send("Left", "Left")
    term.type("X")  # echo aXbc
    term.wait_text("aXbc\nbash$")  # its output, then the next prompt: as a person waits
    term.send("Up")
    term.send("BSpace")
    term.type("Z")  # echo aXbZ
    term.wait_text("aXbZ\nbash$")
    term.type("cat compl", enter=False)
    term.send("Tab")  # bash completes the name
    term.wait_text("cat completion-target.txt")
    term.send("Enter")
    term.wait_text("the completed file")
    wait_for(
        lambda: len(human_lines(live, sid)) >= 3,
        what=lambda: f"three logged lines: {human_lines(live, sid)}",
    )
    assert human_lines(live, sid) == ["echo aXbc", "echo aXbZ", "cat completion-target.txt"]
    term.type("exit")
    live.wait_state(sid, "completed")


def test_keys_in_less_are_not_logged_as_lines(live: Live) -> None:
    (live.root / "long.txt").write_text("".join(f"row {i}\n" for i in range(200)))
    term, sid = run_bash(live, "pager")
    term.type("less long.txt")
    wait_for(lambda: term.pane("alternate_on") == "1", what="less on the alternate screen")
    term.type("/row 150")  # a search, then Enter: not a line typed to the agent
    term.wait_text("row 150")
    term.type("q", enter=False)
    wait_for(lambda: term.pane("alternate_on") == "0", what="less gone")
    term.type("echo after-less")
    term.wait_text("after-less\n")
    wait_for(lambda: "echo after-less" in human_lines(live, sid), what="the line logged")
    assert human_lines(live, sid) == ["less long.txt", "echo after-less"]
    term.type("exit")
    live.wait_state(sid, "completed")


TUI_PRINTER = r"""
import os, sys, time
w = lambda s: (os.write(1, s.encode()), time.sleep(0.05))
w("\x1b[?25l\x1b[33mWorking\x1b[39;49m\r\r\n")
w("\x1b[2K\x1b[1A\x1b[2K\x1b[G")  # that frame erased, as Ink redraws
w("Do\x1b[1Cyou\x1b[1Cwant\x1b[1Cto\x1b[1Cproceed?\x1b[K\r\r\n")
w("\x1b[38;5;244m│\x1b[39m \x1b[")  # an escape sequence split across two writes
w("33m❯\x1b[39m 1. Yes\r\r\n")
w("done\r\n")
sys.exit(3)
"""


def test_logs_print_the_text_as_it_appeared_and_follow_says_how_it_ended(live: Live) -> None:
    sid = live.start(PYTHON, "-c", TUI_PRINTER)
    live.wait_state(sid, "completed")
    logs = live.ok("session", "logs", sid)
    assert logs.splitlines() == ["Do you want to proceed?", "│ ❯ 1. Yes", "done"]
    assert "\x1b" not in logs and "[39" not in logs
    followed = live.ok("session", "logs", sid, "--follow").splitlines()
    assert followed[:-1] == logs.splitlines()
    assert followed[-1] == "[ta: session completed (agent exited with code 3)]"
    raw = live.ok("session", "logs", sid, "--raw")
    assert "\x1b[1Cyou" in raw


def test_logs_follow_streams_lines_while_the_agent_runs(live: Live) -> None:
    sid = live.start(*agent("counter.py", "0.05"))
    follower = subprocess.Popen(
        [PYTHON, "-m", "ta_session", "session", "logs", sid, "--follow"],
        cwd=live.root, env=live.env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert follower.stdout is not None
    seen = [follower.stdout.readline() for _ in range(3)]  # while the session runs
    assert all(line.startswith("tick ") for line in seen), seen
    assert live.state(sid) == "active"
    live.ok("session", "close", sid)
    rest, _ = follower.communicate(timeout=60)
    assert rest.splitlines()[-1].startswith("[ta: session completed")
    assert "\x1b" not in rest


def test_attaching_to_a_session_from_inside_its_own_agent_is_refused(live: Live) -> None:
    term, sid = run_bash(live, "inside")
    term.run("ta session attach $TA_SESSION_ID; echo ATTACH-RC=$?")
    term.wait_regex(r"ATTACH-RC=1")
    assert "from inside it" in term.screen()
    # Without TA_SESSION_ID, the agent's process is still found among its parents.
    term.run(f"env -u TA_SESSION_ID ta session attach {sid}; echo PLAIN-RC=$?")
    term.wait_regex(r"PLAIN-RC=1")
    assert term.screen().count("from inside it") == 2
    assert live.state(sid) == "active"
    term.run("exit")
    live.wait_state(sid, "completed")


def test_run_and_attach_exit_with_the_agents_exit_code(live: Live) -> None:
    term = live.tmux()
    fails = sh([PYTHON, "-c", "import sys; sys.stdin.readline(); sys.exit(3)"])
    term.run(f"ta run failing -- {fails}; echo RUN-RC=$?")
    term.wait_raw()
    sid = live.only_session()
    term.detach_key()
    term.wait_regex(r"RUN-RC=0")  # detached: the session goes on
    term.run(f"ta session attach {sid}; echo ATTACH-RC=$?")
    term.wait_raw()
    term.type("bye")
    term.wait_regex(r"ATTACH-RC=3")
    live.wait_state(sid, "completed")
    assert live.show(sid)["exit_code"] == 3
    term.run(f"ta run again -- {fails}; echo RUN-RC=$?")
    term.wait_raw()
    term.type("bye")
    term.wait_regex(r"RUN-RC=3")


def test_the_listing_shows_a_failed_agent(live: Live) -> None:
    sid = live.start(PYTHON, "-c", "import sys; sys.exit(3)")
    live.wait_state(sid, "completed")
    assert live.listed(sid)["exit_code"] == 3
    table = live.ok("session", "list", "--all")
    (line,) = [row for row in table.splitlines() if row.startswith(sid[:8])]
    assert "completed (exit 3)" in line
    ok = live.start(PYTHON, "-c", "pass")
    live.wait_state(ok, "completed")
    assert live.listed(ok)["exit_code"] == 0
    (line,) = [row for row in live.ok("session", "list", "--all").splitlines() if ok[:8] in row]
    assert "(exit" not in line


ODD_SEQUENCES = (
    "\\x1b[?4m"  # XTQMODKEYS, as vim sends it
    "\\x1b[>4;2m"  # XTMODKEYS: not an underline
    "\\x1b[4;2A\\x1b[?1r\\x1b[?5H\\x1b[4;2J\\x1b[ 4;2K\\x1b[0;0;0;0;0H"  # pyte trips over these
)


def test_control_sequences_the_emulator_trips_over_do_not_end_the_session(live: Live) -> None:
    code = (
        f"import sys, time; sys.stdout.write('{ODD_SEQUENCES}STILL HERE\\n'); sys.stdout.flush();"
        " sys.stdin.readline(); print('GOT LINE', flush=True); time.sleep(60)"
    )
    sid = live.start(PYTHON, "-c", code)
    live.wait_output(sid, "STILL HERE")
    with live.connect(sid) as client:  # the host draws the screen: it has emulated all of it
        screen = client.request({"type": "screen", "render": True})
    assert any("STILL HERE" in line for line in screen["lines"])
    assert "\x1b[0;4" not in screen["render"]  # nothing drawn underlined
    live.ok("session", "send", sid, "go on")
    live.wait_output(sid, "GOT LINE")
    assert live.host_live(sid)


def test_ta_run_continues_below_what_the_terminal_showed(live: Live) -> None:
    """The terminal a session was started for sees the agent's output from its start, below
    what it showed before (not a cleared, redrawn screen: ``ta demo``'s introduction stays)."""
    term = live.tmux()
    code = "print('AGENT', 'SAYS', 'hi', flush=True); input()"  # not in the command line
    term.run(f"echo BEFORE-RUN; ta run saying -- {sh([PYTHON, '-c', code])}")
    term.wait_text("AGENT SAYS hi")
    screen = term.visible()  # on the screen, not only in the scroll-back
    assert "BEFORE-RUN" in screen and screen.index("BEFORE-RUN") < screen.index("AGENT SAYS")
    term.type("")
    live.wait_state(live.only_session(), "completed")
