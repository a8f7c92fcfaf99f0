"""The client hub: the session host's Unix socket and every client connected to it.

It accepts connections (at most ``MAX_CLIENTS``; when the process runs out of descriptors it
stops accepting for a moment instead of spinning), expects a ``hello`` within ``HELLO_TIMEOUT``,
and keeps one queue of **whole frames** per client, written as fast as that client's socket
takes them. What happens in a session is the server's business: the hub hands it valid frames
from clients that said hello, and sends what it is given.

Flow control (SPEC §4.1, §13): a client whose queue passes ``CLIENT_BUFFER_LIMIT`` bytes falls
behind. Only whole, unsent *output* frames are dropped (OUTPUT frames, or ``agent_output`` events
for a client that takes events); control frames (replies, events, ``bye``) keep their place, and
the frame the client is partway through is finished, so the client always reads a valid stream.
No more output is queued for it (a stalled client costs the agent nothing) until it has read what
is left; then the server supplies a notice and the recent output as new frames. A client whose
control frames alone pass four times the limit is dropped: it reads nothing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ta_session.host.frames import FrameQueue
from ta_session.host.hello import OutputMode, parse_hello
from ta_session.host.typed import TypedLines
from ta_session.host.wire import (
    Frame,
    FrameReader,
    ProtocolError,
    encode_json,
    unix_address,
)
from ta_session.model.host import ClientRole

MAX_CLIENTS = 64
HELLO_TIMEOUT = 5.0  # seconds a new connection has to say hello
CLIENT_BUFFER_LIMIT = 8 << 20  # bytes queued for one client before it is resynchronised
ACCEPT_PAUSE = 0.5  # seconds without accepting after running out of descriptors
READ_CHUNK = 1 << 16
# accept() failures that say "no resources now", not "this connection is bad".
_ACCEPT_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


@dataclass(eq=False)
class Client:
    sock: socket.socket
    fd: int
    connected_at: float
    channel_id: str = ""
    role: ClientRole | None = None  # None until its hello
    output: OutputMode = OutputMode.NONE
    reader: FrameReader = field(default_factory=FrameReader)
    queue: FrameQueue = field(default_factory=FrameQueue)
    typing: TypedLines = field(default_factory=lambda: TypedLines(None))  # its typed lines
    from_start: bool = False  # hello.from_start: the terminal the session was started for
    closing: bool = False  # sends what is queued, then is closed
    writing: bool = False  # registered for writability
    behind: bool = False  # fell behind: its output is skipped until it has read its queue
    resyncs: int = 0


class HubHandler(Protocol):
    """What the server does with clients (implemented by ``SessionHost``)."""

    def client_ready(self, client: Client, size: tuple[int, int] | None) -> None:
        """A valid hello arrived: send the welcome (and a redraw for a terminal)."""

    def client_frame(self, client: Client, frame: Frame) -> None:
        """A frame after the hello; raise ``ProtocolError`` to reject the connection."""

    def client_gone(self, client: Client) -> None: ...

    def resync_frames(self, client: Client) -> list[bytes]:
        """The notice (and recent output) a client gets after its output was dropped."""

    def note(self, text: str) -> None:
        """A line for the host's log."""


