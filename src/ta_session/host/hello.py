"""A client's ``hello`` (SPEC §4.1): checked in one place, before the hub keeps anything of it.

The first frame of every connection must be a ``hello``: the protocol version, the client's
role (which socket takes which roles is the hub's choice), its channel id, how it wants the
agent's output, its terminal size and whether it is the terminal the session was started for.
Anything malformed is a ``ProtocolError`` naming the field; the hub turns it into an ``error``
message and closes only that connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ta_session.host.wire import (
    PROTOCOL_VERSION,
    Frame,
    FrameKind,
    ProtocolError,
    invalid_text,
    valid_size,
)
from ta_session.model.host import ClientRole

MAX_CHANNEL_ID = 200  # characters


class OutputMode(StrEnum):
    """How a client gets the agent's output (``hello.output``)."""

    RAW = "raw"  # OUTPUT frames: terminal bytes
    EVENTS = "events"  # agent_output events (CONTROL frames): for clients that are not terminals
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Hello:
    role: ClientRole
    channel_id: str | None  # None: the hub names it after the connection
    output: OutputMode
    size: tuple[int, int] | None  # columns, rows
    from_start: bool  # the terminal the session was started for (``ta run``)


def parse_hello(frame: Frame, roles: tuple[ClientRole, ...]) -> Hello:
    """The ``hello`` in ``frame``, for a socket that takes ``roles``; ``ProtocolError`` if not."""
    if frame.kind is not FrameKind.CONTROL:
        raise ProtocolError("the first frame must be a hello message")
    message = frame.json()
    if message.get("type") != "hello":
        raise ProtocolError("the first frame must be a hello message")
    bad = invalid_text(message)
    if bad:
        raise ProtocolError(f"hello: {bad} is not valid Unicode text")
    if message.get("protocol", PROTOCOL_VERSION) != PROTOCOL_VERSION:
        raise ProtocolError(f"this host speaks protocol {PROTOCOL_VERSION}")
    try:
        role = ClientRole(str(message.get("role")))
    except ValueError:
        raise ProtocolError("hello.role must be 'attach' or 'control'") from None
    if role not in roles:
        wanted = " or ".join(repr(r.value) for r in roles)
        hint = " (agents use TA_AGENT_SOCKET)" if role is ClientRole.AGENT else ""
        raise ProtocolError(f"hello.role must be {wanted} on this socket{hint}")
    channel = message.get("channel_id")
    if channel is not None and not (isinstance(channel, str) and len(channel) <= MAX_CHANNEL_ID):
        raise ProtocolError(f"hello.channel_id must be a string of at most {MAX_CHANNEL_ID}")
    default = OutputMode.RAW if role is ClientRole.ATTACH else OutputMode.NONE
    try:
        output = OutputMode(message.get("output", default))
    except ValueError:
        raise ProtocolError("hello.output must be 'raw', 'events' or 'none'") from None
    size = message.get("size")
    if size is not None and not (isinstance(size, list) and len(size) == 2 and valid_size(*size)):
        raise ProtocolError(f"hello.size must be [columns, rows], each 1..9999; got {size!r}")
    return Hello(
        role,
        channel or None,
        output,
        (size[0], size[1]) if size else None,
        message.get("from_start") is True,
    )
