"""The session host (SPEC §4.1): one background process that owns one live session.

A single-threaded ``selectors`` loop ties the parts together: the agent (``agent_process``) under
a pty or pipes; its output, read in large chunks, recorded (``recording``) and relayed through
the client hub (``hub``), which gives each client its own bounded queue so that a slow client
never slows the agent or the others; the screen model (``screen``), fed lazily, which redraws
attaching terminals and shows prompts and typed lines; keystrokes to the agent and, as lines
read off the screen (``typed``), to the session log; requests to the controller (``controller``),
which owns the session's records (``records``); and the activity monitor (``activity``). No
client, and no failed write, can end the session: only the agent's exit, a close or an abort.
"""

from __future__ import annotations

import functools
import os
import selectors
import signal
import time
import traceback
from collections.abc import Callable
from typing import Any

from ta_session.host.activity import ActivityMonitor
from ta_session.host.agent_io import AgentIO
from ta_session.host.agent_process import AgentProcess, LaunchError
from ta_session.host.controller import ACTIVE, Controller
from ta_session.host.extras import Extras
from ta_session.host.hub import Client, Hub
from ta_session.host.plan import LaunchPlan
from ta_session.host.recording import CastWriter
from ta_session.host.records import HostLog, Records
from ta_session.host.relay import OutputRelay
from ta_session.host.runfiles import HostLock, remove_run_files
from ta_session.host.screen import ScreenModel
from ta_session.host.signals import wake_on_signals
from ta_session.host.typed import TypedLines
from ta_session.host.window import Window
from ta_session.host.wire import (
    PROTOCOL_VERSION,
    Frame,
    FrameKind,
    ProtocolError,
    control_frame,
)
from ta_session.model import InteractiveSession, OutputStream, SessionChannelError, StatusUpdate
from ta_session.model.config import CaptureMode
from ta_session.model.host import ClientRole, HostActivity
from ta_session.model.protocol import SessionEvent
from ta_session.store import Project
from ta_session.store.hosts import process_start_time

__all__ = ["LaunchPlan", "SessionHost"]

TICK = 0.25
QUIET = 0.05  # seconds without output after which the screen model catches up by itself


