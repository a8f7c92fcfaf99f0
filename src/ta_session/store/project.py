"""A project's ``.ta/`` as one object: its stores, its audit log, and the audited operations
that change session records when no session host owns them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from ta_session.model import InteractiveSession, InteractiveSessionState, SessionChannelError
from ta_session.store.audit import AuditLog
from ta_session.store.drafts import DraftStore
from ta_session.store.errors import StoreError
from ta_session.store.goals import GoalStore
from ta_session.store.hosts import HostRegistry, HostStatus
from ta_session.store.layout import ProjectLayout
from ta_session.store.reading import read_regular_file
from ta_session.store.records import MAX_RECORD_FILE_BYTES
from ta_session.store.sessions import InteractiveSessionStore

ACTIVE = InteractiveSessionState.ACTIVE
PAUSED = InteractiveSessionState.PAUSED
COMPLETED = InteractiveSessionState.COMPLETED
ABORTED = InteractiveSessionState.ABORTED


@dataclass(frozen=True, slots=True)
class StateChange:
    session: InteractiveSession
    previous: InteractiveSessionState
    hops: tuple[tuple[InteractiveSessionState, InteractiveSessionState], ...]


def transition_path(
    current: InteractiveSessionState, target: InteractiveSessionState
) -> list[InteractiveSessionState]:
    """The valid transitions that lead from ``current`` to ``target``.

    Only closing a paused session needs two steps (paused → active → completed): the model
    forbids paused → completed, and we never make an invalid transition to get around it.
    """
    if current is PAUSED and target is COMPLETED:
        return [ACTIVE, COMPLETED]
    return [target]


class Project:
    def __init__(self, root: Path):
        self.layout = ProjectLayout(Path(root))
        state = self.layout.state_dir
        self.audit = AuditLog(self.layout.audit_log, head_path=state / "audit.head")
        self.sessions = InteractiveSessionStore(
            self.layout.sessions_dir, audit=self.audit, state_dir=state
        )
        self.goals = GoalStore(self.layout.goals_dir, state / "locks")
        self.hosts = HostRegistry(self.layout.run_dir)
        self.drafts = DraftStore(self.layout.drafts_dir, state / "locks")

    @property
    def root(self) -> Path:
        return self.layout.root

    def host_status(self, session_id: UUID, alive: bool) -> HostStatus:
        return self.hosts.status(session_id, alive)

    def goal_title(self, goal_id: UUID) -> str | None:
        """The goal's title as listings have it (``goals.read_title``); raw text."""
        return self.goals.title(goal_id)

    def draft_brief(self, draft_id: UUID) -> dict[str, Any]:
        """``{"draft_id", "status"}``; status ``missing`` when the draft file is not there."""
        status = "missing"
        path = self.layout.drafts_dir / f"{draft_id}.json"
        try:
            # Through the store's reader: listings call this per draft, and a FIFO or a device
            # link in drafts/ must not stall them.
            data = json.loads(read_regular_file(path, MAX_RECORD_FILE_BYTES, "a draft file"))
            status = str(data.get("status", "unknown")) if isinstance(data, dict) else "unreadable"
        except FileNotFoundError:
            pass
        except (OSError, ValueError, StoreError):
            status = "unreadable"
        return {"draft_id": str(draft_id), "status": status}

    def log_message(
        self, session_id: UUID, sender: str, content: str, *, channel_id: str | None = None
    ) -> None:
        self.sessions.append_message(session_id, sender, content, channel_id=channel_id)

    def change_state(
        self,
        session_id: UUID,
        target: InteractiveSessionState,
        *,
        channel_id: str,
        note: str | None = None,
    ) -> StateChange:
        """Move a stored session to ``target``, log ``note`` as a ta-system message, audit both.

        Raises ``SessionChannelError`` (and changes nothing) if the transition is invalid.
        """
        with self.sessions.lock(session_id):
            before = self.sessions.load(session_id)
            hops: list[tuple[InteractiveSessionState, InteractiveSessionState]] = []

            def apply(session: InteractiveSession) -> None:
                for step in transition_path(session.state, target):
                    hops.append((session.state, step))
                    session.transition(step)

            session = self.sessions.update(session_id, apply)
            for old, new in hops:
                self.audit.append(
                    "state_changed",
                    session_id=session.session_id,
                    goal_id=session.goal_id,
                    channel_id=channel_id,
                    details={"from": old.value, "to": new.value},
                )
            if note:
                self.sessions.append_message(session_id, "ta-system", note, channel_id=channel_id)
                self.sessions.flush()
                session = self.sessions.load(session_id)
        return StateChange(session, before.state, tuple(hops))


__all__ = ["Project", "SessionChannelError", "StateChange", "transition_path"]
