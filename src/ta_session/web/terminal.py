"""The WebSocket terminal bridge: one browser viewer ⇄ a session's host.

Output comes from the session's shared ``feed.Feed`` (the host's output read once for every
viewer). Each viewer also has a connection of its own, ``role="attach"`` with
``output="none"``, under its channel id ``web:<client>``: the host audits its attach and detach,
logs lines typed in the page under that id (the host names the typist by connection), counts
its size for the agent's window, and tells it alone when a keystroke was refused. That
connection carries no output, so it costs the host nothing per chunk.

Per viewer three things run at once:

* **host → viewer**: the feed pushes output (binary) and the host's events (text) into the
  viewer's queue; the viewer's own connection adds the ``status_update`` events (some are meant
  for it alone). The queue is bounded: a viewer more than ``QUEUE_LIMIT`` bytes behind has its
  queued output dropped, gets a ``resync`` notice and joins the feed again (drawn afresh by
  the host's screen model). Pushing never waits, so a slow viewer never slows the feed, the
  agent or other viewers;
* **to the viewer**: the queue is drained into the WebSocket; output that piled up while the
  socket was busy goes out joined, as one message;
* **from the viewer**: keystrokes (binary, or ``{"type":"input"}``) and sizes
  (``{"type":"resize"}``) go to the host on the viewer's own connection.

A malformed message from the viewer gets an ``error`` message and closes this viewer only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque

from starlette.websockets import WebSocket, WebSocketDisconnect

from ta_session.channels.client import HostClient
from ta_session.host.wire import FrameKind, ProtocolError, encode, encode_resize
from ta_session.web.feed import Feed

QUEUE_LIMIT = 1 << 20  # bytes of output queued for one viewer before it is resynchronised
MAX_INPUT = 64 << 10  # one keystroke message (a paste) at most
# Output sent to one viewer, at most, in bytes per second (after a burst of VIEWER_BURST): far
# more than a person can read or a browser terminal draw, and it bounds what each viewer costs
# the machine, so the agent's throughput does not fall with the number of viewers. Output
# beyond it waits in the viewer's queue, joined, and past QUEUE_LIMIT the viewer resyncs.
VIEWER_RATE = 2_000_000
VIEWER_BURST = 1 << 20
OWN_CLOSE_GRACE = 2.0  # seconds a viewer whose own connection closed waits for the feed's end


class Viewer:
    """One browser viewer: its WebSocket, its queue, its own connection to the host."""

    def __init__(self, websocket: WebSocket):
        self.ws = websocket
        self.client: HostClient | None = None  # its own connection (input, size, audit)
        self.feed: Feed | None = None
        self.queue: deque[bytes | str] = deque()
        self.queued = 0  # bytes of output in the queue
        self.ready = asyncio.Event()
        self.dropped = 0
        self.allow_input = True
        self.closed_reason: str | None = None
        self.send_at = 0.0  # the rate limit: when the next output may go (loop time)

    # -- host → viewer (called by the feed and by the viewer's own connection) ----------------

    def push_output(self, data: bytes) -> None:
        if self.closed_reason is not None:
            return
        if self.queued + len(data) > QUEUE_LIMIT:
            self._fall_behind(len(data))
            return
        self.queue.append(data)
        self.queued += len(data)
        self.ready.set()

    def push_screen(self, drawing: bytes) -> None:
        """The host's drawing of the screen, where this viewer (re)joins the output."""
        if self.closed_reason is None:
            self.queue.append(drawing)  # whatever its size: the viewer needs all of it
            self.queued += len(drawing)
            self.ready.set()

    def _fall_behind(self, incoming: int) -> None:
        """Too far behind: drop the queued output (the events keep their place), say so, and
        join the feed again: the host's drawing of the screen brings the viewer to the present."""
        self.queue = deque(item for item in self.queue if isinstance(item, str))
        self.dropped += self.queued + incoming
        self.queued = 0
        self.push_text(json.dumps({"type": "resync", "dropped_bytes": self.dropped}))
        if self.feed is not None:
            self.feed.join(self)

    def push_text(self, text: str) -> None:
        if self.closed_reason is not None:
            return
        self.queue.append(text)
        self.ready.set()

    def host_closed(self) -> None:
        self.push_text(json.dumps({"type": "closed", "reason": "the session host closed"}))
        self.closed_reason = "host closed"
        self.ready.set()

    async def from_own_host(self) -> None:
        """The viewer's own connection: its ``status_update`` events (everything else comes
        from the feed, in order with the output)."""
        assert self.client is not None and self.feed is not None
        loop = asyncio.get_running_loop()
        frames, reader = self.client.take_reader()
        sock = self.client.sock
        try:
            while True:
                for frame in frames:
                    if frame.kind is not FrameKind.CONTROL:
                        continue
                    text = frame.payload.decode("utf-8", "replace")
                    with contextlib.suppress(ValueError, AttributeError):
                        message = json.loads(text)
                        if message.get("event_type") == "status_update" or (
                            message.get("type") == "error"
                        ):
                            self.push_text(text)
                data = await loop.sock_recv(sock, 1 << 16)
                if not data:
                    break
                frames = reader.feed(data)
        except (OSError, ProtocolError) as exc:
            self.push_text(json.dumps({"type": "error", "message": f"host connection: {exc}"}))
        # The host closes every connection when the session ends; the feed then brings the end
        # of the output and the bye. If only this connection closed, the viewer ends here.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.feed.closed.wait(), OWN_CLOSE_GRACE)
        if self.closed_reason is None:
            self.host_closed()

    async def to_viewer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.ready.wait()
            self.ready.clear()
            while self.queue:
                item = self.queue[0]
                if isinstance(item, str):
                    self.queue.popleft()
                    await self.ws.send_text(item)
                    continue
                wait = self.send_at - loop.time()
                if wait > 0 and self.closed_reason is None:
                    # Over the rate: let more output pile up (it goes out joined), or resync.
                    await asyncio.sleep(wait)
                    continue
                # Output that piled up while the socket was busy: one message.
                parts = [item]
                self.queue.popleft()
                self.queued -= len(item)
                while self.queue and isinstance(self.queue[0], bytes):
                    chunk = self.queue.popleft()
                    self.queued -= len(chunk)
                    parts.append(chunk)  # type: ignore[arg-type]
                data = parts[0] if len(parts) == 1 else b"".join(parts)
                now = loop.time()
                self.send_at = max(self.send_at, now - VIEWER_BURST / VIEWER_RATE)
                self.send_at += len(data) / VIEWER_RATE
                await self.ws.send_bytes(data)
            if self.closed_reason is not None:
                return

    # -- viewer → host ----------------------------------------------------------------------

    async def from_viewer(self) -> None:
        assert self.client is not None
        loop = asyncio.get_running_loop()
        sock = self.client.sock
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
                await loop.sock_sendall(sock, data)

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
            self.push_text(json.dumps({"type": "pong", "t": message.get("t")}))
            return None
        raise ViewerError(f"unknown message type {kind!r} (expected input, resize or ping)")

    # -- all together -----------------------------------------------------------------------

    async def run(self, feed: Feed, client: HostClient) -> None:
        """Serve the viewer until it leaves or the session ends. ``feed`` has it already."""
        self.feed, self.client = feed, client
        self.allow_input = bool(client.welcome.get("allow_human_input", True))
        client.sock.setblocking(False)
        # The welcome goes first, before the first screen the feed has queued already.
        self.queue.appendleft(json.dumps({**client.welcome, "type": "welcome"}))
        self.ready.set()
        tasks = [
            asyncio.create_task(self.from_own_host()),
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
            feed.leave(self)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            client.close()
        with contextlib.suppress(Exception):
            await self.ws.close()


class ViewerError(Exception):
    """The viewer sent something malformed: it is told why and disconnected."""
