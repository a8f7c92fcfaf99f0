"""The agent socket: a session's second Unix socket, for its agent (``ta mcp serve``).

``.ta/run/<session_id>.agent.sock`` (0600) speaks the same frames as the main socket
(``wire``), but only to clients that say ``hello`` with ``role: "agent"``, and it carries out
**agent requests only**: ask the human, report status, ask for a checkpoint, read its own
drafts' decisions, report the goal complete. Decisions, approvals, applying, pausing, reading
other sessions — everything a person does — are refused here, whatever the agent sends: the
main socket, where they are carried out, is hidden from a sandboxed agent (``.ta/`` is), and
this one is bound into its sandbox instead (``launch._confined``).

``ask_human`` is answered at once with the question's id; the answer comes later on the same
connection as a ``question_closed`` message: answered (first valid answer from any channel
wins), timed out, or withdrawn. If that connection goes away, its questions are withdrawn.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ta_session.host.activity import ActivityChange
from ta_session.host.hub import Client, Hub
from ta_session.host.questions import (
    Outcome,
    Question,
    QuestionBook,
    QuestionError,
    new_question,
)
from ta_session.host.wire import PROTOCOL_VERSION, Frame, FrameKind, ProtocolError, control_frame
from ta_session.model import (
    Answer,
    GoalComplete,
    GoalState,
    SessionChannelError,
    StatusUpdate,
    WaitingForInput,
)
from ta_session.model.host import ClientRole, HostActivity

if TYPE_CHECKING:
    from ta_session.host.server import SessionHost

# The requests an agent may send (docs/protocol.md, "The agent socket").
AGENT_REQUESTS = (
    "ask_human",
    "report_status",
    "request_checkpoint",
    "draft_status",
    "goal_complete",
)
MAX_STATUS = 8 << 10  # characters of a status report or summary
AGENT_MAX_CLIENTS = 16  # an agent runs one MCP server, maybe a few; never dozens
GOAL_COMPLETE_GRACE = 10.0  # seconds an agent has to exit after goal_complete before a close


def agent_socket_path(run_dir: Path, session_id: UUID | str) -> Path:
    return run_dir / f"{session_id}.agent.sock"


class AgentChannel:
    """The agent socket's listener and the session's pending questions."""

    def __init__(self, host: SessionHost, *, clock: Callable[[], float] = time.monotonic):
        self.host = host
        self.controller = host.controller
        self.records = host.records
        self.clock = clock
        self.book = QuestionBook(clock=clock)
        self.hub = Hub(host.sel, self, max_clients=AGENT_MAX_CLIENTS, roles=(ClientRole.AGENT,))
        self.close_at: float | None = None  # goal_complete with auto-exit: close by then
        grace = os.environ.get("TA_GOAL_COMPLETE_GRACE")
        self.grace = float(grace) if grace else GOAL_COMPLETE_GRACE
        self.controller.answer_question = self.answer
        self.controller.questions = self.questions
        # Listening before the agent starts: its sandbox binds this socket in (launch.py).
        self.path = agent_socket_path(host.project.layout.run_dir, host.session_id)
        self.hub.listen(self.path)

    # -- HubHandler ---------------------------------------------------------------------------

    def client_ready(self, client: Client, size: tuple[int, int] | None) -> None:
        # An agent names itself, but never as a person's channel: its id always says "agent".
        if not client.channel_id.startswith("agent:"):
            client.channel_id = "agent:" + client.channel_id
        welcome = {
            "type": "welcome",
            "protocol": PROTOCOL_VERSION,
            "role": ClientRole.AGENT.value,
            "session_id": str(self.controller.session_id),
            "goal_id": str(self.controller.goal_id),
            "requests": list(AGENT_REQUESTS),
        }
        self.hub.queue(client, control_frame(welcome))

    def client_frame(self, client: Client, frame: Frame) -> None:
        if frame.kind is not FrameKind.CONTROL:
            raise ProtocolError(f"the agent socket takes requests only, not {frame.kind.name}")
        reply = self.request(frame.json(), client)
        self.hub.queue(client, control_frame({"type": "reply", **reply}))

    def client_gone(self, client: Client) -> None:
        for question in self.book.asked_by(client):
            self._close(question, Outcome.WITHDRAWN, note="the agent stopped waiting")

    def resync_frames(self, client: Client) -> list[bytes]:
        return []  # agents take no output

    def note(self, text: str) -> None:
        self.host.note(text)

    # -- requests -----------------------------------------------------------------------------

    def request(self, message: dict[str, Any], client: Client) -> dict[str, Any]:
        kind = message.get("type")
        if "input_type" in message:
            what = message.get("input_type")
            return {"ok": False, "error": f"{what!r} is for people, not agents: the agent socket "
                    f"takes only {', '.join(AGENT_REQUESTS)}"}  # fmt: skip
        if kind not in AGENT_REQUESTS:
            if kind is None:
                raise ProtocolError("expected an agent request (type)")
            return {"ok": False, "error": f"the agent socket does not take {kind!r} (it takes "
                    f"{', '.join(AGENT_REQUESTS)})"}  # fmt: skip
        try:
            handler = getattr(self, "_" + str(kind))
            result: dict[str, Any] = handler(message, client)
        except (QuestionError, SessionChannelError) as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": True, **result}

    def _ask_human(self, message: dict[str, Any], client: Client) -> dict[str, Any]:
        if self.controller.state.value != "active":
            raise SessionChannelError(f"the session is {self.controller.state.value}")
        question = new_question(message, clock=self.clock)
        question.asker = client
        self.book.add(question)
        channel = client.channel_id
        short = str(self.controller.session_id)[:8]
        self.records.message("agent", f"Question {question.question_id}: {question.prompt}",
                             channel_id=channel)  # fmt: skip
        self.records.audit("question_asked", channel, {
            "question_id": question.question_id, "prompt": question.text,
            "context": question.context, "response_hint": question.hint.value,
            "choices": question.choices, "timeout_secs": question.timeout,
        })  # fmt: skip
        self.host.marker(f"question: {question.question_id}")
        self.hub_broadcast({"type": "question", **question.to_json()})
        # Every channel hears it as the reference's waiting_for_input; a terminal shows this
        # line on its bottom row, out of the agent's screen, with how to answer.
        self.host.emit(WaitingForInput(
            f"{question.prompt} (question {question.question_id}; answer with: "
            f"ta session answer {short} --question {question.question_id} \"…\")"
        ))  # fmt: skip
        self.questions_changed()
        return {"question_id": question.question_id, "detail": "asked"}

    def _report_status(self, message: dict[str, Any], client: Client) -> dict[str, Any]:
        text = _text(message, "message")
        self.records.message("agent", f"Status: {text}", channel_id=client.channel_id)
        self.records.audit("status_reported", client.channel_id, {"message": text})
        self.host.emit(StatusUpdate(text))
        return {"detail": "sent"}

    def _request_checkpoint(self, message: dict[str, Any], client: Client) -> dict[str, Any]:
        summary = _text(message, "summary")
        self.records.message("agent", f"Checkpoint requested: {summary}",
                             channel_id=client.channel_id)  # fmt: skip
        draft_id = self.controller.build_draft(client.channel_id, note=summary)
        return {"draft_id": draft_id, "detail": draft_id or "no changes"}

    def _draft_status(self, message: dict[str, Any], client: Client) -> dict[str, Any]:
        from ta_session.store import StoreError

        raw = message.get("draft_id")
        try:
            draft_id = UUID(str(raw))
            draft = self.controller.project.drafts.load(draft_id)
        except (ValueError, StoreError, OSError):
            draft = None
        # Only this session's goal's drafts: an agent reads nothing of other sessions.
        if draft is None or draft.goal_id != self.controller.goal_id:
            raise SessionChannelError(f"no draft {raw} in this session")
        artifacts = [
            {
                "resource_uri": a.resource_uri,
                "change_type": a.change_type.value,
                "disposition": a.disposition.value,
                "reason": a.reason,
                "comment": a.comment,
                "decided_by": a.decided_by,
            }
            for a in draft.artifacts
        ]
        return {"draft_id": str(draft.draft_id), "status": draft.status.value,
                "summary": draft.summary, "artifacts": artifacts}  # fmt: skip

    def _goal_complete(self, message: dict[str, Any], client: Client) -> dict[str, Any]:
        summary = message.get("summary")
        text = "Agent reported the goal complete"
        if isinstance(summary, str) and summary.strip():
            text += f": {summary.strip()[:MAX_STATUS]}"
        self.controller.log(text, client.channel_id, audit="goal_complete_reported")
        self.controller.records.goal_state(GoalState.COMPLETED)  # the goal is done, as it says
        self.host.emit(GoalComplete(self.controller.goal_id))
        if self.controller.plan.exit_on_goal_complete and self.controller.stopping is None:
            # The agent is inside a tool call: closing now would cut its last words. It has a
            # grace period to exit by itself; then the session closes (with a draft).
            if self.close_at is None:
                self.close_at = self.clock() + self.grace
            return {"detail": "closing"}
        return {"detail": "noted"}

    # -- answers (from the controller: ``ta session answer``, the web, the socket) ------------

    def answer(self, answer: Answer, channel_id: str) -> str | None:
        """Answer a pending question; None when ``answer`` is for no MCP question (an answer
        to a prompt on the agent's screen, typed into the agent as before)."""
        wanted = None if answer.question_id in ("", "prompt") else answer.question_id
        if wanted is None and not self.book.pending and not self.book.recently_answered():
            return None
        if self.controller.state.value != "active":
            raise SessionChannelError(f"the session is {self.controller.state.value}")
        self.controller.log_lines(due_only=False)
        try:
            question = self.book.find(wanted)
            text = question.validate(answer.text)
        except QuestionError as exc:
            self.records.audit("answer_refused", channel_id, {
                "question_id": wanted, "text": answer.text, "reason": str(exc)})  # fmt: skip
            raise SessionChannelError(str(exc)) from None
        self.records.message("human", answer.text, channel_id=channel_id)
        self.records.audit("question_answered", channel_id, {
            "question_id": question.question_id, "text": answer.text, "answer": text,
        })  # fmt: skip
        self._close(question, Outcome.ANSWERED, text, channel_id)
        self.host.emit(StatusUpdate(f"Answer to {question.question_id} from {channel_id}: {text}"))
        return "answered"

    def _close(self, question: Question, outcome: Outcome, answer: str | None = None,
               by: str | None = None, note: str | None = None) -> None:  # fmt: skip
        self.book.close(question, outcome, answer, by)
        self.host.marker(f"question {outcome.value}: {question.question_id}")
        if outcome is not Outcome.ANSWERED:
            why = note or f"no answer within {question.timeout:g}s"
            self.controller.log(f"Question {question.question_id} {outcome.value.replace('_', ' ')}"
                                f": {why}", "ta-host",
                                audit=f"question_{outcome.value}")  # fmt: skip
            self.host.emit(StatusUpdate(f"Question {question.question_id} closed: {why}"))
        closed = {"type": "question_closed", "question_id": question.question_id,
                  "outcome": outcome.value, "answer": answer, "answered_by": by}  # fmt: skip
        if isinstance(question.asker, Client):
            self.hub.queue(question.asker, control_frame(closed))
        self.hub_broadcast(closed)
        self.questions_changed()

    def hub_broadcast(self, message: dict[str, Any]) -> None:
        """A protocol message to the people's channels (the main socket)."""
        self.host.hub.broadcast(control_frame(message))

    # -- for the server -----------------------------------------------------------------------

    def questions(self) -> list[dict[str, Any]]:
        return [q.to_json() for q in self.book.pending.values()]

    # A pending question makes the session ``waiting`` (SPEC §4.4), whatever the agent prints
    # meanwhile (a spinner): the server asks ``activity()`` and ``quiet(change)``.

    def activity(self) -> HostActivity:
        return HostActivity.WAITING if self.book.pending else self.host.monitor.activity

    def quiet(self, change: ActivityChange | None) -> ActivityChange | None:
        """``change`` of the activity monitor, or None while a question keeps it waiting."""
        return None if self.book.pending else change

    def questions_changed(self) -> None:
        """A question was asked or closed: the activity every channel sees follows."""
        activity = self.activity()
        self.records.host(activity=activity.value)
        self.hub_broadcast({"type": "activity", "activity": activity})

    def tick(self) -> None:
        self.hub.tick()
        for question in self.book.expired():
            self._close(question, Outcome.TIMED_OUT)
        if self.close_at is not None and self.clock() >= self.close_at:
            self.close_at = None
            if self.controller.stopping is None:
                with contextlib.suppress(SessionChannelError):
                    self.controller.close("ta-host", True)

    def close(self) -> None:
        """The session ends: every waiting agent hears so, then the socket goes."""
        for question in list(self.book.pending.values()):
            self._close(question, Outcome.WITHDRAWN, note="the session ended")
        self.hub.flush(time.monotonic() + 0.5)
        self.hub.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _text(message: dict[str, Any], name: str) -> str:
    value = message.get(name)
    if not isinstance(value, str) or not value.strip():
        raise SessionChannelError(f"{message.get('type')} needs a non-empty {name!r}")
    return value.strip()[:MAX_STATUS]


__all__ = ["AGENT_REQUESTS", "AgentChannel", "agent_socket_path"]
