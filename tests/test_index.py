"""The summary index (SPEC §3): it follows the folder, whoever writes it, and it is really used."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from ta_session import InteractiveSession, InteractiveSessionState, InteractiveSessionStore
from ta_session.model import Timestamp

ACTIVE = InteractiveSessionState.ACTIVE
PAUSED = InteractiveSessionState.PAUSED
COMPLETED = InteractiveSessionState.COMPLETED

REFERENCE_NEWEST = "6a28633f-f3cc-4959-9721-97084ff1db6b"
REFERENCE_ACTIVE = "537208b1-a2e0-430c-a67f-d75693886394"


def sessions_dir(project: Path) -> Path:
    return project / ".ta" / "interactive_sessions"


def index_path(project: Path) -> Path:
    return project / ".ta" / "state" / "index.sqlite3"


def count_parses(store: InteractiveSessionStore) -> list[str]:
    """Record every file the store parses (instrumentation: the real parser still runs)."""
    calls: list[str] = []
    real: Callable[[Path], InteractiveSession] = store._parse

    def counting(path: Path) -> InteractiveSession:
        calls.append(path.name)
        return real(path)

    store._parse = counting  # type: ignore[method-assign]
    return calls


def write_plainly(path: Path, session: InteractiveSession) -> None:
    """Write a session as another implementation would: plain open/write, no rename, no lock."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(session.to_json())


def a_session(state: InteractiveSessionState = ACTIVE, updated: str | None = None):
    session = InteractiveSession.new(UUID(int=7), "cli:9", "codex")
    session.state = state
    if updated is not None:
        session.updated_at = Timestamp.parse(updated)
    return session


def by_id(store: InteractiveSessionStore) -> dict[str, InteractiveSessionState]:
    return {str(s.session_id): s.state for s in store.summaries()}


# -- the index follows the folder -----------------------------------------------------------


def test_summaries_match_the_files(reference_project: Path, reference_dir: Path) -> None:
    store = InteractiveSessionStore(sessions_dir(reference_project))
    summaries = store.summaries()
    assert {str(s.session_id) for s in summaries} == {p.stem for p in reference_dir.iterdir()}
    for summary in summaries:
        full = store.load(summary.session_id)
        assert summary.goal_id == full.goal_id
        assert summary.channel_id == full.channel_id
        assert summary.agent_id == full.agent_id
        assert summary.state == full.state
        assert summary.created_at == full.created_at
        assert summary.updated_at == full.updated_at
        assert summary.message_count == len(full.messages)
        assert list(summary.draft_ids) == full.draft_ids
    assert [s.updated_at for s in summaries] == sorted(
        (s.updated_at for s in summaries), reverse=True
    )
    assert str(summaries[0].session_id) == REFERENCE_NEWEST
    assert index_path(reference_project).is_file()


def test_a_file_added_behind_its_back_is_seen(project: Path) -> None:
    folder = sessions_dir(project)
    store = InteractiveSessionStore(folder)
    assert store.summaries() == []
    folder.mkdir()
    added = a_session()
    write_plainly(folder / f"{added.session_id}.json", added)
    assert by_id(store) == {str(added.session_id): ACTIVE}
    assert store.list()[0] == added


def test_a_reference_file_copied_in_is_seen(project: Path, reference_dir: Path) -> None:
    folder = sessions_dir(project)
    folder.mkdir()
    store = InteractiveSessionStore(folder)
    own = a_session(updated="2020-01-01T00:00:00Z")
    store.save(own)
    assert len(store.summaries()) == 1
    shutil.copy2(reference_dir / f"{REFERENCE_ACTIVE}.json", folder)
    summaries = store.summaries()
    assert [str(s.session_id) for s in summaries] == [REFERENCE_ACTIVE, str(own.session_id)]
    assert summaries[0].created_at.isoformat() == "2026-03-02T14:05:11.482915337Z"
    assert store.bad_files == []


def test_a_file_changed_in_place_behind_its_back_is_seen(project: Path) -> None:
    folder = sessions_dir(project)
    store = InteractiveSessionStore(folder)
    session = a_session()
    store.save(session)
    assert by_id(store) == {str(session.session_id): ACTIVE}
    inode = os.stat(folder / f"{session.session_id}.json").st_ino

    session.state = PAUSED  # same length as "active": only the content differs
    write_plainly(folder / f"{session.session_id}.json", session)
    assert os.stat(folder / f"{session.session_id}.json").st_ino == inode
    assert by_id(store) == {str(session.session_id): PAUSED}

    session.state = COMPLETED
    session.log_message("agent", "done")
    write_plainly(folder / f"{session.session_id}.json", session)
    summaries = store.summaries()
    assert summaries[0].state is COMPLETED
    assert summaries[0].message_count == 1
    assert store.list_alive() == []


