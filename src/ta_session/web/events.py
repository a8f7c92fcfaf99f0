"""The live session list: one watcher per server, pushing the list to every page that listens.

The watcher reads the listing (``listing.py``: JSON text, rebuilt only when something changed)
every ``INTERVAL`` seconds while at least one page listens, and sends
the whole list to each listener when it differs from the last one sent. A listener that does
not keep up misses intermediate lists, never the newest: each has a one-slot mailbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

INTERVAL = 0.5  # seconds between two looks at the listing


class Mailbox:
    """Holds the newest message only."""

    def __init__(self) -> None:
        self.message: str | None = None
        self.ready = asyncio.Event()

    def put(self, message: str) -> None:
        self.message = message
        self.ready.set()

    async def take(self) -> str:
        await self.ready.wait()
        self.ready.clear()
        message, self.message = self.message, None
        return message or ""


class ListWatcher:
    def __init__(self, read_list: Callable[[], str]):  # the list as a JSON array
        self.read_list = read_list
        self.listeners: set[Mailbox] = set()
        self.last: str | None = None
        self.task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while self.listeners:
            try:
                sessions = await run_in_threadpool(self.read_list)
            except Exception as exc:  # a listing that fails now may work next time
                text = json.dumps({"type": "error", "message": f"cannot list sessions: {exc}"})
            else:
                text = f'{{"type": "sessions", "sessions": {sessions}}}'
            if text != self.last:
                self.last = text
                for box in self.listeners:
                    box.put(text)
            await asyncio.sleep(INTERVAL)
        self.task = None
        self.last = None

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        box = Mailbox()
        self.listeners.add(box)
        if self.last is not None:
            box.put(self.last)
        if self.task is None:
            self.task = asyncio.create_task(self._watch())

        async def drain() -> None:  # the page sends nothing; this notices it leave
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass

        closing = asyncio.create_task(drain())
        try:
            while not closing.done():
                take = asyncio.create_task(box.take())
                await asyncio.wait({take, closing}, return_when=asyncio.FIRST_COMPLETED)
                if take.done():
                    await websocket.send_text(take.result())
                else:
                    take.cancel()
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            self.listeners.discard(box)
            closing.cancel()
            with contextlib.suppress(Exception):
                await websocket.close()
