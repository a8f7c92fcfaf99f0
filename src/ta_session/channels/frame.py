"""The frame around the agent's window in a terminal larger than it (SPEC §4.2).

With terminals of different sizes attached, the agent's window is the smallest of them (or the
latest, by the session's policy: ``host/window.py``), and the host says which in its
``welcome`` and in a ``window`` message whenever it changes. A larger terminal shows the agent's
output in its top-left corner; ``WindowFrame`` draws just outside that area a right border
(``│`` in column cols+1) and a bottom line (``─`` in row rows+1) with a label saying why, and:

* keeps the terminal's scroll region to the agent's rows (the agent's own ``DECSTBM`` and
  resets are rewritten on the way through), so that a line feed on the agent's bottom row
  scrolls the agent's rows only, as in the agent's window, instead of running into the frame;
* redraws the frame after output that may have erased it (a cleared screen, an erased line),
  once the output pauses (``QUIET``), at most ten times a second, and at least once a second
  while output keeps coming; never inside an escape sequence or a character;
* clears what is outside the agent's window whenever the window or the terminal changes size,
  so an old frame or text the agent no longer shows does not stay behind.

Each drawing saves and restores the cursor (``ESC 7`` / ``ESC 8``: position, attributes,
character set, origin mode), so the agent's cursor and colours are untouched. Nothing here
writes: the attach loop writes what these methods return, to its own terminal only. The frame
never reaches the agent, the recording or the logs.

Limits: a line longer than the agent's window that relies on the terminal wrapping it goes on
past the border in a wider terminal until the next redraw (full-screen agents place every line
themselves); some terminals keep no scrollback for lines scrolled within a scroll region.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

QUIET = 0.05  # seconds without output before the frame is redrawn
MIN_INTERVAL = 0.1  # seconds between two redraws at least (ten a second)
MAX_DELAY = 1.0  # ... and at most, while output keeps coming
HOLD_MAX = 256  # bytes of an unfinished escape sequence held back until the rest arrives
SCAN = 4096  # how far back from the end of output an unfinished sequence is looked for

BORDER, LINE, CORNER = "│", "─", "┘"
SAVE, RESTORE = "\x1b7", "\x1b8"
# Default colours, character set G0 as ASCII, origin mode off: DECRC restores all three.
PLAIN = "\x1b[0m\x0f\x1b(B\x1b[?6l"

# The agent's scroll region (DECSTBM, not the private CSI ? … r), a full reset (RIS) and a soft
# reset (DECSTR): the last two reset the scroll region too.
_MARGINS = re.compile(rb"\x1b\[(\d*)(?:;(\d*))?r|\x1bc|\x1b\[!p")
_LEAVE_ALTERNATE = re.compile(rb"\x1b\[\?(?:1049|1047|47)l")
_SEQUENCE_END = re.compile(rb"[\x40-\x7e]")
_STRING_START = b"]P_^X"  # OSC, DCS, APC, PM, SOS: ended by BEL or ST (ESC \)
_CHARSET_START = b"()*+-./#% "  # two-character escape sequences (ESC ( B, ESC # 8, …)


class Fit(StrEnum):
    """How this terminal compares with the agent's window."""

    SAME = "same"  # the same size, or no window known: nothing to draw
    LARGER = "larger"  # larger in one direction at least, smaller in none: framed
    SMALLER = "smaller"  # smaller in one direction at least: part of the window is cut off


def unfinished(data: bytes) -> int:
    """Where an escape sequence or UTF-8 character unfinished at the end of ``data`` starts
    (``len(data)`` when it ends cleanly): nothing may be written into the middle of one."""
    start = data.rfind(b"\x1b", max(0, len(data) - SCAN))
    if start >= 0:
        seq = data[start + 1 :]
        if not seq:
            return start
        kind = seq[:1]
        if kind == b"[":
            if not _SEQUENCE_END.search(seq, 1):
                return start
        elif kind in _STRING_START:
            if b"\x07" not in seq:  # ended by ST, the ESC \ would be the last ESC
                return start
        elif kind in _CHARSET_START and len(seq) < 2:
            return start
    for back in range(1, min(4, len(data)) + 1):  # a lead byte whose continuation is missing
        byte = data[-back]
        if byte < 0x80:
            break
        if byte >= 0xC0:
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) - back if back < needed else len(data)
    return len(data)


