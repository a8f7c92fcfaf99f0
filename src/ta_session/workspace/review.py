"""Building drafts and recording review decisions, with their session messages and audit events.

These functions write the session record, so while a session host is alive only the host calls
them (commands ask the host over its socket); otherwise the command calls them itself.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from uuid import UUID

from ta_session.model import RecordFormatError, SessionChannelError, Timestamp
from ta_session.model.draft import Disposition, Draft, DraftStatus
from ta_session.store import NotFoundError, Project, StoreError
from ta_session.workspace.drafts import (
    build_artifacts,
    outside_writes,
    project_writes,
    summarize,
)
from ta_session.workspace.manifest import Manifest

_VERB = {
    Disposition.APPROVED: "Approved",
    Disposition.REJECTED: "Rejected",
    Disposition.DISCUSS: "Discussion on",
    Disposition.PENDING: "Reset",
}


def _supersede(draft: Draft) -> None:
    draft.status = DraftStatus.SUPERSEDED
    draft.updated_at = Timestamp.now()


def build_draft(
    project: Project,
    goal_id: UUID,
    *,
    session_id: UUID | None,
    channel_id: str,
    note: str | None = None,
) -> Draft | None:
    """Build a draft of the goal's changes; None when nothing changed.

    Raises ``WorkspaceMissing`` if the staging folder is gone.
    """
    goal = project.goals.load(goal_id)
    manifest = Manifest.load(project.layout.baseline_path(goal_id))
    artifacts = build_artifacts(manifest, Path(goal.source_dir), Path(goal.workspace_path))
    # A file outside the project written through a link is never silent: with no change in
    # the workspace at all, the draft is still built to carry the warning.
    warnings = outside_writes(manifest)
    if Path(goal.workspace_path) != Path(goal.source_dir):  # --no-staging: the work is there
        warnings += project_writes(manifest, Path(goal.source_dir))
    if not artifacts and not warnings:
        return None
    summary = summarize(artifacts, warnings)
    if note:  # the agent's own words (a checkpoint it asked for) come first
        summary = f"{note} — {summary}"
    draft = Draft.new(goal_id, session_id, summary, artifacts, warnings)
    for previous in project.drafts.list(goal_id):
        if previous.is_open():
            project.drafts.update(previous.draft_id, _supersede)
            project.audit.append(
                "draft_superseded",
                session_id=session_id,
                goal_id=goal_id,
                channel_id=channel_id,
                details={"draft_id": str(previous.draft_id), "by": str(draft.draft_id)},
            )
    project.drafts.save(draft)
    project.audit.append(
        "draft_built",
        session_id=session_id,
        goal_id=goal_id,
        channel_id=channel_id,
        details={
            "draft_id": str(draft.draft_id),
            "summary": summary,
            "artifacts": [a.resource_uri for a in artifacts],
            **({"warnings": [w.message for w in warnings]} if warnings else {}),
        },
    )
    if session_id is not None and project.sessions.exists(session_id):
        project.sessions.update(session_id, lambda s: s.add_draft(draft.draft_id))
        project.log_message(
            session_id,
            "ta-system",
            f"Draft {draft.short_id} ready: {summary} ({len(artifacts)} artifacts)",
            channel_id=channel_id,
        )
    return draft


def decide(
    project: Project,
    draft_id: UUID,
    disposition: Disposition,
    *,
    uris: list[str] | None = None,
    reason: str | None = None,
    comment: str | None = None,
    channel_id: str,
    actor: str | None = None,
) -> Draft:
    """Record a decision on some artifacts (all when ``uris`` is empty) of an open draft.

    Raises ``SessionChannelError`` (and changes nothing) for a closed draft, an unknown
    artifact, or a discussion without a comment.
    """
    if disposition is Disposition.DISCUSS and not (comment or "").strip():
        raise SessionChannelError("a discussion needs a comment")
    actor = actor or project.audit.actor
    chosen: list[str] = []

    def apply(draft: Draft) -> None:
        if not draft.is_open():
            raise SessionChannelError(f"draft {draft.short_id} is {draft.status.value}")
        try:
            targets = [draft.artifact(u) for u in uris] if uris else list(draft.artifacts)
        except RecordFormatError as exc:
            raise SessionChannelError(str(exc)) from None
        now = Timestamp.now()
        for artifact in targets:
            artifact.disposition = disposition
            artifact.reason = reason if disposition is Disposition.REJECTED else None
            artifact.comment = comment if disposition is Disposition.DISCUSS else None
            artifact.decided_by, artifact.decided_channel, artifact.decided_at = (
                actor,
                channel_id,
                now,
            )
            chosen.append(artifact.resource_uri)
        draft.settle_status()
        draft.updated_at = now

    try:
        draft = project.drafts.update(draft_id, apply)
    except NotFoundError:
        raise SessionChannelError(f"no draft {draft_id}") from None
    for uri in chosen:
        project.audit.append(
            "artifact_decision",
            session_id=draft.session_id,
            goal_id=draft.goal_id,
            channel_id=channel_id,
            actor=actor,
            details={
                "draft_id": str(draft.draft_id),
                "artifact_uri": uri,
                "disposition": disposition.value,
                "reason": reason,
                "comment": comment,
            },
        )
    if draft.session_id is not None and project.sessions.exists(draft.session_id):
        what = chosen[0] if len(chosen) == 1 else f"{len(chosen)} artifacts"
        text = f"{_VERB[disposition]} {what} in draft {draft.short_id}"
        if disposition is Disposition.REJECTED and reason:
            text += f": {reason}"
        if disposition is Disposition.DISCUSS and comment:
            text += f": {comment}"
        # If the session record cannot be written, the decision is still in the draft and audit.
        with contextlib.suppress(StoreError):
            project.log_message(draft.session_id, "human", text, channel_id=channel_id)
    return draft


def guidance_for(disposition: Disposition, uris: list[str], text: str | None) -> str | None:
    """What a running agent is told about a rejection or a discussion."""
    if not text:
        return None
    target = ", ".join(uris) if uris else "your changes"
    if disposition is Disposition.REJECTED:
        return f"Reviewer rejected {target}: {text}"
    if disposition is Disposition.DISCUSS:
        return f"Reviewer comment on {target}: {text}"
    return None