def test_a_file_replaced_by_rename_behind_its_back_is_seen(project: Path) -> None:
    folder = sessions_dir(project)
    store = InteractiveSessionStore(folder)
    session = a_session()
    store.save(session)
    store.summaries()
    session.state = PAUSED
    tmp = folder / "incoming.tmp"
    write_plainly(tmp, session)
    os.replace(tmp, folder / f"{session.session_id}.json")
    assert by_id(store) == {str(session.session_id): PAUSED}


def test_a_reference_file_overwritten_by_a_copy_is_seen(
    reference_project: Path, reference_dir: Path
) -> None:
    folder = sessions_dir(reference_project)
    store = InteractiveSessionStore(folder)
    assert by_id(store)[REFERENCE_ACTIVE] is ACTIVE
    data = json.loads((reference_dir / f"{REFERENCE_ACTIVE}.json").read_text())
    data["state"] = "completed"
    (folder / f"{REFERENCE_ACTIVE}.json").write_text(json.dumps(data, indent=2))
    assert by_id(store)[REFERENCE_ACTIVE] is COMPLETED
    assert store.find_active_for_goal(data["goal_id"]) is None


def test_a_file_deleted_behind_its_back_is_dropped(reference_project: Path) -> None:
    folder = sessions_dir(reference_project)
    store = InteractiveSessionStore(folder)
    before = by_id(store)
    os.remove(folder / f"{REFERENCE_NEWEST}.json")
    after = by_id(store)
    assert set(after) == set(before) - {REFERENCE_NEWEST}
    assert REFERENCE_NEWEST not in {str(s.session_id) for s in store.list()}


def test_everything_deleted_behind_its_back(reference_project: Path) -> None:
    store = InteractiveSessionStore(sessions_dir(reference_project))
    assert len(store.summaries()) == 9
    shutil.rmtree(sessions_dir(reference_project))
    assert store.summaries() == []
    assert store.list() == []


def test_a_file_that_turns_corrupt_and_back(project: Path) -> None:
    folder = sessions_dir(project)
    store = InteractiveSessionStore(folder)
    session = a_session()
    store.save(session)
    path = folder / f"{session.session_id}.json"
    store.summaries()
    path.write_text("{ half a file")
    assert store.summaries() == []
    assert [b.path.name for b in store.bad_files] == [path.name]
    write_plainly(path, session)
    assert len(store.summaries()) == 1
    assert store.bad_files == []


def test_two_stores_share_one_index(project: Path) -> None:
    folder = sessions_dir(project)
    first, second = InteractiveSessionStore(folder), InteractiveSessionStore(folder)
    a, b = a_session(), a_session()
    first.save(a)
    assert len(second.summaries()) == 1
    second.save(b)
    assert len(first.summaries()) == 2
    first.update(a.session_id, lambda s: s.transition(PAUSED))
    assert by_id(second)[str(a.session_id)] is PAUSED


# -- the index is used ----------------------------------------------------------------------


def test_unchanged_files_are_not_parsed_again(reference_project: Path) -> None:
    store = InteractiveSessionStore(sessions_dir(reference_project))
    parsed = count_parses(store)
    first = store.summaries()
    assert len(parsed) == 9
    parsed.clear()
    second = store.summaries()
    assert parsed == []
    assert second == first


def test_only_changed_files_are_parsed_again(reference_project: Path) -> None:
    folder = sessions_dir(reference_project)
    store = InteractiveSessionStore(folder)
    store.summaries()
    parsed = count_parses(store)
    data = json.loads((folder / f"{REFERENCE_ACTIVE}.json").read_text())
    data["state"] = "paused"
    (folder / f"{REFERENCE_ACTIVE}.json").write_text(json.dumps(data, indent=2))
    added = a_session()
    write_plainly(folder / f"{added.session_id}.json", added)
    os.remove(folder / f"{REFERENCE_NEWEST}.json")
    summaries = store.summaries()
    assert sorted(parsed) == sorted([f"{REFERENCE_ACTIVE}.json", f"{added.session_id}.json"])
    assert len(summaries) == 9
    parsed.clear()
    store.summaries()
    assert parsed == []


def test_the_index_persists_for_the_next_process(reference_project: Path) -> None:
    folder = sessions_dir(reference_project)
    InteractiveSessionStore(folder).summaries()
    later = InteractiveSessionStore(folder)  # as a new `ta session list` would
    parsed = count_parses(later)
    assert len(later.summaries()) == 9
    assert parsed == []


