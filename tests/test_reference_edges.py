"""Files at the edges of what the reference reads and writes, and files that are not files.

Every session file below is written by hand, in the reference's exact format (2-space indent,
fields in order, no trailing newline). Each test checks bytes, order or timing that would fail
without the behaviour it names.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from conftest import Runner
from ta_session import InteractiveSessionStore
from ta_session.model import InteractiveSession, Timestamp
from ta_session.store import CorruptRecordError, NotFoundError
from ta_session.store import sessions as sessions_module
from ta_session.store.index import SessionIndex

GOAL = "845a79f8-2bb8-4c0f-90bb-2c0a42bba110"
FUTURE = "aaaaaaaa-0000-4000-8000-000000010000"  # updated in the year 10000
PAST = "aaaaaaaa-0000-4000-8000-00000000000b"  # updated in the year 1 BC ("-0001")
LEAP = "aaaaaaaa-0000-4000-8000-000000002016"  # updated in the leap second of 2016
NEWEST_FIXTURE = "6a28633f-f3cc-4959-9721-97084ff1db6b"
ODD = "eeeeeeee-0000-4000-8000-000000000001"
DEV_ZERO = "a symbolic link to /dev/zero, which is a character device"
FIFO = "a FIFO (named pipe), not a regular file; not opened"


def session_text(sid: str, created: str, updated: str, messages: tuple[str, ...] = ()) -> str:
    """A session exactly as the reference writes it; ``messages`` are their timestamps."""
    lines = [
        "{",
        f'  "session_id": "{sid}",',
        f'  "goal_id": "{GOAL}",',
        '  "channel_id": "cli:40000",',
        '  "agent_id": "claude-code",',
        '  "state": "active",',
        f'  "created_at": "{created}",',
        f'  "updated_at": "{updated}"' + ("," if messages else ""),
    ]
    if messages:
        lines.append('  "messages": [')
        for i, stamp in enumerate(messages):
            lines += [
                "    {",
                '      "sender": "human",',
                f'      "content": "message {i}",',
                f'      "timestamp": "{stamp}"',
                "    }" + ("," if i < len(messages) - 1 else ""),
            ]
        lines.append("  ]")
    lines.append("}")
    return "\n".join(lines)


def folder_of(project: Path) -> Path:
    folder = project / ".ta" / "interactive_sessions"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write(project: Path, name: str, text: str | bytes) -> Path:
    path = folder_of(project) / (name if name.endswith(".json") else f"{name}.json")
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def put(project: Path, sid: str, created: str, updated: str | None = None) -> Path:
    return write(project, sid, session_text(sid, created, updated or created))


def resaved(project: Path, sid: str) -> str:
    """What the store writes back for a session loaded and saved unchanged."""
    store = InteractiveSessionStore(folder_of(project))
    store.save(store.load(sid))
    return (folder_of(project) / f"{sid}.json").read_text(encoding="utf-8")


def ids(store: InteractiveSessionStore) -> list[str]:
    return [str(s.session_id) for s in store.summaries()]


# -- 2. what the reference reads, re-saved as it would write it ---------------------------


@pytest.mark.parametrize(
    ("written", "resaved_as"),
    [
        ("2016-12-31T23:59:60.5Z", "2016-12-31T23:59:60.500Z"),
        ("+10000-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"),
        ("-0001-01-01T00:00:00Z", "-0001-01-01T00:00:00Z"),
        ("2026-03-02T14:05:11.123456789123Z", "2026-03-02T14:05:11.123456789Z"),
        ("2026-03-02T14:05:11+0200", "2026-03-02T12:05:11Z"),
        ("+262143-12-31T23:59:59.999999999Z", "+262143-12-31T23:59:59.999999999Z"),
    ],
)
def test_edge_timestamps_load_and_resave_as_the_reference_does(
    project: Path, written: str, resaved_as: str
) -> None:
    sid = "bbbbbbbb-0000-4000-8000-000000000001"
    write(project, sid, session_text(sid, written, written, (written, written)))
    assert resaved(project, sid) == session_text(sid, resaved_as, resaved_as, (resaved_as,) * 2)


def test_a_file_in_the_reference_form_is_resaved_byte_for_byte(project: Path) -> None:
    sid = "bbbbbbbb-0000-4000-8000-000000000002"
    text = session_text(
        sid,
        "-0001-01-01T00:00:00.000000001Z",
        "2016-12-31T23:59:60.999999999Z",
        ("+10000-01-01T00:00:00.500Z", "2016-12-31T23:59:60Z"),
    )
    write(project, sid, text)
    assert resaved(project, sid).encode("utf-8") == text.encode("utf-8")


def test_our_leniencies_are_read_and_resaved_in_the_reference_form(project: Path) -> None:
    """A BOM, ``"messages": null``, a repeated key and a lowercase ``t``: the reference refuses
    each; we read them, and what we write back is exactly the reference's form."""
    sid = "bbbbbbbb-0000-4000-8000-000000000003"
    lenient = (
        "\ufeff{\n"
        f'  "session_id": "{sid}",\n'
        f'  "goal_id": "{GOAL}",\n'
        '  "channel_id": "cli:40000",\n'
        '  "agent_id": "claude-code",\n'
        '  "state": "paused",\n'
        '  "state": "active",\n'
        '  "created_at": "2026-03-02t14:05:11z",\n'
        '  "updated_at": "2026-03-02T14:05:11Z",\n'
        '  "messages": null\n'
        "}"
    )
    write(project, sid, lenient)
    expected = session_text(sid, "2026-03-02T14:05:11Z", "2026-03-02T14:05:11Z")
    assert resaved(project, sid) == expected


