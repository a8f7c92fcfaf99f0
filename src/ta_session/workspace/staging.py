"""Staging workspaces: the copy of the project an agent works in (SPEC §7)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ALWAYS_EXCLUDED = (".ta", ".git")


class StagingError(Exception):
    pass


def create_staging(source: Path, destination: Path) -> None:
    """Copy ``source`` to ``destination``, leaving out ``.ta/`` and ``.git/`` at any depth."""
    if destination.exists():
        raise StagingError(f"staging folder {destination} already exists")
    try:
        shutil.copytree(
            source,
            destination,
            symlinks=True,
            ignore=shutil.ignore_patterns(*ALWAYS_EXCLUDED),
        )
    except (OSError, shutil.Error) as exc:
        shutil.rmtree(destination, ignore_errors=True)
        raise StagingError(f"cannot copy {source} to staging: {exc}") from exc


def is_git_work_tree(folder: Path) -> bool:
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout.strip() == "true"
