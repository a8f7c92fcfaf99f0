"""The session controller: what requests and host events do to the session.

Every request a client may send (docs/protocol.md lists them with their replies) is carried out
here: on the agent (through the server), as session messages and audit events (``Records``), as
events to the channels, and as state changes of the session and its goal. It owns the session's
state while the host lives, and ends it properly however it ends: closed, aborted, the agent
exiting, or the launch failing."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from ta_session.host.agent_process import InputFull
from ta_session.host.drafting import DraftRequests
from ta_session.host.lines import LineQueue
from ta_session.host.plan import LaunchPlan
from ta_session.host.records import Records
from ta_session.host.wire import ProtocolError, invalid_text
from ta_session.model import (
    Abort,
    Answer,
    Approve,
    BuildDraft,
    Close,
    Discuss,
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
    WaitingForInput,
)
from ta_session.store import Project
from ta_session.store.errors import StoreError

ACTIVE = InteractiveSessionState.ACTIVE
PAUSED = InteractiveSessionState.PAUSED
COMPLETED = InteractiveSessionState.COMPLETED
ABORTED = InteractiveSessionState.ABORTED
HOST = "ta-host"  # the channel id of what the host does by itself


class StopReason(StrEnum):
    """Why the host asked the agent to end."""

    CLOSE = "close"
    ABORT = "abort"
    IDLE_TIMEOUT = "idle_timeout"


class AgentControl(Protocol):
    """What the controller needs from the server."""

    def emit(self, event: SessionEvent) -> None: ...

    def marker(self, label: str) -> None: ...

    def send_to_agent(self, data: bytes) -> None:
        """Raises ``InputFull`` when the agent is not reading its input."""

    def signal_agent(self, sig: int) -> None: ...

    def stop_agent(self) -> None:
        """SIGHUP and SIGTERM to the agent's group; SIGKILL after a grace period."""

    def describe(self) -> dict[str, Any]:
        """The fields of a ``welcome`` / ``status`` reply."""

    def screen_snapshot(self, render: bool = False) -> dict[str, Any]:
        """The fields of a ``screen`` reply: the agent's screen as lines and a cursor (and,
        ``render``, the bytes that draw it on a terminal)."""


