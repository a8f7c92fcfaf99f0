"""A client of a session host's socket: requests from scripts and commands, and the stream an
attached terminal reads."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path
from typing import Any

from ta_session.host.wire import (
    PROTOCOL_VERSION,
    Frame,
    FrameKind,
    FrameReader,
    ProtocolError,
    encode,
    encode_json,
    encode_resize,
    unix_address,
)
from ta_session.model import HumanInput
from ta_session.model.errors import TaError


class HostUnavailable(TaError):
    """No host answers on the session's socket."""


class HostRequestError(TaError):
    """The host refused a request; the message says why."""


class HostClient:
    def __init__(self, sock: socket.socket, welcome: dict[str, Any], reader: FrameReader):
        self.sock = sock
        self.welcome = welcome
        self._reader = reader
        self._frames: list[Frame] = []

    @classmethod
    def connect(
        cls,
        socket_path: str | Path,
        *,
        channel_id: str,
        role: str = "control",
        output: str | None = None,
        size: tuple[int, int] | None = None,
        from_start: bool = False,
        timeout: float = 10.0,
    ) -> HostClient:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            with unix_address(socket_path) as address:
                sock.connect(address)
        except OSError as exc:
            sock.close()
            raise HostUnavailable(f"cannot reach the session host: {exc.strerror or exc}") from exc
        hello: dict[str, Any] = {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "role": role,
            "channel_id": channel_id,
        }
        if output is not None:
            hello["output"] = output
        if size is not None:
            hello["size"] = [size[0], size[1]]
        if from_start:
            hello["from_start"] = True
        client = cls(sock, {}, FrameReader())
        try:
            frame = encode_json(hello)
        except ProtocolError as exc:  # e.g. a channel id made from bytes that are not UTF-8
            sock.close()
            raise HostRequestError(f"cannot connect as {channel_id!r}: {exc}") from None
        try:
            client.send_raw(frame)
            welcome = client.next_control(timeout)
        except (OSError, HostUnavailable) as exc:
            sock.close()
            raise HostUnavailable(f"the session host did not answer: {exc}") from exc
        if welcome.get("type") != "welcome":
            sock.close()
            raise HostUnavailable(f"unexpected answer from the host: {welcome}")
        client.welcome = welcome
        return client

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> HostClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ----------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_input(self, data: bytes) -> None:
        self.send_raw(encode(FrameKind.INPUT, data))

    def send_resize(self, cols: int, rows: int) -> None:
        self.send_raw(encode_resize(cols, rows))

    def request(
        self, message: HumanInput | dict[str, Any], timeout: float = 30.0
    ) -> dict[str, Any]:
        """Send a ``HumanInput`` (or a status request) and wait for the host's reply.

        Text that cannot be sent (not valid Unicode: a lone surrogate, or bytes that are not
        UTF-8 from the command line) is refused here with ``HostRequestError``; nothing is sent.
        """
        payload = message.to_dict() if isinstance(message, HumanInput) else message
        try:
            frame = encode_json(payload)
        except ProtocolError as exc:
            raise HostRequestError(f"cannot send this: {exc}") from None
        self.send_raw(frame)
        deadline = time.monotonic() + timeout
        while True:
            reply = self.next_control(max(0.0, deadline - time.monotonic()))
            if reply.get("type") == "reply":
                if not reply.get("ok"):
                    raise HostRequestError(str(reply.get("error", "refused")))
                return reply
            if reply.get("type") == "error":
                raise HostRequestError(str(reply.get("message")))

    # -- receiving --------------------------------------------------------------------------

    def read_frames(self, timeout: float | None) -> list[Frame]:
        """Frames available within ``timeout``; an empty list means the host closed."""
        if self._frames:
            frames, self._frames = self._frames, []
            return frames
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return []
        try:
            data = self.sock.recv(1 << 16)
        except (BlockingIOError, TimeoutError):
            return []
        if not data:
            raise HostUnavailable("the session host closed the connection")
        return self._reader.feed(data)

    def take_reader(self) -> tuple[list[Frame], FrameReader]:
        """Hand over reading: the frames received but not yet taken, and the decoder holding
        any partial frame, for a caller that reads the socket itself from now on (an asyncio
        loop). This client's own reading methods must not be used afterwards."""
        frames, self._frames = self._frames, []
        return frames, self._reader

    def next_control(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HostUnavailable("timed out waiting for the session host")
            frames = self.read_frames(remaining)
            for i, frame in enumerate(frames):
                if frame.kind is FrameKind.CONTROL:
                    self._frames = frames[i + 1 :] + self._frames
                    return frame.json()
