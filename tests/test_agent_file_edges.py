"""Agent configs that cannot stall a command: YAML alias bombs, FIFOs, links to devices.

Each is refused at once with one line naming the file (SPEC §11), and never falls back to a
built-in of the same name without a word (SPEC §12).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from conftest import Runner
from ta_session.store.agents import AgentCatalog, AgentFileError, load_agent_file

DEV_ZERO = "a symbolic link to /dev/zero, which is a character device"
FIFO = "a FIFO (named pipe), not a regular file; not opened"


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    """A few hundred bytes whose aliases expand to ``width ** levels`` strings."""
    lines = ["command: sh", f"a0: &a0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 30) -> str:
    """Merge keys that double at each level: PyYAML would build 2**levels pairs."""
    lines = ["command: sh", "m0: &m0 {k: v}"]
    for i in range(1, levels):
        lines.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text", [alias_bomb(), merge_bomb()], ids=["aliases", "merge-keys"])
def test_an_alias_bomb_is_refused_at_once_without_growing_memory(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    assert len(text) < 2000
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(AgentFileError) as info:
            load_agent_file(path)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 20 << 20
    assert str(info.value) == (
        f"{path}: its YAML aliases expand to more than 100,000 values (an alias bomb?);"
        " not an agent config"
    )


def test_aliases_within_reason_still_work(tmp_path: Path) -> None:
    path = tmp_path / "anchored.yaml"
    path.write_text(
        "command: sh\nenv: &env {A: '1'}\nx-copy: *env\nprompt_patterns: &p ['> ']\nx-more: *p\n"
    )
    config = load_agent_file(path)
    assert config.env == {"A": "1"}
    assert config.prompt_patterns == ["> "]


def test_an_alias_inside_itself_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("command: sh\nx: &a [1, *a]\n")
    with pytest.raises(AgentFileError, match="alias inside the value it names"):
        load_agent_file(path)


def agents_folder(project: Path) -> Path:
    folder = project / ".ta" / "agents"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_agent_files_that_are_not_files_are_refused_at_once(project: Path, tmp_path: Path) -> None:
    folder = agents_folder(project)
    (folder / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(folder / "pipe.yaml")
    (folder / "gone.yaml").symlink_to(tmp_path / "nothing")
    catalog = AgentCatalog(project, home=tmp_path / "home")
    started = time.monotonic()
    catalog.list()
    assert time.monotonic() - started < 1.0
    problems = {path.name: problem for path, problem in catalog.errors}
    assert problems == {
        "zero.yaml": f"{DEV_ZERO}, not a regular file; not opened",
        "pipe.yaml": FIFO,
        "gone.yaml": f"a symbolic link to {tmp_path / 'nothing'}, which does not exist",
    }
    # Each shadows the built-in of its name rather than falling back to it silently.
    (folder / "codex.yaml").symlink_to("/dev/zero")
    with pytest.raises(AgentFileError):
        AgentCatalog(project, home=tmp_path / "home").get("codex")


def test_ta_agents_show_refuses_a_bomb_in_one_line_within_a_second(
    project: Path, ta: Runner
) -> None:
    path = agents_folder(project) / "bomb.yaml"
    path.write_text(alias_bomb())
    limit = 600 << 20  # address space: the old behaviour grew to gigabytes and died

    def cap() -> None:  # pragma: no cover - runs in the child
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "ta_session", "agents", "show", "--json", "bomb"],
        cwd=project, capture_output=True, text=True, timeout=30, preexec_fn=cap,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"ta: error: {path}: its YAML aliases expand to more than 100,000 values"
        " (an alias bomb?); not an agent config"
    ]
    assert elapsed < 3.0  # process start included
