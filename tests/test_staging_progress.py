"""A long staging copy shows its progress on a terminal (files, bytes, rate), and nothing
anywhere else: the workspace reports through a callback (``workspace/progress.py``), the
terminal reporter (``channels/progress.py``) decides what to draw and when.
"""

from __future__ import annotations

import io
import itertools
import os
import shlex
from pathlib import Path

from live_helpers import PYTHON, Live, live_fixture  # noqa: F401  (the `live` fixture)
from ta_session.channels.progress import (
    StagingReporter,
    human_bytes,
    progress_line,
    terminal_progress,
)
from ta_session.workspace.progress import EVERY_FILES, StagingProgress
from ta_session.workspace.staging import create_staging

MiB = 1 << 20


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def step(files: int, done_bytes: int, *, scanning: bool = False, done: bool = False):
    return StagingProgress(files, done_bytes, 10, 1000 * MiB, scanning, done)


# -- the callback: what the copy reports ----------------------------------------------------


def test_the_copy_reports_its_walk_its_files_and_its_bytes(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "many").mkdir(parents=True)
    for i in range(3 * EVERY_FILES):
        (source / "many" / f"{i}.txt").write_text(f"{i}\n")
    (source / "big.bin").write_bytes(os.urandom(20 * MiB))  # reported while it is copied
    with open(source / "sparse.bin", "wb") as handle:  # its holes count: they are hashed
        handle.truncate(64 * MiB)
    total = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    calls: list[StagingProgress] = []

    create_staging(source, tmp_path / "staging", calls.append)

    files = 3 * EVERY_FILES + 2
    assert calls[0] == StagingProgress(0, 0, 0, 0, scanning=True)
    walked = [c for c in calls if not c.scanning]
    assert walked[0] == StagingProgress(0, 0, files, total, scanning=False)
    assert calls[-1] == StagingProgress(files, total, files, total, scanning=False, done=True)
    assert [c.done for c in calls].count(True) == 1
    # In between: counts that only grow, several reports while copying (by files and bytes).
    assert len(walked) >= 8
    for before, after in itertools.pairwise(walked):
        assert before.files <= after.files and before.bytes <= after.bytes
    assert any(0 < c.bytes < total for c in walked)
    # Without a callback, nothing is counted at all.
    create_staging(source, tmp_path / "staging-2")


# -- the reporter, with a fake clock --------------------------------------------------------


def test_a_copy_within_a_second_shows_nothing() -> None:
    out, clock = io.StringIO(), FakeClock()
    reporter = StagingReporter(out, clock=clock)
    reporter(step(0, 0, scanning=True))
    clock.now += 0.5
    reporter(step(5, 500 * MiB))
    clock.now += 0.49
    reporter(step(10, 1000 * MiB, done=True))
    reporter.close()
    assert out.getvalue() == ""


def test_a_long_copy_draws_one_line_in_place_then_a_summary() -> None:
    out, clock = io.StringIO(), FakeClock()
    reporter = StagingReporter(out, clock=clock, width=100)
    reporter(step(0, 0, scanning=True))
    clock.now += 0.5
    reporter(step(0, 0))  # the walk is over: copying starts here
    clock.now += 0.6  # 1.1 s in: drawn
    reporter(step(2, 100 * MiB))
    first = out.getvalue()
    assert first == "\r" + progress_line(step(2, 100 * MiB), 0.6)
    assert first == "\rStaging: 2/10 files, 104.9 MB of 1.0 GB (10%), 174.8 MB/s"
    clock.now += 0.1  # too soon to draw again
    reporter(step(3, 200 * MiB))
    assert out.getvalue() == first
    clock.now += 0.2
    reporter(step(4, 300 * MiB))
    assert out.getvalue().endswith("\rStaging: 4/10 files, 314.6 MB of 1.0 GB (30%), 349.5 MB/s")
    clock.now += 2.1
    reporter(step(10, 1000 * MiB, done=True))
    summary = out.getvalue().split("\r")[-1]
    assert summary.endswith("\n")  # padded over the longer line before it
    assert summary.rstrip() == "Staged 10 files (1.0 GB) in 3.5 s, 299.6 MB/s."
    assert "\x1b" not in out.getvalue()  # plain text: a carriage return and spaces only
    reporter.close()  # finished: nothing to clear
    assert out.getvalue().split("\r")[-1] == summary


def test_the_line_fits_the_terminal_and_a_failed_copy_clears_it() -> None:
    out, clock = io.StringIO(), FakeClock()
    reporter = StagingReporter(out, clock=clock, width=30)
    reporter(step(0, 0, scanning=True))
    clock.now += 1.5
    reporter(step(0, 0, scanning=True))
    line = out.getvalue()
    assert line == "\rStaging: looking through the "  # 29 columns: the 30th would wrap
    reporter.close()  # the copy failed: the error that follows stands alone
    assert out.getvalue() == line + "\r" + " " * 29


def test_units_and_no_reporter_without_a_terminal() -> None:
    assert [human_bytes(n) for n in (0, 999, 1000, 12_345_678, 4.2e12, 7e15)] == [
        "0 B", "999 B", "1.0 kB", "12.3 MB", "4.2 TB", "7000.0 TB",
    ]  # fmt: skip
    with terminal_progress(io.StringIO()) as progress:
        assert progress is None


# -- on a real terminal, and not elsewhere ---------------------------------------------------


def test_a_long_staging_copy_shows_progress_on_a_terminal_only(live: Live) -> None:
    # 6 GiB that take no disk: a sparse file's holes are hashed as zeros (several seconds of
    # SHA-256 here), never written; and some files for the count.
    with open(live.root / "big.bin", "wb") as handle:
        handle.truncate(6 << 30)
    for i in range(300):
        (live.root / f"f{i}.txt").write_text(f"{i}\n")
    term = live.tmux()
    drawn = live.workdir / "terminal.out"  # everything the terminal was sent
    term._tmux("pipe-pane", "-t", "main", f"cat >> {drawn}")
    run = shlex.join(["ta", "run", "--detach", "t", "--", PYTHON, "-c", "pass"])
    errors = live.workdir / "stderr.txt"

    term.run(f"{run} 2> {errors}; echo FIRST-$((1+1))")  # stderr is a file: no progress
    term.wait_text("FIRST-2", timeout=120)
    assert errors.read_text().startswith("ta: session ")
    assert "Staging" not in errors.read_text() and "\r" not in errors.read_text()

    term.run(f"{run}; echo SECOND-$((2+2))")  # stderr is the terminal
    screen = term.wait_text("SECOND-4", timeout=120)
    assert "Staged 301 files (6.4 GB) in " in screen
    sent = drawn.read_bytes().decode()
    assert "\rStaging: " in sent and " of 6.4 GB (" in sent and "B/s" in sent
    assert sent.count("Staged 301 files") == 1
