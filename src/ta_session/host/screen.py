"""The screen model (SPEC §4.2, §4.4): a terminal emulator (``pyte``) fed with the agent's output,
so the host knows what a person looking at the agent's terminal sees.

It serves three things: the redraw of a terminal that attaches (``render``: text, colours,
cursor, alternate screen, modes, never the agent's old terminal queries), the rendered lines
prompt patterns are matched against (``lines``), and the cursor line that an Enter submits
(``line_at``/``cursor``). ``ta session replay`` also keeps one, to repaint the row its status
line covered (``repaint_row``).

**Lazy and bounded.** pyte is pure Python (about 0.7 MB/s); feeding it every byte would slow an
agent that floods output. ``feed`` only appends to a backlog; ``sync`` (called when a screen is
needed, or by the host when the agent is quiet) runs the emulator over it. While output flows,
the backlog is also emulated a small piece (``EMULATION_PIECE``, a few ms) at a time as long as
the emulator has used less than ``EMULATION_SHARE`` of the time lately: steady output of up to
~35 kB/s stays right on the screen, and the relay never waits long. Past that (a flood), when
the backlog passes twice ``BACKLOG_LIMIT`` its head is discarded: the screen is reset and only
the end of the tail is emulated (from its last clear-screen, or two screens' worth of lines).
What the discarded head switched on or off (alternate screen, cursor keys, bracketed paste,
mouse, keypad) is scanned for with a regex (C speed) and re-applied, so those modes survive a
flood. Lines scrolled off the top are kept as styled text, at most ``HISTORY_LINES`` of them.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from pyte import modes

from ta_session.host.emulator import (
    REPLAYED_MODES,
    AgentScreen,
    AgentStream,
    plain_line,
    render_line,
    sgr,
)

BACKLOG_LIMIT = 32 << 10  # unemulated output kept: 32-64 KiB, at most ≈0.1 s of emulation
EMULATION_SHARE = 0.05  # of the time, at most, spent emulating a backlog while the agent writes
EMULATION_CREDIT = 0.05  # seconds of emulation saved up, at most (a burst after a quiet spell)
EMULATION_PIECE = 4 << 10  # bytes of backlog emulated at once while output flows (~6 ms)
HISTORY_LINES = 1000  # lines scrolled off the top that are kept (for a re-attach's scrollback)
REDRAW_HISTORY = 200  # of those, how many a re-attaching terminal gets as scrollback
MAX_COLS, MAX_ROWS = 1000, 500  # the model's size is clamped: memory stays bounded
_MODE_SET = re.compile(rb"\x1b\[\?([0-9;]+)([hl])|\x1b([=>])")
# Strings pyte does not parse (it would draw their contents): DCS, SOS, PM, APC. Vim sends DCS
# queries, tmux passthrough uses DCS. Removed before emulation; an unfinished one is held back.
_STRING = re.compile(rb"\x1b[PX^_].*?(?:\x1b\\|\x07|\x9c)", re.DOTALL)
_STRING_START = re.compile(rb"\x1b[PX^_]")
MAX_STRING = 4096  # an unterminated string longer than this is dropped, not held
# CSI sequences with a private marker other than "?" (XTMODKEYS "CSI > 4 ; 2 m", secondary DA
# "CSI > c", XTVERSION "CSI > q"): settings and queries with nothing to draw. pyte drops the
# marker and would take them for their plain meaning (underline, for XTMODKEYS).
_FOREIGN_CSI = re.compile(rb"\x1b\[[<=>][0-9;:]*[ -/]*[@-~]")


class ScreenModel:
    """The agent's screen. ``feed`` is cheap; everything that reads the screen syncs first."""

    def __init__(
        self,
        cols: int = 80,
        rows: int = 24,
        *,
        newline: bool = False,
        backlog_limit: int = BACKLOG_LIMIT,
        history: int = HISTORY_LINES,
        on_scroll: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        """``newline``: LF also returns the carriage (output from pipes, where no terminal
        turns LF into CRLF). ``on_scroll``: called with each main-screen line (plain text) as
        it scrolls off the top."""
        self.backlog_limit = backlog_limit
        self._clock = clock
        self._credit = EMULATION_CREDIT  # seconds the emulator may spend while output flows
        self._seconds_per_byte = 1.5e-6  # what emulating costs, measured as it goes
        self._credited_at = clock()
        self.history: deque[str] = deque(maxlen=history)  # styled text
        self._on_scroll = on_scroll
        self._newline = newline
        self.screen = AgentScreen(*_clamp(cols, rows), self._scrolled)
        self.stream = AgentStream(self.screen)
        self._start()
        self._backlog = bytearray()
        self._held = b""  # an unfinished DCS/APC string, waiting for its end
        self._carried: dict[int, bool] = {}  # modes set in output discarded unemulated
        self.discarded = 0  # bytes never emulated (the backlog overflowed)

    def _start(self) -> None:
        if self._newline:
            self.screen.set_mode(modes.LNM)

    def _scrolled(self, line: Any) -> None:
        columns = self.screen.columns
        self.history.append(render_line(line, columns))
        if self._on_scroll is not None:
            self._on_scroll(plain_line(line, columns))

    # -- input ------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return len(self._backlog)

    def feed(self, data: bytes) -> None:
        self._backlog += data
        backlog = len(self._backlog)
        if backlog < EMULATION_PIECE:
            return
        now = self._clock()
        self._credit = min(EMULATION_CREDIT,
                           self._credit + (now - self._credited_at) * EMULATION_SHARE)  # fmt: skip
        self._credited_at = now
        # Steady output: emulated in small pieces (a few ms each: the relay never waits long)
        # while the budget lasts, so the screen stays right.
        if not self.discarded and backlog * self._seconds_per_byte <= self._credit:
            self.sync()
            spent = self._clock() - now
            self._credit -= spent
            self._seconds_per_byte += (spent / backlog - self._seconds_per_byte) / 8
        elif backlog > 2 * self.backlog_limit:  # a flood: emulating it would slow the agent
            if not self.discarded:  # the screen will start over: keep the modes it is in now
                self._carried = self._modes()
            cut = len(self._backlog) - self.backlog_limit
            self._carry(bytes(self._backlog[:cut]))
            del self._backlog[:cut]
            self.discarded += cut

    def _modes(self) -> dict[int, bool]:
        """The modes the emulated screen is in, as ``_carry`` notes them."""
        screen = self.screen
        carried = {number: (number << 5) in screen.mode for number in (*REPLAYED_MODES, 25)}
        carried[-1] = screen.keypad
        carried[1049] = screen.alternate
        return carried

    def _carry(self, head: bytes) -> None:
        """Remember the modes ``head`` (never emulated) switched, to re-apply them."""
        for match in _MODE_SET.finditer(head):
            if match[3]:
                self._carried[-1] = match[3] == b"="  # -1: the keypad
                continue
            on = match[2] == b"h"
            for number in match[1].split(b";"):
                if number.isdigit():
                    self._carried[int(number)] = on

    def sync(self) -> None:
        """Emulate the backlog. After an overflow the screen starts over from the tail."""
        if self.discarded:
            self._restart()
        data = self._held + bytes(self._backlog)
        self._backlog.clear()
        self._held = b""
        data = _FOREIGN_CSI.sub(b"", _STRING.sub(b"", data))
        start = _STRING_START.search(data, max(0, len(data) - MAX_STRING))
        if start is not None:
            self._held, data = data[start.start() :], data[: start.start()]
        if data:
            try:
                self.stream.feed(data)
            except Exception:  # an emulator defect must not end the host
                self.stream = AgentStream(self.screen)  # a fresh parser; the screen stays as it is

    def _restart(self) -> None:
        screen = self.screen
        screen.reset()
        self._start()
        self.stream = AgentStream(screen)  # a fresh parser: the old one may be mid-sequence
        for number, on in self._carried.items():
            if number == -1:
                screen.keypad = on
            elif on:
                screen.set_mode(number, private=True)
            else:
                screen.reset_mode(number, private=True)
        self._carried = {}
        self.discarded = 0
        self.history.clear()  # what scrolled off before the gap is not the screen's past now
        # The screen is lost anyway: emulate only what can still be on it, from the last clear
        # screen or from 2 screens' worth of lines back, whichever is later (a line start: the
        # tail's first line is probably a fragment). A flood then costs a watcher little.
        backlog = self._backlog
        start = backlog.rfind(b"\x1b[2J")
        newline = len(backlog)
        for _ in range(2 * screen.lines):
            newline = backlog.rfind(b"\n", 0, newline)
            if newline < 0:
                break
        if newline >= 0 and newline + 1 > start:
            start = newline + 1
        if start <= 0:  # no line start: begin at a control sequence, not inside one
            start = max(0, backlog.find(b"\x1b"))
        if start > 0:
            del backlog[:start]

    def resize(self, cols: int, rows: int) -> None:
        self.sync()
        cols, rows = _clamp(cols, rows)
        self.screen.resize(rows, cols)
        if self.screen.saved_main is not None:
            # pyte resizes the visible buffer only; the saved main screen keeps its old lines.
            self.screen.saved_main[1].x = min(self.screen.saved_main[1].x, cols - 1)
            self.screen.saved_main[1].y = min(self.screen.saved_main[1].y, rows - 1)

    # -- reading ----------------------------------------------------------------------------

    @property
    def alternate(self) -> bool:
        self.sync()
        return self.screen.alternate

    def lines(self) -> list[str]:
        """The visible lines as plain text (trailing blanks removed)."""
        self.sync()
        screen = self.screen
        return [plain_line(screen.buffer[y], screen.columns) for y in range(screen.lines)]

    def line_at(self, y: int) -> str:
        self.sync()
        return plain_line(self.screen.buffer[y], self.screen.columns)

    def cursor(self) -> tuple[int, int]:
        """(column, row), 0-based."""
        self.sync()
        return self.screen.cursor.x, self.screen.cursor.y

    @property
    def size(self) -> tuple[int, int]:
        """(columns, rows)."""
        return self.screen.columns, self.screen.lines

    @property
    def scrolled(self) -> int:
        return self.screen.scrolled

    def snapshot(self) -> dict[str, Any]:
        """The screen for clients that are not terminals (the ``screen`` request)."""
        self.sync()
        screen = self.screen
        return {
            "cols": screen.columns,
            "rows": screen.lines,
            "lines": self.lines(),
            "cursor": {
                "x": screen.cursor.x,
                "y": screen.cursor.y,
                "visible": not screen.cursor.hidden,
            },
            "alternate": screen.alternate,
        }

    def render(self, *, history: bool = True) -> bytes:
        """Bytes that draw this screen on a terminal in any state: scrollback (main screen
        only; ``history`` False: none, for a terminal that saw it already), every line with its
        colours, the scroll region, the pen, the cursor and the modes. Nothing in it asks the
        terminal anything."""
        self.sync()
        screen = self.screen
        out = ["\x1b[0m"]
        if screen.alternate:
            out.append("\x1b[?1049h\x1b[H\x1b[2J")
        else:
            out.append("\x1b[?1049l\x1b[r\x1b[H\x1b[2J")
            lines = list(self.history)[-REDRAW_HISTORY:] if history else []
            if lines:  # written, then pushed into the terminal's scrollback by newlines
                out.append("\r\n".join(lines) + "\r\n" * (screen.lines + 1))
        # Rows written one after the other from the top (CRLF between them, none after the
        # last: nothing scrolls), so a client reading lines reads the screen's lines in order.
        out.append("\x1b[H")
        out.append("\r\n".join(render_line(screen.buffer[y], screen.columns)
                                for y in range(screen.lines)))  # fmt: skip
        if screen.margins is not None:
            out.append(f"\x1b[{screen.margins.top + 1};{screen.margins.bottom + 1}r")
        for number in REPLAYED_MODES:
            out.append(f"\x1b[?{number}{'h' if (number << 5) in screen.mode else 'l'}")
        if modes.DECAWM not in screen.mode:
            out.append("\x1b[?7l")
        if modes.IRM in screen.mode:
            out.append("\x1b[4h")
        out.append("\x1b=" if screen.keypad else "\x1b>")
        out.append(sgr(screen.cursor.attrs))
        out.append(f"\x1b[{screen.cursor.y + 1};{screen.cursor.x + 1}H")
        out.append("\x1b[?25l" if screen.cursor.hidden else "\x1b[?25h")
        return "".join(out).encode("utf-8", "replace")

    def repaint_row(self, y: int) -> bytes:
        """Bytes that draw row ``y`` again over something drawn on it (a player's status line)
        and put back autowrap, the pen, the cursor and its visibility; nothing else changes."""
        self.sync()
        screen, cursor = self.screen, self.screen.cursor
        out = [f"\x1b[{y + 1};1H\x1b[0m\x1b[2K", render_line(screen.buffer[y], screen.columns)]
        out.append("\x1b[?7h" if modes.DECAWM in screen.mode else "\x1b[?7l")
        out.append(sgr(cursor.attrs) + f"\x1b[{cursor.y + 1};{cursor.x + 1}H")
        out.append("\x1b[?25l" if cursor.hidden else "\x1b[?25h")
        return "".join(out).encode("utf-8", "replace")


def _clamp(cols: int, rows: int) -> tuple[int, int]:
    return max(1, min(cols, MAX_COLS)), max(1, min(rows, MAX_ROWS))
