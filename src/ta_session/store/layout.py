"""Where everything lives inside a project's ``.ta/`` folder, and how the project is found."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TA_DIR = ".ta"
PROJECT_ENV = "TA_PROJECT_ROOT"


def find_project_root(
    start: Path | None = None, override: str | os.PathLike[str] | None = None
) -> Path:
    """``--project`` wins, then ``TA_PROJECT_ROOT``, then the nearest ancestor holding ``.ta/``,
    else the current directory (SPEC §0)."""
    chosen = override if override is not None else os.environ.get(PROJECT_ENV) or None
    if chosen is not None:
        return Path(chosen).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / TA_DIR).is_dir():
            return folder
    return here


@dataclass(frozen=True, slots=True)
class ProjectLayout:
    root: Path

    @property
    def ta_dir(self) -> Path:
        return self.root / TA_DIR

    @property
    def sessions_dir(self) -> Path:
        return self.ta_dir / "interactive_sessions"

    @property
    def goals_dir(self) -> Path:
        return self.ta_dir / "goals"

    @property
    def drafts_dir(self) -> Path:
        return self.ta_dir / "drafts"

    @property
    def staging_dir(self) -> Path:
        return self.ta_dir / "staging"

    @property
    def baselines_dir(self) -> Path:
        return self.ta_dir / "baselines"

    def baseline_path(self, goal_id: object) -> Path:
        return self.baselines_dir / f"{goal_id}.json"

    @property
    def run_dir(self) -> Path:
        return self.ta_dir / "run"

    @property
    def recordings_dir(self) -> Path:
        return self.ta_dir / "recordings"

    @property
    def agents_dir(self) -> Path:
        return self.ta_dir / "agents"

    @property
    def audit_log(self) -> Path:
        return self.ta_dir / "audit.jsonl"

    @property
    def state_dir(self) -> Path:
        """Our bookkeeping (locks, index, pending-append markers); the reference never reads it."""
        return self.ta_dir / "state"

    def exists(self) -> bool:
        return self.ta_dir.is_dir()
