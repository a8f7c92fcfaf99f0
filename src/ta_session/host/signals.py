"""Signals for a selectors loop: they only wake the loop (through a pipe); the loop decides
what they mean. SIGTERM asks the host to end as a close would; SIGCHLD wakes it to reap the
agent; SIGHUP and SIGINT (from the terminal that started it) are ignored."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
from collections.abc import Callable


def wake_on_signals(sel: selectors.BaseSelector, on_terminate: Callable[[], None]) -> None:
    """Install the handlers and register the wake-up pipe's read end with ``sel``."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    signal.set_wakeup_fd(write_fd)
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def woken(key: selectors.SelectorKey, mask: int) -> None:
        with contextlib.suppress(BlockingIOError):
            if signal.SIGTERM in os.read(read_fd, 64):
                on_terminate()

    sel.register(read_fd, selectors.EVENT_READ, woken)
