"""Draft records in ``.ta/drafts/<draft_id>.json`` (SPEC §2.3)."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from ta_session.model.draft import Draft
from ta_session.store.records import RecordFolder


class DraftStore(RecordFolder[Draft]):
    def __init__(self, drafts_dir: Path, locks_dir: Path):
        super().__init__(drafts_dir, "draft", Draft.from_json, lambda d: d.draft_id, locks_dir)

    def list(self, goal_id: UUID | None = None) -> list[Draft]:
        """Newest first; only the goal's drafts when ``goal_id`` is given."""
        drafts = [d for d in self if goal_id is None or d.goal_id == goal_id]
        return sorted(drafts, key=lambda d: d.created_at, reverse=True)
