"""The session host (SPEC §4.1): one background process that owns one live session.

It runs the agent, relays its output to the recording and to every attached client, takes
input and requests from clients over ``.ta/run/<session_id>.sock``, and records every human
input, decision and state change as a session message and an audit event when it happens.

The loop is a single-threaded ``selectors`` loop: output is read in large chunks and written
to each client as far as its socket takes it; the rest waits in that client's own bounded
buffer, so a slow client never slows the agent or the others.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import re
import selectors
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from ta_session.host.agent_process import AgentProcess, LaunchError
from ta_session.host.recording import CastWriter
from ta_session.host.text import last_lines
from ta_session.host.wire import (
    PROTOCOL_VERSION,
    FrameKind,
    FrameReader,
    ProtocolError,
    encode_json,
    encode_output,
    unix_address,
)
from ta_session.model import (
    Abort,
    AgentOutput,
    Answer,
    Approve,
    BuildDraft,
    Close,
    Discuss,
    DraftReady,
    GoalComplete,
    GoalState,
    HumanInput,
    InteractiveSessionState,
    Message,
    Pause,
    RecordFormatError,
    Reject,
    Resume,
    SessionChannelError,
    SessionEvent,
    StateChanged,
    StatusUpdate,
    Timestamp,
    WaitingForInput,
)
from ta_session.store import Project
from ta_session.store.hosts import process_start_time

CLIENT_BUFFER_LIMIT = 8 << 20  # bytes of unsent output per client before it is resynchronised
REPLAY_BYTES = 64 << 10  # recent output sent to a newly attached terminal
READ_CHUNK = 1 << 16
GRACE_SECONDS = 3.0  # between SIGTERM and SIGKILL when stopping the agent
TICK = 0.25
# A line typed in a terminal is logged (an fsynced write) this long after Enter, so that the
# agent's echo of it reaches the terminals first: typing stays as quick as in a bare terminal.
LINE_LOG_DELAY = 0.02

ACTIVE = InteractiveSessionState.ACTIVE
PAUSED = InteractiveSessionState.PAUSED
COMPLETED = InteractiveSessionState.COMPLETED
ABORTED = InteractiveSessionState.ABORTED


@dataclass
class LaunchPlan:
    """What the host runs; decided by the caller (``ta run`` / resume) from the agent config."""

    argv: list[str]
    mode: str  # pty | pipe | log
    env: dict[str, str]
    cwd: str
    submit_key: bytes = b"\r"
    allow_human_input: bool = True
    idle_after: float = 2.0
    idle_timeout: float | None = None
    exit_on_goal_complete: bool = False
    prompt_patterns: list[re.Pattern[str]] = field(default_factory=list)
    missing_hint: str | None = None


@dataclass
class Client:
    sock: socket.socket
    channel_id: str = "socket:?"
    role: str = ""  # "" until hello; then attach | control
    reader: FrameReader = field(default_factory=FrameReader)
    out: bytearray = field(default_factory=bytearray)
    line: bytearray = field(default_factory=bytearray)
    escape: int = 0  # state of the escape-sequence skipper for line logging
    output: str = "none"  # how it gets agent output: raw frames | events | none
    closing: bool = False
    dropped_bytes: int = 0

    @property
    def fd(self) -> int:
        return self.sock.fileno()


class SessionHost:
    def __init__(
        self,
        project: Project,
        session_id: UUID,
        plan: LaunchPlan,
        *,
        cols: int = 80,
        rows: int = 24,
        title: str | None = None,
        ready: Callable[[str], None] | None = None,
    ):
        self.project = project
        self.session_id = session_id
        self.plan = plan
        self.cols, self.rows = cols, rows
        self.title = title
        self._ready = ready
        self.sel = selectors.DefaultSelector()
        self.clients: dict[int, Client] = {}
        self.agent: AgentProcess | None = None
        self.recorder: CastWriter | None = None
        self.listener: socket.socket | None = None
        self.recent = bytearray()
        self.decoders: dict[Any, codecs.IncrementalDecoder] = {}  # for clients taking events
        self.pending_input = bytearray()
        # Lines typed in terminals, waiting to be logged: (monotonic time, wall time, channel, line)
        self.typed_lines: list[tuple[float, Timestamp, str, str]] = []
        self.last_output = time.monotonic()
        self.activity = "running"
        self.stop_requested: str | None = None  # "close" | "abort" | "auto"
        self.kill_at: float | None = None
        self.outputs_open = 0
        self.exit_code: int | None = None
        self.build_on_exit = True
        session = project.sessions.load(session_id)
        self.goal_id = session.goal_id
        self.state = session.state
        self._signal_r, self._signal_w = os.pipe()

    # -- lifecycle --------------------------------------------------------------------------

    def run(self) -> int:
        layout = self.project.layout
        self._install_signals()
        self.recorder = CastWriter(
            layout.recordings_dir / f"{self.session_id}.cast",
            width=self.cols,
            height=self.rows,
            command=" ".join(self.plan.argv),
            title=self.title,
            env={"TERM": self.plan.env.get("TERM", ""), "SHELL": os.environ.get("SHELL", "")},
        )
        self._listen(self.project.hosts.socket_path(self.session_id))
        self.project.hosts.register(self.session_id, os.getpid(), activity="running")
        try:
            self.agent = AgentProcess.launch(
                self.plan.argv,
                mode=self.plan.mode,
                cwd=self.plan.cwd,
                env=self.plan.env,
                cols=self.cols,
                rows=self.rows,
            )
        except LaunchError as exc:
            return self._launch_failed(str(exc))
        for fd in self.agent.outputs:
            self.sel.register(fd, selectors.EVENT_READ, self._on_agent_output)
        self.outputs_open = len(self.agent.outputs)
        # Recorded so that, if this host is lost, whoever handles the session can end the agent.
        with contextlib.suppress(OSError):
            self.project.hosts.update(
                self.session_id,
                agent_pid=self.agent.pid,
                agent_start_time=process_start_time(self.agent.pid),
            )
        self._log(
            "ta-system", f"Agent launched: {' '.join(self.plan.argv)}", audit="agent_launched"
        )
        self._signal_ready("ready")
        try:
            self._loop()
        finally:
            self._shutdown()
        return 0

    def _launch_failed(self, problem: str) -> int:
        hint = f" {self.plan.missing_hint}" if self.plan.missing_hint else ""
        text = f"Agent launch failed: {problem}.{hint}"
        self._log("ta-system", text, audit="launch_failed")
        self._change_state(ABORTED, channel_id="ta-host")
        self._set_goal_state(GoalState.ABORTED)
        self._signal_ready(f"error {text}")
        self._shutdown()
        return 1

    def _signal_ready(self, line: str) -> None:
        if self._ready is not None:
            self._ready(line)
            self._ready = None

    def _install_signals(self) -> None:
        os.set_blocking(self._signal_w, False)
        signal.set_wakeup_fd(self._signal_w)
        # Signals only wake the loop; the loop decides what they mean.
        signal.signal(signal.SIGTERM, lambda *_: None)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.sel.register(self._signal_r, selectors.EVENT_READ, self._on_signal)

    def _listen(self, path: Path) -> None:
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

    def _loop(self) -> None:
        while True:
            for key, mask in self.sel.select(self._timeout()):
                key.data(key, mask)
            self._log_typed_lines(due_only=True)
            if self._agent_finished():
                break
            self._tick()

    def _timeout(self) -> float:
        if self.typed_lines:
            return max(0.0, self.typed_lines[0][0] + LINE_LOG_DELAY - time.monotonic())
        return TICK

    def _agent_finished(self) -> bool:
        assert self.agent is not None
        if self.exit_code is None:
            self.exit_code = self.agent.poll()
        if self.exit_code is None:
            return False
        # Exited: take what is still in the pipes/pty, then finish.
        if self.outputs_open:
            self._drain_output(deadline=time.monotonic() + 0.5)
        return True

    def _shutdown(self) -> None:
        if self.agent is not None:
            code = self.exit_code if self.exit_code is not None else self.agent.poll()
            self.agent.close()
            self._log("ta-system", f"Agent exited with code {code}", audit="agent_exited")
            if self.state is not ABORTED and self.build_on_exit:
                with contextlib.suppress(SessionChannelError):
                    self._build_draft("ta-host")
            self.emit(GoalComplete(self.goal_id))
            if self.state is not ABORTED:
                self._change_state(COMPLETED, channel_id="ta-host")
            self._set_goal_state(
                GoalState.ABORTED if self.state is ABORTED else GoalState.COMPLETED
            )
        reason = self.state.value
        if self.exit_code is not None:
            reason += f" (agent exited with code {self.exit_code})"
        self._broadcast_control({"type": "bye", "state": self.state.value, "reason": reason,
                                 "exit_code": self.exit_code})  # fmt: skip
        self._flush_clients(deadline=time.monotonic() + 2.0)
        for client in list(self.clients.values()):
            self._drop(client)
        if self.listener is not None:
            self.sel.unregister(self.listener)
            self.listener.close()
        if self.recorder is not None:
            self.recorder.close()
        self.project.sessions.flush()
        self.project.hosts.unregister(self.session_id)

    # -- agent output -----------------------------------------------------------------------

    def _on_agent_output(self, key: selectors.SelectorKey, mask: int) -> None:
        self._read_agent(key.fd)

    def _read_agent(self, fd: int) -> int:
        assert self.agent is not None
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return 0
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: the pty's other side is closed
                raise
            data = b""
        if not data:
            self.sel.unregister(fd)
            self.agent.outputs.pop(fd, None)
            self.outputs_open -= 1
            return 0
        if len(data) < READ_CHUNK:
            data = self._read_waiting(fd, data)
        self._relay(data, self.agent.outputs.get(fd))
        return len(data)

    @staticmethod
    def _read_waiting(fd: int, data: bytes) -> bytes:
        """``data`` plus whatever else is already waiting on ``fd``, up to ``READ_CHUNK`` bytes.

        A pty hands over at most 4 KiB per read (its line discipline's buffer), so a busy agent
        would otherwise cost one recording event, one frame and one send per client for every
        4 KiB. Taking what is already there relays it in one batch (bench/bench_host.py: 1.5
        to 1.8 times the throughput). It never waits: the first read that finds nothing, the
        end of the output or an error ends the batch, and the next read of the loop sees that
        end or error as before.
        """
        parts = [data]
        size = len(data)
        while size < READ_CHUNK:
            try:
                more = os.read(fd, READ_CHUNK - size)
            except OSError:
                break
            if not more:
                break
            parts.append(more)
            size += len(more)
        return data if len(parts) == 1 else b"".join(parts)

    def _drain_output(self, deadline: float) -> None:
        assert self.agent is not None
        while self.agent.outputs and time.monotonic() < deadline:
            if not any(self._read_agent(fd) for fd in list(self.agent.outputs)):
                time.sleep(0.01)
                if not any(self._read_agent(fd) for fd in list(self.agent.outputs)):
                    break

    def _relay(self, data: bytes, stream: Any) -> None:
        self.last_output = time.monotonic()
        if self.activity == "running":
            self._relay_output(data, stream)
            return
        # Waking up from idle/waiting. Clients hear of it first, as before, but the host record
        # (a file written with fsync) is updated only once this output is on its way: otherwise
        # the first echo after a pause waits for the disk, 5-25 ms on a busy machine
        # (bench/bench_host.py, "after a pause").
        self._set_activity("running", record=False)
        self._relay_output(data, stream)
        self._record_activity()

    def _relay_output(self, data: bytes, stream: Any) -> None:
        assert self.recorder is not None
        self.recorder.output(data)
        if self.plan.mode == "log":
            return
        self.recent += data
        if len(self.recent) > 2 * REPLAY_BYTES:
            del self.recent[:-REPLAY_BYTES]
        frame = encode_output(data)
        event_frame: bytes | None = None
        for client in list(self.clients.values()):
            if client.output == "raw":
                self._queue(client, frame)
            elif client.output == "events":
                if event_frame is None:
                    event_frame = self._event_frame(stream, data)
                if event_frame:
                    self._queue(client, event_frame)
        if event_frame is None and self.decoders:
            self.decoders.clear()  # nobody takes events now: forget any half character

    def _event_frame(self, stream: Any, data: bytes) -> bytes:
        """An ``agent_output`` event for ``data``, or b"" while a character is incomplete: a
        multi-byte UTF-8 character split across reads is held until it is whole, as in the
        recording (one decoder per stream, so stdout and stderr do not mix)."""
        decoder = self.decoders.get(stream)
        if decoder is None:
            decoder = self.decoders[stream] = codecs.getincrementaldecoder("utf-8")("replace")
        text = decoder.decode(data)
        return encode_json(AgentOutput(stream, text).to_dict()) if text else b""

    # -- clients ----------------------------------------------------------------------------

    def _on_accept(self, key: selectors.SelectorKey, mask: int) -> None:
        assert self.listener is not None
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        client = Client(sock)
        self.clients[client.fd] = client
        self.sel.register(sock, selectors.EVENT_READ, self._on_client)

    def _on_client(self, key: selectors.SelectorKey, mask: int) -> None:
        client = self.clients.get(key.fd)
        if client is None:
            return
        if mask & selectors.EVENT_WRITE:
            self._send(client)
        if mask & selectors.EVENT_READ and key.fd in self.clients:
            try:
                data = client.sock.recv(READ_CHUNK)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._drop(client)
                return
            try:
                for frame in client.reader.feed(data):
                    self._on_frame(client, frame.kind, frame)
            except ProtocolError as exc:
                self._reject(client, f"protocol error: {exc}")

    def _reject(self, client: Client, message: str) -> None:
        """Tell the client what was wrong, then close only that connection."""
        self._queue(client, encode_json({"type": "error", "message": message}))
        client.closing = True
        self._send(client)

    def _on_frame(self, client: Client, kind: FrameKind, frame: Any) -> None:
        if not client.role:
            if kind is not FrameKind.CONTROL:
                raise ProtocolError("the first frame must be a hello message")
            self._hello(client, frame.json())
            return
        if kind is FrameKind.INPUT:
            if client.role != "attach":
                raise ProtocolError("only attached terminals send keystrokes")
            self._typed(client, frame.payload)
        elif kind is FrameKind.RESIZE:
            cols, rows = frame.size()
            self._resize(cols, rows)
        elif kind is FrameKind.CONTROL:
            self._request(client, frame.json())
        else:
            raise ProtocolError(f"clients do not send {kind.name} frames")

    def _hello(self, client: Client, message: dict[str, Any]) -> None:
        if message.get("type") != "hello":
            raise ProtocolError("the first frame must be a hello message")
        role = message.get("role")
        if role not in ("attach", "control"):
            raise ProtocolError("hello.role must be 'attach' or 'control'")
        channel = message.get("channel_id")
        client.channel_id = (
            channel if isinstance(channel, str) and channel else f"socket:{client.fd}"
        )
        client.role = role
        wanted = message.get("output", "raw" if role == "attach" else "none")
        if wanted not in ("raw", "events", "none"):
            raise ProtocolError("hello.output must be 'raw', 'events' or 'none'")
        client.output = wanted
        self._queue(client, encode_json(self._welcome()))
        if role == "attach":
            self._audit("channel_attached", client.channel_id, {"role": role})
            if self.recent:
                # Redraw: a clean screen, then the recent output (a resize nudge follows).
                redraw = b"\x1b[H\x1b[2J" + bytes(self.recent[-REPLAY_BYTES:])
                self._queue(client, encode_output(redraw))
            size = message.get("size")
            if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size):
                self._resize(size[0], size[1], nudge=True)
        self._send(client)

    def _welcome(self) -> dict[str, Any]:
        return {
            "type": "welcome",
            "protocol": PROTOCOL_VERSION,
            "session_id": str(self.session_id),
            "goal_id": str(self.goal_id),
            "state": self.state.value,
            "activity": self.activity,
            "pid": os.getpid(),
            "agent_pid": self.agent.pid if self.agent else None,
            "allow_human_input": self.plan.allow_human_input,
        }

    def _queue(self, client: Client, data: bytes) -> None:
        if client.closing:
            return
        client.out += data
        if len(client.out) > CLIENT_BUFFER_LIMIT:
            # Too far behind: drop what it has not read and bring it back to the present.
            client.dropped_bytes += len(client.out)
            notice = b"\r\n[ta: output skipped, this terminal fell behind]\r\n"
            client.out = bytearray(encode_output(notice + bytes(self.recent[-REPLAY_BYTES:])))
        self._send(client)

    def _send(self, client: Client) -> None:
        if client.out:
            try:
                sent = client.sock.send(client.out)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._drop(client)
                return
            del client.out[:sent]
        if client.fd < 0 or client.fd not in self.clients:
            return
        if client.closing and not client.out:
            self._drop(client)
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.out else 0)
        with contextlib.suppress(KeyError, ValueError):
            if self.sel.get_key(client.sock).events != events:
                self.sel.modify(client.sock, events, self._on_client)

    def _drop(self, client: Client) -> None:
        fd = client.fd
        if fd in self.clients:
            del self.clients[fd]
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(client.sock)
            if client.role == "attach":
                self._audit("channel_detached", client.channel_id, {})
        client.sock.close()

    def _flush_clients(self, deadline: float) -> None:
        while any(c.out for c in self.clients.values()) and time.monotonic() < deadline:
            for client in list(self.clients.values()):
                if client.out:
                    self._send(client)
            time.sleep(0.01)

    def emit(self, event: SessionEvent) -> None:
        """Send an event to every channel."""
        self._broadcast_control(event.to_dict())

    def _broadcast_control(self, message: dict[str, Any]) -> None:
        frame = encode_json(message)
        for client in list(self.clients.values()):
            if client.role:
                self._queue(client, frame)

    # -- input ------------------------------------------------------------------------------

    def _typed(self, client: Client, data: bytes) -> None:
        if not self.plan.allow_human_input:
            return
        if self.plan.mode != "pty":
            # No terminal turns Enter (CR) into a newline on a pipe; a line reader needs one.
            data = data.replace(b"\r", b"\n")
        self._write_agent(data)
        now, stamp = time.monotonic(), Timestamp.now()
        for line in self._complete_lines(client, data):
            self.typed_lines.append((now, stamp, client.channel_id, line))

    def _log_typed_lines(self, *, due_only: bool = False) -> None:
        """Log typed lines (all, or those whose short delay is over), oldest first."""
        now = time.monotonic()
        while self.typed_lines and (not due_only or now >= self.typed_lines[0][0] + LINE_LOG_DELAY):
            _, stamp, channel_id, line = self.typed_lines.pop(0)
            self._append("human", line, channel_id=channel_id, timestamp=stamp)

    @staticmethod
    def _complete_lines(client: Client, data: bytes) -> list[str]:
        """Lines submitted with Enter, with simple editing applied and escapes left out."""
        lines = []
        for byte in data:
            if client.escape == 1:  # after ESC
                client.escape = 2 if byte in (0x5B, 0x4F) else 0  # CSI or SS3 continue
                continue
            if client.escape == 2:
                if 0x40 <= byte <= 0x7E:
                    client.escape = 0
                continue
            if byte == 0x1B:
                client.escape = 1
            elif byte in (0x0D, 0x0A):
                text = client.line.decode("utf-8", "replace").strip()
                client.line.clear()
                if text:
                    lines.append(text)
            elif byte in (0x7F, 0x08):
                while client.line and (client.line[-1] & 0xC0) == 0x80:
                    client.line.pop()  # a whole UTF-8 character goes at once
                if client.line:
                    client.line.pop()
            elif byte == 0x15:  # Ctrl-U
                client.line.clear()
            elif byte >= 0x20 or byte == 0x09:
                client.line.append(byte)
        return lines

    def _write_agent(self, data: bytes) -> None:
        assert self.agent is not None
        if self.pending_input:
            self.pending_input += data
            return
        written = self.agent.write(data)
        if written < len(data):
            self.pending_input += data[written:]

    def _flush_input(self) -> None:
        if self.pending_input and self.agent is not None:
            written = self.agent.write(bytes(self.pending_input))
            del self.pending_input[:written]

    def _resize(self, cols: int, rows: int, nudge: bool = False) -> None:
        if not (0 < cols < 10000 and 0 < rows < 10000) or self.agent is None:
            return
        if (cols, rows) == (self.cols, self.rows):
            if nudge and cols > 1:
                # Same size: a brief change makes full-screen programs repaint for the newcomer.
                self.agent.resize(cols - 1, rows)
                self.agent.resize(cols, rows)
            return
        self.cols, self.rows = cols, rows
        self.agent.resize(cols, rows)
        if self.recorder is not None:
            self.recorder.resize(cols, rows)

    # -- requests ---------------------------------------------------------------------------

    def _request(self, client: Client, message: dict[str, Any]) -> None:
        if message.get("type") == "status":
            self._reply(client, True, **self._welcome(), clients=self._channel_list())
            return
        if message.get("type") == "goal_complete":
            self._reply(client, True, detail=self._goal_complete(client.channel_id))
            return
        if "input_type" not in message:
            raise ProtocolError("expected a HumanInput (input_type) or a status request")
        try:
            human_input = HumanInput.from_dict(message)
        except RecordFormatError as exc:
            self._reply(client, False, error=str(exc))
            return
        try:
            detail = self.handle_input(human_input, client.channel_id)
        except SessionChannelError as exc:
            self._reply(client, False, error=str(exc))
            return
        self._reply(client, True, state=self.state.value, detail=detail)

    def _reply(self, client: Client, ok: bool, **fields: Any) -> None:
        fields.pop("type", None)
        self._queue(client, encode_json({"type": "reply", "ok": ok, **fields}))

    def _channel_list(self) -> list[dict[str, str]]:
        return [{"channel_id": c.channel_id, "role": c.role} for c in self.clients.values()]

    def handle_input(self, human_input: HumanInput, channel_id: str) -> str:
        """Carry out one ``HumanInput``; raise ``SessionChannelError`` with a reason if refused."""
        if isinstance(human_input, Message):
            return self._guidance(human_input.text, channel_id)
        if isinstance(human_input, Answer):
            return self._answer(human_input, channel_id)
        if isinstance(human_input, Abort):
            return self._abort(channel_id, human_input.reason)
        if isinstance(human_input, Pause):
            return self._pause(channel_id)
        if isinstance(human_input, Resume):
            return self._resume(channel_id)
        if isinstance(human_input, Close):
            return self._close(channel_id, human_input.build_draft)
        if isinstance(human_input, Approve | Reject | Discuss):
            return self._decide(human_input, channel_id)
        if isinstance(human_input, BuildDraft):
            draft_id = self._build_draft(channel_id)
            return draft_id or "no changes"
        raise SessionChannelError(f"{human_input.tag} is not supported by this host")

    def _guidance(self, text: str, channel_id: str) -> str:
        if not self.plan.allow_human_input:
            raise SessionChannelError("this agent does not accept human input (allow_human_input)")
        if self.state is not ACTIVE:
            raise SessionChannelError(f"the session is {self.state.value}; resume it first")
        self._write_agent(text.encode("utf-8") + self.plan.submit_key)
        self._log("human", text, channel_id=channel_id, audit="input_injected")
        self.emit(StatusUpdate(f"Guidance from {channel_id}: {text}"))
        return "sent"

    def _answer(self, answer: Answer, channel_id: str) -> str:
        """An answer to the agent's question: typed in like guidance, logged as an answer."""
        if not self.plan.allow_human_input:
            raise SessionChannelError("this agent does not accept human input (allow_human_input)")
        if self.state is not ACTIVE:
            raise SessionChannelError(f"the session is {self.state.value}; resume it first")
        self._write_agent(answer.text.encode("utf-8") + self.plan.submit_key)
        self._log("human", answer.text, channel_id=channel_id)
        self._audit("question_answered", channel_id,
                    {"question_id": answer.question_id, "text": answer.text})  # fmt: skip
        return "answered"

    def _goal_complete(self, channel_id: str) -> str:
        """The agent says it is done; with ``auto_exit_on: goal_complete`` the session closes."""
        self._log("ta-system", "Agent reported the goal complete", channel_id=channel_id,
                  audit="goal_complete_reported")  # fmt: skip
        self.emit(GoalComplete(self.goal_id))
        if self.plan.exit_on_goal_complete and self.state in (ACTIVE, PAUSED):
            self._close(channel_id, True)
            return "closing"
        return "noted"

    def _abort(self, channel_id: str, reason: str | None) -> str:
        if self.state not in (ACTIVE, PAUSED):
            raise SessionChannelError(f"the session is already {self.state.value}")
        note = f"Session aborted by {channel_id}" + (f": {reason}" if reason else "")
        self._change_state(ABORTED, channel_id=channel_id, note=note)
        self._stop_agent("abort")
        return "aborting"

    def _pause(self, channel_id: str) -> str:
        if self.state is not ACTIVE:
            raise SessionChannelError(f"invalid session transition from {self.state} to paused")
        assert self.agent is not None
        self.agent.signal_group(signal.SIGSTOP)
        self._change_state(PAUSED, channel_id=channel_id)
        return "paused"

    def _resume(self, channel_id: str) -> str:
        if self.state is not PAUSED:
            raise SessionChannelError(f"invalid session transition from {self.state} to active")
        assert self.agent is not None
        self.agent.signal_group(signal.SIGCONT)
        self._change_state(ACTIVE, channel_id=channel_id)
        return "resumed"

    def _close(self, channel_id: str, build_draft: bool) -> str:
        if self.state is PAUSED:
            self._resume(channel_id)
        if self.state is not ACTIVE:
            raise SessionChannelError(f"the session is already {self.state.value}")
        note = "Session closed" + ("" if build_draft else " without a draft")
        self._log("ta-system", note, channel_id=channel_id)
        self.build_on_exit = build_draft
        self._stop_agent("close")
        return "closing"

    def _stop_agent(self, why: str) -> None:
        """Ask the agent's group to end (SIGHUP, SIGTERM); SIGKILL follows after a grace period."""
        assert self.agent is not None
        self.stop_requested = why
        self.agent.signal_group(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        self.agent.signal_group(signal.SIGHUP)
        self.agent.signal_group(signal.SIGTERM)
        self.kill_at = time.monotonic() + GRACE_SECONDS

    # -- drafts -----------------------------------------------------------------------------

    def _build_draft(self, channel_id: str) -> str | None:
        """Build a draft of the workspace now; emit ``draft_ready``. None when nothing changed."""
        from ta_session.workspace.drafts import WorkspaceMissing
        from ta_session.workspace.review import build_draft

        try:
            draft = build_draft(
                self.project, self.goal_id, session_id=self.session_id, channel_id=channel_id
            )
        except (WorkspaceMissing, RecordFormatError, OSError) as exc:
            self._log("ta-system", f"No draft: {exc}", channel_id=channel_id)
            raise SessionChannelError(f"cannot build a draft: {exc}") from None
        if draft is None:
            self.emit(StatusUpdate("No changes in the workspace: no draft"))
            return None
        self.emit(DraftReady(draft.draft_id, draft.summary, len(draft.artifacts)))
        if self.recorder is not None:
            self.recorder.marker(f"draft: {draft.short_id}")
        return str(draft.draft_id)

    def _decide(self, decision: Approve | Reject | Discuss, channel_id: str) -> str:
        from ta_session.model.draft import Disposition
        from ta_session.workspace.review import decide, guidance_for

        uris = [decision.artifact_uri] if decision.artifact_uri else []
        if isinstance(decision, Approve):
            disposition, text = Disposition.APPROVED, None
            draft = decide(self.project, decision.draft_id, disposition, uris=uris,
                           channel_id=channel_id)  # fmt: skip
        elif isinstance(decision, Reject):
            disposition, text = Disposition.REJECTED, decision.reason
            draft = decide(self.project, decision.draft_id, disposition, uris=uris,
                           reason=text or None, channel_id=channel_id)  # fmt: skip
        else:
            disposition, text = Disposition.DISCUSS, decision.comment
            draft = decide(self.project, decision.draft_id, disposition, uris=uris,
                           comment=text, channel_id=channel_id)  # fmt: skip
        if self.recorder is not None:
            self.recorder.marker(f"decision: {disposition.value} {', '.join(uris) or 'all'}")
        guidance = guidance_for(disposition, uris, text)
        if guidance and self.state is ACTIVE and self.plan.allow_human_input:
            # The agent is still working: tell it why, so it can act on the review.
            self._write_agent(guidance.encode("utf-8") + self.plan.submit_key)
            self._audit("input_injected", channel_id, {"text": guidance})
        return draft.status.value

    # -- timers -----------------------------------------------------------------------------

    def _tick(self) -> None:
        now = time.monotonic()
        self._flush_input()
        if self.kill_at is not None and now >= self.kill_at and self.agent is not None:
            self.agent.signal_group(signal.SIGKILL)
            self.kill_at = None
        if self.state is not ACTIVE:
            return
        silent = now - self.last_output
        if self.plan.idle_timeout is not None and silent >= self.plan.idle_timeout:
            if self.stop_requested is None:
                self._log("ta-system", f"No output for {self.plan.idle_timeout:g}s: closing")
                self._stop_agent("auto")
            return
        if silent >= self.plan.idle_after and self.activity == "running":
            prompt = self._prompt_text()
            if prompt is not None:
                self._set_activity("waiting")
                self.emit(WaitingForInput(prompt))
                self._audit("question_asked", "ta-host", {"prompt": prompt})
            else:
                self._set_activity("idle")

    def _prompt_text(self) -> str | None:
        if not self.plan.prompt_patterns:
            return None
        tail = bytes(self.recent[-4096:]).decode("utf-8", "replace")
        for line in reversed(last_lines(tail, 5)):
            for pattern in self.plan.prompt_patterns:
                if pattern.search(line):
                    return line.strip()
        return None

    def _set_activity(self, activity: str, *, record: bool = True) -> None:
        self.activity = activity
        if record:
            self._record_activity()
        self._broadcast_control({"type": "activity", "activity": activity})

    def _record_activity(self) -> None:
        with contextlib.suppress(OSError):
            self.project.hosts.update(self.session_id, activity=self.activity)

    def _on_signal(self, key: selectors.SelectorKey, mask: int) -> None:
        with contextlib.suppress(BlockingIOError):
            signals = os.read(self._signal_r, 64)
            if signal.SIGTERM in signals and self.stop_requested is None:
                # Someone stopped the host itself: end the agent gracefully, as a close would.
                with contextlib.suppress(SessionChannelError):
                    self._close("ta-host", True)

    # -- records ----------------------------------------------------------------------------

    def _log(
        self, sender: str, content: str, *, channel_id: str | None = None, audit: str | None = None
    ) -> None:
        self._log_typed_lines()  # keep the log in the order things happened
        if channel_id is None and sender == "ta-system":
            channel_id = "ta-host"  # the host's own messages are not the starting terminal's
        self._append(sender, content, channel_id=channel_id)
        if audit is not None:
            self._audit(audit, channel_id or "ta-host", {"text": content})

    def _append(
        self,
        sender: str,
        content: str,
        *,
        channel_id: str | None,
        timestamp: Timestamp | None = None,
    ) -> None:
        self.project.sessions.append_message(
            self.session_id, sender, content, channel_id=channel_id, timestamp=timestamp
        )
        if self.recorder is not None and sender == "human":
            self.recorder.marker(f"input: {content[:60]}")

    def _audit(self, action: str, channel_id: str, details: dict[str, Any]) -> None:
        self.project.audit.append(
            action,
            session_id=self.session_id,
            goal_id=self.goal_id,
            channel_id=channel_id,
            details=details,
        )

    def _change_state(
        self, target: InteractiveSessionState, *, channel_id: str, note: str | None = None
    ) -> None:
        if note is None:
            by = f" by {channel_id}" if channel_id != "ta-host" else ""
            note = f"Session {target.value}{by}"
        change = self.project.change_state(
            self.session_id, target, channel_id=channel_id, note=note
        )
        self.state = change.session.state
        for old, new in change.hops:
            self.emit(StateChanged(old.value, new.value))
            if self.recorder is not None:
                self.recorder.marker(f"state: {old.value} -> {new.value}")
        with contextlib.suppress(OSError):
            self.project.hosts.update(self.session_id, state=self.state.value)

    def _set_goal_state(self, state: GoalState) -> None:
        def apply(goal: Any) -> None:
            goal.state = state

        with contextlib.suppress(Exception):
            self.project.goals.update(self.goal_id, apply)
