"""What channels show about sessions: listing rows, the full record, live status.

One shape for every channel: the CLI prints these, the web page will serve them as JSON.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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
        out["exit_code"] = s.exit_code  # the agent's (None while it runs, or if it never ran)
        out["draft_ids"] = [str(d) for d in s.draft_ids]
        out["host"] = self.host.to_dict()
        out["activity"] = self.activity.value if self.activity else None
        out["drafts"] = [{"draft_id": str(d), "status": drafts.status(d)} for d in s.draft_ids]
        return out


class DraftStatuses:
    """Draft statuses for a listing: the drafts folder is read once, and each draft file that
    exists at most once (a listing of 10,000 sessions must not try 10,000 opens)."""

    def __init__(self, project: Project):
        self._project = project
        self._known: dict[UUID, str] = {}
        self._present: set[str] | None = None

    def status(self, draft_id: UUID) -> str:
        status = self._known.get(draft_id)
        if status is None:
            if self._present is None:
                try:
                    self._present = set(os.listdir(self._project.layout.drafts_dir))
                except OSError:
                    self._present = set()
            if f"{draft_id}.json" in self._present:
                status = str(self._project.draft_brief(draft_id)["status"])
            else:
                status = "missing"
            self._known[draft_id] = status
        return status


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