def test_a_bad_file_is_not_parsed_again_until_it_changes(reference_project: Path) -> None:
    folder = sessions_dir(reference_project)
    bad = folder / "11111111-1111-4111-8111-111111111111.json"
    bad.write_text("not json")
    store = InteractiveSessionStore(folder)
    store.summaries()
    parsed = count_parses(store)
    store.summaries()
    assert parsed == []
    assert [b.path.name for b in store.bad_files] == [bad.name]


# -- the index is only a cache --------------------------------------------------------------


def test_deleting_the_index_is_harmless(reference_project: Path) -> None:
    folder = sessions_dir(reference_project)
    expected = by_id(InteractiveSessionStore(folder))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index_path(reference_project)}{suffix}").unlink(missing_ok=True)
    fresh = InteractiveSessionStore(folder)
    parsed = count_parses(fresh)
    assert by_id(fresh) == expected
    assert len(parsed) == 9
    assert index_path(reference_project).is_file()


def test_deleting_the_index_under_a_running_store_is_harmless(reference_project: Path) -> None:
    folder = sessions_dir(reference_project)
    store = InteractiveSessionStore(folder)
    expected = by_id(store)
    shutil.rmtree(reference_project / ".ta" / "state")
    assert by_id(store) == expected
    added = a_session()
    write_plainly(folder / f"{added.session_id}.json", added)
    assert len(by_id(store)) == len(expected) + 1
    assert len(by_id(InteractiveSessionStore(folder))) == len(expected) + 1


def test_a_garbage_index_file_is_harmless(reference_project: Path) -> None:
    folder = sessions_dir(reference_project)
    index_path(reference_project).parent.mkdir(parents=True, exist_ok=True)
    index_path(reference_project).write_bytes(b"this is not a database" * 100)
    store = InteractiveSessionStore(folder)
    assert len(store.summaries()) == 9
    assert store.bad_files == []


def test_a_sessions_folder_that_cannot_be_written_still_lists(
    reference_project: Path, tmp_path: Path
) -> None:
    folder = sessions_dir(reference_project)
    ta = reference_project / ".ta"
    if os.geteuid() == 0:
        # chmod does not stop root: put the state folder where nothing can ever be created,
        # under a regular file.
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("")
        store = InteractiveSessionStore(folder, state_dir=blocker / "state")
        restore: list[Path] = []
    else:
        for path in (folder, ta):
            path.chmod(0o555)
        store = InteractiveSessionStore(folder)
        restore = [ta, folder]
    try:
        summaries = store.summaries()
        assert len(summaries) == 9
        assert store.bad_files == []
        assert str(summaries[0].session_id) == REFERENCE_NEWEST
        listed = store.list()
        assert [s.session_id for s in listed] == [s.session_id for s in summaries]
        assert len(store.list_alive()) == 5
        assert store.load(REFERENCE_ACTIVE).state is ACTIVE
        assert store.resolve("537208") == UUID(REFERENCE_ACTIVE)
        # Listing twice works from the in-memory index.
        assert len(store.summaries()) == 9
    finally:
        for path in restore:
            path.chmod(0o755)


def test_commands_that_only_read_never_create_ta(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    folder = tmp_path / "plain"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "TA_PROJECT_ROOT"}
    for args in (["session", "list"], ["session", "list", "--all", "--json"], ["draft", "list"],
                 ["goal", "list"], ["audit", "log"], ["agents", "list"], ["doctor"]):  # fmt: skip
        result = subprocess.run([sys.executable, "-m", "ta_session", *args], cwd=folder,
                                env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert result.returncode == 0, (args, result.stderr)
        assert list(folder.iterdir()) == [], args


def test_ta_run_finds_the_git_top_and_ignores_its_runtime_state(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    repo = tmp_path / "repo"
    (repo / "src" / "deep").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "src" / "deep" / "x.txt").write_text("x\n")
    env = {k: v for k, v in os.environ.items() if k != "TA_PROJECT_ROOT"}
    env["TA_SANDBOX"] = "off"
    started = subprocess.run(
        [sys.executable, "-m", "ta_session", "run", "t", "--detach", "--", "true"],
        cwd=repo / "src" / "deep", env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert f"in project {repo.resolve()}" in started.stderr  # ta run says which project
    assert (repo / ".ta").is_dir() and not (repo / "src" / ".ta").exists()
    ignore = (repo / ".ta" / ".gitignore").read_text()
    assert {"staging/", "run/", "state/", "web-token"} <= set(ignore.split())
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert ".ta/staging" not in status and ".ta/run" not in status
