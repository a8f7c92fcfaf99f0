"""The framing of the session host's Unix socket (documented in ``docs/protocol.md``).

Every frame is ``kind`` (1 byte) + ``length`` (4 bytes, big-endian) + ``payload``:

* ``CONTROL`` — a UTF-8 JSON object: a ``HumanInput`` (``input_type``), a ``SessionEvent``
  (``event_type``) or a protocol message (``type``: hello, welcome, reply, error, bye, …);
* ``OUTPUT`` — raw terminal bytes from the agent (host → client);
* ``INPUT`` — raw keystrokes for the agent (client → host);
* ``RESIZE`` — the client's window size: columns and rows, two unsigned 16-bit integers.

A frame longer than ``MAX_PAYLOAD``, of an unknown kind, or a CONTROL payload that is not a
JSON object is a protocol error: the receiver answers with an ``error`` message and closes that
connection, and nothing else is affected.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

PROTOCOL_VERSION = 1
MAX_PAYLOAD = 1 << 20  # 1 MiB
_HEADER = struct.Struct(">BI")
HEADER_SIZE = _HEADER.size
_SIZE = struct.Struct(">HH")


# A Unix socket address holds at most 107 bytes; a project in a deep folder has longer paths.
_SUN_PATH_MAX = 107


@contextlib.contextmanager
def unix_address(path: str | Path) -> Iterator[str]:
    """An address for ``bind``/``connect`` that reaches the socket at ``path`` however long it
    is: a long path goes through a descriptor on its folder (``/proc/self/fd/N/name``)."""
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        yield str(path)
        return
    path = Path(path)
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


class FrameKind(IntEnum):
    CONTROL = 1
    OUTPUT = 2
    INPUT = 3
    RESIZE = 4


class ProtocolError(Exception):
    """The peer sent something that is not a valid frame; the connection must be closed."""


@dataclass(frozen=True, slots=True)
class Frame:
    kind: FrameKind
    payload: bytes

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProtocolError(f"control frame is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ProtocolError("control frame is not a JSON object")
        return value

    def size(self) -> tuple[int, int]:
        if len(self.payload) != _SIZE.size:
            raise ProtocolError("resize frame must carry 4 bytes")
        return _SIZE.unpack(self.payload)


def encode(kind: FrameKind, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"frame payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return _HEADER.pack(kind, len(payload)) + payload


def encode_json(message: dict[str, Any]) -> bytes:
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    return encode(FrameKind.CONTROL, text.encode("utf-8"))


def encode_resize(cols: int, rows: int) -> bytes:
    return encode(FrameKind.RESIZE, _SIZE.pack(max(1, min(cols, 65535)), max(1, min(rows, 65535))))


def encode_output(data: bytes) -> bytes:
    """Output may be larger than one frame allows; split it."""
    if len(data) <= MAX_PAYLOAD:
        return encode(FrameKind.OUTPUT, data)
    return b"".join(
        encode(FrameKind.OUTPUT, data[i : i + MAX_PAYLOAD])
        for i in range(0, len(data), MAX_PAYLOAD)
    )


class FrameReader:
    """Incremental decoder: feed bytes as they arrive, take whole frames out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= HEADER_SIZE:
            kind, length = _HEADER.unpack_from(self._buffer)
            if kind not in FrameKind._value2member_map_:
                raise ProtocolError(f"unknown frame kind {kind}")
            if length > MAX_PAYLOAD:
                raise ProtocolError(f"frame of {length} bytes exceeds the {MAX_PAYLOAD}-byte limit")
            end = HEADER_SIZE + length
            if len(self._buffer) < end:
                break
            frames.append(Frame(FrameKind(kind), bytes(self._buffer[HEADER_SIZE:end])))
            del self._buffer[:end]
        return frames
