"""What the session host does with drafts while the agent works: build one on request (and tell
every channel), and record review decisions, telling a working agent why its change was
rejected or questioned."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ta_session.host.agent_process import InputFull
from ta_session.host.plan import LaunchPlan
from ta_session.host.records import Records
from ta_session.model import (
    Approve,
    Discuss,
    DraftReady,
    InteractiveSessionState,
    RecordFormatError,
    Reject,
    SessionChannelError,
    StatusUpdate,
)
from ta_session.store import Project
from ta_session.store.errors import StoreError

if TYPE_CHECKING:
    from ta_session.host.controller import AgentControl


class DraftRequests:
    """Part of the ``Controller``: its drafts."""

    project: Project
    records: Records
    plan: LaunchPlan
    host: AgentControl
    session_id: UUID
    goal_id: UUID
    state: InteractiveSessionState

    def log(self, content: str, channel_id: str, *, audit: str | None = None) -> None:
        raise NotImplementedError  # the Controller's

    def build_draft(self, channel_id: str, note: str | None = None) -> str | None:
        """Build a draft of the workspace now; emit ``draft_ready``. None when nothing changed."""
        from ta_session.workspace.drafts import WorkspaceMissing
        from ta_session.workspace.review import build_draft

        try:
            draft = build_draft(self.project, self.goal_id, session_id=self.session_id,
                                channel_id=channel_id, note=note)  # fmt: skip
        except (WorkspaceMissing, RecordFormatError, StoreError, OSError) as exc:
            self.log(f"No draft: {exc}", channel_id)
            raise SessionChannelError(f"cannot build a draft: {exc}") from None
        if draft is None:
            self.host.emit(StatusUpdate("No changes in the workspace: no draft"))
            return None
        self.host.emit(DraftReady(draft.draft_id, draft.summary, len(draft.artifacts)))
        self.host.marker(f"draft: {draft.short_id}")
        return str(draft.draft_id)

    def _decide(self, decision: Approve | Reject | Discuss, channel_id: str) -> str:
        from ta_session.model.draft import Disposition
        from ta_session.workspace.review import decide, guidance_for

        uris = [decision.artifact_uri] if decision.artifact_uri else []
        text: str | None = None
        options: dict[str, Any] = {"uris": uris, "channel_id": channel_id}
        if isinstance(decision, Approve):
            disposition = Disposition.APPROVED
        elif isinstance(decision, Reject):
            disposition, text = Disposition.REJECTED, decision.reason
            options["reason"] = text or None
        else:
            disposition, text = Disposition.DISCUSS, decision.comment
            options["comment"] = text
        try:
            draft = decide(self.project, decision.draft_id, disposition, **options)
        except (StoreError, OSError) as exc:
            raise SessionChannelError(f"cannot record the decision: {exc}") from None
        self.host.marker(f"decision: {disposition.value} {', '.join(uris) or 'all'}")
        guidance = guidance_for(disposition, uris, text)
        if (
            guidance
            and self.state is InteractiveSessionState.ACTIVE
            and self.plan.allow_human_input
        ):
            # The agent is still working: tell it why, so it can act on the review.
            with contextlib.suppress(InputFull):  # the decision stands; the agent is told later
                self.host.send_to_agent(guidance.encode("utf-8") + self.plan.submit_key)
                self.records.audit("input_injected", channel_id, {"text": guidance})
        return draft.status.value
