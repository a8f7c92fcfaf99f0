"""The WebSocket terminal bridge: one browser viewer ⇄ one attached connection to the host.

Per viewer the bridge attaches to the session's host (``role="attach"``, raw output, the
viewer's size) under the viewer's channel id, so the host audits the attach and logs lines
typed in the page under ``web:<client>``. Then three things run at once:

* **from the host**: frames are read as fast as the host sends them. OUTPUT becomes binary
  WebSocket messages, CONTROL (events, activity, bye) becomes text messages, both through one
  queue to the viewer;
* **to the viewer**: the queue is drained into the WebSocket, consecutive output joined into
  one message. The queue is bounded: a viewer that falls more than ``QUEUE_LIMIT`` bytes behind
  has its queued output dropped and gets a terminal reset and the recent output instead (a
  *resync*). Reading from the host never waits for the viewer, so a slow viewer never slows
  the agent, the host or the other viewers;
* **from the viewer**: keystrokes (binary, or ``{"type":"input"}``) and sizes
  (``{"type":"resize"}``) go to the host as INPUT and RESIZE frames.

A malformed message from the viewer gets an ``error`` message and closes this viewer only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections import deque
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ta_session.channels.client import HostClient
from ta_session.host.wire import (
    FrameKind,
    FrameReader,
    ProtocolError,
    encode,
    encode_resize,
)

QUEUE_LIMIT = 2 << 20  # bytes of output queued for one viewer before it is resynchronised
RECENT_BYTES = 64 << 10  # output kept to redraw a resynchronised viewer
MAX_INPUT = 64 << 10  # one keystroke message (a paste) at most
RESET = b"\x1bc"  # RIS: a full terminal reset before the redraw
BATCH_DELAY = 0.005  # seconds output may wait to be joined with more (fewer, larger messages)


class Bridge:
    def __init__(self, websocket: WebSocket, client: HostClient):
        self.ws = websocket
        self.client = client
        self.sock: socket.socket = client.sock
        self.queue: deque[bytes | str] = deque()
        self.queued = 0  # bytes of output in the queue
        self.ready = asyncio.Event()
        self.recent = bytearray()
        self.dropped = 0
        self.allow_input = bool(client.welcome.get("allow_human_input", True))
        self.closed_reason: str | None = None

    # -- host → viewer ----------------------------------------------------------------------

    def _push_output(self, data: bytes) -> None:
        self.recent += data
        if len(self.recent) > 2 * RECENT_BYTES:
            del self.recent[:-RECENT_BYTES]
        if self.queued + len(data) > QUEUE_LIMIT:
            self._resync()
            return
        self.queue.append(data)
        self.queued += len(data)
        self.ready.set()

    def _resync(self) -> None:
        """Too far behind: drop the queued output, keep the events, redraw from the recent
        output."""
        kept = [item for item in self.queue if isinstance(item, str)]
        self.dropped += self.queued
        self.queue = deque(kept)
        self.queue.append(json.dumps({"type": "resync", "dropped_bytes": self.dropped}))
        redraw = RESET + bytes(self.recent[-RECENT_BYTES:])
        self.queue.append(redraw)
        self.queued = len(redraw)
        self.ready.set()

    def _push_text(self, text: str) -> None:
        self.queue.append(text)
        self.ready.set()

    async def from_host(self, frames: list[Any], reader: FrameReader) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                for frame in frames:
                    if frame.kind is FrameKind.OUTPUT:
                        self._push_output(frame.payload)
                    elif frame.kind is FrameKind.CONTROL:
                        self._push_text(frame.payload.decode("utf-8", "replace"))
                data = await loop.sock_recv(self.sock, 1 << 18)
                if not data:
                    break
                frames = reader.feed(data)
        except (OSError, ProtocolError) as exc:
            self._push_text(json.dumps({"type": "error", "message": f"host connection: {exc}"}))
        self._push_text(json.dumps({"type": "closed", "reason": "the session host closed"}))
        self.closed_reason = "host closed"
        self.ready.set()

    async def to_viewer(self) -> None:
        while True:
            await self.ready.wait()
            if self.queued < QUEUE_LIMIT // 4 and self.closed_reason is None:
                await asyncio.sleep(BATCH_DELAY)  # a busy agent: take several reads at once
            self.ready.clear()
            while self.queue:
                item = self.queue.popleft()
                if isinstance(item, str):
                    await self.ws.send_text(item)
                    continue
                parts = [item]
                while self.queue and isinstance(self.queue[0], bytes):
                    parts.append(self.queue.popleft())  # type: ignore[arg-type]
                data = parts[0] if len(parts) == 1 else b"".join(parts)
                self.queued -= len(data)
                await self.ws.send_bytes(data)
            if self.closed_reason is not None:
                return

    # -- viewer → host ----------------------------------------------------------------------

    async def from_viewer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            data = message.get("bytes")
            if data is None:
                data = self._parse_text(message.get("text") or "")
                if data is None:
                    continue
            elif len(data) > MAX_INPUT:
                raise ViewerError(f"a keystroke message is limited to {MAX_INPUT} bytes")
            else:
                data = encode(FrameKind.INPUT, data) if self.allow_input else b""
            if data:
                await loop.sock_sendall(self.sock, data)

    def _parse_text(self, text: str) -> bytes | None:
        try:
            message = json.loads(text)
        except ValueError:
            raise ViewerError("a text message must be a JSON object") from None
        if not isinstance(message, dict):
            raise ViewerError("a text message must be a JSON object")
        kind = message.get("type")
        if kind == "resize":
            cols, rows = message.get("cols"), message.get("rows")
            if not (isinstance(cols, int) and isinstance(rows, int)
                    and 0 < cols < 1000 and 0 < rows < 1000):  # fmt: skip
                raise ViewerError("resize needs integer cols and rows between 1 and 999")
            return encode_resize(cols, rows)
        if kind == "input":
            data = message.get("data")
            if not isinstance(data, str) or len(data) > MAX_INPUT:
                raise ViewerError(f"input needs a string 'data' of at most {MAX_INPUT} bytes")
            return encode(FrameKind.INPUT, data.encode("utf-8")) if self.allow_input else None
        if kind == "ping":
            self._push_text(json.dumps({"type": "pong", "t": message.get("t")}))
            return None
        raise ViewerError(f"unknown message type {kind!r} (expected input, resize or ping)")

    # -- all together -----------------------------------------------------------------------

    async def run(self) -> None:
        self.sock.setblocking(False)
        frames, reader = self.client.take_reader()
        welcome = {**self.client.welcome, "type": "welcome"}
        await self.ws.send_text(json.dumps(welcome))
        tasks = [
            asyncio.create_task(self.from_host(frames, reader)),
            asyncio.create_task(self.to_viewer()),
            asyncio.create_task(self.from_viewer()),
        ]
        try:
            done, _ = await asyncio.wait(tasks[1:], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if isinstance(exc, ViewerError):
                    with contextlib.suppress(Exception):
                        await self.ws.send_text(json.dumps({"type": "error", "message": str(exc)}))
                        await self.ws.close(1003)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.client.close()
        with contextlib.suppress(Exception):
            await self.ws.close()


class ViewerError(Exception):
    """The viewer sent something malformed: it is told why and disconnected."""
