"""Attaching a terminal to a live session (SPEC §4.2): raw mode, like tmux or dtach.

Keystrokes go to the agent as they are typed; the agent's output is written to the terminal
as it arrives. The detach key (default Ctrl-\\) leaves the session running. The terminal is
restored on every way out (detach, the agent's exit, an error, or a signal): its tty modes, and
the modes the agent's output switched in it (``RESTORE``), so that a full-screen agent left
behind does not leave the shell on the alternate screen, with a hidden cursor or odd keys.
A terminal larger than the agent's window shows it framed (``frame.py``).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import struct
import termios
import time
import tty
from dataclasses import dataclass, replace
from types import FrameType
from typing import Any

from ta_session.channels.client import HostClient, HostUnavailable
from ta_session.channels.frame import WindowFrame
from ta_session.host.wire import FrameKind
from ta_session.model import RecordFormatError, SessionEvent

DEFAULT_DETACH_KEY = b"\x1c"  # Ctrl-\

# Back to a terminal's defaults: cursor keys and keypad normal, bracketed paste, mouse and focus
# reporting off, autowrap on, no scroll region (DECSTBM homes the cursor: saved around it),
# default colours, cursor shown. Leaving the alternate screen is only sent when the agent put
# the terminal there: sent otherwise, terminals restore a stale saved cursor position.
RESTORE = (
    b"\x1b[?1l\x1b>\x1b[?2004l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l"
    b"\x1b[?1015l\x1b[?1004l\x1b[?7h\x1b[4l\x1b7\x1b[r\x1b8\x1b[0m\x1b[?25h"
)
LEAVE_ALTERNATE = b"\x1b[?1049l"
_ALTERNATE = re.compile(rb"\x1b\[\?(?:1049|1047|47)([hl])")


@dataclass(frozen=True, slots=True)
class AttachResult:
    reason: str  # "detached" | "ended" | "lost" | "signal"
    state: str | None = None
    exit_code: int | None = None
    message: str = ""
    draft_id: str | None = None  # the last draft announced while attached


def terminal_size(fd: int = 1) -> tuple[int, int]:
    """(columns, rows) of the terminal on ``fd``, or 80×24."""
    try:
        import fcntl

        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
        if cols and rows:
            return cols, rows
    except OSError:
        pass
    return 80, 24


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 1.0)
            continue
        view = view[written:]


def alternate_after(output: bytes, alternate: bool) -> bool:
    """Whether a terminal is on the alternate screen after ``output`` (before: ``alternate``)."""
    switches = _ALTERNATE.findall(output)
    return switches[-1] == b"h" if switches else alternate


def reset_modes(fd: int, *, alternate: bool) -> None:
    """Put the terminal on ``fd`` back to its defaults (``RESTORE``); ``alternate``: the output
    shown in it put it on the alternate screen, which it leaves first."""
    write_all(fd, (LEAVE_ALTERNATE if alternate else b"") + RESTORE)


class SignalPipe:
    """Turns SIGWINCH/SIGTERM/SIGHUP into bytes on a pipe the attach loop watches."""

    WATCHED = (signal.SIGWINCH, signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT)

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.write_fd, False)
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalPipe:
        for sig in self.WATCHED:
            self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(OSError):
            os.write(self.write_fd, bytes([signum]))

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        os.close(self.read_fd)
        os.close(self.write_fd)


def attach(
    client: HostClient,
    *,
    detach_key: bytes = DEFAULT_DETACH_KEY,
    stdin_fd: int = 0,
    stdout_fd: int = 1,
) -> AttachResult:
    """Run the attach loop until detach, the session's end, or a signal."""
    saved = termios.tcgetattr(stdin_fd)
    status = _StatusLine(stdout_fd)
    frame = WindowFrame(terminal_size(stdout_fd))
    try:
        with SignalPipe() as signals:
            tty.setraw(stdin_fd, termios.TCSANOW)
            _on_window(client.welcome.get("window"), frame, status)
            return _loop(client, signals, detach_key, stdin_fd, stdout_fd, status, frame)
    finally:
        with contextlib.suppress(OSError):
            status.clear()
            leave = LEAVE_ALTERNATE if status.alternate else b""
            write_all(stdout_fd, leave + frame.clear())  # the frame goes from the main screen
            reset_modes(stdout_fd, alternate=False)
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)


# The detach key pressed twice sends it once to the agent (as Ctrl-a a does in screen); pressed
# once, it detaches, after waiting this long for a second press.
DOUBLE_PRESS_SECONDS = 0.4


