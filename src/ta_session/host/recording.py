"""Asciicast v2 recordings of agent output (SPEC §4.5), written incrementally.

Each event is one complete line written with a single ``write`` on an ``O_APPEND`` descriptor,
so a crash loses at most the event being written and never corrupts earlier ones. Output bytes
are decoded with an incremental UTF-8 decoder: a multi-byte character split across reads is
held until it is complete, and bytes that are not UTF-8 at all become U+FFFD in the recording
(the attached terminals still receive the original bytes).
"""

from __future__ import annotations

import codecs
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
    ):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        header = read_header(path) if os.fstat(self._fd).st_size > 0 else None
        if header is None:
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
            self._write_line(header)
        else:
            # A resumed session continues the same recording; times stay relative to its start.
            self.start = float(header.get("timestamp", time.time()))

    def _write_line(self, value: Any, *, ascii_text: bool = False) -> None:
        # ``ascii_text``: every string in ``value`` is ASCII without DEL (0x7F). For such text
        # the ``ensure_ascii`` escaper writes exactly the same bytes and is about a third faster
        # (a large share of the host's CPU time under heavy output; bench/bench_host.py).
        line = json.dumps(value, ensure_ascii=ascii_text) + "\n"
        os.write(self._fd, line.encode("utf-8"))

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
