"""The framing of the session host's Unix socket (documented in ``docs/protocol.md``).

Every frame is ``kind`` (1 byte) + ``length`` (4 bytes, big-endian) + ``payload``:

* ``CONTROL`` — a UTF-8 JSON object: a ``HumanInput`` (``input_type``), a ``SessionEvent``
  (``event_type``) or a protocol message (``type``: hello, welcome, reply, error, bye, …);
* ``OUTPUT`` — raw terminal bytes from the agent (host → client);
* ``INPUT`` — raw keystrokes for the agent (client → host);
* ``RESIZE`` — the client's window size: columns and rows, two unsigned 16-bit integers.

A frame longer than ``MAX_PAYLOAD``, of an unknown kind, a CONTROL payload that is not a
UTF-8 JSON object, or a window size outside ``1..MAX_WINDOW`` is a protocol error: the receiver
answers with an ``error`` message and closes that connection, and nothing else is affected.

This module is all a client needs (``ta run``, ``ta session attach``, the web and MCP bridges):
it imports nothing of the host itself.
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

from ta_session.model.errors import TaError

PROTOCOL_VERSION = 1
MAX_PAYLOAD = 1 << 20  # 1 MiB
REPLAY_BYTES = 64 << 10  # recent output sent to a newly attached (or resynchronised) terminal
MAX_WINDOW = 9999  # columns and rows of a window size are 1..MAX_WINDOW
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


class ProtocolError(TaError):
    """Something is not a valid frame or message (received: the connection must be closed), or
    cannot be sent as one (e.g. text that is not valid Unicode); the message says what."""


def valid_size(cols: object, rows: object) -> bool:
    """True for a window size the host accepts: two integers in ``1..MAX_WINDOW``."""
    return all(
        isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_WINDOW for v in (cols, rows)
    )


def invalid_text(value: Any, where: str = "") -> str | None:
    """Where ``value`` (a decoded JSON value) holds a string that is not valid Unicode, else None.

    JSON can carry lone surrogates (``"\\ud800"``), and Python turns bytes that are not UTF-8
    in ``argv`` into lone surrogates too (``surrogateescape``). Such a string cannot be written
    as UTF-8: not to a socket, a session file or the audit log. The answer names the field and
    the offending code point, e.g. ``'text' (U+D800 at position 0)``.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            name = repr(where) if where else "a string"
            return f"{name} (U+{ord(value[exc.start]):04X} at position {exc.start})"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = invalid_text(key, where) or invalid_text(item, str(key))
            if found:
                return found
    elif isinstance(value, list):
        for item in value:
            found = invalid_text(item, where)
            if found:
                return found
    return None


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
    """A CONTROL frame; ``ProtocolError`` if a string in ``message`` is not valid Unicode."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    try:
        payload = text.encode("utf-8")
    except UnicodeEncodeError:
        where = invalid_text(message) or "a string"
        raise ProtocolError(
            f"{where} is not valid text: it holds a lone surrogate or bytes that are not UTF-8"
        ) from None
    return encode(FrameKind.CONTROL, payload)


def control_frame(message: dict[str, Any]) -> bytes:
    """A CONTROL frame that never fails, for a sender that must not stop (the host): a string
    that is not valid Unicode goes out as JSON ``\\udXXX`` escapes instead of raising."""
    try:
        return encode_json(message)
    except ProtocolError:
        return encode(FrameKind.CONTROL, json.dumps(message).encode("ascii"))


def encode_resize(cols: int, rows: int) -> bytes:
    # Clamped into the range the host accepts: an odd terminal report is not a protocol error.
    cols, rows = (max(1, min(v, MAX_WINDOW)) for v in (cols, rows))
    return encode(FrameKind.RESIZE, _SIZE.pack(cols, rows))


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
