"""A staging copy's progress on a terminal: files, bytes and rate, on one line of stderr.

A copy that ends within ``DELAY`` shows nothing. After that the line is drawn, redrawn at most
every ``INTERVAL`` in place (a carriage return, padded over the previous line, cut to the
terminal's width so that it never wraps), and at the end replaced by a summary line. If the
copy fails the line is cleared, so the error stands alone. Only a terminal gets it
(``terminal_progress``): scripts and captured output stay clean.

The clock is a parameter, so the reporter is tested with a fake one, without waiting.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from ta_session.workspace.progress import Progress, StagingProgress

DELAY = 1.0  # seconds of copying before anything is shown
INTERVAL = 0.25  # seconds between redraws, at least


def human_bytes(count: float) -> str:
    """``950 B``, ``12.3 kB``, ``4.1 GB`` (decimal units, as ``df -H`` and ``ls --si``)."""
    if count < 1000:
        return f"{count:.0f} B"
    for unit in ("kB", "MB", "GB", "TB"):
        count /= 1000
        if count < 1000 or unit == "TB":
            return f"{count:.1f} {unit}"
    raise AssertionError("unreachable")


def progress_line(p: StagingProgress, copy_seconds: float | None) -> str:
    """What the line says; ``copy_seconds`` since copying began (None: still walking)."""
    if p.scanning:
        return (
            f"Staging: looking through the project… {p.total_files:,} files"
            f" ({human_bytes(p.total_bytes)})"
        )
    percent = f" ({100 * p.bytes // p.total_bytes}%)" if p.total_bytes else ""
    rate = f", {human_bytes(p.bytes / copy_seconds)}/s" if copy_seconds else ""
    return (
        f"Staging: {p.files:,}/{p.total_files:,} files, {human_bytes(p.bytes)}"
        f" of {human_bytes(p.total_bytes)}{percent}{rate}"
    )


class StagingReporter:
    """The ``Progress`` callback that draws the line (see the module docstring)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        width: int = 80,
        clock: Callable[[], float] = time.monotonic,
        delay: float = DELAY,
        interval: float = INTERVAL,
    ):
        self.stream = stream
        self.width = max(20, width)
        self.clock = clock
        self.delay = delay
        self.interval = interval
        self._lock = threading.Lock()
        self._started: float | None = None
        self._copy_started: float | None = None
        self._drawn_at: float | None = None
        self._drawn = 0  # length of the line on the screen (0: none)
        self.finished = False

    def __call__(self, p: StagingProgress) -> None:
        with self._lock:
            now = self.clock()
            if self._started is None:
                self._started = now
            if not p.scanning and self._copy_started is None:
                self._copy_started = now
            if p.done:
                self.finished = True
                if self._drawn_at is not None:  # shown: the summary takes its place
                    took = now - self._started
                    rate = f", {human_bytes(p.bytes / took)}/s" if took > 0 else ""
                    self._draw(
                        f"Staged {p.files:,} files ({human_bytes(p.bytes)}) in {took:.1f} s{rate}.",
                        end="\n",
                    )
                return
            if now - self._started < self.delay:
                return
            if self._drawn_at is not None and now - self._drawn_at < self.interval:
                return
            copying = None if self._copy_started is None else now - self._copy_started
            self._draw(progress_line(p, copying))
            self._drawn_at = now

    def close(self) -> None:
        """Clear a line the copy left unfinished (it failed)."""
        with self._lock:
            if self._drawn and not self.finished:
                self._draw("")

    def _draw(self, text: str, end: str = "") -> None:
        text = text[: self.width - 1]  # the last column would wrap on some terminals
        padding = " " * max(0, self._drawn - len(text))
        with contextlib.suppress(OSError, ValueError):  # a closed terminal never stops a copy
            self.stream.write(f"\r{text}{padding}{end}")
            self.stream.flush()
        self._drawn = 0 if end else len(text)


@contextlib.contextmanager
def terminal_progress(stream: TextIO) -> Iterator[Progress | None]:
    """A reporter drawing on ``stream`` if it is a terminal, else None (no progress at all)."""
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if not interactive:
        yield None
        return
    from ta_session.channels.terminal import terminal_size

    reporter = StagingReporter(stream, width=terminal_size(stream.fileno())[0])
    try:
        yield reporter
    finally:
        reporter.close()
