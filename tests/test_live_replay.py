"""``ta session replay`` in a real terminal (SPEC §4.5): a recorded session played in a tmux pane
running bash, driven with the player's keys. After every way out the shell gets its prompt back
with nothing typed on it (no terminal reply such as ``^[[12;1R`` lands there), and the terminal's
modes are restored."""

from __future__ import annotations

import json
import os
import signal

import pytest

from live_helpers import (
    HEIGHT,
    Live,
    Tmux,
    agent,
    children,
    live_fixture,  # noqa: F401  (the `live` fixture)
    wait_for,
)

ALT_SCREEN = "\x1b[?1049h\x1b[?25l\x1b[?2004h\x1b[?1000h\x1b[?1h\x1b=\x1b[3;10rALT-SCREEN"
MODES_SET = {"alternate_on": "1", "cursor_flag": "0", "mouse_any_flag": "1",
             "keypad_cursor_flag": "1", "keypad_flag": "1"}  # fmt: skip
MODES_RESET = {"alternate_on": "0", "cursor_flag": "1", "mouse_any_flag": "0",
               "keypad_cursor_flag": "0", "keypad_flag": "0", "scroll_region_upper": "0",
               "scroll_region_lower": str(HEIGHT - 1)}  # fmt: skip


def recorded(live: Live) -> str:
    """A finished session whose agent printed lines and terminal queries, and got one input."""
    sid = live.start(*agent("replayee.py"))
    live.wait_output(sid, "REPLAY-TWO")
    live.ok("session", "send", sid, "go on")
    live.wait_state(sid, "completed")
    live.wait_host_gone(sid)
    output = live.output(sid)
    assert "\x1b[6n\x1b[c" in output and "REPLAY-THREE got: go on" in output
    return sid


def append(live: Live, sid: str, *events: tuple[float, str, str]) -> None:
    """Events after the end of the recording, each ``gap`` seconds after the one before."""
    cast = live.cast_path(sid)
    lines = cast.read_text(encoding="utf-8").splitlines()
    last = json.loads(lines[-1])[0]
    for gap, code, data in events:
        last += gap
        lines.append(json.dumps([last, code, data]))
    cast.write_text("\n".join(lines) + "\n", encoding="utf-8")


def key(term: Tmux, text: str) -> None:
    term.type(text, enter=False)


def modes(term: Tmux, names: dict[str, str]) -> dict[str, str]:
    return {name: term.pane(name) for name in names}


def replay(term: Tmux, sid: str, *args: str, stdin: str = "") -> None:
    """Run the replay in the pane's shell; then the shell prints its exit code and whether the
    terminal's modes are those it had before (``stty -g``: while bash waits at its prompt,
    readline has the terminal in modes of its own)."""
    term.run(f"s=$(stty -g); ta session replay {sid} {' '.join(args)} {stdin}; echo RC=$?; "
             'echo TTY-$([ "$(stty -g)" = "$s" ] && echo SAME || echo CHANGED)')  # fmt: skip


def exit_code(term: Tmux) -> int:
    return int(term.wait_regex(r"RC=(\d+)")[1])


def assert_shell_clean(term: Tmux) -> None:
    """The shell is back, the terminal in its modes of before, nothing typed on the prompt."""
    assert term.wait_regex(r"TTY-(SAME|CHANGED)")[1] == "SAME"
    term.run("echo done-$((40+2))")
    term.wait_text("done-42")
    screen = term.screen()
    assert [line for line in screen.splitlines() if "echo done-" in line] == [
        "$ echo done-$((40+2))"
    ], screen
    wait_for(lambda: term.visible().rstrip().splitlines()[-1] == "$",
             what=lambda: f"a bare prompt; screen:\n{term.visible()}")  # fmt: skip


