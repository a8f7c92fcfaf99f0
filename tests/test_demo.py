"""`ta demo --non-interactive`: the whole flow, unattended, on a throwaway project."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Runner


def test_demo_runs_the_whole_flow_and_applies_the_fix(ta: Runner, tmp_path: Path) -> None:
    where = tmp_path / "demo"
    result = ta("demo", "--non-interactive", "--dir", str(where), cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "answered 'y'" in result.stdout
    assert "calc.py in the project: fixed" in result.stdout
    # The fix reached the real project only through the reviewed, applied draft.
    assert "return a + b" in (where / "calc.py").read_text()
    assert (where / "test_calc.py").is_file()

    sessions = json.loads(ta("session", "list", "--all", "--json", cwd=where).stdout)
    assert len(sessions) == 1
    assert sessions[0]["state"] == "completed"
    assert sessions[0]["host"]["status"] == "none"
    assert [d["status"] for d in sessions[0]["drafts"]] == ["applied"]
    shown = ta("session", "show", sessions[0]["session_id"][:8], cwd=where).stdout
    assert "human: y" in shown  # the answer was logged as the human's input
    assert ta("audit", "verify", cwd=where).returncode == 0


def test_demo_refuses_a_folder_that_is_not_empty(ta: Runner, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file.txt").write_text("mine")
    result = ta("demo", "--non-interactive", "--dir", str(tmp_path / "busy"), cwd=tmp_path)
    assert result.returncode == 1
    assert "not empty" in result.stderr
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["file.txt"]
