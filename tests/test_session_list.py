"""``ta session list`` (SPEC §5): 8-character ids unless ``--full``, the goal's title from the
summary index (escaped, cut to the terminal), and an index of an older schema rebuilt from the
session files without losing any.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from conftest import Runner
from live_helpers import WIDTH, Live, live_fixture, wait_for  # noqa: F401  (the `live` fixture)
from ta_session import InteractiveSession, InteractiveSessionState, InteractiveSessionStore
from ta_session.model import Goal
from ta_session.store.goals import GoalStore

COMPLETED = InteractiveSessionState.COMPLETED
LONG = "Make the login flow survive a token refresh " + "and more words " * 10
EVIL = "Fix \x1b[2J\x1b[1;1Hthe \x9b31m parser\u202e\nnow"  # clears the screen, C1, bidi, newline


def add_session(
    root: Path,
    title: str | None,
    *,
    state: InteractiveSessionState | None = None,
) -> InteractiveSession:
    """A session with its goal (no goal file when ``title`` is None), written as ``ta run``
    writes them: the goal first."""
    ta = root / ".ta"
    goal = Goal.new(title or "unused")
    if title is not None:
        GoalStore(ta / "goals", ta / "state" / "locks").save(goal)
    session = InteractiveSession.new(goal.goal_id, "cli:1", "codex")
    if state is not None:
        session.state = state
    InteractiveSessionStore(ta / "interactive_sessions").save(session)
    return session


def rows_of(stdout: str) -> dict[str, str]:
    """Table lines by their first cell (the session id as shown)."""
    lines = stdout.splitlines()
    assert lines[0].split()[:8] == [
        "SESSION", "GOAL", "AGENT", "STATE", "HOST", "ACTIVITY", "ELAPSED", "TITLE",
    ]  # fmt: skip
    return {line.split()[0]: line for line in lines[1:-1]}


def titles_of(stdout: str) -> dict[str, str]:
    """The TITLE cell of each row, by its first cell."""
    column = stdout.splitlines()[0].index("TITLE")
    return {key: line[column:] for key, line in rows_of(stdout).items()}


def test_ids_are_short_unless_full_and_json_keeps_them_whole(project: Path, ta: Runner) -> None:
    session = add_session(project, "Tidy up")
    sid, gid = str(session.session_id), str(session.goal_id)

    listed = ta("session", "list")
    assert listed.returncode == 0, listed.stderr
    row = rows_of(listed.stdout)[sid[:8]]
    assert row.split()[:2] == [sid[:8], gid[:8]] and sid not in row
    assert row.endswith("Tidy up")
    assert listed.stdout.endswith("1 session(s).\n")

    full = rows_of(ta("session", "list", "--full").stdout)
    assert full[sid].split()[:2] == [sid, gid]

    (entry,) = json.loads(ta("session", "list", "--json").stdout)
    assert (entry["session_id"], entry["goal_id"]) == (sid, gid)
    assert "title" not in entry  # the JSON keeps the keys of `show --json` (SPEC §5)

    # The id as shown, or any shorter prefix, names the session.
    for prefix in (sid[:8], sid[:4]):
        shown = ta("session", "show", prefix)
        assert shown.returncode == 0, shown.stderr
        assert f"Session:  {sid}" in shown.stdout
        assert f"Goal:     {gid} — Tidy up" in shown.stdout


def test_titles_are_shown_escaped_on_one_line(project: Path, ta: Runner) -> None:
    evil = add_session(project, EVIL)
    plain = add_session(project, None)  # no goal file (a reference session): no title

    listed = ta("session", "list")
    assert listed.returncode == 0 and listed.stderr == ""
    assert "\x1b" not in listed.stdout and "\x9b" not in listed.stdout
    assert "\u202e" not in listed.stdout
    rows = rows_of(listed.stdout)
    assert rows[str(evil.session_id)[:8]].endswith(
        "Fix \\x1b[2J\\x1b[1;1Hthe \\u009b31m parser\\u202e now"
    )
    assert rows[str(plain.session_id)[:8]].endswith("  -")
    # `show` and `goal list` escape it too.
    shown = ta("session", "show", str(evil.session_id)).stdout
    assert "\x1b" not in shown and "\\x1b[2J" in shown
    goals = ta("goal", "list").stdout
    assert "\x1b" not in goals and "\\x1b[2J" in goals


def test_a_goal_file_that_is_not_ours_gives_its_title_or_none(project: Path, ta: Runner) -> None:
    goals = project / ".ta" / "goals"
    other = add_session(project, None)
    goals.mkdir(parents=True, exist_ok=True)
    # Only the title is read: another writer's goal file (no goal_id, other fields) gives it.
    (goals / f"{other.goal_id}.json").write_text(json.dumps({"goal_run_id": "x", "title": "Ref"}))
    broken = add_session(project, None)
    (goals / f"{broken.goal_id}.json").write_text("{not json")
    fifo = add_session(project, None)
    os.mkfifo(goals / f"{fifo.goal_id}.json")  # never opened for reading: no hang
    numeric = add_session(project, None)
    (goals / f"{numeric.goal_id}.json").write_text('{"title": 42}')

    listed = ta("session", "list", timeout=20)
    assert listed.returncode == 0 and listed.stderr == ""
    rows = rows_of(listed.stdout)
    assert rows[str(other.session_id)[:8]].endswith("  Ref")
    for session in (broken, fifo, numeric):
        assert rows[str(session.session_id)[:8]].endswith("  -")


def test_titles_are_cut_to_the_width_but_not_with_full_nor_into_a_pipe(
    project: Path, ta: Runner
) -> None:
    session = add_session(project, LONG)
    short = str(session.session_id)[:8]

    narrow = ta("session", "list", env={"COLUMNS": "90"}).stdout
    row = rows_of(narrow)[short]
    assert len(row) == 90 and row.endswith("…")
    assert titles_of(narrow)[short].removesuffix("…") in LONG
    assert all(len(line) <= 90 for line in narrow.splitlines())
    # Narrower than the other columns: the title keeps 12 columns and the line overflows.
    tiny = rows_of(ta("session", "list", env={"COLUMNS": "20"}).stdout)[short]
    assert tiny.endswith("Make the lo…")

    flat = " ".join(LONG.split())
    full = ta("session", "list", "--full", env={"COLUMNS": "90"}).stdout
    assert titles_of(full)[str(session.session_id)] == flat
    assert titles_of(ta("session", "list").stdout)[short] == flat  # a pipe: no width


def test_an_index_of_the_previous_schema_is_rebuilt_from_the_files(
    project: Path, ta: Runner
) -> None:
    sessions = [add_session(project, f"Goal {i}", state=COMPLETED) for i in range(3)]
    folder = project / ".ta" / "interactive_sessions"
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    # The index as schema 5 left it: no title column, and rows that disagree with the files
    # (a listing that trusted them would lose two sessions).
    state = project / ".ta" / "state"
    state.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(state / "index.sqlite3")
    db.execute(
        "CREATE TABLE sessions (name TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER"
        " NOT NULL, inode INTEGER NOT NULL, session_id TEXT, goal_id TEXT, channel_id TEXT,"
        " agent_id TEXT, state TEXT, created_s INTEGER, created_frac INTEGER, updated_s"
        " INTEGER, updated_frac INTEGER, message_count INTEGER, draft_ids TEXT, exit_code"
        " INTEGER, json_head TEXT, error TEXT)"
    )
    first = folder / f"{sessions[0].session_id}.json"
    st = first.stat()
    db.execute(
        "INSERT INTO sessions (name, mtime_ns, size, inode, error) VALUES (?,?,?,?,?)",
        (first.name, st.st_mtime_ns, st.st_size, st.st_ino, "stale"),
    )
    db.execute("PRAGMA user_version=5")
    db.commit()
    db.close()

    listed = ta("session", "list", "--all")
    assert listed.returncode == 0 and listed.stderr == ""
    titles = titles_of(listed.stdout)
    assert [titles[str(s.session_id)[:8]] for s in sessions] == ["Goal 0", "Goal 1", "Goal 2"]
    db = sqlite3.connect(state / "index.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 6
    assert db.execute("SELECT count(*) FROM sessions WHERE title IS NOT NULL").fetchone()[0] == 3
    db.close()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files  # nothing written


def test_a_title_is_read_once_per_change_of_the_session_file(project: Path, ta: Runner) -> None:
    session = add_session(project, "Before")
    goal_file = project / ".ta" / "goals" / f"{session.goal_id}.json"
    short = str(session.session_id)[:8]
    assert rows_of(ta("session", "list").stdout)[short].endswith("  Before")
    # Nothing rewrites a goal's title; one edited by hand shows once its session changes.
    goal_file.write_text(goal_file.read_text().replace('"Before"', '"After"'))
    assert rows_of(ta("session", "list").stdout)[short].endswith("  Before")
    store = InteractiveSessionStore(project / ".ta" / "interactive_sessions")
    store.update(session.session_id, lambda s: s.log_message("human", "hi"))
    assert rows_of(ta("session", "list").stdout)[short].endswith("  After")


def test_the_title_fits_the_terminal_it_is_shown_in(live: Live) -> None:
    session = add_session(live.root, LONG)
    term = live.tmux()
    term.run("ta session list; echo LIST-DONE")
    screen = term.wait_text("1 session(s).")
    (row,) = [line for line in screen.splitlines() if line.startswith(str(session.session_id)[:8])]
    assert len(row) == WIDTH and row.endswith("…")
    wait_for(lambda: "LIST-DONE" in term.screen().split("1 session(s).")[-1])