class WindowFrame:
    """The frame of one attached terminal (``term``: its columns and rows)."""

    def __init__(self, term: tuple[int, int]) -> None:
        self.term = term
        self.window: tuple[int, int] | None = None  # the agent's, once the host said
        self.policy = "smallest"
        self.fit = Fit.SAME
        # The agent's own scroll region (top, bottom or None: its last row); None: none set.
        self.margins: tuple[int, int | None] | None = None
        self._tail = b""  # an unfinished escape sequence held back from the last output
        self._clean = True  # the output passed on so far ends between sequences
        self._pending: float | None = None  # since when output may have erased the frame
        self._last_output = -math.inf
        self._last_draw = -math.inf
        self._notice: str | None = None
        # The terminal is on the alternate screen (the attach loop keeps this up to date), and
        # the window whose frame the main screen shows (None: no frame there). A relayout on
        # the alternate screen leaves the main screen's frame stale until the agent leaves it.
        self.alternate = False
        self._main: tuple[int, int] | None = None

    # -- what changed -----------------------------------------------------------------------

    def set_window(self, message: Mapping[str, Any]) -> bytes:
        """The host's ``window`` message (or the ``window`` of its welcome)."""
        cols, rows = message.get("cols"), message.get("rows")
        if not (isinstance(cols, int) and isinstance(rows, int) and cols > 0 and rows > 0):
            return b""
        policy = str(message.get("policy") or "smallest")
        if (cols, rows) == self.window and policy == self.policy:
            return b""
        self.policy = policy
        before = self.fit
        out = self._relayout(self.term, (cols, rows), draw=True)
        if self.fit is not before and self.fit is not Fit.SAME:
            self._notice = self._notice_text()
        return out

    def resized(self, term: tuple[int, int], now: float) -> bytes:
        """This terminal has a new size. The frame is drawn once output settles: the host's
        answer (a ``window`` message, if the window follows this terminal) comes first."""
        out = self._relayout(term, self.window, draw=False)
        self._last_output = now
        if self._pending is None:
            self._pending = now
        return out

    def take_notice(self) -> str | None:
        """What to say once, as a notice, since the fit last changed (None: nothing new)."""
        notice, self._notice = self._notice, None
        return notice

    @property
    def framed(self) -> bool:
        return self.window is not None and self.fit is not Fit.SAME and self._outside != (0, 0)

    @property
    def _outside(self) -> tuple[int, int]:
        """Columns right of and rows below the agent's window in this terminal."""
        if self.window is None:
            return 0, 0
        return max(0, self.term[0] - self.window[0]), max(0, self.term[1] - self.window[1])

    def _relayout(self, term: tuple[int, int], window: tuple[int, int] | None, *,
                  draw: bool) -> bytes:  # fmt: skip
        old_window, was_taller = self.window, self._outside[1] > 0
        self.term, self.window = term, window
        if window is None:
            return b""
        cols, rows = window
        if term == window:
            self.fit = Fit.SAME
        elif term[0] < cols or term[1] < rows:
            self.fit = Fit.SMALLER
        else:
            self.fit = Fit.LARGER
        out = []
        # What is outside the smaller of the old and new windows goes: an old frame, or the
        # agent's text beyond a window that shrank.
        old = old_window or term
        shown = (min(old[0], cols), min(old[1], rows))
        if shown[0] < term[0] or shown[1] < term[1]:
            out.append(self._erase(shown))
        if was_taller or self._outside[1] > 0:
            out.append(self._region())
        if draw and self.framed:
            out.append(self._draw())
            self._pending = None
        if not self.alternate:
            self._main = window if self.framed else None
        return "".join(out).encode()

    # -- output passing through -------------------------------------------------------------

    def output(self, data: bytes, now: float) -> bytes:
        """The agent's output as this terminal should get it."""
        if self._tail:
            data, self._tail = self._tail + data, b""
        if self._main is not None and self.alternate:
            data = self._left_alternate(data, now)
        if not self.framed:
            self._clean = True
            return data
        cut = unfinished(data)
        if len(data) - cut <= HOLD_MAX:
            data, self._tail = data[:cut], data[cut:]
            self._clean = True
        else:  # a long unfinished string: passed on, and no frame drawn until it ends
            self._clean = False
        if b"\x1b" in data:
            data = _MARGINS.sub(self._margins_seen, data)
        self._last_output = now
        if self._pending is None:
            self._pending = now
        return data

    def _left_alternate(self, data: bytes, now: float) -> bytes:
        """The agent leaves the alternate screen: the main screen it goes back to may show a
        frame around a window that changed meanwhile. It goes, right after the switch."""
        found = _LEAVE_ALTERNATE.search(data)
        if found is None:
            return data
        self.alternate = False
        old, self._main = self._main, None
        if old is None or (self.framed and old == self.window):
            return data
        assert self.window is not None
        shown = (min(old[0], self.window[0]), min(old[1], self.window[1]))
        erase = self._erase(shown).encode()
        self._last_output = now
        if self.framed and self._pending is None:
            self._pending = now
        return data[: found.end()] + erase + data[found.end() :]

    def _margins_seen(self, match: re.Match[bytes]) -> bytes:
        """The agent set or reset its scroll region: keep it within its rows here."""
        rows = self.window[1] if self.window is not None else 0
        taller = self._outside[1] > 0
        if match[0] == b"\x1bc":  # a full reset: the cursor is home, as DECSTBM leaves it
            self.margins = None
            return match[0] + (f"\x1b[1;{rows}r".encode() if taller else b"")
        if match[0] == b"\x1b[!p":
            self.margins = None
            return match[0] + (self._region().encode() if taller else b"")
        top, bottom = int(match[1] or 0) or 1, int(match[2] or 0) or None
        self.margins = None if top == 1 and bottom is None else (top, bottom)
        if not taller:
            return match[0]
        return f"\x1b[{top};{min(bottom or rows, rows)}r".encode()

    # -- redrawing --------------------------------------------------------------------------

    def due(self, now: float) -> float | None:
        """Seconds until the frame should be redrawn (None: nothing to redraw)."""
        if self._pending is None or not self._clean or not self.framed:
            return None
        soonest = self._last_draw + MIN_INTERVAL
        at = max(self._last_output + QUIET, soonest)
        at = min(at, max(self._pending + MAX_DELAY, soonest))
        return max(0.0, at - now)

    def tick(self, now: float) -> bytes:
        """The redraw, if it is due."""
        wait = self.due(now)
        if wait is None or wait > 0:
            return b""
        self._pending, self._last_draw = None, now
        if not self.alternate:
            self._main = self.window
        taller = self._outside[1] > 0
        return ((self._region() if taller else "") + self._draw()).encode()

    def clear(self) -> bytes:
        """Leaving: the frame and anything outside the agent's window go."""
        if not self.framed or self.window is None:
            return b""
        return self._erase(self.window).encode()

    def label(self, width: int | None = None) -> str:
        """What the bottom line says, shortened to ``width`` characters."""
        assert self.window is not None
        cols, rows = self.window
        why, other = self._why()
        text = f"agent window {cols}×{rows} ({why}) — ta run --size {other} to change"
        if width is None or len(text) <= width:
            return text
        text = f"agent window {cols}×{rows} ({why})"
        return text if len(text) <= width else text[: max(0, width - 1)] + "…"

    def _why(self) -> tuple[str, str]:
        if self.policy == "latest":
            return "the latest terminal size", "smallest"
        return "the smallest terminal attached", "latest"

    def _notice_text(self) -> str:
        assert self.window is not None
        cols, rows = self.window
        why, other = self._why()
        if self.fit is Fit.SMALLER:
            return (f"this terminal is smaller than the agent's window ({cols}×{rows}, {why}): "
                    f"part of it is cut off; ta run --size {other} to change")  # fmt: skip
        return f"the agent's window is {cols}×{rows} ({why}), framed here"

    def _draw(self) -> str:
        assert self.window is not None
        cols, rows = self.window
        width, height = self.term
        right, below = self._outside
        out = [SAVE, PLAIN]
        if right:
            for y in range(1, min(rows, height) + 1):
                out.append(f"\x1b[{y};{cols + 1}H{BORDER}")
                if right > 1:
                    out.append("\x1b[K")  # what the agent's output left outside its window
        if below:
            span = min(cols, width)
            label = self.label(max(0, width - 4))
            line = f"{LINE * 2} {label} " if label else ""
            line += LINE * max(0, span - len(line))
            if right and len(line) == cols:
                line += CORNER
            out.append(f"\x1b[{rows + 1};1H{line[:width]}")
            if len(line) < width:
                out.append("\x1b[K")
        out.append(RESTORE)
        return "".join(out)

    def _erase(self, window: tuple[int, int]) -> str:
        """Clear what is right of and below ``window`` (cursor and attributes kept)."""
        cols, rows = window
        width, height = self.term
        out = [SAVE, PLAIN]
        if cols < width:
            out += [f"\x1b[{y};{cols + 1}H\x1b[K" for y in range(1, min(rows, height) + 1)]
        if rows < height:
            out.append(f"\x1b[{rows + 1};1H\x1b[J")
        out.append(RESTORE)
        return "".join(out)

    def _region(self) -> str:
        """The scroll region this terminal should have: the agent's own, kept to its rows."""
        rows = self.window[1] if self.window is not None else self.term[1]
        limit = rows if self._outside[1] > 0 else None
        top, bottom = self.margins or (1, None)
        if limit is not None:
            bottom = min(bottom or limit, limit)
            if top >= bottom:
                top = 1
        region = f"\x1b[{top};{bottom}r" if bottom else ("\x1b[r" if top == 1 else f"\x1b[{top}r")
        return SAVE + region + RESTORE