def test_edge_files_list_next_to_normal_ones_newest_first(
    reference_project: Path, reference_dir: Path
) -> None:
    put(reference_project, FUTURE, "+10000-01-01T00:00:00Z")
    put(reference_project, PAST, "-0001-01-01T00:00:00Z")
    put(reference_project, LEAP, "2016-12-31T23:59:60.5Z")
    store = InteractiveSessionStore(folder_of(reference_project))
    listed = ids(store)
    assert store.bad_files == []
    assert len(listed) == len(list(reference_dir.iterdir())) + 3
    assert listed[0] == FUTURE
    assert listed[1] == NEWEST_FIXTURE
    assert listed[-2:] == [LEAP, PAST]
    # The index holds them exactly: a second store reads them back from it, unparsed.
    again = InteractiveSessionStore(folder_of(reference_project))
    summaries = {str(s.session_id): s for s in again.summaries()}
    assert summaries[LEAP].updated_at.isoformat() == "2016-12-31T23:59:60.500Z"
    assert summaries[PAST].created_at.isoformat() == "-0001-01-01T00:00:00Z"
    assert summaries[FUTURE].updated_at == Timestamp.parse("+10000-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("stamp", "inside"),
    [
        # One nanosecond after the 64-bit range, and its last nanosecond.
        ("2262-04-11T23:47:16.854775808Z", "2262-04-11T23:47:16.854775807Z"),
        # One nanosecond before it, and its first.
        ("1677-09-21T00:12:43.145224191Z", "1677-09-21T00:12:43.145224192Z"),
    ],
)
def test_timestamps_just_outside_64_bit_nanoseconds_sort_exactly(
    project: Path, stamp: str, inside: str
) -> None:
    """The listing that failed with ``OverflowError`` for the whole project."""
    a, b = "cccccccc-0000-4000-8000-00000000000a", "cccccccc-0000-4000-8000-00000000000b"
    put(project, a, stamp)
    put(project, b, inside)
    store = InteractiveSessionStore(folder_of(project))
    expected = [a, b] if stamp > inside else [b, a]
    assert ids(store) == expected
    assert store.bad_files == []


