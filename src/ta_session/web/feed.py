"""The shared output connection of a session: the host's output read once, fanned out to every
browser viewer of that session (``terminal.Viewer``).

A ``Feed`` holds one attached connection (``role="attach"``, raw output, channel
``web:viewers``). Before, each viewer had an output connection of its own, so the host copied
and sent every chunk once per viewer and this server parsed one stream per viewer; with 20
viewers that cost the agent two thirds of its throughput on a small machine. Output arriving
within ``BATCH_DELAY`` is joined and the same bytes object goes to every viewer's queue.

A viewer's first screen is drawn by the host's screen model, never by replaying old output (which
would have gaps, and the agent's terminal queries, which the page's emulator would answer into
the agent). A joining viewer waits while the feed asks the host for ``{"type": "screen",
"render": true}`` on the shared connection: the host draws the screen as of the output it sent
that connection before the reply (one queue, in order), so the viewer gets that drawing and then
every chunk after the reply, with nothing missing and nothing twice. Viewers joining together
share one request, and the host is asked at most every ``SCREEN_INTERVAL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from uuid import UUID

from ta_session.channels.client import HostClient
from ta_session.host.wire import FrameKind, ProtocolError, encode_json

if TYPE_CHECKING:
    from ta_session.web.terminal import Viewer

RESET = b"\x1bc"  # RIS: a full terminal reset before a resynchronised viewer's redraw
SCREEN_REQUEST = encode_json({"type": "screen", "render": True})
SCREEN_INTERVAL = 0.5  # seconds between two drawings asked of the host (each costs it ~10 ms)
BATCH_DELAY = 0.005  # seconds output may wait to be joined with more (fewer, larger messages)
BATCH_BYTES = 128 << 10  # ... unless this much is waiting already
FEED_CHANNEL = "web:viewers"  # the channel id of the shared output connection

Connect = Callable[[], Awaitable[HostClient | None]]


class Feed:
    """One session's shared output connection, fanned out to the viewers of that session."""

    def __init__(self, sid: UUID, client: HostClient, on_closed: Callable[[Feed], None]):
        self.sid = sid
        self.client = client
        self.sock: socket.socket = client.sock
        self.viewers: set[Viewer] = set()
        self.joining: list[Viewer] = []  # waiting for the host's drawing of the screen
        self.asked_at = float("-inf")  # when the host was last asked for a drawing (loop time)
        self.pending: list[bytes] = []  # output waiting to be joined into one batch
        self.pending_bytes = 0
        self.flush_handle: asyncio.TimerHandle | None = None
        self.closed = asyncio.Event()
        self.on_closed = on_closed
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.sock.setblocking(False)
        self.task = asyncio.create_task(self._read())

    def join(self, viewer: Viewer) -> None:
        """``viewer`` gets the host's drawing of the screen, then the output after it."""
        self.viewers.discard(viewer)  # a viewer that fell behind joins again
        if viewer in self.joining or self.closed.is_set():
            return
        self.joining.append(viewer)
        if len(self.joining) == 1:  # else a request is on its way: its reply serves them all
            loop = asyncio.get_running_loop()
            wait = self.asked_at + SCREEN_INTERVAL - loop.time()
            if wait > 0:  # viewers lagging in a flood: one drawing for all of them, now and then
                loop.call_later(wait, self._ask_screen)
            else:
                self._ask_screen()

    def _ask_screen(self) -> None:
        if self.closed.is_set():
            return
        self.asked_at = asyncio.get_running_loop().time()
        try:
            self.sock.send(SCREEN_REQUEST)  # a few bytes: a fresh socket buffer takes them
        except OSError:
            self.close()  # the reader sees the end too and tells the viewers

    def _screen(self, message: dict[str, object]) -> None:
        """The host's reply to the screen request: the joining viewers start here."""
        render = message.get("render")
        drawing = RESET + render.encode() if isinstance(render, str) else RESET
        for viewer in self.joining:
            viewer.push_screen(drawing)
            self.viewers.add(viewer)
        self.joining.clear()

    def leave(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        if viewer in self.joining:
            self.joining.remove(viewer)
        if not self.viewers and not self.joining:
            self.close()

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self.flush_handle = None
        self.client.close()
        if not self.closed.is_set():
            self.closed.set()
            self.on_closed(self)

    # -- host → viewers ---------------------------------------------------------------------

    def _output(self, data: bytes) -> None:
        self.pending.append(data)
        self.pending_bytes += len(data)
        if self.pending_bytes >= BATCH_BYTES:
            self.flush()
        elif self.flush_handle is None:
            loop = asyncio.get_running_loop()
            self.flush_handle = loop.call_later(BATCH_DELAY, self.flush)

    def flush(self) -> None:
        """One joined chunk to every viewer: the same bytes object, never a copy per viewer."""
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self.flush_handle = None
        if not self.pending:
            return
        data = self.pending[0] if len(self.pending) == 1 else b"".join(self.pending)
        self.pending.clear()
        self.pending_bytes = 0
        for viewer in list(self.viewers):  # a viewer that falls behind leaves the set
            viewer.push_output(data)

    def _control(self, payload: bytes) -> None:
        self.flush()  # events keep their place after the output that came before them
        text = payload.decode("utf-8", "replace")
        with contextlib.suppress(ValueError, AttributeError):
            message = json.loads(text)
            # status_update events come to each viewer on its own connection (some are for it
            # alone); replies and the welcome are this connection's own business.
            if message.get("type") == "reply":
                self._screen(message)  # the only request this connection makes
                return
            if message.get("event_type") == "status_update" or message.get("type") == "welcome":
                return
        for viewer in list(self.viewers):  # a viewer that falls behind leaves the set
            viewer.push_text(text)

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        frames, reader = self.client.take_reader()
        note: str | None = None
        try:
            while True:
                for frame in frames:
                    if frame.kind is FrameKind.OUTPUT:
                        self._output(frame.payload)
                    elif frame.kind is FrameKind.CONTROL:
                        self._control(frame.payload)
                data = await loop.sock_recv(self.sock, 1 << 18)
                if not data:
                    break
                frames = reader.feed(data)
        except (OSError, ProtocolError) as exc:
            note = json.dumps({"type": "error", "message": f"host connection: {exc}"})
        self.flush()
        for viewer in [*self.viewers, *self.joining]:
            if note is not None:
                viewer.push_text(note)
            viewer.host_closed()
        self.task = None  # ending by itself: close() must not cancel the running task
        self.close()


class Feeds:
    """The shared output connections of one server: one per session that has viewers."""

    def __init__(self) -> None:
        self.feeds: dict[UUID, Feed] = {}
        self.locks: dict[UUID, asyncio.Lock] = {}

    async def join(self, sid: UUID, viewer: Viewer, connect: Connect) -> Feed | None:
        """Add ``viewer`` to the session's feed, connecting one first if there is none
        (``connect`` returns a ``HostClient``, or None when the session has no live host)."""
        # One lock per session ever viewed (a few hundred bytes each), kept: dropping one while
        # a viewer waits on it could let two feeds of one session start.
        lock = self.locks.setdefault(sid, asyncio.Lock())
        async with lock:  # viewers arriving together share one connection
            feed = self.feeds.get(sid)
            if feed is None:
                client = await connect()
                if client is None:
                    return None
                feed = Feed(sid, client, self._closed)
                self.feeds[sid] = feed
                feed.start()
            feed.join(viewer)  # no await between the lookup and the join: never a closed feed
            return feed

    def _closed(self, feed: Feed) -> None:
        if self.feeds.get(feed.sid) is feed:
            del self.feeds[feed.sid]
