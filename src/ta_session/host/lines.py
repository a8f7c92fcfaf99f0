"""The line assembler: keystrokes typed in an attached terminal → the lines the human submitted.

A line is logged as a ``human`` message when Enter ends it (SPEC §4.2). Simple editing is applied
as a terminal would (Backspace removes a whole UTF-8 character, Ctrl-U the whole line) and escape
sequences (arrow keys, function keys, and terminal replies: OSC/DCS/APC strings) are left out.
It is the fallback of ``typed.TypedLines``, which reads lines off the screen.
Pure: bytes in, text out, no I/O.

``LineQueue`` holds submitted lines for a moment before they are logged, so that the agent's echo
of Enter reaches the terminals before the host spends time on an fsynced write.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ta_session.model import Timestamp

ESC, CSI_INTRO, SS3_INTRO = 0x1B, 0x5B, 0x4F
CR, LF, DEL, BS, CTRL_U, TAB = 0x0D, 0x0A, 0x7F, 0x08, 0x15, 0x09
_STRING_INTROS = frozenset(b"]P_^X")
MAX_LINE = 64 << 10  # bytes kept of one line: input without Enter must not grow without limit
# A line typed in a terminal is logged this long after Enter, so that the agent's echo of it
# reaches the terminals first: typing stays as quick as in a bare terminal.
LINE_LOG_DELAY = 0.02


class LineAssembler:
    """One per attached terminal: feed it the bytes typed, take out the lines submitted."""

    def __init__(self) -> None:
        self._line = bytearray()
        # 0: text; 1: after ESC; 2: inside a CSI/SS3 sequence; 3: inside a string (OSC, DCS,
        # APC, PM, SOS: ended by BEL or ESC \\); 4: ESC inside a string
        self._escape = 0

    @property
    def partial(self) -> bytes:
        """What has been typed since the last Enter (with editing applied)."""
        return bytes(self._line)

    def feed(self, data: bytes) -> list[str]:
        lines: list[str] = []
        line = self._line
        for byte in data:
            if self._escape == 1:
                if byte in (CSI_INTRO, SS3_INTRO):
                    self._escape = 2
                else:
                    self._escape = 3 if byte in _STRING_INTROS else 0
                continue
            if self._escape >= 3:
                if byte == 0x07 or (self._escape == 4 and byte == 0x5C):
                    self._escape = 0
                else:
                    self._escape = 4 if byte == ESC else 3
                continue
            if self._escape == 2:
                if 0x40 <= byte <= 0x7E:  # the final byte of the sequence
                    self._escape = 0
                continue
            if byte == ESC:
                self._escape = 1
            elif byte in (CR, LF):
                text = line.decode("utf-8", "replace").strip()
                line.clear()
                if text:
                    lines.append(text)
            elif byte in (DEL, BS):
                while line and (line[-1] & 0xC0) == 0x80:
                    line.pop()  # continuation bytes: a whole UTF-8 character goes at once
                if line:
                    line.pop()
            elif byte == CTRL_U:
                line.clear()
            elif (byte >= 0x20 or byte == TAB) and len(line) < MAX_LINE:
                line.append(byte)
        return lines


@dataclass(frozen=True, slots=True)
class TypedLine:
    due: float  # monotonic time at which it is logged
    timestamp: Timestamp  # when it was typed: the message keeps that time
    channel_id: str
    text: str


class LineQueue:
    """Submitted lines waiting ``delay`` seconds before they are logged, oldest first."""

    def __init__(self, delay: float = LINE_LOG_DELAY, clock: Callable[[], float] = time.monotonic):
        self.delay = delay
        self.clock = clock
        self._lines: deque[TypedLine] = deque()

    def __len__(self) -> int:
        return len(self._lines)

    def add(self, channel_id: str, text: str, timestamp: Timestamp | None = None) -> None:
        stamp = timestamp or Timestamp.now()
        self._lines.append(TypedLine(self.clock() + self.delay, stamp, channel_id, text))

    def take(self, *, due_only: bool = True) -> list[TypedLine]:
        """The lines whose delay is over (or all of them), removed from the queue."""
        now = self.clock()
        taken = []
        while self._lines and (not due_only or now >= self._lines[0].due):
            taken.append(self._lines.popleft())
        return taken

    def wait(self, longest: float) -> float:
        """Seconds until the next line is due, at most ``longest``."""
        if not self._lines:
            return longest
        return max(0.0, min(longest, self._lines[0].due - self.clock()))
