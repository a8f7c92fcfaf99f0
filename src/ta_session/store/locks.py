"""Exclusive inter-process locks on lock files.

We use ``fcntl.flock`` directly rather than a locking library: the libraries built for this
(filelock, portalocker, fasteners) each add 25–60 ms of import time to every ``ta`` command
and poll with sleeps under contention, whereas ``flock`` blocks and wakes in kernel order.
The lock is released by the kernel when the process dies, so a killed writer never leaves a
stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
