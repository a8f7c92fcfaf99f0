"""Drafts: building them, deciding on their artifacts, applying them, for every channel.

A draft that belongs to a session with a live host is built and decided through that host (it
owns the session's log and tells the running agent about rejections); otherwise the service
writes the draft, the session log and the audit log itself.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ta_session.model import Approve, BuildDraft, Discuss, Reject, SessionChannelError, TaError
from ta_session.model.draft import Disposition, Draft
from ta_session.service.errors import InvalidRequest, ServiceError, valid_text
from ta_session.service.lifecycle import SessionService
from ta_session.store import Project


@dataclass(frozen=True, slots=True)
class Applied:
    draft_id: UUID
    paths: builtins.list[str]


class DraftService:
    def __init__(self, project: Project, channel_id: str):
        self.project = project
        self.channel_id = channel_id
        self.sessions = SessionService(project, channel_id)

    def _reviewer_only(self, what: str) -> None:
        """Decisions and apply are the human's: an agent (a channel ``agent:…``) is refused."""
        if self.channel_id.startswith("agent:"):
            raise ServiceError(
                f"{what} is for the human reviewer; refused from inside a session's agent"
                " (TA_SESSION_ID is set)"
            )

    def resolve(self, text: str) -> UUID:
        """A draft id from its full form or a unique prefix."""
        return self.project.drafts.resolve(text)

    def resolve_goal(self, text: str) -> UUID:
        return self.project.goals.resolve(text)

    def load(self, draft_id: UUID) -> Draft:
        return self.project.drafts.load(draft_id)

    def list(self, goal_id: UUID | None = None) -> list[Draft]:
        return self.project.drafts.list(goal_id)

    def latest_of_session(self, sid: UUID) -> UUID:
        session = self.sessions.load(sid)
        if not session.draft_ids:
            raise ServiceError(f"Session {str(sid)[:8]} has no drafts yet.")
        return session.draft_ids[-1]

    # -- building ---------------------------------------------------------------------------

    def build(self, goal_id: UUID | None = None) -> Draft | None:
        """Build a draft of a goal's changes now (default: the newest goal); None if none."""
        from ta_session.workspace.review import build_draft

        if goal_id is None:
            goals = self.project.goals.list()
            if not goals:
                raise ServiceError("no goals yet: start one with 'ta run'")
            goal_id = goals[0].goal_id
        session_id = self._latest_session_of_goal(goal_id)

        def offline() -> Draft | None:
            try:
                return build_draft(self.project, goal_id, session_id=session_id,
                                   channel_id=self.channel_id)  # fmt: skip
            except TaError as exc:
                raise ServiceError(f"{exc}; the goal's changes cannot be drafted") from None

        if session_id is None:
            return offline()
        result = self.sessions.dispatch(session_id, BuildDraft(), offline)
        if isinstance(result, dict):  # the live host built it
            detail = result.get("detail")
            return None if detail == "no changes" else self.load(UUID(str(detail)))
        return result

    def _latest_session_of_goal(self, goal_id: UUID) -> UUID | None:
        for summary in self.project.sessions.summaries():  # newest first
            if summary.goal_id == goal_id:
                return summary.session_id
        return None

    # -- deciding ---------------------------------------------------------------------------

    def decide(
        self,
        draft_id: UUID,
        disposition: Disposition,
        uris: builtins.list[str] | None = None,
        text: str | None = None,
    ) -> Draft:
        """Record a decision on some artifacts (all when ``uris`` is empty) of an open draft."""
        from ta_session.workspace.review import decide

        self._reviewer_only("deciding on a draft")
        if text is not None:
            valid_text(text, "reason" if disposition is Disposition.REJECTED else "comment")
        if disposition is Disposition.DISCUSS and not (text or "").strip():
            raise InvalidRequest("a discussion needs a comment")
        draft = self.load(draft_id)
        if not draft.is_open():
            raise ServiceError(f"draft {draft.short_id} is {draft.status.value}")
        try:  # checked before asking anyone, so a typo changes nothing
            chosen = [draft.artifact(u).resource_uri for u in (uris or [])]
        except TaError as exc:
            raise ServiceError(str(exc)) from None

        def offline() -> Draft:
            try:
                return decide(self.project, draft_id, disposition, uris=chosen,
                              reason=text if disposition is Disposition.REJECTED else None,
                              comment=text if disposition is Disposition.DISCUSS else None,
                              channel_id=self.channel_id)  # fmt: skip
            except SessionChannelError as exc:
                raise ServiceError(str(exc)) from None

        if draft.session_id is None or not self.project.sessions.exists(draft.session_id):
            return offline()
        targets: builtins.list[str | None] = [*chosen] or [None]
        requests = [_decision(draft_id, disposition, uri, text) for uri in targets]
        first = self.sessions.dispatch(draft.session_id, requests[0], offline)
        if isinstance(first, Draft):
            return first
        for request in requests[1:]:
            self.sessions.dispatch(draft.session_id, request, offline)
        return self.load(draft_id)

    # -- applying ---------------------------------------------------------------------------

    def apply(self, draft_id: UUID, *, force: bool = False, allow_setuid: bool = False) -> Applied:
        """Write the approved artifacts into the project (setuid/setgid bits only with
        ``allow_setuid``)."""
        from ta_session.workspace.apply import ApplyError, apply_draft

        self._reviewer_only("applying a draft")
        try:
            paths = apply_draft(self.project, draft_id, force=force, channel_id=self.channel_id,
                                allow_setuid=allow_setuid)  # fmt: skip
        except ApplyError as exc:
            raise ServiceError(f"Draft {str(draft_id)[:8]} not applied: {exc}") from None
        return Applied(draft_id, paths)


def _decision(draft_id: UUID, disposition: Disposition, uri: str | None, text: str | None) -> Any:
    if disposition is Disposition.APPROVED:
        return Approve(draft_id, uri)
    if disposition is Disposition.REJECTED:
        return Reject(draft_id, uri, text or "")
    return Discuss(draft_id, uri, text or "")