class Hub:
    def __init__(
        self,
        sel: selectors.BaseSelector,
        handler: HubHandler,
        *,
        max_clients: int = MAX_CLIENTS,
        hello_timeout: float = HELLO_TIMEOUT,
        buffer_limit: int = CLIENT_BUFFER_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        roles: tuple[ClientRole, ...] = (ClientRole.ATTACH, ClientRole.CONTROL),
    ):
        self.sel = sel
        self.roles = roles  # [mcp] the agent socket takes ClientRole.AGENT only
        self.handler = handler
        self.max_clients = max_clients
        self.hello_timeout = hello_timeout
        self.buffer_limit = buffer_limit
        self.clock = clock
        self.clients: dict[int, Client] = {}
        self.listener: socket.socket | None = None
        self._accept_resumes: float | None = None  # accepting is paused until then

    # -- the listening socket ----------------------------------------------------------------

    def listen(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket is born 0600: no window where others could connect
        try:
            with unix_address(path) as address:
                listener.bind(address)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        listener.listen(16)
        listener.setblocking(False)
        self.listener = listener
        self.sel.register(listener, selectors.EVENT_READ, self._on_accept)

    def _on_accept(self, key: selectors.SelectorKey, mask: int) -> None:
        assert self.listener is not None
        for _ in range(16):  # what is waiting, but let the agent's output in between
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _ACCEPT_EXHAUSTED:
                    self._pause_accepting(exc)
                    return
                continue  # e.g. ECONNABORTED: that one connection is gone
            if len(self.clients) >= self.max_clients:
                self._refuse(sock, f"too many clients ({self.max_clients} connected); try later")
                continue
            sock.setblocking(False)
            client = Client(sock, sock.fileno(), self.clock())
            self.clients[client.fd] = client
            self.sel.register(sock, selectors.EVENT_READ, self._on_client)

    def _pause_accepting(self, exc: OSError) -> None:
        """Out of descriptors: the pending connection stays in the backlog, and accepting it
        again at once would fail at once, forever. Wait a moment (``tick`` resumes)."""
        assert self.listener is not None
        if self._accept_resumes is None:
            self.handler.note(f"cannot accept connections: {exc.strerror}; pausing accept")
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(self.listener)
        self._accept_resumes = self.clock() + ACCEPT_PAUSE

    @staticmethod
    def _refuse(sock: socket.socket, message: str) -> None:
        with contextlib.suppress(OSError):
            sock.setblocking(False)
            sock.send(encode_json({"type": "error", "message": message}))
        _close(sock)

    def tick(self) -> None:
        """Resume accepting after a pause; drop connections that never said hello."""
        now = self.clock()
        if self._accept_resumes is not None and now >= self._accept_resumes:
            self._accept_resumes = None
            if self.listener is not None:
                self.sel.register(self.listener, selectors.EVENT_READ, self._on_accept)
        for client in list(self.clients.values()):
            waited = now - client.connected_at
            if client.role is None and not client.closing and waited >= self.hello_timeout:
                self.reject(client, f"no hello within {self.hello_timeout:g} s")

    # -- reading ----------------------------------------------------------------------------

    def _on_client(self, key: selectors.SelectorKey, mask: int) -> None:
        client = self.clients.get(key.fd)
        if client is None:
            return
        if mask & selectors.EVENT_WRITE:
            self.send(client, writable=True)
        if not mask & selectors.EVENT_READ or not self._connected(client):
            return
        try:
            data = client.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.drop(client)
            return
        if client.closing:
            return  # it was told what was wrong; nothing more from it counts
        try:
            for frame in client.reader.feed(data):
                if client.closing or not self._connected(client):
                    break
                if client.role is None:
                    self._hello(client, frame)
                else:
                    self.handler.client_frame(client, frame)
        except ProtocolError as exc:
            self.reject(client, f"protocol error: {exc}")
        except Exception as exc:  # a bug must cost one connection, never the session
            self.handler.note(
                f"internal error handling {client.channel_id or 'a client'}:\n"
                + traceback.format_exc()
            )
            self.reject(client, f"internal error in the session host: {type(exc).__name__}")

    def _hello(self, client: Client, frame: Frame) -> None:
        hello = parse_hello(frame, self.roles)
        client.channel_id = hello.channel_id or f"socket:{client.fd}"
        client.role, client.output, client.from_start = hello.role, hello.output, hello.from_start
        self.handler.client_ready(client, hello.size)

    # -- sending ----------------------------------------------------------------------------

    def queue(self, client: Client, frame: bytes, *, droppable: bool = False) -> None:
        """Queue one whole frame for ``client``; ``droppable`` marks agent output."""
        if client.closing or not self._connected(client):
            return
        if droppable and client.behind:
            return  # it gets the recent output when it reads again: queueing this costs nothing
        idle = not client.queue
        client.queue.push(frame, droppable=droppable)
        if client.queue.size > self.buffer_limit:
            self._fall_behind(client)
            if not self._connected(client):
                return
        if idle:
            self.send(client)  # otherwise the selector says when the socket takes more

    def _fall_behind(self, client: Client) -> None:
        """Too much waits for ``client``: drop its unsent output and take no more until it has
        read what is left; then ``_catch_up`` brings it back to the present."""
        if not client.behind:
            client.queue.drop_output()
            client.behind = True
            client.resyncs += 1
            self.send(client)  # watch for writability: it means the client reads again
        if self._connected(client) and client.queue.size > 4 * self.buffer_limit:
            self.handler.note(f"dropping {client.channel_id}: it reads none of its replies")
            self.drop(client)

    def catch_up_all(self) -> None:
        """The session ends: every client that fell behind gets the recent output now, so that
        what it reads before the ``bye`` ends with the end of the agent's output."""
        for client in list(self.clients.values()):
            if client.behind:
                self._catch_up(client)

    def _catch_up(self, client: Client) -> None:
        """A client that fell behind has read everything queued: a notice, recent output."""
        client.behind = False
        for frame in self.handler.resync_frames(client):
            client.queue.push(frame, droppable=True)

    def broadcast(
        self, frame: bytes, *, output: OutputMode | None = None, droppable: bool = False
    ) -> None:
        """``frame`` to every client past its hello (only those taking ``output``, if given)."""
        for client in list(self.clients.values()):
            if client.role is not None and (output is None or client.output is output):
                self.queue(client, frame, droppable=droppable)

    def takes(self, output: OutputMode) -> bool:
        return any(c.output is output and c.role is not None for c in self.clients.values())

    def reject(self, client: Client, message: str) -> None:
        """Tell the client what was wrong, then close only that connection."""
        self.queue(client, encode_json({"type": "error", "message": message}))
        client.closing = True
        self.send(client)

    def send(self, client: Client, *, writable: bool = False) -> None:
        """Send what the socket takes now (``writable``: the selector says it takes some)."""
        if client.behind and not client.queue and writable:
            self._catch_up(client)
        if client.queue:
            try:
                sent = client.sock.sendmsg(client.queue.buffers())
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.drop(client)
                return
            client.queue.consume(sent)
            if client.behind and sent and not client.queue:
                self._catch_up(client)  # it reads again
        if not self._connected(client):
            return
        if client.closing and not client.queue:
            self.drop(client)
            return
        writing = bool(client.queue) or client.behind
        if writing != client.writing:
            client.writing = writing
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0)
            with contextlib.suppress(KeyError, ValueError):
                self.sel.modify(client.sock, events, self._on_client)

    def _connected(self, client: Client) -> bool:
        # By identity: a dropped client's descriptor number may already serve a new one.
        return self.clients.get(client.fd) is client

    def drop(self, client: Client) -> None:
        if self._connected(client):
            del self.clients[client.fd]
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(client.sock)
            if client.role is not None:
                self.handler.client_gone(client)
        _close(client.sock)

    def flush(self, deadline: float) -> None:
        """Send what is queued, for at most until ``deadline`` (monotonic)."""
        while time.monotonic() < deadline:
            pending = [c for c in self.clients.values() if c.queue]
            if not pending:
                return
            waiter = selectors.DefaultSelector()
            for client in pending:
                waiter.register(client.sock, selectors.EVENT_WRITE, client)
            try:
                for key, _ in waiter.select(max(0.0, deadline - time.monotonic())):
                    self.send(key.data)
            finally:
                waiter.close()

    def channels(self) -> list[dict[str, Any]]:
        return [
            {"channel_id": c.channel_id, "role": c.role.value}
            for c in self.clients.values()
            if c.role is not None
        ]

    def close(self) -> None:
        for client in list(self.clients.values()):
            self.drop(client)
        if self.listener is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(self.listener)
            self.listener.close()
            self.listener = None


def _close(sock: socket.socket) -> None:
    """Close a connection. What the peer sent and we did not read is read first: closing over
    unread data resets the connection, and the peer could lose the error we just sent it."""
    with contextlib.suppress(OSError):
        sock.setblocking(False)
        for _ in range(16):
            if not sock.recv(READ_CHUNK):
                break
    sock.close()
