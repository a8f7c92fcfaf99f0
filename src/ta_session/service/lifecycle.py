"""Everything a person can do to a session, once, for every channel.

Each action checks the session's record first (so a refusal reads the same whichever way it
would have gone), then goes through one dispatcher: the live host when there is one, which owns
the session's records while it runs; otherwise the service writes the records itself, holding
the session's launch lock so that no host can start half-way through.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from ta_session.host.runfiles import clear_lost_host
from ta_session.model import (
    Abort,
    Answer,
    Close,
    GoalState,
    HumanInput,
    InteractiveSession,
    InteractiveSessionState,
    Message,
    Pause,
    Resume,
    SessionChannelError,
    TaError,
)
from ta_session.model.draft import Draft
from ta_session.service.errors import InvalidRequest, NoLiveHost, ServiceError, valid_text
from ta_session.service.reading import SessionReader, short_id
from ta_session.store import StoreError
from ta_session.store.locks import exclusive_lock

if TYPE_CHECKING:
    from ta_session.model.draft import Draft

ACTIVE = InteractiveSessionState.ACTIVE
PAUSED = InteractiveSessionState.PAUSED
COMPLETED = InteractiveSessionState.COMPLETED
ABORTED = InteractiveSessionState.ABORTED

T = TypeVar("T")
FINISH_TIMEOUT = 15.0  # how long a close/abort waits for the host to end the agent


@dataclass(slots=True)
class Outcome:
    """What an action did: its one-line summary, and what else happened on the way."""

    summary: str
    notes: list[str] = field(default_factory=list)
    detail: Any = None  # action-specific: a reply's detail, a draft id …


def _silent_host(sid: UUID) -> ServiceError:
    return ServiceError(f"Session {short_id(sid)}'s host is running but did not answer; retry")


class SessionService(SessionReader):
    """The session actions of one project, done on behalf of one channel (``cli:…``, ``web:…``)."""

    # -- the dispatcher ---------------------------------------------------------------------

    @contextmanager
    def launch_lock(self, sid: UUID) -> Iterator[None]:
        """Held while the service acts for a session without a host, or starts one: two
        commands never relaunch the same session, and no host starts under an offline close."""
        locks = self.project.layout.state_dir / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(locks / f"{sid}.launch.lock"):
            yield

    def dispatch(
        self, sid: UUID, request: HumanInput | dict[str, Any], offline: Callable[[], T]
    ) -> dict[str, Any] | T:
        """The live host's reply to ``request``; with no host, ``offline()``'s result."""
        reply = self.link.ask(sid, request)
        if reply is not None:
            return reply
        with self.launch_lock(sid):
            reply = self.link.ask(sid, request)  # a resume may have started a host meanwhile
            if reply is not None:
                return reply
            if self.link.is_live(sid) and not self._host_gone(sid):
                raise ServiceError(
                    f"Session {short_id(sid)}'s host is running but did not answer; retry"
                )
            return offline()

    def _host_gone(self, sid: UUID) -> bool:
        """Wait a little for a host that no longer answers: it is usually ending its session
        (another command closed it a moment ago). True once it is gone."""
        deadline = time.monotonic() + FINISH_TIMEOUT
        while time.monotonic() < deadline:
            if not self.link.is_live(sid):
                return True
            time.sleep(0.05)
        return False

    def _needs_host(self, sid: UUID) -> Callable[[], dict[str, Any]]:
        def refuse() -> dict[str, Any]:
            raise NoLiveHost(short_id(sid))

        return refuse

    # -- guidance and answers ---------------------------------------------------------------

    def send(self, sid: UUID, text: str) -> Outcome:
        """Type ``text`` into the agent as guidance (with its submit key)."""
        if not valid_text(text, "guidance").strip():
            raise InvalidRequest("nothing to send: give the guidance text")
        session = self.alive(sid)
        self._refuse_if_paused(session, "send guidance")
        self.dispatch(sid, Message(text), self._needs_host(sid))
        return Outcome(f"Sent to session {short_id(sid)}.")

    def answer(self, sid: UUID, text: str, question_id: str | None = None) -> Outcome:
        """Answer the question the agent is waiting on (``question_id``: which one, when the
        agent asked through MCP; a question seen on its screen has none)."""
        if not valid_text(text, "answer").strip():
            raise InvalidRequest("nothing to answer: give the answer text")
        if question_id is not None:
            valid_text(question_id, "question id")
        session = self.alive(sid)
        self._refuse_if_paused(session, "answer")
        self.dispatch(sid, Answer(question_id or "prompt", text), self._needs_host(sid))
        return Outcome(f"Answered session {short_id(sid)}.")

    @staticmethod
    def _refuse_if_paused(session: InteractiveSession, what: str) -> None:
        if session.state is PAUSED:
            short = session.short_id
            raise ServiceError(
                f"Session {short} is paused; 'ta session resume {short}' first, then {what}"
            )

    def complete(self, sid: UUID) -> Outcome:
        """The agent reports its goal done (``auto_exit_on: goal_complete`` then closes)."""
        self.alive(sid)
        reply = self.dispatch(sid, {"type": "goal_complete"}, self._needs_host(sid))
        detail = reply.get("detail")
        return Outcome(f"Session {short_id(sid)}: goal complete ({detail}).", detail=detail)

    # -- pause and resume -------------------------------------------------------------------

    def pause(self, sid: UUID) -> Outcome:
        session = self.alive(sid)
        self._check_transition(session, PAUSED, "paused")
        self.dispatch(sid, Pause(), self._needs_host(sid))
        return Outcome(f"Session {short_id(sid)} paused.")

    def resume(self, sid: UUID) -> Outcome:
        """Continue a paused agent; relaunch the host of a lost session (the log continues)."""
        self.alive(sid)
        short = short_id(sid)
        running = ServiceError(
            f"Session {short} already has a running host; attach with 'ta session attach {short}'"
        )
        if self.link.is_live(sid):
            if self.load(sid).state is not PAUSED:
                raise ServiceError(
                    f"Session {short} is running (not paused): nothing to resume; attach with"
                    f" 'ta session attach {short}'"
                )
            self.dispatch(sid, Resume(), self._needs_host(sid))
            return Outcome(f"Session {short} resumed.")
        with self.launch_lock(sid):
            if self.link.is_live(sid):  # another command relaunched it while we waited
                raise running
            return self._relaunch(self.load(sid))

    def _relaunch(self, session: InteractiveSession) -> Outcome:
        from ta_session.host.launch import HostStartError, start_host

        sid, short = session.session_id, session.short_id
        notes = self._end_lost_host(sid)
        self._audit("host_lost", session)
        if session.state is PAUSED:
            self.project.change_state(sid, ACTIVE, channel_id=self.channel_id)
        self.project.log_message(
            sid, "ta-system", "Session host lost; relaunching", channel_id=self.channel_id
        )
        self.project.sessions.flush()
        try:
            start_host(self.project, str(sid), resume=True)
        except HostStartError as exc:
            raise ServiceError(f"Session {short} could not be resumed: {exc}") from None
        self._audit("host_recovered", session)
        return Outcome(
            f"Session {short} resumed with a new host. Attach with 'ta session attach {short}'.",
            notes,
        )

    # -- ending -----------------------------------------------------------------------------

    def close(self, sid: UUID, *, build_draft: bool = True) -> Outcome:
        """End the session as completed; its draft is built unless ``build_draft`` is false."""
        session = self.load(sid)
        if not session.is_alive():
            return self._already_ended(session, COMPLETED, "closed")
        note = "Session closed" + ("" if build_draft else " without a draft")
        return self._finish(session, COMPLETED, "closed", note, Close(build_draft=build_draft),
                            build_draft=build_draft)  # fmt: skip

    def abort(self, sid: UUID, reason: str | None = None) -> Outcome:
        if reason is not None:
            valid_text(reason, "reason")
        session = self.load(sid)
        self._check_transition(session, ABORTED, "aborted")
        note = "Session aborted" + (f": {reason}" if reason else "")
        return self._finish(session, ABORTED, "aborted", note, Abort(reason), build_draft=False)

    def _finish(
        self,
        session: InteractiveSession,
        target: InteractiveSessionState,
        verb: str,
        note: str,
        request: HumanInput,
        *,
        build_draft: bool,
    ) -> Outcome:
        sid, short = session.session_id, session.short_id

        def offline() -> Outcome:
            current = self.load(sid)
            if not current.is_alive():  # ended while we waited for its host
                return self._already_ended(current, target, verb)
            notes = self._end_lost_host(sid)
            if build_draft:
                notes.append(self._draft_before_close(session))
            try:
                change = self.project.change_state(
                    sid, target, channel_id=self.channel_id, note=note
                )
            except SessionChannelError as exc:
                raise ServiceError(f"Session {short}: {exc}") from None
            self.finish_goal(session.goal_id, target)
            previous, final = change.previous.value, change.session.state.value
            return Outcome(f"Session {short} {verb} ({previous} → {final}).", notes)

        try:
            result = self.dispatch(sid, request, offline)
        except ServiceError:
            # Refused by its host: if another command is ending the session ("already
            # closing"), wait for that, then answer as for any session that has ended.
            self._wait_until_finished(sid)
            current = self.load(sid)
            if current.is_alive():
                raise
            return self._already_ended(current, target, verb)
        if isinstance(result, Outcome):
            return result
        final = self._wait_until_finished(sid)
        notes = []
        if build_draft:  # the host built the draft as the agent ended: report it the same way
            new = [d for d in self.load(sid).draft_ids if d not in session.draft_ids]
            notes.append(self._draft_note(self.project.drafts.load(new[-1]) if new else None))
        return Outcome(f"Session {short} {verb} ({session.state.value} → {final}).", notes)

    def _already_ended(
        self, session: InteractiveSession, target: InteractiveSessionState, verb: str
    ) -> Outcome:
        """Closing an ended session is nothing to do; aborting one is refused."""
        short, state = session.short_id, session.state.value
        if target is COMPLETED:
            return Outcome(f"Session {short} is already {state} — nothing to close.")
        raise ServiceError(
            f"Session {short} is already {state} — it cannot be {verb} "
            f"(invalid session transition from {state} to {target.value})."
        )

    def _check_transition(
        self, session: InteractiveSession, target: InteractiveSessionState, verb: str
    ) -> None:
        """Refuse, in one wording for every path, a transition the model forbids."""
        probe = InteractiveSession.from_dict(session.to_dict())
        try:
            for step in ([ACTIVE, COMPLETED] if (session.state, target) == (PAUSED, COMPLETED)
                         else [target]):  # fmt: skip
                probe.transition(step)
        except SessionChannelError as exc:
            now = session.state.value
            if not session.is_alive():
                now = f"already {now}"
            raise ServiceError(
                f"Session {session.short_id} is {now} — it cannot be {verb} ({exc})."
            ) from None

    def _wait_until_finished(self, sid: UUID) -> str:
        """Wait for the host to end the agent and record the final state."""
        deadline = time.monotonic() + FINISH_TIMEOUT
        while time.monotonic() < deadline and self.link.is_live(sid):
            time.sleep(0.05)
        return self.load(sid).state.value

    def _end_lost_host(self, sid: UUID) -> list[str]:
        """A lost host may have left its agent running: end it, and clear its run files."""
        hosts = self.project.hosts
        if self.link.is_live(sid):
            raise _silent_host(sid)
        notes = []

        if hosts.end_lost_agent(sid):
            notes.append(f"Ended what was left of session {short_id(sid)}'s agent.")
        clear_lost_host(self.project, sid)
        return notes

    def _draft_before_close(self, session: InteractiveSession) -> str:
        """Closing builds the draft (SPEC §4.3); a missing workspace is reported, not fatal."""
        from ta_session.workspace.review import build_draft

        try:
            draft = build_draft(self.project, session.goal_id, session_id=session.session_id,
                                channel_id=self.channel_id)  # fmt: skip
        except (TaError, OSError) as exc:  # no workspace, an unreadable record: close anyway
            return f"No draft: {exc}."
        return self._draft_note(draft)

    @staticmethod
    def _draft_note(draft: Draft | None) -> str:
        if draft is None:
            return "No changes in the workspace: no draft."
        short = draft.short_id
        return f"Draft {short} built: {draft.summary}. Review: ta draft view {short}"

    def finish_goal(self, goal_id: UUID, state: InteractiveSessionState) -> None:
        """A goal follows its session's end: completed or aborted."""
        goal_state = GoalState.ABORTED if state is ABORTED else GoalState.COMPLETED

        def apply(goal: Any) -> None:
            goal.state = goal_state

        # A session without (a readable) goal record: nothing to follow.
        with contextlib.suppress(StoreError, OSError):
            self.project.goals.update(goal_id, apply)

    def _audit(self, action: str, session: InteractiveSession) -> None:
        self.project.audit.append(action, session_id=session.session_id,
                                  goal_id=session.goal_id, channel_id=self.channel_id,
                                  details={})  # fmt: skip
