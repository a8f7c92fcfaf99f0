"""The screen model (host/screen.py) and what reads it: prompt detection over the rendered
screen (a corpus of agents' screens, fed as the raw bytes they write), the redraw of an
attaching terminal, typed lines, all without processes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ta_session.host.activity import ActivityMonitor
from ta_session.host.screen import ScreenModel
from ta_session.host.screen_text import ScreenText
from ta_session.host.typed import KeySplitter, TypedLines
from ta_session.model.builtin_agents import BUILTIN_AGENTS, builtin_agent
from ta_session.model.host import HostActivity

SCREENS = Path(__file__).resolve().parent / "fixtures" / "screens"

# fixture → (agent, the prompt reported, or None: the agent is merely idle)
CORPUS = {
    "claude_permission": ("claude-code", "Do you want to make this edit to calc.py?"),
    "claude_input_box": ("claude-code", "❯"),
    "claude_working": ("claude-code", None),
    "codex_approval": ("codex", "Would you like to run the following command?"),
    "codex_legacy": ("codex", "▌ Allow command? (y/n)"),
    "aider_confirm": ("aider", "Create new file? (Y)es/(N)o [Yes]:"),
    "aider_whats_new": ("aider", "Would you like to see what's new in this version? (Y)es/(N)o"),
    "gemini_allow": ("gemini", "Allow execution of: 'rm'?"),
    "gemini_apply": ("gemini", "Apply this change?"),
}


def rendered(name: str, cols: int = 100, rows: int = 30) -> ScreenModel:
    model = ScreenModel(cols, rows)
    data = (SCREENS / f"{name}.bin").read_bytes()
    for i in range(0, len(data), 7):  # in small reads: sequences split across them
        model.feed(data[i : i + 7])
    return model


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_an_agents_screen_is_waiting_or_idle_as_a_person_would_say(name: str) -> None:
    agent, expected = CORPUS[name]
    config = builtin_agent(agent)
    assert config is not None
    model, clock = rendered(name), Clock(step=0.0)
    monitor = ActivityMonitor(idle_after=2, prompt_patterns=list(config.prompt_regexes()),
                              screen=model.lines, clock=clock)  # fmt: skip
    monitor.output(b"")
    clock.now = 2.5
    change = monitor.check()
    assert change is not None
    if expected is None:
        assert change.activity is HostActivity.IDLE
    else:
        assert change.activity is HostActivity.WAITING
        assert change.prompt is not None and change.prompt.startswith(expected), change.prompt


PATTERNS = [
    (name, pattern)
    for name, data in BUILTIN_AGENTS.items()
    for pattern in data.get("prompt_patterns", [])
]


@pytest.mark.parametrize(("agent", "pattern"), PATTERNS)
def test_every_built_in_prompt_pattern_matches_a_rendered_screen_of_its_agent(
    agent: str, pattern: str
) -> None:
    regex = re.compile(pattern, re.MULTILINE)
    screens = [name for name, (owner, prompt) in CORPUS.items() if owner == agent and prompt]
    matched = [n for n in screens if any(regex.search(line) for line in rendered(n).lines())]
    assert matched, f"{agent}: {pattern!r} matches none of {screens}"


def test_claude_codes_menu_reads_as_words_on_the_screen() -> None:
    lines = rendered("claude_permission").lines()
    assert any("│ Do you want to make this edit to calc.py?" in line for line in lines), lines
    assert any("│ ❯ 1. Yes" in line for line in lines)


def test_the_redraw_holds_no_terminal_queries_and_rebuilds_the_same_screen() -> None:
    model = ScreenModel(40, 6)
    # a program that asks the terminal things (cursor position, DA2, XTVERSION, a DCS query)
    model.feed(b"\x1b[6n\x1b[>c\x1b[>0q\x1bP+q544e\x1b\\prompt> \x1b[1;31mred\x1b[0m\r\n")
    model.feed(b"\x1b[?2004h\x1b[?1h\x1b=\x1b[?25lsecond line\x1b[3;5H")
    redraw = model.render()
    for query in (b"\x1b[6n", b"\x1b[>c", b"\x1b[>0q", b"\x1bP"):
        assert query not in redraw
    copy = ScreenModel(40, 6)
    copy.feed(redraw)
    assert copy.lines() == model.lines()
    assert copy.cursor() == (4, 2)
    snapshot = copy.snapshot()
    assert snapshot["cursor"] == {"x": 4, "y": 2, "visible": False}
    assert b"\x1b[?2004h" in redraw and b"\x1b[?1h" in redraw and b"\x1b=" in redraw
    assert b"\x1b[0;1;31mred" in redraw  # colours and attributes


def test_the_alternate_screen_is_kept_apart_and_restored() -> None:
    model = ScreenModel(30, 5)
    model.feed(b"$ vim notes\r\n")
    model.feed(b"\x1b[?1049h\x1b[H\x1b[2J~ vim buffer\x1b[5;1H-- INSERT --")
    assert model.alternate and model.lines()[0] == "~ vim buffer"
    redraw = model.render()
    assert redraw.startswith(b"\x1b[0m\x1b[?1049h")
    copy = ScreenModel(30, 5)
    copy.feed(b"main text\r\n" + redraw)
    assert copy.alternate and copy.lines() == model.lines()
    model.feed(b"\x1b[?1049l")
    assert not model.alternate and model.lines()[0] == "$ vim notes" and model.cursor() == (0, 1)


class Clock:
    """A clock that moves ``step`` each time it is read (so emulating "takes" that), and on
    demand."""

    def __init__(self, step: float = 0.01) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_a_flood_is_not_emulated_and_its_modes_survive_the_cut() -> None:
    """1.7 MB fed as fast as possible: the emulator gets at most a small share of the time (and
    a short credit), so most of it is never emulated, whatever this machine's speed."""
    scrolled: list[str] = []
    model = ScreenModel(40, 5, backlog_limit=4096, on_scroll=scrolled.append)
    model.feed(b"\x1b[?2004h")
    for i in range(100_000):
        model.feed(b"flood line %d\r\n" % i)
        assert model.pending <= 2 * 4096 + 20  # bounded
    assert len(scrolled) < 50_000
    model.feed(b"last")
    assert model.lines()[-1] == "last" and model.lines()[-2] == "flood line 99999"
    assert b"\x1b[?2004h" in model.render()
    # On the alternate screen too: the mode it was in survives the cut.
    model.feed(b"\x1b[?1049h")
    for i in range(100_000):
        model.feed(b"flood line %d\r\n" % i)
    assert model.alternate
    assert b"\x1b[?2004h" in model.render()


