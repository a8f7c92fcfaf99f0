"""Terminals of different sizes, without processes: the host's window policy
(``host/window.py``), the frame a larger terminal draws around the agent's window
(``channels/frame.py``, checked on a terminal emulator), and where the policy is chosen (the
agent config, ``ta run --size``, the goal record)."""

from __future__ import annotations

import itertools
import json

import pyte
import pytest

from ta_session.channels.frame import HOLD_MAX, Fit, WindowFrame, unfinished
from ta_session.cli.main import build_parser
from ta_session.host.window import Window
from ta_session.host.wire import ProtocolError
from ta_session.model import Goal, RecordFormatError
from ta_session.model.agent import AgentConfig
from ta_session.model.builtin_agents import builtin_agent
from ta_session.model.host import WindowSize

SMALLEST, LATEST = WindowSize.SMALLEST, WindowSize.LATEST


# -- the policy --------------------------------------------------------------------------------


def test_smallest_takes_the_smallest_width_and_height_of_every_terminal() -> None:
    window = Window(SMALLEST, 80, 24)
    assert window.report("a", 100, 30) and window.size == (100, 30)
    assert window.report("b", 70, 40) and window.size == (70, 30)  # each direction on its own
    assert window.report("c", 90, 20) and window.size == (70, 20)
    assert not window.report("d", 120, 50)  # a larger one changes nothing
    assert window.describe() == {"cols": 70, "rows": 20, "policy": "smallest", "terminals": 4}
    assert window.message() == {"type": "window", **window.describe()}


def test_the_window_grows_back_when_the_small_terminal_leaves() -> None:
    window = Window(SMALLEST, 80, 24)
    window.report("big", 100, 30)
    window.report("small", 70, 20)
    assert window.size == (70, 20)
    assert window.leave("small") and window.size == (100, 30)
    assert not window.leave("small")  # gone already
    assert not window.leave("never-reported")


def test_a_terminal_that_resizes_counts_with_its_new_size() -> None:
    window = Window(SMALLEST, 80, 24)
    window.report("a", 100, 30)
    window.report("b", 70, 20)
    assert window.report("b", 120, 40) and window.size == (100, 30)
    assert window.report("a", 60, 50) and window.size == (60, 40)


def test_ties_change_nothing_until_the_last_of_them_leaves() -> None:
    window = Window(SMALLEST, 80, 24)
    window.report("a", 70, 20)
    assert not window.report("b", 70, 20)
    window.report("c", 100, 30)
    assert not window.leave("a") and window.size == (70, 20)
    assert window.leave("b") and window.size == (100, 30)


def test_latest_follows_the_terminal_that_reported_last() -> None:
    window = Window(LATEST, 80, 24)
    assert window.report("a", 100, 30) and window.size == (100, 30)
    assert window.report("b", 70, 20) and window.size == (70, 20)
    assert window.report("a", 120, 40) and window.size == (120, 40)  # a resize makes it latest
    assert not window.leave("b")  # not the latest: nothing changes
    window.report("b", 90, 25)
    assert window.leave("b") and window.size == (120, 40)  # back to the one before it
    assert not window.report("a", 120, 40)  # the same size again


def test_without_terminals_the_window_keeps_its_size() -> None:
    for policy in WindowSize:
        window = Window(policy, 80, 24)
        assert window.size == (80, 24) and window.terminals == 0
        window.report("only", 100, 30)
        assert not window.leave("only")
        assert window.size == (100, 30) and window.terminals == 0


def test_connections_that_report_no_size_do_not_count() -> None:
    # Only terminals that give a size (hello.size or RESIZE) count: a script, or the web
    # server's shared output connection (web:viewers), says hello without one.
    window = Window(SMALLEST, 80, 24)
    assert not window.attached("web:viewers", None)
    assert window.attached("terminal", (100, 30))
    assert not window.leave("web:viewers")
    assert window.size == (100, 30) and window.terminals == 1


def test_a_size_out_of_range_is_refused_and_changes_nothing() -> None:
    window = Window(SMALLEST, 80, 24)
    window.report("a", 100, 30)
    for cols, rows in [(0, 24), (80, 0), (10000, 24)]:
        with pytest.raises(ProtocolError, match="out of range"):
            window.report("b", cols, rows)
    assert window.size == (100, 30) and window.terminals == 1


# -- the frame, drawn on a terminal emulator ---------------------------------------------------


class Term:
    """A terminal emulator of a fixed size that gets what the attach loop would write."""

    def __init__(self, cols: int, rows: int) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)

    def write(self, data: bytes) -> None:
        self.stream.feed(data)

    def row(self, y: int) -> str:  # 1-based, as the terminal counts
        return self.screen.display[y - 1]

    def column(self, x: int, rows: int) -> str:
        return "".join(self.screen.display[y][x - 1] for y in range(rows))

    @property
    def cursor(self) -> tuple[int, int]:
        return self.screen.cursor.x + 1, self.screen.cursor.y + 1


def window(cols: int, rows: int, policy: str = "smallest") -> dict[str, object]:
    return {"type": "window", "cols": cols, "rows": rows, "policy": policy, "terminals": 2}


