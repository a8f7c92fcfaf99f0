"""Reading sessions for a channel: finding them, listing rows, one session's record and live
status. ``SessionService`` (``lifecycle.py``) adds the actions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ta_session.model import InteractiveSession, Timestamp, format_elapsed
from ta_session.service.errors import ServiceError
from ta_session.service.link import HostLink
from ta_session.service.views import DraftStatuses, SessionRow, SessionStatus, elapsed_seconds
from ta_session.store import Project, StoreError


def short_id(sid: UUID) -> str:
    return str(sid)[:8]


class SessionReader:
    """What channels read about a project's sessions, on behalf of one channel."""

    def __init__(self, project: Project, channel_id: str):
        self.project = project
        self.channel_id = channel_id
        self.link = HostLink(project, channel_id)

    # -- finding sessions -------------------------------------------------------------------

    def resolve(self, text: str) -> UUID:
        """A session id from its full form or any unique prefix (else ``NotFoundError`` or
        ``AmbiguousIdError``, whose messages say which)."""
        return self.project.sessions.resolve(text)

    def load(self, sid: UUID) -> InteractiveSession:
        return self.project.sessions.load(sid)

    def alive(self, sid: UUID) -> InteractiveSession:
        """The session, which must not have ended."""
        session = self.load(sid)
        if not session.is_alive():
            raise ServiceError(f"Session {short_id(sid)} is {session.state.value}; it has ended.")
        return session

    def rows(self, *, include_finished: bool) -> list[SessionRow]:
        """Sessions newest first (alive ones only unless ``include_finished``), with hosts."""
        hosts = self.project.hosts
        summaries = self.project.sessions.summaries()
        if not include_finished:
            summaries = [s for s in summaries if s.is_alive()]
        recorded = hosts.recorded()  # most sessions have no host record: skip their reads
        return [
            SessionRow(
                s,
                hosts.status_of(
                    s.session_id,
                    s.is_alive(),
                    hosts.read(s.session_id) if str(s.session_id) in recorded else None,
                ),
            )
            for s in summaries
        ]

    def row(self, sid: UUID) -> SessionRow:
        session = self.load(sid)
        return SessionRow(session, self.project.host_status(sid, session.is_alive()))

    def confinement(self, sid: UUID) -> dict[str, Any]:
        """How the session's agent is confined (the goal's ``sandbox`` record; {} if unknown)."""
        try:
            return dict(self.project.goals.load(self.load(sid).goal_id).sandbox)
        except (StoreError, OSError):
            return {}

    def drafts(self) -> DraftStatuses:
        return DraftStatuses(self.project)

    def status(self, sid: UUID) -> SessionStatus:
        session = self.load(sid)
        host = self.project.host_status(sid, session.is_alive())
        activity = host.activity.value if host.live and host.activity else None
        channels: list[dict[str, str]] = []
        questions: list[dict[str, Any]] = []
        window = None
        if host.live:
            reply = self.link.ask(sid, {"type": "status"})
            if reply is not None:
                activity = reply.get("activity")
                channels = list(reply.get("clients", []))
                found = reply.get("questions")
                if isinstance(found, list):
                    questions = [q for q in found if isinstance(q, dict)]
                if isinstance(reply.get("window"), dict):
                    window = reply["window"]
        return SessionStatus(
            session_id=sid,
            state=session.state.value,
            host=host,
            activity=activity,
            channels=channels,
            messages=len(session.messages),
            elapsed=format_elapsed(elapsed_seconds(session, Timestamp.now())),
            questions=questions,
            window=window,
        )

    def questions(self, sid: UUID) -> list[dict[str, Any]]:
        """The agent's pending ``ask_human`` questions (from its live host; none without)."""
        return self.status(sid).questions

    def live_sessions(self) -> list[SessionRow]:
        """Alive sessions whose host runs (what a terminal can attach to), newest first."""
        return [row for row in self.rows(include_finished=False) if row.host.live]
