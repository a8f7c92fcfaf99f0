"""What channels show about sessions: listing rows, the full record, live status.

One shape for every channel: the CLI prints these, the web page will serve them as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ta_session.model import HostActivity, HostState, InteractiveSession, Timestamp
from ta_session.store import Project, SessionSummary
from ta_session.store.hosts import HostStatus


def elapsed_seconds(summary: SessionSummary | InteractiveSession, now: Timestamp) -> int:
    """Time since start for a live session; for a finished one, how long it ran."""
    end = now if summary.state in ("active", "paused") else summary.updated_at
    return max(0, (end.ns - summary.created_at.ns) // 1_000_000_000)


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One session in a listing, with its host."""

    summary: SessionSummary | InteractiveSession
    host: HostStatus

    @property
    def activity(self) -> HostActivity | None:
        return self.host.activity if self.host.status is HostState.LIVE else None

    def to_json(self, drafts: DraftStatuses) -> dict[str, Any]:
        """The reference's fields (same names and formats as the file) plus host, activity and
        drafts. Lists are always present here (the file omits empty ones): scripts need no
        special case."""
        s = self.summary
        out: dict[str, Any] = {
            "session_id": str(s.session_id),
            "goal_id": str(s.goal_id),
            "channel_id": s.channel_id,
            "agent_id": s.agent_id,
            "state": s.state.value,
            "created_at": s.created_at.isoformat(),
            "updated_at": s.updated_at.isoformat(),
        }
        if isinstance(s, InteractiveSession):
            out["messages"] = [m.to_dict() for m in s.messages]
        out["draft_ids"] = [str(d) for d in s.draft_ids]
        out["host"] = self.host.to_dict()
        out["activity"] = self.activity.value if self.activity else None
        out["drafts"] = [{"draft_id": str(d), "status": drafts.status(d)} for d in s.draft_ids]
        return out


@dataclass(slots=True)
class DraftStatuses:
    """Draft statuses for a listing, each draft file read at most once."""

    project: Project
    _known: dict[UUID, str] = field(default_factory=dict)

    def status(self, draft_id: UUID) -> str:
        if draft_id not in self._known:
            self._known[draft_id] = str(self.project.draft_brief(draft_id)["status"])
        return self._known[draft_id]


@dataclass(frozen=True, slots=True)
class SessionStatus:
    """A session's live status: its record's state and the host's own account."""

    session_id: UUID
    state: str
    host: HostStatus
    activity: str | None
    channels: list[dict[str, str]]
    messages: int
    elapsed: str

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": str(self.session_id),
            "state": self.state,
            "host": self.host.to_dict(),
            "activity": self.activity,
            "channels": self.channels,
            "messages": self.messages,
            "elapsed": self.elapsed,
        }