def test_a_larger_terminal_frames_the_agents_window_and_says_why() -> None:
    term, frame = Term(100, 30), WindowFrame((100, 30))
    term.write(b"\x1b[5;7H")  # the agent's cursor
    term.write(frame.set_window(window(70, 20)))
    assert frame.fit is Fit.LARGER and frame.framed
    assert term.column(71, 20) == "│" * 20  # the right border, just outside the window
    bottom = term.row(21)
    assert bottom.startswith("── agent window 70×20 (the smallest terminal attached)")
    assert "ta run --size latest to change" in bottom
    assert term.cursor == (7, 5)  # the agent's cursor is where it was
    notice = frame.take_notice()
    assert notice is not None and "70×20" in notice and frame.take_notice() is None  # once


def test_the_label_is_shortened_to_the_terminals_width() -> None:
    term, frame = Term(50, 30), WindowFrame((50, 30))
    term.write(frame.set_window(window(40, 20)))
    assert term.row(21).startswith("── agent window 40×20 (the smallest terminal")
    assert term.row(21).rstrip().endswith("…")
    latest = WindowFrame((200, 60))
    latest.set_window(window(80, 24, "latest"))
    assert latest.label() == (
        "agent window 80×24 (the latest terminal size) — ta run --size smallest to change"
    )


def test_no_frame_when_the_terminal_is_not_larger() -> None:
    frame = WindowFrame((80, 24))
    assert frame.set_window(window(80, 24)) == b""
    assert not frame.framed and frame.take_notice() is None and frame.clear() == b""
    assert frame.output(b"\x1b[rplain", 1.0) == b"\x1b[rplain"  # passed on untouched
    assert frame.due(1.0) is None


def test_output_that_erases_the_frame_gets_it_back_once_output_pauses() -> None:
    term, frame = Term(100, 30), WindowFrame((100, 30))
    term.write(frame.set_window(window(70, 20)))
    term.write(frame.output(b"\x1b[H\x1b[2Jcleared\x1b[3;1H\x1b[K", 10.0))
    assert "│" not in term.column(71, 20)
    assert frame.due(10.0) == pytest.approx(0.05)  # after a quiet moment
    assert frame.tick(10.01) == b""
    term.write(frame.tick(10.06))
    assert term.column(71, 20) == "│" * 20 and term.row(21).startswith("── agent window")
    assert term.row(1).startswith("cleared") and term.cursor == (1, 3)
    assert frame.due(10.1) is None  # nothing more to do


def test_redraws_are_limited_while_output_keeps_coming() -> None:
    frame = WindowFrame((100, 30))
    frame.set_window(window(70, 20))
    now, draws = 100.0, []
    while now < 103.0:  # output every 10 ms for three seconds: never a quiet moment
        frame.output(b"x", now)
        if frame.tick(now):
            draws.append(now)
        now += 0.01
    assert 2 <= len(draws) <= 4  # about once a second, never ten times a second
    assert all(b - a >= 0.1 for a, b in itertools.pairwise(draws))


def test_the_agents_scrolling_stays_within_its_rows() -> None:
    term, frame = Term(100, 30), WindowFrame((100, 30))
    term.write(frame.set_window(window(70, 20)))
    # The agent resets its scroll region (as the attach redraw does) and prints 40 lines.
    lines = b"\x1b[r" + b"".join(b"line %d\r\n" % i for i in range(40))
    term.write(frame.output(lines, 1.0))
    term.write(frame.tick(2.0))
    assert term.row(19) == "line 39".ljust(70) + "│" + " " * 29  # scrolled within 20 rows
    assert term.row(21).startswith("── agent window")  # the frame never moved
    assert term.row(22).strip() == ""
    # Its own region, inside its window, is kept as it is; one reaching past it is cut.
    assert frame.output(b"\x1b[5;10r", 3.0) == b"\x1b[5;10r"
    assert frame.output(b"\x1b[2;99r", 3.0) == b"\x1b[2;20r"
    assert frame.output(b"\x1bc", 3.0) == b"\x1bc\x1b[1;20r"  # a full reset: kept to its rows
    assert frame.margins is None


def test_the_window_growing_back_clears_the_frame() -> None:
    term, frame = Term(100, 30), WindowFrame((100, 30))
    term.write(frame.set_window(window(70, 20)))
    term.write(frame.set_window(window(100, 30)))
    assert not frame.framed and frame.fit is Fit.SAME
    assert "│" not in term.column(71, 20) and "agent window" not in term.row(21)
    assert frame.take_notice() is not None  # it said so when it was framed; not again now
    assert frame.take_notice() is None
    # The scroll region is the whole terminal again: the 30th row scrolls, not the 20th.
    term.write(b"\x1b[30;1H" + b"x\r\n" * 3)
    assert term.row(27).startswith("x") and term.row(30).strip() == ""


