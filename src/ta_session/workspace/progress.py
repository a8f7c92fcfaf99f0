"""How far a staging copy has got, told to whoever asked (``create_staging(progress=…)``).

The workspace layer never prints: it calls a ``Progress`` callback with a ``StagingProgress``
and leaves showing it (or not) to the caller. Calls are spaced by work done, never by time
(every ``EVERY_FILES`` files or ``EVERY_BYTES`` bytes, from whichever copying thread did it),
so the copy pays almost nothing for them; a reporter decides what to draw and when.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

EVERY_FILES = 64
EVERY_BYTES = 8 << 20


@dataclass(frozen=True, slots=True)
class StagingProgress:
    """Where a staging copy is. ``bytes`` counts file sizes (a sparse file's holes too: they are
    hashed). While ``scanning``, the tree is being walked and ``total_*`` are what was found so
    far; after it, they are what is to be copied."""

    files: int
    bytes: int
    total_files: int
    total_bytes: int
    scanning: bool
    done: bool = False


Progress = Callable[[StagingProgress], None]


class Meter:
    """Counts a copy's work (thread-safe) and calls ``progress`` now and then."""

    def __init__(self, progress: Progress):
        self._progress = progress
        self._lock = threading.Lock()
        self.files = self.bytes = self.total_files = self.total_bytes = 0
        self.scanning = True
        self._unreported_files = self._unreported_bytes = 0

    def _snapshot(self, done: bool = False) -> StagingProgress:
        return StagingProgress(
            self.files, self.bytes, self.total_files, self.total_bytes, self.scanning, done
        )

    def start(self) -> None:
        self._progress(self._snapshot())

    def found(self, size: int) -> None:
        """The walk found a file of ``size`` bytes to copy (the walk is one thread)."""
        self.total_files += 1
        self.total_bytes += size
        if self.total_files % EVERY_FILES == 0:
            self._progress(self._snapshot())

    def walked(self) -> None:
        """The walk is over: the totals are final, copying starts."""
        self.scanning = False
        self._progress(self._snapshot())

    def copied(self, nbytes: int, files: int = 0) -> None:
        """``nbytes`` more bytes were copied, and ``files`` more files finished."""
        with self._lock:
            self.bytes += nbytes
            self.files += files
            self._unreported_bytes += nbytes
            self._unreported_files += files
            if self._unreported_files < EVERY_FILES and self._unreported_bytes < EVERY_BYTES:
                return
            self._unreported_files = self._unreported_bytes = 0
            # Under the lock, so reports arrive in order (they are rare: the wait is short).
            self._progress(self._snapshot())

    def finish(self) -> None:
        self._progress(self._snapshot(done=True))