class SessionHost:
    def __init__(
        self,
        project: Project,
        session: InteractiveSession,
        plan: LaunchPlan,
        *,
        cols: int = 80,
        rows: int = 24,
        title: str | None = None,
        ready: Callable[[str], None] | None = None,
        lock: HostLock | None = None,
    ):
        self.project = project
        self.session_id = session.session_id
        self.plan = plan
        self.cols, self.rows = cols, rows
        self.window = Window(plan.window_size, cols, rows)  # what the terminals make it
        self.title = title
        self._ready = ready
        self.lock = lock
        self.log = HostLog()
        ids = {"session_id": self.session_id, "goal_id": session.goal_id}
        self.records = Records(project, **ids, log=self.log, report=self._warn)
        self.controller = Controller(project, self.records, plan, self, state=session.state, **ids)
        # Output from pipes has bare LFs: no terminal turns them into CRLF.
        self.screen = ScreenModel(cols, rows, newline=plan.mode is not CaptureMode.PTY)
        self.monitor = ActivityMonitor(idle_after=plan.idle_after, idle_timeout=plan.idle_timeout,
                                       prompt_patterns=plan.prompt_patterns,
                                       screen=self.screen.lines)  # fmt: skip
        self.sel = selectors.DefaultSelector()
        self.hub = Hub(self.sel, self)
        self.extras = Extras(self)  # [mcp] agent socket, questions; [notify] notifications
        self.io: AgentIO | None = None  # once the agent runs
        self.recorder: CastWriter | None = None
        self.relay: OutputRelay | None = None
        self.exit_code: int | None = None
        self._next_tick = 0.0

    # -- lifecycle --------------------------------------------------------------------------

    def run(self) -> int:
        try:
            if self._start() != 0:
                return 1
            self._loop()
            return 0
        except Exception as exc:
            self.log.write("session host failure:\n" + traceback.format_exc())
            if self.io is None:  # nothing ran: the session ends as a failed launch does
                self.controller.launch_failed(f"The session host failed: {exc}")
            self._signal_ready(f"error the session host failed: {exc} (see .ta/run/)")
            return 1
        finally:
            self._shutdown()

    def _start(self) -> int:
        wake_on_signals(
            self.sel, self.controller.terminate
        )  # someone stopped the host: end as a close would
        self.recorder = CastWriter(
            self.project.layout.recordings_dir / f"{self.session_id}.cast",
            width=self.cols,
            height=self.rows,
            command=" ".join(self.plan.command),
            title=self.title,
            env={"TERM": self.plan.env.get("TERM", ""), "SHELL": os.environ.get("SHELL", "")},
            report=self._warn,
        )
        live = self.plan.mode is not CaptureMode.LOG  # log: output goes to the recording only
        self.relay = OutputRelay(self.hub, self.recorder, self.screen, live=live)
        self.hub.listen(self.project.hosts.socket_path(self.session_id))
        self.records.register(
            os.getpid(), activity=HostActivity.RUNNING.value, state=self.controller.state.value
        )
        try:
            plan = self.plan
            agent = AgentProcess.launch(plan.argv, mode=plan.mode, cwd=plan.cwd, env=plan.env,
                                        cols=self.cols, rows=self.rows)  # fmt: skip
        except LaunchError as exc:
            hint = f" {self.plan.missing_hint}" if self.plan.missing_hint else ""
            text = f"Agent launch failed: {exc}.{hint}"
            self.controller.launch_failed(text)
            self._signal_ready(f"error {text}")
            return 1
        self.io = AgentIO(self.sel, agent, self._output)
        self.controller.launched(plan.command, agent.pid, process_start_time(agent.pid))
        self._signal_ready("ready")
        return 0

    def _signal_ready(self, line: str) -> None:
        if self._ready is not None:
            self._ready(line)
            self._ready = None

    def _loop(self) -> None:
        while True:
            for key, mask in self.sel.select(self.controller.lines.wait(TICK)):
                key.data(key, mask)
            self.controller.log_lines()
            if self.io is not None and self.exit_code is None:
                self.exit_code = self.io.exit_code()
            if self.exit_code is not None:
                break
            self._tick()

    def _shutdown(self) -> None:
        """End everything, each step on its own: one failing must not skip the others."""

        def step(action: Callable[[], object]) -> None:
            try:
                action()
            except Exception:
                self.log.write("error while ending the session:\n" + traceback.format_exc())

        step(lambda: self.controller.log_lines(due_only=False))
        if self.io is not None:
            agent = self.io.agent
            code = self.exit_code if self.exit_code is not None else agent.poll()
            step(agent.close)
            step(lambda: self.controller.finish(code))
        state, code = self.controller.state.value, self.exit_code
        reason = state + (f" (agent exited with code {code})" if code is not None else "")
        bye = {"type": "bye", "state": state, "reason": reason, "exit_code": self.exit_code}
        step(self.extras.close)
        step(self.hub.catch_up_all)
        step(lambda: self.hub.broadcast(control_frame(bye)))
        step(lambda: self.hub.flush(time.monotonic() + 2.0))
        step(self.hub.close)
        if self.recorder is not None:
            step(self.recorder.close)
        step(self.records.flush)
        step(lambda: remove_run_files(self.project, self.session_id, self.lock))
        step(self.log.flush)

    # -- the agent --------------------------------------------------------------------------

    def _output(self, data: bytes, stream: OutputStream | None) -> None:
        change = self.extras.agents.quiet(self.monitor.output(data))  # [mcp] questions: waiting
        if change is not None:  # waking up: clients hear it first
            self.hub.broadcast(control_frame({"type": "activity", "activity": change.activity}))
        assert self.relay is not None
        self.relay.relay(data, stream)
        if change is not None:
            # The host record (a file written with fsync) is updated once this output is on its
            # way: otherwise the first echo after a pause waits for the disk (bench_host.py).
            self.records.host(activity=change.activity.value)

    def _resize(self, nudge: bool = False) -> None:  # to the size the terminals make it
        same = self.window.size == (self.cols, self.rows)
        # The same size: only a full-screen program is nudged to repaint. readline leaves raw
        # mode while it handles SIGWINCH, and the pty would echo keys typed at that moment.
        if self.io is None or (same and not (nudge and self.screen.alternate)):
            return
        if not same and self.recorder is not None:
            self.recorder.resize(*self.window.size)
        if not same:
            self.screen.resize(*self.window.size)
            self.hub.broadcast(control_frame(self.window.message()))
        self.cols, self.rows = self.window.size
        self.io.resize(self.cols, self.rows, nudge=same)  # the same size: nudge a full screen

    # -- AgentControl (for the controller) --------------------------------------------------

    def emit(self, event: SessionEvent) -> None:
        """Send an event to every channel."""
        self.hub.broadcast(control_frame(self.extras.notifier.event(event.to_dict())))

    def marker(self, label: str) -> None:
        if self.recorder is not None:
            self.recorder.marker(label)

    def send_to_agent(self, data: bytes) -> None:
        if self.io is None:
            raise SessionChannelError("the agent is not running")
        self.io.send(data)

    def signal_agent(self, sig: int) -> None:
        if self.io is not None:
            self.io.agent.signal_group(sig)
        if sig == signal.SIGCONT:
            self.monitor.restart()  # a stopped agent could not print: silence starts now

    def stop_agent(self) -> None:
        if self.io is not None:
            self.io.stop()

    def describe(self) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL_VERSION,
            "session_id": str(self.session_id),
            "goal_id": str(self.controller.goal_id),
            "state": self.controller.state.value,
            "activity": self.extras.agents.activity().value,  # [mcp] a question: waiting
            "pid": os.getpid(),
            "agent_pid": self.io.agent.pid if self.io else None,
            "allow_human_input": self.plan.allow_human_input,
            "clients": self.hub.channels(),
            "window": self.window.describe(),
        }

    def screen_snapshot(self, render: bool = False) -> dict[str, Any]:
        snapshot = self.screen.snapshot()
        if render:  # drawn as of the output this client was sent before the reply (one queue)
            snapshot["render"] = self.screen.render().decode()
        return snapshot

    def _warn(self, text: str) -> None:
        """A fault the session survives (a full disk): in the log and on every channel."""
        self.log.write(text)
        self.emit(StatusUpdate(f"Warning: {text}"))

    # -- HubHandler (for the hub) -----------------------------------------------------------

    def client_ready(self, client: Client, size: tuple[int, int] | None) -> None:
        self.window.attached(client, size if client.role is ClientRole.ATTACH else None)
        self.hub.queue(client, control_frame({"type": "welcome", **self.describe()}))
        if client.role is not ClientRole.ATTACH:
            return
        self.records.audit("channel_attached", client.channel_id, {"role": client.role.value})
        client.typing = TypedLines(self.screen if self.plan.mode is CaptureMode.PTY else None)
        if self.relay is not None:
            self.relay.redraw(client)
        if size is not None:  # the resize nudge makes full-screen programs repaint
            self._resize(nudge=True)

    def client_frame(self, client: Client, frame: Frame) -> None:
        if frame.kind is FrameKind.CONTROL:
            reply = self.controller.request(frame.json(), client.channel_id)
            self.hub.queue(client, control_frame({"type": "reply", **reply}))
        elif frame.kind is FrameKind.INPUT:
            if client.role is not ClientRole.ATTACH:
                raise ProtocolError("only attached terminals send keystrokes")
            self._typed(client, frame.payload)
        elif frame.kind is FrameKind.RESIZE:
            if client.role is not ClientRole.ATTACH:
                raise ProtocolError("only attached terminals send window sizes")
            self.window.report(client, *frame.size())  # out of range: ProtocolError
            self._resize()
        else:
            raise ProtocolError(f"clients do not send {frame.kind.name} frames")

    def client_gone(self, client: Client) -> None:
        if client.role is ClientRole.ATTACH:
            self.records.audit("channel_detached", client.channel_id, {})
            if self.window.leave(client) and self.exit_code is None:  # e.g. the smallest left
                self._resize()

    def resync_frames(self, client: Client) -> list[bytes]:
        return self.relay.resync_frames(client) if self.relay is not None else []

    def note(self, text: str) -> None:
        self.log.write(text)

    def _typed(self, client: Client, data: bytes) -> None:
        if self.plan.allow_human_input:
            wait = self.io.await_output if self.io is not None else None
            tell = functools.partial(self._tell, client)
            lines = client.typing.deliver(data, self.send_to_agent, tell, wait)
            self.controller.typed(client.channel_id, lines)

    def _tell(self, client: Client, text: str) -> None:
        self.hub.queue(client, control_frame(StatusUpdate(text).to_dict()))

    # -- timers -----------------------------------------------------------------------------

    def _tick(self) -> None:
        now = time.monotonic()
        if self.io is not None:
            self.io.tick()
        if now < self._next_tick:
            return
        self._next_tick = now + TICK
        if self.screen.pending and self.monitor.silence() >= QUIET:
            self.screen.sync()  # the agent is quiet: catching up now costs it nothing
        self.hub.tick()
        self.extras.tick()
        self.log.flush()
        if self.controller.state is not ACTIVE:
            return
        if self.monitor.timed_out():
            assert self.plan.idle_timeout is not None
            self.controller.idle_timeout(self.plan.idle_timeout)
            return
        change = self.extras.agents.quiet(self.monitor.check())  # idle, or waiting for the human
        if change is not None:
            self.records.host(activity=change.activity.value)
            self.hub.broadcast(control_frame({"type": "activity", "activity": change.activity}))
            if change.prompt is not None:
                self.controller.question(change.prompt)