def test_steady_output_is_emulated_as_it_comes_so_the_screen_stays_right() -> None:
    """Output at a pace the emulator keeps up with (here 16 kB a second) is never cut: a
    header drawn once stays on the screen however much output follows."""
    clock = Clock()
    model = ScreenModel(40, 5, backlog_limit=4096, clock=clock)
    model.feed(b"\x1b[H\x1b[2JHEADER")
    for second in range(20):
        model.feed(b"".join(b"\x1b[3;1Htick %d" % (second * 1000 + i) for i in range(1000)))
        clock.now += 1.0
    assert model.discarded == 0 and model.lines()[0] == "HEADER"
    assert model.lines()[2] == "tick 19999"


def test_a_cut_without_line_starts_begins_at_a_control_sequence() -> None:
    model = ScreenModel(40, 5, backlog_limit=4096, clock=Clock(step=0.1))
    for _ in range(20):  # no newline anywhere: the tail must not start inside "\x1b[3;1H…"
        model.feed(b"".join(b"\x1b[3;1Htick %d" % i for i in range(1000)))
    assert model.discarded > 0
    lines = model.lines()
    assert lines[0] == "" and lines[2] == "tick 999"


def test_lines_scrolled_off_are_kept_for_scrollback_with_a_bound() -> None:
    scrolled: list[str] = []
    model = ScreenModel(20, 3, history=5, on_scroll=scrolled.append)
    model.feed(b"".join(b"l%d\r\n" % i for i in range(10)))
    model.sync()
    assert scrolled == [f"l{i}" for i in range(8)]
    assert len(model.history) == 5 and model.history[-1].endswith("l7")


def test_terminal_replies_are_not_keys() -> None:
    splitter = KeySplitter()
    replies = b"\x1b[12;5R\x1b[?1;2c\x1b[>0;95;0c\x1b]11;rgb:0000/0000/0000\x07\x1bP>|tmux\x1b\\"
    assert [s.typed for s in splitter.split(replies)] == [False]
    assert [s.typed for s in splitter.split(b"\x1b[A")] == [True]  # Up: history recall
    # split across reads: the reply's tail is not taken for typing
    assert not splitter.split(b"\x1b]11;rgb:00")[0].typed
    assert not splitter.split(b"00/0000\x07")[0].typed
    parts = splitter.split(b"ls\rpwd")
    assert [(p.data, p.enter) for p in parts] == [(b"ls", b"\r"), (b"pwd", b"")]


def test_the_line_is_read_off_the_screen_from_where_the_prompt_ended() -> None:
    model = ScreenModel(40, 5)
    sent: list[bytes] = []
    typing = TypedLines(model)
    model.feed(b"$ ")
    # The "agent" (simulated readline) shows the edited line: what was typed, edited.
    typing.deliver(b"echo hi", sent.append, print, None)
    model.feed(b"echo hi\x08\x08X hi\x08\x08\x08")  # Left Left, X inserted (redrawn)
    lines = typing.deliver(b"\r", sent.append, print, None)
    assert lines == ["echo X hi"]
    assert b"".join(sent) == b"echo hi\r"