def test_a_frame_left_on_the_main_screen_goes_when_the_agent_returns_to_it() -> None:
    main, frame = Term(100, 30), WindowFrame((100, 30))  # the main screen, framed
    main.write(frame.set_window(window(70, 20)))
    frame.alternate = True  # a full-screen program: the window grows back meanwhile
    frame.set_window(window(100, 30))
    assert frame.output(b"still on the alternate screen", 1.0) == b"still on the alternate screen"
    out = frame.output(b"\x1b[?1049l$ ", 2.0)
    assert out.startswith(b"\x1b[?1049l") and out.endswith(b"$ ")  # erased right after it
    main.write(out.replace(b"\x1b[?1049l", b""))
    assert "│" not in main.column(71, 20) and "agent window" not in main.row(21)
    assert frame.output(b"\x1b[?1049l", 3.0) == b"\x1b[?1049l"  # once


def test_a_window_larger_than_the_terminal_is_said_once() -> None:
    frame = WindowFrame((80, 24))
    frame.set_window(window(120, 40, "latest"))
    assert frame.fit is Fit.SMALLER and not frame.framed
    notice = frame.take_notice()
    assert notice is not None and "smaller than the agent's window (120×40" in notice


def test_a_terminal_resize_redraws_the_frame_once_output_settles() -> None:
    term, frame = Term(100, 30), WindowFrame((100, 30))
    term.write(frame.set_window(window(70, 20)))
    term.screen.resize(35, 120)  # pyte: lines, columns
    term.write(frame.resized((120, 35), 5.0))
    assert frame.due(5.0) == pytest.approx(0.05)
    term.write(frame.tick(5.1))
    assert term.column(71, 20) == "│" * 20
    assert term.row(1)[71:].strip() == ""  # nothing right of the border


def test_leaving_erases_the_frame() -> None:
    term, frame = Term(100, 30), WindowFrame((100, 30))
    term.write(frame.set_window(window(70, 20)))
    term.write(frame.clear())
    assert "│" not in term.column(71, 20) and term.row(21).strip() == ""


def test_nothing_is_drawn_inside_an_escape_sequence_or_a_character() -> None:
    assert unfinished(b"text") == 4
    assert unfinished(b"ab\x1b") == 2
    assert unfinished(b"ab\x1b[38;5") == 2
    assert unfinished(b"ab\x1b[38;5;1m") == 11
    assert unfinished(b"ab\x1b]0;title") == 2
    assert unfinished(b"ab\x1b]0;title\x07") == 12
    assert unfinished(b"ab\x1b]0;title\x1b\\") == 13
    assert unfinished(b"ab\x1b(") == 2 and unfinished(b"ab\x1b(B") == 5
    assert unfinished("é".encode()[:1]) == 0
    assert unfinished("x✓".encode()[:3]) == 1 and unfinished("x✓".encode()) == 4
    assert unfinished("🎉".encode()[:3]) == 0
    frame = WindowFrame((100, 30))
    frame.set_window(window(70, 20))
    # An unfinished sequence is held back until its end arrives (the terminal could not have
    # acted on it anyway); the frame is drawn only between sequences.
    assert frame.output(b"abc\x1b[3", 1.0) == b"abc"
    assert frame.output(b"1mred", 1.0) == b"\x1b[31mred"
    long_string = b"\x1b]0;" + b"t" * HOLD_MAX
    assert frame.output(long_string, 2.0) == long_string  # too long to hold: passed on
    assert frame.due(9.0) is None  # ... and no frame until it ends
    frame.output(b"\x07", 9.0)
    assert frame.due(9.0) is not None


def test_at_most_ten_redraws_a_second() -> None:
    frame = WindowFrame((100, 30))
    frame.set_window(window(70, 20))
    frame.output(b"x", 0.0)
    assert frame.tick(0.05)
    frame.output(b"y", 0.06)
    assert frame.due(0.06) == pytest.approx(0.09)  # 0.1 s after the last redraw


# -- where the policy is chosen ----------------------------------------------------------------


def test_the_agent_config_chooses_the_policy() -> None:
    config = AgentConfig.from_dict({"command": "x", "window_size": "latest"}, "a.yaml", name="a")
    assert config.window_size is LATEST
    assert config.to_dict()["window_size"] == "latest"
    assert AgentConfig.from_dict(config.to_dict(), "copy") == config
    default = builtin_agent("claude-code")
    assert default is not None and default.window_size is SMALLEST
    with pytest.raises(RecordFormatError, match="'window_size' must be 'smallest' or 'latest'"):
        AgentConfig.from_dict({"command": "x", "window_size": "largest"}, "b.yaml", name="b")


def test_ta_run_size_is_kept_in_the_goal_and_session_files_do_not_change() -> None:
    goal = Goal.new("t")
    assert "window_size" not in goal.to_dict()  # absent unless chosen
    goal.window_size = LATEST
    again = Goal.from_json(goal.to_json())
    assert again.window_size is LATEST and json.loads(goal.to_json())["window_size"] == "latest"
    with pytest.raises(RecordFormatError):
        Goal.from_dict({**goal.to_dict(), "window_size": "huge"})
    assert build_parser().parse_args(["run", "t", "--size", "latest"]).size == "latest"
    for size in WindowSize:  # the command line offers every policy
        assert build_parser().parse_args(["run", "t", "--size", size.value]).size == size.value
