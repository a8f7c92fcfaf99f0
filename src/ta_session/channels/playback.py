"""What ``ta session replay`` plays and how its keys act, without a terminal (SPEC §4.5).

* ``Timeline``: a recording's output events and markers on the replay's clock, with pauses
  longer than the idle limit shortened to it; it keeps each output event's place in the file,
  not its text, so a long recording costs little memory and can still be played backwards.
* Markers are the recording's own ``"m"`` events: the host writes one at every human input,
  question, draft, decision and state change, on the recording's clock. A recording without
  any (written by an older or another recorder) gets them from the session's message log: each
  human input and ``ta-system`` message, placed by its timestamp against the header's start
  (whole seconds: up to a second off).
* ``KeyReader``: keys from the player's terminal. Terminal replies arrive on the same input
  (a cursor position report ``ESC[12;1R`` holds digits, ``;`` and ``R``): every escape sequence
  is read whole and ignored, so no reply is ever taken for a key.
* ``faster``/``slower``: the speed doubles or halves within ``MIN_SPEED``..``MAX_SPEED``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from ta_session.channels.keys import CTRL_C, KeyDecoder
from ta_session.host.recording import parse_event, read_header
from ta_session.model import SessionMessage

DEFAULT_IDLE_LIMIT = 2.0  # seconds: longer pauses in a recording are shortened to this
MIN_SPEED, MAX_SPEED = 1 / 16, 64.0
MARKER_SENDERS = ("human", "ta-system")  # messages that make markers when the recording has none
LABEL_CHARS = 60


class Key(Enum):
    PAUSE = "pause"  # space: pause or play
    STEP = "step"  # .: while paused, the next output event
    FASTER = "faster"  # +
    SLOWER = "slower"  # -
    NEXT = "next"  # n or ]: to the next marker
    PREVIOUS = "previous"  # p or [: to the previous marker
    QUIT = "quit"  # q or Ctrl-C


KEYS = {
    " ": Key.PAUSE,
    ".": Key.STEP,
    "+": Key.FASTER,
    "-": Key.SLOWER,
    "n": Key.NEXT,
    "]": Key.NEXT,
    "p": Key.PREVIOUS,
    "[": Key.PREVIOUS,
    "q": Key.QUIT,
    CTRL_C: Key.QUIT,  # the terminal's input is raw: Ctrl-C arrives as a character
}


class KeyReader:
    """Bytes typed (or answered) on the player's terminal in, keys out: ``KeyDecoder`` drops
    every escape sequence whole, even split across reads; Ctrl-C is a key in every state."""

    def __init__(self) -> None:
        self._decoder = KeyDecoder()

    def feed(self, data: bytes) -> list[Key]:
        return [KEYS[key] for key in self._decoder.feed(data) if key in KEYS]


def faster(speed: float) -> float:
    """Twice as fast, up to ``MAX_SPEED`` (a faster ``--speed`` is kept, never lowered)."""
    return max(speed, min(speed * 2, MAX_SPEED))


def slower(speed: float) -> float:
    """Half as fast, down to ``MIN_SPEED`` (a slower ``--speed`` is kept, never raised)."""
    return min(speed, max(speed / 2, MIN_SPEED))


class ItemKind(Enum):
    OUTPUT = "o"
    MARKER = "m"


@dataclass(frozen=True, slots=True)
class Item:
    at: float  # seconds into the replay at speed 1, long pauses shortened
    kind: ItemKind
    offset: int = -1  # an output event: where its line starts in the recording
    label: str = ""  # a marker: what happened


# The start of an event line, ``[1.25, "o", `` as the recorder writes it (parsed without
# decoding the data; other spellings fall back to a full parse).
_HEAD = re.compile(rb'\[\s*(-?[0-9][0-9.eE+-]*)\s*,\s*"([a-z])"\s*,')


def session_markers(messages: Iterable[SessionMessage], start: float) -> list[tuple[float, str]]:
    """Markers from a session's message log: (seconds after ``start``, label)."""
    found = []
    for message in messages:
        if message.sender in MARKER_SENDERS:
            text = " ".join(message.content.split())
            label = f"input: {text}" if message.sender == "human" else text
            seconds, nanos = message.timestamp.split()
            found.append((seconds - start + nanos / 1e9, label[:LABEL_CHARS]))
    return sorted(found, key=lambda marker: marker[0])


