"""Goal records in ``.ta/goals/<goal_id>.json`` (SPEC §2.3)."""

from __future__ import annotations

from pathlib import Path

from ta_session.model import Goal
from ta_session.store.records import RecordFolder


class GoalStore(RecordFolder[Goal]):
    def __init__(self, goals_dir: Path, locks_dir: Path):
        super().__init__(goals_dir, "goal", Goal.from_json, lambda g: g.goal_id, locks_dir)

    def list(self) -> list[Goal]:
        """Newest first."""
        return sorted(self, key=lambda g: g.created_at, reverse=True)
