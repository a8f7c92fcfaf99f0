"""Answers from a person at a terminal: one key, no Enter, where a prompt offers a few choices.

``prompter()`` gives a ``KeyPrompter`` when stdin is a terminal, else a ``LinePrompter``
(scripts pipe their answers one per line, as they always have). Both offer ``choose`` (one of
a few letters) and ``line`` (free text, read with the terminal's own line editing and echo).

The key prompter puts the terminal in a key mode (no line buffering, no echo, no signal keys,
no flow control) only while it waits for a key, and restores it on every way out: an answer,
an error, Ctrl-C (read as a key, raised as ``KeyboardInterrupt``), SIGTERM or SIGHUP (the
terminal is restored, then the signal does what it would have done). What is not a choice is
ignored: Enter, Space, escape sequences (arrow and function keys, a terminal's replies to
queries), other control keys. ``KeyDecoder`` splits the bytes
into keys and is pure, so it is tested without a terminal.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import signal
import sys
import termios
from collections.abc import Iterator
from types import FrameType
from typing import Any, Protocol

ENTER = "\n"
CTRL_C, CTRL_D = "\x03", "\x04"
_CANCELS = (CTRL_C, "\x18", "\x1a")
# After ESC, how long the rest of a sequence may take to arrive before the ESC counts as the
# Esc key on its own (what terminal programs call the escape time).
ESCAPE_TIME = 0.05


class Prompter(Protocol):
    single_key: bool

    def choose(self, prompt: str, *, fresh: bool = False) -> str | None:
        """The key pressed, lower case (the caller says whether it is a choice; ``""`` for an
        empty line), None at the end of input. ``fresh``: only a key pressed after the prompt
        was shown counts (keys typed ahead are dropped)."""
        ...

    def line(self, prompt: str) -> str | None:
        """A line of text (None at the end of input)."""
        ...


class KeyDecoder:
    """Bytes typed at a terminal → keys: printable characters, ``ENTER``, control characters.

    Escape sequences are dropped whole (CSI ``ESC [ … final``, SS3 ``ESC O x``, the strings
    ``ESC ] … BEL|ST`` and ``ESC P|X|^|_ … ST``, ``ESC x`` for Alt-x). A sequence may arrive
    over several reads; ``pending`` says one has begun, ``flush`` ends it (the Esc key alone).
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._state = ""  # "", "esc", "csi", "ss3", "str", "str-esc"
        self._last_cr = False

    @property
    def pending(self) -> bool:
        return self._state != ""

    def flush(self) -> None:
        self._state = ""

    def feed(self, data: bytes) -> list[str]:
        keys: list[str] = []
        for char in self._utf8.decode(data):
            key = self._step(char)
            if key is not None:
                keys.append(key)
        return keys

    def _step(self, char: str) -> str | None:
        state = self._state
        if state and char in _CANCELS:  # Ctrl-C, CAN, SUB end any sequence; Ctrl-C is a key
            self._state = ""
            return CTRL_C if char == CTRL_C else None
        if state in ("esc", "csi", "ss3") and char == "\x1b":
            # A new sequence: the ESC before was the Esc key, or a sequence broke off.
            self._state = "esc"
            return None
        if state == "esc":
            self._state = {"[": "csi", "O": "ss3", "]": "str", "P": "str", "X": "str",
                           "^": "str", "_": "str"}.get(char, "")  # fmt: skip
            return None
        if state == "csi":
            if "\x40" <= char <= "\x7e":
                self._state = ""
            return None
        if state == "ss3":
            self._state = ""
            return None
        if state in ("str", "str-esc"):
            if char == "\x07" or (state == "str-esc" and char == "\\"):
                self._state = ""
            else:
                self._state = "str-esc" if char == "\x1b" else "str"
            return None
        was_cr, self._last_cr = self._last_cr, char == "\r"
        if char == "\x1b":
            self._state = "esc"
            return None
        if char == "\x9b":  # a one-character CSI
            self._state = "csi"
            return None
        if char == "\r" or (char == "\n" and not was_cr):
            return ENTER
        if char == "\n":  # the \n of \r\n
            return None
        return char


class KeyPrompter:
    """Single keys from the terminal on ``fd`` (module docstring)."""

    single_key = True

    def __init__(self, fd: int = 0, out: Any = None):
        self.fd = fd
        self.out = out or sys.stdout
        self._decoder = KeyDecoder()
        self._keys: list[str] = []  # decoded but not yet used

    def choose(self, prompt: str, *, fresh: bool = False) -> str | None:
        self.out.write(prompt)
        self.out.flush()
        with self._key_mode():
            if fresh:
                termios.tcflush(self.fd, termios.TCIFLUSH)
                self._keys.clear()
                self._decoder.flush()
            while True:
                key = self._next_key()
                if key is None or key == CTRL_D:
                    answer = None
                    break
                if key == CTRL_C:
                    raise KeyboardInterrupt
                if key.isprintable() and not key.isspace():
                    answer = key.lower()
                    break
                # Enter, Space, Tab, Backspace, other control keys: not a choice.
        self.out.write((answer or "") + "\n")  # the answer stays on the screen, as typed
        self.out.flush()
        return answer

    def line(self, prompt: str) -> str | None:
        try:
            return input(prompt)  # the terminal's own mode: echo and line editing
        except EOFError:
            return None

    def _next_key(self) -> str | None:
        while not self._keys:
            data = os.read(self.fd, 1)  # one byte: what is left stays for a line prompt
            if not data:
                return None
            self._keys += self._decoder.feed(data)
            if self._decoder.pending and not self._readable(ESCAPE_TIME):
                self._decoder.flush()  # the Esc key on its own, or a sequence cut short
        return self._keys.pop(0)

    def _readable(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        return bool(ready)

    @contextlib.contextmanager
    def _key_mode(self) -> Iterator[None]:
        saved = termios.tcgetattr(self.fd)
        mode = [*saved[:6], list(saved[6])]
        mode[0] &= ~termios.IXON  # Ctrl-S is a key, not "stop the output"
        mode[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0

        def restore() -> None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.fd, termios.TCSANOW, saved)

        def on_signal(signum: int, frame: FrameType | None) -> None:
            restore()
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
        try:
            termios.tcsetattr(self.fd, termios.TCSANOW, mode)
            yield
        finally:
            restore()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class LinePrompter:
    """Answers one per line (stdin is not a terminal): the first letter of each line."""

    single_key = False

    def choose(self, prompt: str, *, fresh: bool = False) -> str | None:
        text = self.line(prompt)
        if text is None:
            return None
        return text.strip().lower()[:1]

    def line(self, prompt: str) -> str | None:
        try:
            return input(prompt)
        except EOFError:
            return None


def prompter() -> Prompter:
    """Single keys when stdin is a terminal, lines otherwise."""
    try:
        interactive = sys.stdin.isatty()
    except (AttributeError, ValueError):
        interactive = False
    return KeyPrompter(sys.stdin.fileno()) if interactive else LinePrompter()
