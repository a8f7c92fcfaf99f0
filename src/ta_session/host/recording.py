"""Asciicast v2 recordings of agent output (SPEC §4.5), written incrementally.

Each event is one complete line written with a single ``write`` on an ``O_APPEND`` descriptor,
so a crash loses at most the event being written and never corrupts earlier ones. Output bytes
are decoded with an incremental UTF-8 decoder: a multi-byte character split across reads is
held until it is complete, and bytes that are not UTF-8 at all become U+FFFD in the recording
(the attached terminals still receive the original bytes).

The file never holds part of a line: a write cut short (a full disk) is truncated back to the
last whole line, and a recording reopened for a resumed session first loses any torn last line
(left by a crash). While writes fail, events are dropped, a retry is made at most once a
second, and ``report`` is told when recording stops and when it works again; the session goes on.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RETRY_INTERVAL = 1.0  # seconds between write attempts while the recording cannot be written
_TAIL_CHUNK = 64 * 1024


def cut_torn_tail(fd: int) -> int:
    """Truncate the file on ``fd`` after its last newline (if it does not end in one); its size."""
    size = os.fstat(fd).st_size
    pos = size
    while pos > 0:
        step = min(_TAIL_CHUNK, pos)
        chunk = os.pread(fd, step, pos - step)
        if pos == size and chunk.endswith(b"\n"):
            return size
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            pos = pos - step + cut + 1
            break
        pos -= step
    os.ftruncate(fd, pos)
    return pos


class CastWriter:
    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        command: str | None = None,
        title: str | None = None,
        env: dict[str, str] | None = None,
        report: Callable[[str], None] = lambda text: None,
    ):
        self.path = path
        self.report = report
        self.failure: str | None = None  # why writing fails, while it does
        self.lost = 0  # events dropped while writing failed
        self._retry_at = 0.0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = cut_torn_tail(self._fd)
        header = read_header(path) if self._size > 0 else None
        self._header: bytes | None = None  # a header still to be written before any event
        if header is None:
            if self._size:  # not a recording we can continue: start it again
                os.ftruncate(self._fd, 0)
                self._size = 0
            self.start = time.time()
            header = {
                "version": 2,
                "width": width,
                "height": height,
                "timestamp": int(self.start),
                "command": command,
                "title": title,
                "env": env or {},
            }
            self._header = (json.dumps(header) + "\n").encode("utf-8")
            self._append(b"")
        else:
            # A resumed session continues the same recording; times stay relative to its start.
            self.start = float(header.get("timestamp", time.time()))

    def _write_line(self, value: Any, *, ascii_text: bool = False) -> None:
        # ``ascii_text``: every string in ``value`` is ASCII without DEL (0x7F). For such text
        # the ``ensure_ascii`` escaper writes exactly the same bytes and is about a third faster
        # (a large share of the host's CPU time under heavy output; bench/bench_host.py).
        line = json.dumps(value, ensure_ascii=ascii_text) + "\n"
        try:
            data = line.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: JSON's \\udXXX escape keeps it valid
            data = (json.dumps(value) + "\n").encode("ascii")
        self._append(data)

    def _append(self, line: bytes) -> None:
        if self._fd < 0:
            return
        if self.failure is not None and time.monotonic() < self._retry_at:
            self.lost += 1
            return
        data = self._header + line if self._header is not None else line
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            with contextlib.suppress(OSError):  # leave no part of a line behind
                os.ftruncate(self._fd, self._size)
            self._failed(exc)
            return
        self._size += written
        self._header = None
        if self.failure is not None:
            self.failure = None
            self.report(f"recording again ({self.lost} events were lost)")
            lost, self.lost = self.lost, 0
            self._write_line([self._now(), "m", f"recording gap: {lost} events lost"])

    def _failed(self, exc: OSError) -> None:
        self.lost += 1
        self._retry_at = time.monotonic() + RETRY_INTERVAL
        if self.failure is None:
            self.failure = exc.strerror or str(exc)
            self.report(
                f"cannot write the recording {self.path.name}: {self.failure}; "
                "the agent keeps running and its output still reaches every channel"
            )

    def _now(self) -> float:
        return round(time.time() - self.start, 6)

    def output(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        if text:
            ascii_text = text.isascii() and "\x7f" not in text
            self._write_line([self._now(), "o", text], ascii_text=ascii_text)

    def marker(self, label: str) -> None:
        self._write_line([self._now(), "m", label])

    def resize(self, cols: int, rows: int) -> None:
        self._write_line([self._now(), "r", f"{cols}x{rows}"])

    def close(self) -> None:
        if self._fd < 0:
            return
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._write_line([self._now(), "o", tail])
        os.close(self._fd)
        self._fd = -1


@dataclass(frozen=True, slots=True)
class CastEvent:
    time: float
    code: str
    data: str


def read_header(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as handle:
            first = handle.readline()
        header = json.loads(first)
    except (OSError, ValueError):
        return None
    return header if isinstance(header, dict) and header.get("version") == 2 else None


def parse_event(line: bytes) -> CastEvent | None:
    """One event line, or None for a torn or foreign line."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], int | float)
        and isinstance(value[1], str)
        and isinstance(value[2], str)
    ):
        return CastEvent(float(value[0]), value[1], value[2])
    return None


def read_events(path: Path) -> Iterator[CastEvent]:
    with path.open("rb") as handle:
        handle.readline()  # header
        for line in handle:
            event = parse_event(line)
            if event is not None:
                yield event