def test_the_line_is_read_once_the_last_keys_are_echoed_even_if_earlier_echoes_come_first() -> None:
    """On a busy machine the agent echoes Up and Backspace late: their echo arrives first, the
    echo of the key sent with Enter after it. The line read is the one the agent received."""
    model = ScreenModel(40, 5)
    model.feed(b"$ ")
    typing = TypedLines(model)
    typing.deliver(b"\x1b[A", lambda _: None, print, None)  # Up: nothing echoed yet
    typing.deliver(b"\x7f", lambda _: None, print, None)  # Backspace
    echoes = [b"echo aXbc", b"\x08 \x08", b"Z"]  # one more per wait for output

    def await_echo(longest: float) -> float:
        model.feed(echoes.pop(0) if echoes else b"")
        return 0.01

    assert typing.deliver(b"Z\r", lambda _: None, print, await_echo) == ["echo aXbZ"]
    # Keys, then Enter alone in the next read before they were echoed: waited for too.
    model.feed(b"\r\n$ ")
    typing.deliver(b"ls -l", lambda _: None, print, None)
    echoes.extend([b"ls", b" -l"])
    assert typing.deliver(b"\r", lambda _: None, print, await_echo) == ["ls -l"]
    # A prompt that echoes nothing (a password) is waited for within a budget, then logged
    # from the keystrokes.
    model.feed(b"\r\nPassword: ")
    typing.deliver(b"secret", lambda _: None, print, None)
    assert typing.deliver(b"x\r", lambda _: None, print, lambda longest: longest) == ["secretx"]


def test_keys_in_a_full_screen_program_make_no_lines() -> None:
    model = ScreenModel(40, 5)
    model.feed(b"\x1b[?1049h\x1b[Hless: file.txt")
    typing = TypedLines(model)
    assert typing.deliver(b"q/pattern\r", lambda _: None, print, None) == []


def test_the_first_line_after_a_full_screen_program_is_logged() -> None:
    model = ScreenModel(40, 5)
    model.feed(b"$ ")
    typing = TypedLines(model)
    assert typing.deliver(b"less f\r", lambda _: None, print, None) == []  # nothing echoed
    model.feed(b"\r\n\x1b[?1049hless screen")
    assert typing.deliver(b"q", lambda _: None, print, None) == []
    model.feed(b"\x1b[?1049l$ ")
    typing.deliver(b"ls", lambda _: None, print, None)
    model.feed(b"ls")
    assert typing.deliver(b"\r", lambda _: None, print, None) == ["ls"]


# -- ta session logs: the text as it appeared -----------------------------------------------


def test_log_text_has_no_escape_fragments_even_when_sequences_are_split() -> None:
    text = ScreenText(40, 4)
    stream = (
        "\x1b[?25lWorking…\r\r\n\x1b[2K\x1b[1A\x1b[2K\x1b[G"  # a frame, erased
        "\x1b[39;49mDo\x1b[1Cyou\x1b[1Cwant?\x1b[K\r\r\n"
        "progress 10%\rprogress 100%\r\n"
    ) + "".join(f"\x1b[32mline {i}\x1b[39;49m\r\n" for i in range(6))
    out: list[str] = []
    for i in range(0, len(stream), 5):  # escape sequences split across reads
        out += text.feed(stream[i : i + 5])
    out += text.finish()
    assert out == ["Do you want?", "progress 100%"] + [f"line {i}" for i in range(6)]


def test_log_text_keeps_what_a_clear_erased_and_skips_the_alternate_screen() -> None:
    text = ScreenText(30, 5)
    out = text.feed("before clear\r\n\x1b[H\x1b[2Jafter clear\r\n")
    out += text.feed("\x1b[?1049h\x1b[Hvim stuff\x1b[?1049l")
    out += text.finish()
    assert out == ["before clear", "after clear"]


def test_following_prints_settled_lines_once() -> None:
    text = ScreenText(30, 3)
    assert text.feed("one\r\ntwo\r\n") == []
    assert text.settle() == ["one", "two"]
    assert text.feed("three\r\nfour\r\n") == []  # one, two scroll off: printed already
    assert text.finish() == ["three", "four"]


def test_no_control_sequence_stops_the_emulator() -> None:
    """pyte raises on many valid-looking sequences (extra parameters, private variants it does
    not know); the model ignores those as a terminal would, and keeps drawing."""
    for marker in (b"", b"?", b">", b"=", b"<", b" "):
        for final in range(0x40, 0x7F):
            for params in (b"", b"1", b"4;2", b"0;0;0;0;0", b"99999;1"):
                model = ScreenModel(40, 10)
                model.feed(b"ab\x1b[" + marker + params + bytes([final]) + b"x")
                assert "x" in "".join(model.lines()), (marker, params, chr(final))
                model.render()


def test_settings_with_a_foreign_private_marker_draw_nothing() -> None:
    model = ScreenModel(40, 10)
    model.feed(b"\x1b[>4;2mplain \x1b[4;2Adone")  # XTMODKEYS; cursor up with an extra parameter
    assert model.lines()[0] == "plain done" and model.cursor() == (10, 0)
    assert b"\x1b[0;4" not in model.render()
