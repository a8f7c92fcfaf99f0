"""Shared fixtures: throwaway projects, the reference fixtures, and a runner for the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO / "tests" / "fixtures" / "reference-sessions"  # the reference's exact output


@pytest.fixture
def reference_dir() -> Path:
    assert REFERENCE_DIR.is_dir(), f"reference fixtures not found at {REFERENCE_DIR}"
    return REFERENCE_DIR


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder with a ``.ta/``."""
    root = tmp_path / "proj"
    (root / ".ta").mkdir(parents=True)
    return root


@pytest.fixture
def reference_project(project: Path, reference_dir: Path) -> Path:
    """A project whose sessions folder holds copies of every reference fixture."""
    sessions = project / ".ta" / "interactive_sessions"
    sessions.mkdir()
    for f in reference_dir.iterdir():
        shutil.copyfile(f, sessions / f.name)
    return project


Runner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def ta(project: Path) -> Runner:
    """Run the real ``ta`` command (``python -m ta_session``) in ``project``."""

    def run(
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "NO_COLOR": "1", "TA_SANDBOX": "off", **(env or {})}
        if env is None or "TA_PROJECT_ROOT" not in env:
            full_env.pop("TA_PROJECT_ROOT", None)  # the project is `cwd`, not the caller's
        return subprocess.run(
            [sys.executable, "-m", "ta_session", *args],
            cwd=cwd or project,
            input=input,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
