"""Goal records in ``.ta/goals/<goal_id>.json`` (SPEC §2.3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from ta_session.model import Goal
from ta_session.store.errors import StoreError
from ta_session.store.reading import read_regular_file
from ta_session.store.records import RecordFolder

# A goal file of ours is a few hundred bytes (its baseline manifest is a file of its own); one
# far larger is not read just for a title.
MAX_TITLE_READ_BYTES = 4 << 20


class GoalStore(RecordFolder[Goal]):
    def __init__(self, goals_dir: Path, locks_dir: Path):
        super().__init__(goals_dir, "goal", Goal.from_json, lambda g: g.goal_id, locks_dir)

    def list(self) -> list[Goal]:
        """Newest first."""
        return sorted(self, key=lambda g: g.created_at, reverse=True)

    def title(self, goal_id: UUID) -> str | None:
        return read_title(self.folder, goal_id)


def read_title(goals_dir: Path, goal_id: UUID) -> str | None:
    """The ``title`` of a goal's file, or None (no file, not a JSON object, no text title).

    Only the title is looked at, so the goal files of other writers (the reference's, a newer
    version's) give theirs too. Never raises: listings call this, and a goal file is not the
    session's own. The text is raw: ``visible`` before printing it. Lone surrogates (a JSON
    ``\\ud800``), which cannot be stored as UTF-8, are written as their escape.
    """
    try:
        data = json.loads(
            read_regular_file(goals_dir / f"{goal_id}.json", MAX_TITLE_READ_BYTES, "a goal file")
        )
    except (OSError, ValueError, StoreError, RecursionError):
        return None
    title = data.get("title") if isinstance(data, dict) else None
    if not isinstance(title, str):
        return None
    if not title.isascii():
        title = title.encode("utf-8", "backslashreplace").decode("utf-8")
    return title


def title_reader(goals_dir: Path) -> Callable[[UUID], str | None]:
    """``read_title`` for one project's goals folder (what the session index is given)."""
    return lambda goal_id: read_title(goals_dir, goal_id)