def test_the_player_keys_pause_step_speed_and_go_to_markers(live: Live) -> None:
    sid = recorded(live)
    append(live, sid, (600, "o", "LATE-1\r\n"), (600, "m", "chapter two"),
           (600, "o", "LATE-2\r\n"), (600, "o", "LATE-3\r\n"))  # fmt: skip
    term = live.tmux()
    replay(term, sid, "--idle-limit", "0")
    term.wait_text("REPLAY-THREE got: go on")  # then ten minutes of silence
    term.wait_raw()

    term.send("Space")
    # The status line; its last marker: the input, or the state change after it if played.
    term.wait_regex(r"ta replay: paused .* speed 1x  at (input: go on|state: )")
    key(term, ".")  # one step: the next output
    term.wait_text("LATE-1")
    key(term, "n")  # to the marker, without its ten minutes
    term.wait_text("at chapter two")
    assert "LATE-2" not in term.screen()
    key(term, ".")
    term.wait_text("LATE-2")
    key(term, "+")
    term.wait_text("speed 2x")
    key(term, "-")
    key(term, "-")
    term.wait_text("speed 0.5x")
    key(term, "p")  # back to the marker: LATE-2 is not on the screen any more
    wait_for(lambda: "LATE-2" not in term.visible() and "at chapter two" in term.visible(),
             what=lambda: f"the replay back at its marker; screen:\n{term.visible()}")  # fmt: skip
    assert "LATE-1" in term.visible() and "ta replay: paused" in term.visible()

    key(term, "q")
    assert exit_code(term) == 0
    assert "ta replay:" not in term.visible()  # the status line went with the player
    assert "LATE-1" in term.visible() and "LATE-3" not in term.screen()
    assert_shell_clean(term)


def test_terminal_replies_are_not_keys_and_q_quits_during_a_long_pause(live: Live) -> None:
    sid = recorded(live)
    append(live, sid, (3600, "o", "AN-HOUR-LATER\r\n"))
    term = live.tmux()
    replay(term, sid, "--idle-limit", "0")
    term.wait_text("REPLAY-THREE got: go on")
    term.wait_raw()
    # Replies a terminal may send, with bytes that are keys outside them: none is a key.
    replies = b"\x1b[12;1R\x1bP>|term q.+ n\x1b\\\x1b]11;rgb:0000/0000/0000\x07\x1b[?1;2c"
    term.send_hex(*(f"{byte:02x}" for byte in replies))
    term.send("Space")  # had the space in the reply paused it, this would play again
    term.wait_regex(r"ta replay: paused .* speed 1x ")  # nor the + in it sped it up
    term.send("Space")
    wait_for(lambda: "ta replay:" not in term.visible(), what="the status line gone on play")
    key(term, "q")  # in the middle of an hour's pause
    assert exit_code(term) == 0
    assert "AN-HOUR-LATER" not in term.screen()
    assert_shell_clean(term)


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sighup", "ctrl-c-without-keys"])
def test_every_way_out_restores_the_terminal(live: Live, how: str) -> None:
    sid = recorded(live)
    append(live, sid, (1, "o", ALT_SCREEN), (1000, "o", "never shown"))
    term = live.tmux()
    keys = how != "ctrl-c-without-keys"
    replay(term, sid, "--idle-limit", "0", stdin="" if keys else "< /dev/null")
    wait_for(
        lambda: "ALT-SCREEN" in term.visible() and modes(term, MODES_SET) == MODES_SET,
        what=lambda: f"the recording's modes in the terminal: {modes(term, MODES_SET)}",
    )
    if how == "ctrl-c":
        term.send("C-c")
        expected = 0  # Ctrl-C is the player's quit key
    elif how == "ctrl-c-without-keys":
        term.send("C-c")
        expected = 130  # interrupted (SIGINT)
    else:
        (player,) = children(term.pane_pid())
        sig = signal.SIGTERM if how == "sigterm" else signal.SIGHUP
        os.kill(player, sig)
        expected = 128 + sig
    assert exit_code(term) == expected
    assert modes(term, MODES_RESET) == MODES_RESET
    assert "REPLAY-THREE got: go on" in term.visible()  # the main screen is back
    assert_shell_clean(term)


def test_without_a_terminal_for_keys_the_queries_still_never_reach_the_shell(live: Live) -> None:
    """stdin is not a terminal: no keys, timed output. Queries left out, even one split between
    two events (answered, bash would show the answers on its prompt: ``assert_shell_clean``);
    the modes the recording left on are reset."""
    sid = recorded(live)
    append(live, sid, (0.1, "o", "SPLIT \x1b["), (0.1, "o", "6n\x1b"), (0.1, "o", "[c END\r\n"),
           (0.1, "o", ALT_SCREEN))  # fmt: skip
    term = live.tmux()
    replay(term, sid, "--speed", "16", stdin="< /dev/null")
    assert exit_code(term) == 0
    assert "REPLAY-THREE got: go on" in term.screen() and "SPLIT  END" in term.screen()
    assert modes(term, MODES_RESET) == MODES_RESET  # the recording ended full-screen
    assert_shell_clean(term)