class Timeline:
    """A recording's output events and markers, in order, on the replay's clock."""

    def __init__(self, path: Path, items: list[Item]):
        self.path = path
        self.items = items
        self.markers = [i for i, item in enumerate(items) if item.kind is ItemKind.MARKER]
        self.duration = items[-1].at if items else 0.0
        self._handle: BinaryIO | None = None

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        idle_limit: float = DEFAULT_IDLE_LIMIT,
        messages: Iterable[SessionMessage] = (),
    ) -> Timeline:
        """Read ``path``; ``idle_limit`` 0: pauses are kept whole. ``messages``: the session's
        log, for markers when the recording carries none."""
        raw: list[tuple[float, ItemKind, int, str]] = []
        with path.open("rb") as handle:
            offset = len(handle.readline())  # the header
            for line in handle:
                entry = _entry(line, offset)
                offset += len(line)
                if entry is not None:
                    raw.append(entry)
        if not any(kind is ItemKind.MARKER for _, kind, _, _ in raw):
            header = read_header(path) or {}
            start = header.get("timestamp")
            if isinstance(start, int | float):
                extra = [(t, ItemKind.MARKER, -1, label)
                         for t, label in session_markers(messages, float(start))]  # fmt: skip
                raw = sorted(raw + extra, key=lambda entry: entry[0])  # stable: output first
        items, at, previous = [], 0.0, 0.0
        for when, kind, event_offset, label in raw:
            gap = max(0.0, when - previous)
            previous = max(previous, when)
            at += min(gap, idle_limit) if idle_limit > 0 else gap
            items.append(Item(at, kind, event_offset, label))
        return cls(path, items)

    # -- output -----------------------------------------------------------------------------

    def output(self, index: int) -> bytes:
        """The bytes of the output event at ``index`` (a marker: none)."""
        item = self.items[index]
        if item.kind is not ItemKind.OUTPUT:
            return b""
        if self._handle is None:
            self._handle = self.path.open("rb")
        self._handle.seek(item.offset)
        event = parse_event(self._handle.readline())
        return event.data.encode("utf-8", "replace") if event is not None else b""

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> Timeline:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- markers ----------------------------------------------------------------------------

    def next_marker(self, position: int) -> int | None:
        """The index of the first marker not yet played (``position``: items played)."""
        i = bisect_left(self.markers, position)
        return self.markers[i] if i < len(self.markers) else None

    def previous_marker(self, position: int) -> int | None:
        """The index of the marker to go back to: the last one played, or, right at a marker,
        the one before it; None: back to the start."""
        at_marker = position > 0 and self.items[position - 1].kind is ItemKind.MARKER
        i = bisect_left(self.markers, position - 1 if at_marker else position)
        return self.markers[i - 1] if i > 0 else None

    def last_marker(self, position: int) -> Item | None:
        """The marker played most recently, if any."""
        i = bisect_left(self.markers, position)
        return self.items[self.markers[i - 1]] if i > 0 else None


def _entry(line: bytes, offset: int) -> tuple[float, ItemKind, int, str] | None:
    """One event line as (recorded time, kind, offset, marker label); None: not played."""
    head = _HEAD.match(line)
    if head is not None and head[2] == b"o" and line.rstrip().endswith(b"]"):
        try:
            return float(head[1]), ItemKind.OUTPUT, offset, ""
        except ValueError:
            pass
    event = parse_event(line)  # a marker, a resize, or a line spelled differently
    if event is None:
        return None
    if event.code == "o":
        return event.time, ItemKind.OUTPUT, offset, ""
    if event.code == "m":
        return event.time, ItemKind.MARKER, -1, " ".join(event.data.split())[:LABEL_CHARS]
    return None  # "r" (resize), "i" (input): the player's terminal keeps its own size