class Controller(DraftRequests):
    def __init__(
        self,
        project: Project,
        records: Records,
        plan: LaunchPlan,
        host: AgentControl,
        *,
        session_id: UUID,
        goal_id: UUID,
        state: InteractiveSessionState,
    ):
        self.project = project
        self.records = records
        self.plan = plan
        self.host = host
        self.session_id = session_id
        self.goal_id = goal_id
        self.state = state
        self.stopping: StopReason | None = None
        self.build_on_exit = True
        self.lines = LineQueue()  # typed lines waiting to be logged
        # [mcp] Answers an ask_human question (AgentChannel.answer); None: not one of those.
        self.answer_question: Callable[[Answer, str], str | None] | None = None
        self.questions: Callable[[], list[dict[str, Any]]] = list  # [mcp] pending ones

    # -- requests ---------------------------------------------------------------------------

    def request(self, message: dict[str, Any], channel_id: str) -> dict[str, Any]:
        """The reply (``ok`` and more fields) to one request from ``channel_id``."""
        kind = message.get("type")
        if "input_type" not in message:
            if kind == "status":
                return {"ok": True, **self.host.describe(), "questions": self.questions()}
            if kind == "screen":
                return {
                    "ok": True,
                    **self.host.screen_snapshot(render=message.get("render") is True),
                }
            if kind == "goal_complete":
                return {"ok": True, "detail": self.goal_complete(channel_id)}
            if kind is None:
                raise ProtocolError("expected a HumanInput (input_type) or a request (type)")
            known = ", ".join(REQUEST_TYPES)
            return {"ok": False, "error": f"unknown request type {kind!r} (known: {known})"}
        bad = invalid_text(message)
        if bad:
            return {"ok": False, "error": f"{bad} is not valid Unicode text; nothing was done"}
        try:
            human_input = HumanInput.from_dict(message)
            detail = self.handle(human_input, channel_id)
        except (RecordFormatError, SessionChannelError, InputFull) as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": True, "state": self.state.value, "detail": detail}

    def handle(self, human_input: HumanInput, channel_id: str) -> str:
        """Carry out one ``HumanInput``; raise ``SessionChannelError`` with a reason if refused."""
        name = HANDLERS.get(type(human_input))
        if name is None:
            raise SessionChannelError(f"{human_input.tag} is not supported by this host")
        detail: str = getattr(self, name)(human_input, channel_id)
        return detail

    def _message(self, message: Message, channel_id: str) -> str:
        return self._to_agent(message.text, channel_id, "input_injected", "Guidance")

    def _answer(self, answer: Answer, channel_id: str) -> str:
        if self.answer_question and (done := self.answer_question(answer, channel_id)):
            return done  # [mcp] a pending ask_human question took it
        label = f"Answer to {answer.question_id}"
        return self._to_agent(
            answer.text, channel_id, "question_answered", label, answer.question_id
        )

    def _abort(self, abort: Abort, channel_id: str) -> str:
        return self.abort(channel_id, abort.reason)

    def _close(self, close: Close, channel_id: str) -> str:
        return self.close(channel_id, close.build_draft)

    def _build(self, _: BuildDraft, channel_id: str) -> str:
        return self.build_draft(channel_id) or "no changes"

    def _to_agent(
        self, text: str, channel_id: str, action: str, label: str, question_id: str | None = None
    ) -> str:
        """Guidance or an answer: written to the agent with its submit key, logged, echoed."""
        if not self.plan.allow_human_input:
            raise SessionChannelError("this agent does not accept human input (allow_human_input)")
        if self.state is not ACTIVE:
            raise SessionChannelError(f"the session is {self.state.value}; resume it first")
        self.host.send_to_agent(text.encode("utf-8") + self.plan.submit_key)
        self.log_lines(due_only=False)
        self.records.message("human", text, channel_id=channel_id)
        self.host.marker(f"input: {text[:60]}")
        details: dict[str, Any] = {"text": text}
        if question_id is not None:
            details["question_id"] = question_id
        self.records.audit(action, channel_id, details)
        self.host.emit(StatusUpdate(f"{label} from {channel_id}: {text}"))
        return "sent"

    def typed(self, channel_id: str, lines: list[str]) -> None:
        """Lines submitted with Enter in an attached terminal (already sent to the agent): logged
        a moment later, so that the agent's echo reaches the terminals first."""
        for line in lines:
            self.lines.add(channel_id, line)

    def log_lines(self, *, due_only: bool = True) -> None:
        """Log the typed lines whose moment has come (all of them: before any other message, so
        that the log keeps the order in which things happened)."""
        for line in self.lines.take(due_only=due_only):
            self.records.message("human", line.text, channel_id=line.channel_id,
                                 timestamp=line.timestamp)  # fmt: skip
            self.host.marker(f"input: {line.text[:60]}")

    def goal_complete(self, channel_id: str) -> str:
        """The agent says it is done: its goal is marked completed (an abort later still makes it
        aborted); with ``auto_exit_on: goal_complete`` the session closes too."""
        self.log("Agent reported the goal complete", channel_id, audit="goal_complete_reported")
        self.records.goal_state(GoalState.COMPLETED)
        self.host.emit(GoalComplete(self.goal_id))
        if self.plan.exit_on_goal_complete and self.state in (ACTIVE, PAUSED):
            self.close(channel_id, True)
            return "closing"
        return "noted"

    def abort(self, channel_id: str, reason: str | None) -> str:
        if self.state not in (ACTIVE, PAUSED):
            raise SessionChannelError(f"the session is already {self.state.value}")
        note = f"Session aborted by {channel_id}" + (f": {reason}" if reason else "")
        self._set_state(ABORTED, channel_id, note, force=True)
        self._stop(StopReason.ABORT)
        return "aborting"

    def _pause(self, _: Pause, channel_id: str) -> str:
        if self.state is not ACTIVE:
            raise SessionChannelError(f"invalid session transition from {self.state} to paused")
        self._set_state(PAUSED, channel_id)  # recorded first: if it cannot be, nothing happens
        self.host.signal_agent(signal.SIGSTOP)
        return "paused"

    def _resume(self, _: Resume | None, channel_id: str) -> str:
        if self.state is not PAUSED:
            raise SessionChannelError(f"invalid session transition from {self.state} to active")
        self._set_state(ACTIVE, channel_id)
        self.host.signal_agent(signal.SIGCONT)
        return "resumed"

    def close(self, channel_id: str, build_draft: bool) -> str:
        if self.state is PAUSED:
            self._resume(None, channel_id)
        if self.state is not ACTIVE or self.stopping is not None:
            raise SessionChannelError(f"the session is already {self._ending_word()}")
        self.log("Session closed" + ("" if build_draft else " without a draft"), channel_id)
        self.build_on_exit = build_draft
        self._stop(StopReason.CLOSE)
        return "closing"

    def _ending_word(self) -> str:
        return "closing" if self.stopping is not None and self.state is ACTIVE else self.state.value

    def idle_timeout(self, seconds: float) -> None:
        if self.stopping is None:
            self.log(f"No output for {seconds:g}s: closing", HOST)
            self._stop(StopReason.IDLE_TIMEOUT)

    def terminate(self) -> None:
        """The host itself was asked to stop (SIGTERM): end the agent as a close would."""
        if self.stopping is None and self.state in (ACTIVE, PAUSED):
            with contextlib.suppress(SessionChannelError):
                self.close(HOST, True)

    def _stop(self, why: StopReason) -> None:
        self.stopping = why
        self.host.stop_agent()

    def question(self, prompt: str) -> None:
        self.host.emit(WaitingForInput(prompt))
        self.records.audit("question_asked", HOST, {"prompt": prompt})

    # -- the session's lifecycle ------------------------------------------------------------

    def launched(self, argv: list[str], agent_pid: int, start_time: int | None) -> None:
        # Recorded so that, if this host is lost, whoever handles the session can end the agent.
        self.records.host(agent_pid=agent_pid, agent_start_time=start_time)
        self.log(f"Agent launched: {' '.join(argv)}", HOST, audit="agent_launched")

    def launch_failed(self, text: str) -> None:
        self.log(text, HOST, audit="launch_failed")
        if self.state in (ACTIVE, PAUSED):
            with contextlib.suppress(SessionChannelError):
                self._set_state(ABORTED, HOST, force=True)
        self.records.goal_state(GoalState.ABORTED)

    def finish(self, exit_code: int | None) -> None:
        """The agent has exited: draft, ``goal_complete``, the final state, the goal's state."""
        self.log(f"Agent exited with code {exit_code}", HOST, audit="agent_exited")
        if self.state is not ABORTED and self.build_on_exit:
            with contextlib.suppress(SessionChannelError):
                self.build_draft(HOST)
        self.host.emit(GoalComplete(self.goal_id))
        final = ABORTED if self.state is ABORTED else COMPLETED
        if self.state is not final or self.unrecorded:
            with contextlib.suppress(SessionChannelError):  # the goal's state follows anyway
                self._set_state(final, HOST, force=True)
        self.records.goal_state(GoalState.ABORTED if final is ABORTED else GoalState.COMPLETED)

    # -- records ----------------------------------------------------------------------------

    unrecorded = False  # the state in memory is not the one in the session file

    def _set_state(
        self,
        target: InteractiveSessionState,
        channel_id: str,
        note: str | None = None,
        *,
        force: bool = False,
    ) -> None:
        """Record and announce a state change. If it cannot be written: refused (nothing
        changes), or with ``force`` taken on in memory, to be written when the session ends."""
        if note is None:
            by = f" by {channel_id}" if channel_id != HOST else ""
            # "resumed", not "active": the log says what happened.
            note = f"Session {'resumed' if target is ACTIVE else target.value}{by}"
        self.log_lines(due_only=False)
        change = self.records.change_state(target, channel_id=channel_id, note=note)
        if change is None:
            if self._stored_state() is not target:
                if not force:
                    raise SessionChannelError(
                        f"cannot record the session as {target.value} "
                        f"({self.records.failing} cannot be written); nothing changed"
                    )
                self.unrecorded = True
            hops = [(self.state, target)]
            self.state = target
        else:
            self.unrecorded = False
            self.state = change.session.state
            hops = list(change.hops)
        for old, new in hops:
            self.host.emit(StateChanged(old.value, new.value))
            self.host.marker(f"state: {old.value} -> {new.value}")
        self.records.host(state=self.state.value)

    def _stored_state(self) -> InteractiveSessionState | None:
        try:
            return self.project.sessions.load(self.session_id).state
        except (StoreError, OSError):
            return None

    def log(self, content: str, channel_id: str, *, audit: str | None = None) -> None:
        """A ``ta-system`` message (and an audit event named ``audit``)."""
        self.log_lines(due_only=False)
        self.records.message("ta-system", content, channel_id=channel_id)
        if audit is not None:
            self.records.audit(audit, channel_id, {"text": content})


# How each HumanInput variant is carried out (a method of ``Controller``), and the requests
# the host accepts besides them. tests/test_protocol_doc.py checks both against
# docs/protocol.md and the model, so they cannot drift apart.
HANDLERS: dict[type[HumanInput], str] = {
    Message: "_message",
    Answer: "_answer",
    Abort: "_abort",
    Pause: "_pause",
    Resume: "_resume",
    Close: "_close",
    Approve: "_decide",
    Reject: "_decide",
    Discuss: "_decide",
    BuildDraft: "_build",
}
REQUEST_TYPES = ("status", "screen", "goal_complete")


def accepted_inputs() -> set[str]:
    """The ``input_type`` tags the host carries out."""
    return {cls.tag for cls in HANDLERS}