def _split_at_detach(data: bytes, key: bytes, stdin_fd: int) -> tuple[bytes, bool]:
    """What of ``data`` goes to the agent, and whether to detach after it."""
    out, rest = bytearray(), data
    while True:
        cut = rest.find(key)
        if cut < 0:
            return bytes(out + rest), False
        out += rest[:cut]
        rest = rest[cut + len(key) :]
        if not rest:  # the key came last: wait for a second press
            ready, _, _ = select.select([stdin_fd], [], [], DOUBLE_PRESS_SECONDS)
            rest = os.read(stdin_fd, 4096) if ready else b""
        if not rest.startswith(key):
            # A single press: detach. Anything typed right after asking to leave is dropped.
            return bytes(out), True
        out += key  # pressed twice: the key itself, for the agent
        rest = rest[len(key) :]


def _loop(
    client: HostClient,
    signals: SignalPipe,
    detach_key: bytes,
    stdin_fd: int,
    stdout_fd: int,
    status: _StatusLine,
    frame: WindowFrame,
) -> AttachResult:
    watch = [stdin_fd, client.fileno(), signals.read_fd]
    seen: dict[str, str] = {}
    while True:
        write_all(stdout_fd, frame.tick(time.monotonic()))
        try:
            ready, _, _ = select.select(watch, [], [], frame.due(time.monotonic()))
        except InterruptedError:
            continue
        if signals.read_fd in ready:
            for signum in os.read(signals.read_fd, 64):
                if signum == signal.SIGWINCH:
                    size = terminal_size(stdout_fd)
                    write_all(stdout_fd, frame.resized(size, time.monotonic()))
                    with contextlib.suppress(OSError):
                        client.send_resize(*size)
                else:
                    return AttachResult("signal", message=f"received {signal.Signals(signum).name}")
        if stdin_fd in ready:
            data = os.read(stdin_fd, 4096)
            if not data:
                return AttachResult("detached", message="end of input")
            to_agent, detach = _split_at_detach(data, detach_key, stdin_fd)
            try:
                if to_agent:
                    client.send_input(to_agent)
            except OSError:
                return AttachResult("lost", message="the session host went away")
            if detach:
                return AttachResult("detached")
        if client.fileno() in ready:
            try:
                frames = client.read_frames(0)
            except HostUnavailable:
                return AttachResult("lost", message="the session host went away")
            for received in frames:
                if received.kind is FrameKind.OUTPUT:
                    write_all(stdout_fd, frame.output(received.payload, time.monotonic()))
                    status.alternate = alternate_after(received.payload, status.alternate)
                    frame.alternate = status.alternate
                elif received.kind is FrameKind.CONTROL:
                    message = received.json()
                    if message.get("event_type") == "draft_ready":
                        seen["draft_id"] = str(message.get("draft_id"))
                    if message.get("type") == "window":
                        _on_window(message, frame, status)
                    result = _on_control(message, status)
                    if result is not None:
                        return replace(result, draft_id=seen.get("draft_id"))


def _on_window(window: object, frame: WindowFrame, status: _StatusLine) -> None:
    """The agent's window (from the welcome or a ``window`` message): frame it if this
    terminal is larger, and say so once."""
    if isinstance(window, dict):
        write_all(status.fd, frame.set_window(window))
        notice = frame.take_notice()
        if notice is not None:
            status.show(notice)


def _on_control(message: dict[str, Any], status: _StatusLine) -> AttachResult | None:
    kind = message.get("type")
    if kind == "bye":
        return AttachResult(
            "ended",
            state=message.get("state"),
            exit_code=message.get("exit_code"),
            message=str(message.get("reason", "")),
        )
    if kind == "error":
        return AttachResult("lost", message=str(message.get("message")))
    if "event_type" in message and message["event_type"] != "agent_output":
        try:
            event = SessionEvent.from_dict(message)
        except RecordFormatError:
            return None
        status.show(str(event))
    return None


class _StatusLine:
    """Notices on the bottom line, drawn without moving the agent's cursor; cleared on exit."""

    def __init__(self, fd: int):
        self.fd = fd
        self.shown = False
        self.alternate = False  # the agent's output put the terminal on the alternate screen

    def show(self, text: str) -> None:
        cols, rows = terminal_size(self.fd)
        shown = " ".join(text.split())[: max(10, cols - 8)]
        write_all(self.fd, f"\x1b7\x1b[{rows};1H\x1b[2K\x1b[7m ta: {shown} \x1b[0m\x1b8".encode())
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            _, rows = terminal_size(self.fd)
            write_all(self.fd, f"\x1b7\x1b[{rows};1H\x1b[2K\x1b8".encode())
            self.shown = False
