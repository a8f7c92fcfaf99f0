"""What channels show about sessions: listing rows, the full record, live status.

One shape for every channel: the CLI prints these, the web page will serve them as JSON.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ta_session.model import HostActivity, HostState, InteractiveSession, Timestamp
from ta_session.store import Project, SessionSummary
from ta_session.store.hosts import HostStatus

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
_PLAIN_TAILS: dict[HostState, str] = {}


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
    def title(self) -> str | None:
        """The goal's title, as the summary index keeps it (None for a row made from a full
        session record: ``Project.goal_title`` reads it)."""
        s = self.summary
        return s.title if isinstance(s, SessionSummary) else None

    @property
    def activity(self) -> HostActivity | None:
        return self.host.activity if self.host.status is HostState.LIVE else None

    def _live_fields(self, drafts: DraftStatuses, draft_ids: list[str]) -> dict[str, Any]:
        """What is not in the session file: its host, activity and drafts' statuses."""
        return {
            "host": self.host.to_dict(),
            "activity": self.activity.value if self.activity else None,
            "drafts": [
                {"draft_id": text, "status": drafts.status(d)}
                for d, text in zip(self.summary.draft_ids, draft_ids, strict=True)
            ],
        }

    def to_json_text(self, drafts: DraftStatuses) -> str:
        """``to_json`` encoded, for listings: the session file's part comes already encoded
        from the summary index; only the live part is encoded here."""
        s = self.summary
        if isinstance(s, InteractiveSession):
            return _ENCODE(self.to_json(drafts))
        if not s.draft_ids and self.host.pid is None:
            # Most rows of a long listing: a finished or lost session, no drafts. Their live
            # part is one of a few strings.
            tail = _PLAIN_TAILS.get(self.host.status)
            if tail is None:
                tail = _PLAIN_TAILS[self.host.status] = _ENCODE(self._live_fields(drafts, []))[1:]
            return s.head_json() + ", " + tail
        live = self._live_fields(drafts, [str(d) for d in s.draft_ids])
        return s.head_json() + ", " + _ENCODE(live)[1:]

    def to_json(self, drafts: DraftStatuses) -> dict[str, Any]:
        """The reference's fields (same names and formats as the file) plus host, activity and
        drafts. Lists are always present here (the file omits empty ones): scripts need no
        special case."""
        s = self.summary
        own = s if isinstance(s, SessionSummary) else SessionSummary.of(s)
        out: dict[str, Any] = own.own_fields()
        if isinstance(s, InteractiveSession):
            out["messages"] = [m.to_dict() for m in s.messages]
        out["exit_code"] = s.exit_code  # the agent's (None while it runs, or if it never ran)
        draft_ids = [str(d) for d in s.draft_ids]
        out["draft_ids"] = draft_ids
        out.update(self._live_fields(drafts, draft_ids))
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
    questions: list[dict[str, Any]] = field(default_factory=list)  # pending ask_human ones
    window: dict[str, Any] | None = None  # the agent's window (cols, rows, policy, terminals)

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": str(self.session_id),
            "state": self.state,
            "host": self.host.to_dict(),
            "activity": self.activity,
            "channels": self.channels,
            "messages": self.messages,
            "elapsed": self.elapsed,
            "questions": self.questions,
            "window": self.window,
        }
