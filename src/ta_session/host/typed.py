"""The lines typed in an attached terminal, as the agent received them (SPEC §4.2).

Keystrokes alone do not say what line was submitted: arrows, Home/End, Up-arrow history recall
and Tab completion are carried out by the agent (readline, an Ink input box), not by us. The
agent shows the result, though. So when the first key of a line is typed, the cursor position
is noted (where the prompt ends), and when Enter is pressed the line is read off the screen
model from there. Terminal replies (DA/DSR answers, OSC/DCS/APC strings, focus and mouse reports)
arrive on the same input; they are told apart from keys and never start or make a line. Keys
pressed while a full-screen program is on the alternate screen (less, top, a menu) make no lines.

Without a pty (pipes), nothing echoes the keys: the ``LineAssembler`` (keystrokes with simple
editing) is used instead, as it is when the screen cannot keep up (a paste of many lines).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ta_session.host.agent_process import InputFull
from ta_session.host.lines import LineAssembler
from ta_session.host.screen import ScreenModel
from ta_session.model import SessionChannelError

NOTICE_INTERVAL = 1.0  # a terminal is told at most this often that its keystrokes were refused
ECHO_WAIT = 0.05  # one wait for the agent's output, while the echo of keys sent with Enter is due
ECHO_BUDGET = 0.5  # seconds of such waits per read of keystrokes (a busy machine, a paste)
ESC, CR, LF, CTRL_C = 0x1B, 0x0D, 0x0A, 0x03
# Cursor keys, Home/End, F1/F2/F4, Shift-Tab, editing keys. Not R: a cursor position report
# (ESC[row;colR) looks like Shift-F3.
_KEY_FINALS = frozenset(b"ABCDEFHPQSZ~")
_STRING_INTROS = frozenset(b"]P_^X")  # OSC, DCS, APC, PM, SOS: replies, never keys
_BOX = " │┃|"  # the right edge of an input box drawn around the line


@dataclass(slots=True)
class Segment:
    data: bytes  # keystrokes to send, up to (not including) an Enter
    typed: bool  # holds a key that edits the line (not only terminal replies)
    enter: bytes  # the Enter that ends it (b"\r" or b"\n"), or b""


class KeySplitter:
    """Splits input at Enter and tells keys from terminal replies; escape sequences may be
    split across reads (the state carries over), and no byte is ever held back."""

    def __init__(self) -> None:
        self._state = 0  # 0 text, 1 after ESC, 2 CSI, 3 SS3, 4 string, 5 ESC inside a string
        self._csi_private = False

    def split(self, data: bytes) -> list[Segment]:
        segments: list[Segment] = []
        start, typed = 0, False
        for i, byte in enumerate(data):
            state = self._state
            if state == 0:
                if byte == ESC:
                    self._state = 1
                elif byte in (CR, LF):
                    segments.append(Segment(data[start:i], typed, data[i : i + 1]))
                    start, typed = i + 1, False
                else:
                    typed = True
            elif state == 1:
                if byte == 0x5B:  # [
                    self._state, self._csi_private = 2, False
                elif byte == 0x4F:  # O
                    self._state = 3
                elif byte in _STRING_INTROS:
                    self._state = 4
                else:  # Alt+key, or a lone Esc followed by a key
                    self._state = 0
                    typed = True
            elif state == 2:
                if byte in b"<>?=":
                    self._csi_private = True  # DA replies (ESC[?1;2c), SGR mouse (ESC[<…M)
                elif 0x40 <= byte <= 0x7E:
                    typed = typed or (byte in _KEY_FINALS and not self._csi_private)
                    self._state = 0
            elif state == 3:
                self._state = 0
                typed = True
            elif state == 4:
                if byte == 0x07:
                    self._state = 0
                elif byte == ESC:
                    self._state = 5
            else:  # ESC inside a string: ST (ESC \) ends it
                self._state = 0 if byte == 0x5C else 4
        if start < len(data) or not segments:
            segments.append(Segment(data[start:], typed, b""))
        return segments


class TypedLines:
    """One per attached terminal: where its current line began, and the line at Enter."""

    def __init__(self, screen: ScreenModel | None):
        self.screen = screen  # None: no pty, the keystrokes are all there is
        self.splitter = KeySplitter()
        self.keys = LineAssembler()  # the fallback
        self._start: tuple[int, int, int] | None = None  # column, row, lines scrolled
        self._alternate = False  # the line began on the alternate screen
        self._last_notice = float("-inf")  # when it was last told its input was refused
        self._unechoed = ""  # how the last keys sent without Enter look echoed

    def deliver(
        self,
        data: bytes,
        send_to_agent: Callable[[bytes], None],
        tell: Callable[[str], None],
        await_echo: Callable[[float], float] | None,
    ) -> list[str]:
        """Send ``data`` (keystrokes) with ``send_to_agent``, splitting it at each Enter to read
        the line off the screen before the Enter goes; the lines submitted. ``tell``: a notice
        to the terminal (its keys were refused). ``await_echo(longest)`` relays the agent's
        output for a moment (the seconds spent)."""

        def send(keys: bytes) -> bool:
            try:
                if keys:
                    send_to_agent(keys)
            except (InputFull, SessionChannelError) as exc:
                now = time.monotonic()
                if now - self._last_notice >= NOTICE_INTERVAL:
                    self._last_notice = now
                    tell(f"Input not sent: {exc}")
                return False
            return True

        if self.screen is None:
            # No terminal turns Enter (CR) into a newline on a pipe; a line reader needs one.
            data = data.replace(b"\r", b"\n")
        lines: list[str] = []
        budget = ECHO_BUDGET
        for segment in self.splitter.split(data):
            if segment.typed:
                self.begin()  # before the key is sent: the screen shows the bare prompt
            if not send(segment.data):
                break
            if not segment.enter:
                self.keystrokes(segment.data)
                self._unechoed = _echo_of(segment.data)
                continue
            fresh = True
            tail = _echo_of(segment.data) if segment.data else self._unechoed
            self._unechoed = ""
            if await_echo is not None and (segment.data or tail):
                # Let the agent echo the keys before the line is read off the screen: until
                # the screen shows the last of them (on a busy machine earlier keys' echoes
                # come first, and keys sent just before a lone Enter may not be echoed yet),
                # within a budget: a paste of many lines, or a prompt that echoes nothing, is
                # not waited for long.
                while not (tail and self.echoed(tail)) and budget > 0:
                    budget -= await_echo(ECHO_WAIT)
                    if not tail:
                        break  # nothing to look for (keys without a visible echo): one wait
                # Keys and Enter in one read, not echoed in time: the keystrokes tell the line.
                fresh = budget > 0 or not segment.data
            line = self.submit(segment.data, from_screen=fresh)
            if not send(segment.enter):
                break
            if line:
                lines.append(line)
        return lines

    def begin(self) -> None:
        """A key of a line is about to be sent: note where the prompt ends, once per line."""
        if self.screen is None:
            return
        alternate = self.screen.alternate
        # Keys of a full-screen program end with it: the first key after it starts a line.
        if self._start is not None and alternate == self._alternate:
            return
        x, y = self.screen.cursor()
        self._start = (x, y, self.screen.scrolled)
        self._alternate = alternate

    def echoed(self, tail: str) -> bool:
        """The screen shows ``tail`` just before the cursor (the echo of the last keys)."""
        if self.screen is None:
            return True
        x, y = self.screen.cursor()
        return self.screen.line_at(y)[:x].endswith(tail)

    def keystrokes(self, data: bytes) -> None:
        """Keys sent without an Enter (for the fallback; Ctrl-C abandons the line)."""
        self.keys.feed(data)
        if CTRL_C in data:
            self._start = None

    def submit(self, data: bytes, *, from_screen: bool = True) -> str | None:
        """Enter was pressed (``data``: the keys just before it, already sent); the line to log,
        or None. ``from_screen`` False: the screen is not up to date, use the keystrokes."""
        typed = self.keys.feed(data + b"\r")
        fallback = typed[-1] if typed else None
        start, self._start = self._start, None
        if self.screen is None:
            return fallback
        if self._alternate or self.screen.alternate:
            return None  # a key in a full-screen program, not a line
        if start is None:
            return None  # Enter alone (or after terminal replies only)
        if not from_screen:
            return fallback
        x0, y0, scrolled = start
        _, y = self.screen.cursor()
        y0 -= self.screen.scrolled - scrolled  # the line moved up as the screen scrolled
        if y0 < 0:
            return fallback  # the start of the line is gone
        if y <= y0:
            text = self.screen.line_at(y)[x0:]
        else:  # a long line wrapped onto the following rows
            rows = [self.screen.line_at(row) for row in range(y0, y + 1)]
            text = rows[0][x0:] + "".join(rows[1:])
        text = text.strip().rstrip(_BOX)
        return text or None


def _echo_of(keys: bytes) -> str:
    """What the last of ``keys`` looks like echoed: their printable end (after the last control
    key or escape sequence), at most a few characters; "" when that cannot be told."""
    text = keys.decode("utf-8", "ignore")
    end = len(text)
    start = end
    while start > 0 and text[start - 1].isprintable() and end - start < 8:
        start -= 1
    if start > 0 and text[start - 1] == "\x1b":
        return ""  # the printable end belongs to an escape sequence (an arrow key)
    return text[start:end].strip()