def test_ta_session_list_all_with_edge_files(reference_project: Path, ta: Runner) -> None:
    put(reference_project, FUTURE, "+10000-01-01T00:00:00Z")
    put(reference_project, PAST, "1677-09-21T00:12:43.145224191Z", "-0001-01-01T00:00:00Z")
    put(reference_project, LEAP, "2016-12-31T23:59:60.5Z")
    result = ta("session", "list", "--all", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = json.loads(result.stdout)
    listed = [row["session_id"] for row in rows]
    assert listed[0] == FUTURE and listed[-2:] == [LEAP, PAST]
    by_id = {row["session_id"]: row for row in rows}
    assert by_id[PAST]["created_at"] == "1677-09-21T00:12:43.145224191Z"
    assert by_id[LEAP]["updated_at"] == "2016-12-31T23:59:60.500Z"
    table = ta("session", "list", "--all")
    assert table.returncode == 0 and f"{len(rows)} session(s)." in table.stdout


# -- 1. no file can break a listing; the index stays usable -----------------------------


@pytest.fixture
def three_sessions(project: Path) -> list[str]:
    sids = [f"dddddddd-0000-4000-8000-00000000000{i}" for i in range(3)]
    for i, sid in enumerate(sids):
        put(project, sid, f"2026-03-0{i + 1}T00:00:00Z")
    return sids


def test_a_file_the_index_cannot_store_is_reported_and_the_rest_listed(
    project: Path, three_sessions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = InteractiveSessionStore(folder_of(project))
    real = store._parse
    victim = three_sessions[1]

    def parse(path: Path) -> InteractiveSession:
        session = real(path)
        if path.stem == victim:  # a value SQLite cannot bind (a lone surrogate)
            session.channel_id = "\ud800"
        return session

    monkeypatch.setattr(store, "_parse", parse)
    assert ids(store) == [three_sessions[2], three_sessions[0]]
    assert [b.path.stem for b in store.bad_files] == [victim]
    assert "cannot be indexed" in store.bad_files[0].reason
    # Same process, same connection: still usable, nothing half-written.
    db = store.index._connect()
    assert not db.in_transaction
    monkeypatch.setattr(store, "_parse", real)
    os.utime(folder_of(project) / f"{victim}.json", ns=(1, 1))  # changed: parsed again
    assert ids(store) == [three_sessions[2], three_sessions[1], three_sessions[0]]
    assert store.bad_files == []


def test_any_failure_parsing_one_file_is_that_files_warning(
    project: Path, three_sessions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = InteractiveSessionStore(folder_of(project))
    real = store._parse

    def parse(path: Path) -> InteractiveSession:
        if path.stem == three_sessions[0]:
            raise MemoryError("simulated")
        return real(path)

    monkeypatch.setattr(store, "_parse", parse)
    assert ids(store) == [three_sessions[2], three_sessions[1]]
    assert [b.reason for b in store.bad_files] == ["cannot be read: MemoryError: simulated"]


def test_an_index_write_that_fails_is_rolled_back_and_the_listing_goes_on(
    project: Path, three_sessions: list[str]
) -> None:
    store = InteractiveSessionStore(folder_of(project))
    assert len(ids(store)) == 3
    store.index._connect().execute("PRAGMA query_only=1")  # every write fails, as on a full disk
    sid = "dddddddd-0000-4000-8000-000000000009"
    put(project, sid, "2026-04-01T00:00:00Z")
    assert ids(store)[0] == sid  # listed from memory
    assert ids(store)[0] == sid  # and again, in the same process
    assert store.bad_files == []
    # The index file was left as it was, unlocked: the next process brings it up to date.
    assert ids(InteractiveSessionStore(folder_of(project)))[0] == sid


def test_garbage_rows_in_the_index_are_rebuilt(project: Path, three_sessions: list[str]) -> None:
    store = InteractiveSessionStore(folder_of(project))
    ids(store)
    db = sqlite3.connect(project / ".ta" / "state" / "index.sqlite3")
    db.execute("UPDATE sessions SET goal_id = 'not a uuid'")
    db.commit()
    db.close()
    assert ids(InteractiveSessionStore(folder_of(project))) == three_sessions[::-1]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"[" * 200_000, "nested too deeply"),
        (session_text(ODD, "x", "x"), "not an RFC 3339"),
        (session_text(ODD, "2026-01-01T00:00:00Z", "NaN").replace('"NaN"', "NaN"), "NaN is not"),
        (
            session_text(ODD, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
            .replace("cli:40000", "cli:\\udc80"),
            "unpaired UTF-16 surrogate",
        ),
    ],
    ids=["deep", "bad-time", "nan", "surrogate"],
)  # fmt: skip
def test_files_the_reference_cannot_read_are_one_clear_warning(
    project: Path, three_sessions: list[str], content: str | bytes, needle: str, ta: Runner
) -> None:
    path = write(project, ODD, content)
    result = ta("session", "list", "--all")
    assert result.returncode == 0, result.stderr
    assert "3 session(s)." in result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert lines[0].count(str(path)) == 1  # the file is named once


def test_a_file_name_that_is_not_utf8_is_reported(project: Path, three_sessions: list[str]) -> None:
    raw = os.fsencode(folder_of(project)) + b"/\xff\xfe.json"
    with open(raw, "wb") as handle:
        handle.write(b"{}")
    store = InteractiveSessionStore(folder_of(project))
    assert len(ids(store)) == 3
    assert [b.reason for b in store.bad_files] == ["a file name that is not UTF-8; not read"]


# -- 3. files that are not files ---------------------------------------------------------


@pytest.fixture
def odd_files(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """A FIFO, links to /dev/zero, to a FIFO and to nothing, a socket, a folder: all named like
    sessions. Name → what its warning must say."""
    folder = folder_of(project)
    made = {
        "f1f0f1f0-0000-4000-8000-000000000001": "a FIFO (named pipe), not a regular file",
        "f1f0f1f0-0000-4000-8000-000000000002": DEV_ZERO,
        "f1f0f1f0-0000-4000-8000-000000000003": "which is a FIFO (named pipe)",
        "f1f0f1f0-0000-4000-8000-000000000004": "which does not exist",
        "f1f0f1f0-0000-4000-8000-000000000005": "a socket, not a regular file",
        "f1f0f1f0-0000-4000-8000-000000000006": "a folder, not a regular file",
    }
    names = list(made)
    os.mkfifo(folder / f"{names[0]}.json")
    (folder / f"{names[1]}.json").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "elsewhere.fifo")
    (folder / f"{names[2]}.json").symlink_to(tmp_path / "elsewhere.fifo")
    (folder / f"{names[3]}.json").symlink_to(tmp_path / "nothing-here")
    (folder / f"{names[5]}.json").mkdir()
    with socket.socket(socket.AF_UNIX) as server:
        with monkeypatch.context() as local:
            local.chdir(folder)  # a socket path must be short: bind it by its relative name
            server.bind(f"{names[4]}.json")
        yield made


def test_files_that_are_not_files_are_skipped_at_once(
    project: Path, three_sessions: list[str], odd_files: dict[str, str]
) -> None:
    store = InteractiveSessionStore(folder_of(project))
    started = time.monotonic()
    listed = ids(store)
    assert time.monotonic() - started < 1.0
    assert listed == three_sessions[::-1]
    reasons = {b.path.stem: b.reason for b in store.bad_files}
    assert set(reasons) == set(odd_files)
    for name, needle in odd_files.items():
        assert needle in reasons[name], reasons[name]
        # And opening one by its id gives the same answer, at once.
        if name != "f1f0f1f0-0000-4000-8000-000000000004":
            with pytest.raises(CorruptRecordError) as info:
                store.load(name)
            assert info.value.problem == reasons[name]
    with pytest.raises(NotFoundError):
        store.load("f1f0f1f0-0000-4000-8000-000000000004")


def test_the_cli_skips_a_fifo_and_a_dev_zero_link_within_a_second(
    project: Path, three_sessions: list[str], odd_files: dict[str, str], ta: Runner
) -> None:
    started = time.monotonic()
    result = ta("session", "list", "--all", timeout=10)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "3 session(s)." in result.stdout
    assert elapsed < 3.0  # process start included; the same listing of 3 files alone is ~0.2 s
    warnings = result.stderr.splitlines()
    assert len(warnings) == len(odd_files)
    assert all(w.startswith("ta: warning: skipping ") for w in warnings)
    shown = ta("session", "show", "f1f0f1f0-0000-4000-8000-000000000002", timeout=10)
    assert shown.returncode == 1
    assert shown.stderr.count("/dev/zero") == 1 and "Traceback" not in shown.stderr


def test_a_session_file_over_the_size_limit_is_refused_unread(
    project: Path, three_sessions: list[str]
) -> None:
    sid = "abababab-0000-4000-8000-000000000001"
    path = folder_of(project) / f"{sid}.json"
    with open(path, "wb") as handle:  # sparse: nothing is written, and nothing may be read
        handle.truncate(sessions_module.MAX_SESSION_FILE_BYTES + 1)
    store = InteractiveSessionStore(folder_of(project))
    started = time.monotonic()
    assert ids(store) == three_sessions[::-1]
    assert time.monotonic() - started < 1.0
    assert [b.reason for b in store.bad_files] == [
        "268,435,457 bytes, over the 256 MiB limit for a session file; not read"
    ]
    with pytest.raises(CorruptRecordError, match="over the 256 MiB limit"):
        store.load(sid)


def test_a_limit_that_is_not_whole_mebibytes_is_given_in_bytes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = "abababab-0000-4000-8000-000000000002"
    write(project, sid, session_text(sid, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"))
    monkeypatch.setattr(sessions_module, "MAX_SESSION_FILE_BYTES", 100)
    store = InteractiveSessionStore(folder_of(project))
    with pytest.raises(CorruptRecordError, match="over the 100-byte limit"):
        store.load(sid)


def test_goal_and_draft_folders_skip_a_fifo(project: Path) -> None:
    from ta_session.store.project import Project

    goals = project / ".ta" / "goals"
    goals.mkdir(parents=True)
    os.mkfifo(goals / "12345678-0000-4000-8000-000000000001.json")
    folder = Project(project).goals
    assert list(folder) == []
    assert [b.reason for b in folder.bad_files] == [FIFO]


def test_fifos_beside_the_sessions_do_not_stall_a_listing(
    reference_project: Path, ta: Runner
) -> None:
    """A listing also reads host records (run/) and the drafts a session names (drafts/)."""
    sid = "39fe11c5-c45c-4187-b668-dae523fc4fbb"  # a reference session naming two drafts
    draft_id = json.loads((folder_of(reference_project) / f"{sid}.json").read_text())["draft_ids"][
        0
    ]
    for folder, name in (("run", sid), ("drafts", draft_id)):
        (reference_project / ".ta" / folder).mkdir(exist_ok=True)
        os.mkfifo(reference_project / ".ta" / folder / f"{name}.json")
    started = time.monotonic()
    result = ta("session", "list", "--all", "--json", timeout=20)
    assert time.monotonic() - started < 3.0
    assert result.returncode == 0, result.stderr
    row = next(r for r in json.loads(result.stdout) if r["session_id"] == sid)
    assert row["host"]["status"] == "none"
    assert {"draft_id": draft_id, "status": "unreadable"} in row["drafts"]


def test_fifos_in_our_own_state_folder_do_not_stall_a_listing(
    project: Path, three_sessions: list[str]
) -> None:
    state = project / ".ta" / "state"
    (state / "pending").mkdir(parents=True)
    os.mkfifo(state / "index.sqlite3")
    os.mkfifo(state / "pending" / three_sessions[0])
    store = InteractiveSessionStore(folder_of(project))
    started = time.monotonic()
    assert ids(store) == three_sessions[::-1]
    assert store.load(three_sessions[0]).session_id == UUID(three_sessions[0])
    assert time.monotonic() - started < 1.0


# -- 5. one answer per file --------------------------------------------------------------


def test_show_treats_a_misnamed_file_as_list_does(reference_project: Path, ta: Runner) -> None:
    folder = folder_of(reference_project)
    misnamed = folder / "77777777-7777-4777-8777-777777777777.json"
    shutil.copyfile(folder / f"{NEWEST_FIXTURE}.json", misnamed)
    listed = ta("session", "list", "--all")
    shown = ta("session", "show", "77777777")
    assert shown.returncode == 1 and shown.stdout == ""
    problem = f"holds session {NEWEST_FIXTURE}, but is not named {NEWEST_FIXTURE}.json"
    assert listed.stderr == f"ta: warning: skipping {misnamed}: {problem}\n"
    assert shown.stderr == f"ta: error: {misnamed}: {problem}\n"


def test_a_misnamed_file_is_never_written_through(reference_project: Path) -> None:
    folder = folder_of(reference_project)
    misnamed = folder / "77777777-7777-4777-8777-777777777777.json"
    shutil.copyfile(folder / f"{NEWEST_FIXTURE}.json", misnamed)
    before = (folder / f"{NEWEST_FIXTURE}.json").read_bytes()
    store = InteractiveSessionStore(folder)
    with pytest.raises(CorruptRecordError):
        store.update(UUID("77777777-7777-4777-8777-777777777777"), lambda s: None)
    assert (folder / f"{NEWEST_FIXTURE}.json").read_bytes() == before


def test_index_is_a_plain_cache_of_the_new_schema(project: Path, three_sessions: list[str]) -> None:
    """An index left by the previous schema (64-bit nanosecond columns) is rebuilt, not read."""
    state = project / ".ta" / "state"
    state.mkdir(parents=True)
    db = sqlite3.connect(state / "index.sqlite3")
    db.execute("CREATE TABLE sessions (name TEXT PRIMARY KEY, updated_ns INTEGER)")
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()
    index = SessionIndex(state / "index.sqlite3")
    store = InteractiveSessionStore(folder_of(project))
    store.index = index
    assert ids(store) == three_sessions[::-1]
