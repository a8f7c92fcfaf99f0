"""``ta session replay`` in a terminal: a recording played with a player's keys (SPEC §4.5).

Keys: space pauses and plays, ``.`` shows the next output event while paused, ``+``/``-``
double or halve the speed (1/16 to 64), ``n``/``p`` (or ``]``/``[``) go to the next or the
previous marker, ``q`` or Ctrl-C quit. Going to a marker shows everything up to it at once, then
the replay plays on, or stays paused; going back draws the recording again from its start.

Nothing is ever answered into the user's shell: terminal queries in the recording are left out
(``host/queries.py``), also when split between two events; a reply that comes anyway is read as
an escape sequence and ignored (``KeyReader``); on the way out, input is read until it has been
quiet for a moment, then flushed. The terminal's input is raw while playing (no echo, no line
editing, Ctrl-C a key); its output is processed as usual, so the bare newlines of a pipe agent
still start lines. The terminal is restored on every way out (the end, ``q``, Ctrl-C, SIGTERM,
SIGHUP, an error): its tty modes, and the modes the replayed output switched, as after an
attach (``channels/terminal.py``).

While paused, the bottom row shows a status line: paused, time, speed, the last marker, the
keys. The player keeps a screen model of what it wrote (``host/screen.py``); when the status
line goes, the row it covered is repainted from the model, and pen and cursor are put back.

Without a terminal on stdin and stdout (a pipe, a file), ``play_plain`` writes the output with
its timing and reads no keys; queries are left out there too (the output may still reach a
terminal: ``| less -R``), and a terminal on stdout gets its modes reset at the end.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ta_session.channels.playback import (
    ItemKind,
    Key,
    KeyReader,
    Timeline,
    faster,
    slower,
)
from ta_session.channels.terminal import (
    LEAVE_ALTERNATE,
    SignalPipe,
    alternate_after,
    reset_modes,
    terminal_size,
    write_all,
)
from ta_session.host.queries import QueryFilter
from ta_session.host.screen import ScreenModel
from ta_session.model.display import visible

CLEAR = b"\x1b[H\x1b[2J"
BATCH = 256 << 10  # output written before the keys are looked at again
DRAIN_QUIET = 0.1  # on exit, input is read until quiet this long (a late terminal reply) ...
DRAIN_LONGEST = 1.0  # ... for this long at most, then flushed
HELP = "space play  . step  +/- speed  n/p marker  q quit"


class Ending(Enum):
    FINISHED = "finished"
    QUIT = "quit"  # q, Ctrl-C, or the terminal went away
    SIGNAL = "signal"


@dataclass(frozen=True, slots=True)
class PlayResult:
    ending: Ending
    signum: int | None = None


def play_plain(
    timeline: Timeline,
    *,
    speed: float,
    out_fd: int = 1,
    restore: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """The output with its timing (pauses already capped), queries left out, no keys.
    ``restore``: ``out_fd`` is a terminal, whose modes are reset at the end (Ctrl-C too)."""
    queries = QueryFilter()
    alternate = False
    started = clock()
    try:
        for index, item in enumerate(timeline.items):
            if item.kind is not ItemKind.OUTPUT:
                continue
            wait = started + item.at / speed - clock()
            if wait > 0:
                sleep(wait)
            data = queries.feed(timeline.output(index))
            if data:
                write_all(out_fd, data)
                alternate = alternate_after(data, alternate)
    finally:
        if restore:
            with contextlib.suppress(OSError):
                reset_modes(out_fd, alternate=alternate)


def play(timeline: Timeline, *, speed: float, stdin_fd: int = 0, stdout_fd: int = 1) -> PlayResult:
    """Play ``timeline`` in the terminal on ``stdin_fd``/``stdout_fd`` until its end, a quit
    key or a signal; the terminal is restored whatever happens."""
    saved = termios.tcgetattr(stdin_fd)
    player = _Player(timeline, speed, stdin_fd, stdout_fd)
    with SignalPipe() as signals:  # signals are caught until the terminal is restored
        try:
            _raw_input(stdin_fd, saved)
            return player.run(signals)
        finally:
            with contextlib.suppress(OSError):
                player.finish()
            with contextlib.suppress(OSError):
                _drain(stdin_fd)
            with contextlib.suppress(termios.error, OSError):
                termios.tcflush(stdin_fd, termios.TCIFLUSH)
                termios.tcsetattr(stdin_fd, termios.TCSAFLUSH, saved)


def _raw_input(fd: int, saved: list[Any]) -> None:
    """Input raw: keys one by one, no echo, no line editing, Ctrl-C a byte. Output unchanged."""
    mode = [*saved[:6], list(saved[6])]
    mode[0] &= ~(termios.BRKINT | termios.ICRNL | termios.INPCK | termios.ISTRIP | termios.IXON)
    mode[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN | termios.ISIG)
    mode[6][termios.VMIN] = 1
    mode[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, mode)


def _drain(fd: int) -> None:
    """Read (and drop) what the terminal still sends, until it is quiet or time is up."""
    deadline = time.monotonic() + DRAIN_LONGEST
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], DRAIN_QUIET)
        if not ready or not os.read(fd, 4096):
            return


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class _Player:
    def __init__(self, timeline: Timeline, speed: float, stdin_fd: int, stdout_fd: int):
        self.timeline = timeline
        self.items = timeline.items
        self.speed = speed
        self.stdin_fd, self.stdout_fd = stdin_fd, stdout_fd
        self.keys = KeyReader()
        self.queries = QueryFilter()
        self.model = self._new_model()
        self.position = 0  # items played
        self.clock = 0.0  # the replay's time at ``since`` (monotonic), or while paused
        self.since = time.monotonic()
        self.paused = False
        self.status_shown = False
        self.started = False

    def _new_model(self) -> ScreenModel:
        # LF starts a line: the terminal's output processing (ONLCR) is left on.
        return ScreenModel(*terminal_size(self.stdout_fd), newline=True, history=0)

    # -- the clock --------------------------------------------------------------------------

    def now(self) -> float:
        if self.paused:
            return self.clock
        return self.clock + (time.monotonic() - self.since) * self.speed

    def _set_clock(self, clock: float) -> None:
        self.clock, self.since = clock, time.monotonic()

    # -- the loop ---------------------------------------------------------------------------

    def run(self, signals: SignalPipe) -> PlayResult:
        self._write(CLEAR)  # the screen model starts blank: so does the screen
        self.started = True
        while True:
            timeout = None
            if not self.paused:
                self._play_due()
                if self.position >= len(self.items):
                    return PlayResult(Ending.FINISHED)
                timeout = max(0.0, (self.items[self.position].at - self.now()) / self.speed)
            try:
                ready, _, _ = select.select([self.stdin_fd, signals.read_fd], [], [], timeout)
            except InterruptedError:
                continue
            if signals.read_fd in ready:
                for signum in os.read(signals.read_fd, 64):
                    if signum != signal.SIGWINCH:
                        return PlayResult(Ending.SIGNAL, signum)
                    self._resized()
            if self.stdin_fd in ready:
                try:
                    data = os.read(self.stdin_fd, 1024)
                except OSError:
                    data = b""
                if not data:
                    return PlayResult(Ending.QUIT)  # the terminal is gone
                for key in self.keys.feed(data):
                    if key is Key.QUIT:
                        return PlayResult(Ending.QUIT)
                    self._on_key(key)

    def _play_due(self) -> None:
        now, out = self.now(), bytearray()
        while (
            self.position < len(self.items)
            and self.items[self.position].at <= now
            and len(out) < BATCH
        ):
            out += self.timeline.output(self.position)
            self.position += 1
        if out:
            self._show(bytes(out))

    def _on_key(self, key: Key) -> None:
        if key is Key.PAUSE:
            self._set_clock(self.now())
            self.paused = not self.paused
        elif key is Key.STEP and self.paused:
            self._hide_status()
            self._step()
        elif key is Key.FASTER or key is Key.SLOWER:
            self._set_clock(self.now())
            self.speed = faster(self.speed) if key is Key.FASTER else slower(self.speed)
        elif key is Key.NEXT:
            target = self.timeline.next_marker(self.position)
            if target is not None:
                self._hide_status()
                self._go_to(target)
        elif key is Key.PREVIOUS:
            target = self.timeline.previous_marker(self.position)
            self._hide_status()
            self._rewind()
            if target is not None:
                self._go_to(target)
        if self.paused:
            self._show_status()
        else:
            self._hide_status()

    # -- moving -----------------------------------------------------------------------------

    def _step(self) -> None:
        """One output event (and the markers before it)."""
        while self.position < len(self.items):
            index, item = self.position, self.items[self.position]
            self.position += 1
            self._set_clock(item.at)
            if item.kind is ItemKind.OUTPUT:
                self._show(self.timeline.output(index))
                return

    def _go_to(self, target: int) -> None:
        """Everything up to the marker at ``target`` at once; the replay goes on from it."""
        out = bytearray()
        for index in range(self.position, target):
            out += self.timeline.output(index)
            if len(out) >= BATCH:
                self._show(bytes(out))
                out.clear()
        if out:
            self._show(bytes(out))
        self.position = target + 1
        self._set_clock(self.items[target].at)

    def _rewind(self) -> None:
        """Back to the start: the terminal's modes reset, the screen cleared."""
        reset_modes(self.stdout_fd, alternate=self.model.alternate)
        self._write(CLEAR)
        self.model = self._new_model()
        self.queries.reset()
        self.position = 0
        self._set_clock(0.0)

    # -- the terminal -----------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        write_all(self.stdout_fd, data)

    def _show(self, data: bytes) -> None:
        data = self.queries.feed(data)
        if data:
            self._write(data)
            self.model.feed(data)

    def _status_text(self) -> str:
        marker = self.timeline.last_marker(self.position)
        parts = [
            "ta replay: " + ("paused" if self.paused else "playing"),
            f"{_clock(self.now())} / {_clock(self.timeline.duration)}",
            f"speed {self.speed:g}x",
        ]
        if marker is not None:
            parts.append(f"at {visible(marker.label)}")
        return " " + "  ".join([*parts, HELP]) + " "

    def _show_status(self) -> None:
        cols, rows = self.model.size
        text = self._status_text()[: max(1, cols - 1)]
        # Cursor hidden and autowrap off: a long line cannot wrap and scroll the screen.
        self._write(f"\x1b[?25l\x1b[?7l\x1b[{rows};1H\x1b[0m\x1b[2K\x1b[7m{text}\x1b[0m".encode())
        self.status_shown = True

    def _hide_status(self) -> None:
        if self.status_shown:
            self._write(self.model.repaint_row(self.model.size[1] - 1))
            self.status_shown = False

    def _resized(self) -> None:
        self.model.resize(*terminal_size(self.stdout_fd))
        if self.status_shown:
            self._show_status()

    def finish(self) -> None:
        """The terminal as the player found it: status line gone, modes reset, and the shell's
        prompt on a line of its own."""
        if not self.started:
            return
        self._hide_status()
        alternate = self.model.alternate
        reset_modes(self.stdout_fd, alternate=alternate)
        if alternate:
            self.model.feed(LEAVE_ALTERNATE)
        if self.model.cursor()[0] > 0:
            self._write(b"\r\n")
