"""Several real processes, and writers killed with SIGKILL (SPEC §3, §11): nothing is lost or torn.

Every writer here is a separate Python process running a small snippet against the real store in
a real folder; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

from ta_session import InteractiveSession, InteractiveSessionState, InteractiveSessionStore
from ta_session.store import AuditLog

GOAL = UUID("845a79f8-2bb8-4c0f-90bb-2c0a42bba110")
ORIGINALS = ["original 1", "original 2 — ünï ✓"]

# Each snippet gets: the sessions folder, the session id, then its own arguments.
APPENDER = """
import sys, time
from pathlib import Path
from ta_session import InteractiveSessionStore
folder, sid, worker, count = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
store = InteractiveSessionStore(folder)
go = folder.parent / "go"
while not go.exists():
    time.sleep(0.002)
for i in range(count):
    store.append_message(sid, "agent", f"{worker}:{i}")
"""

UPDATER = """
import sys, time, uuid
from pathlib import Path
from ta_session import InteractiveSessionStore
folder, sid, worker, count = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
store = InteractiveSessionStore(folder)
go = folder.parent / "go"
while not go.exists():
    time.sleep(0.002)
def change(session):
    session.add_draft(uuid.uuid4())
    session.log_message("ta-system", f"{worker}:{len(session.draft_ids)}")
    session.transition("paused" if session.state == "active" else "active")
for i in range(count):
    store.update(sid, change)
"""

# Appends until killed; prints each message's number once append_message has returned.
ACKING_WRITER = """
import sys
from pathlib import Path
from ta_session import InteractiveSessionStore
import ta_session.store.sessions as sessions
folder, sid, tag, interval = Path(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
sessions.MIN_SNAPSHOT_INTERVAL = interval
store = InteractiveSessionStore(folder)
print("ready", flush=True)
i = 0
while True:
    store.append_message(sid, "agent", f"{tag}:{i}")
    print(i, flush=True)
    i += 1
"""

# Appends a burst, says so, and waits to be killed before any timed snapshot can happen.
BURST_WRITER = """
import sys, time
from pathlib import Path
import ta_session.store.sessions as sessions
from ta_session import InteractiveSessionStore
folder, sid, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
sessions.MIN_SNAPSHOT_INTERVAL = 3600.0  # no timed snapshot: only the first append writes one
store = InteractiveSessionStore(folder)
for i in range(count):
    store.append_message(sid, "agent", f"burst:{i}")
print("done", flush=True)
time.sleep(600)
"""


def sessions_dir(project: Path) -> Path:
    return project / ".ta" / "interactive_sessions"


def start_session(project: Path) -> tuple[InteractiveSessionStore, InteractiveSession]:
    store = InteractiveSessionStore(sessions_dir(project))
    session = InteractiveSession.new(GOAL, "cli:1", "claude-code")
    for text in ORIGINALS:
        session.log_message("human", text)
    store.save(session)
    return store, session


def spawn(code: str, *args: object, stdout: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=stdout, text=True)


def raw_messages(store: InteractiveSessionStore, sid: UUID) -> list[str]:
    """The messages in the file on disk, read without the store (fails on a torn file)."""
    data = json.loads(store.path_for(sid).read_bytes())
    return [m["content"] for m in data.get("messages", [])]


def contents(session: InteractiveSession) -> list[str]:
    return [m.content for m in session.messages]


def audit_of(project: Path) -> AuditLog:
    ta = project / ".ta"
    return AuditLog(ta / "audit.jsonl", head_path=ta / "state" / "audit.head")


# -- many writers ---------------------------------------------------------------------------


def test_eight_processes_appending_lose_nothing(project: Path) -> None:
    store, session = start_session(project)
    workers, count = 8, 200
    procs = [
        spawn(APPENDER, sessions_dir(project), session.session_id, f"w{w}", count)
        for w in range(workers)
    ]
    (project / ".ta" / "go").touch()
    for proc in procs:
        assert proc.wait(timeout=180) == 0

    loaded = InteractiveSessionStore(sessions_dir(project)).load(session.session_id)
    got = contents(loaded)
    assert len(got) == len(ORIGINALS) + workers * count
    assert got[: len(ORIGINALS)] == ORIGINALS
    for w in range(workers):
        mine = [c for c in got if c.startswith(f"w{w}:")]
        assert mine == [f"w{w}:{i}" for i in range(count)], f"worker {w} lost or reordered"
    stamps = [m.timestamp for m in loaded.messages]
    assert loaded.updated_at == max(stamps)

    # The file on disk is a complete snapshot once anyone has opened the session.
    assert raw_messages(store, session.session_id) == got

    result = audit_of(project).verify()
    assert result.ok, result
    messages = [e for e in audit_of(project).events() if e.action == "message"]
    assert len(messages) == workers * count
    assert sorted(e.details["index"] for e in messages) == list(
        range(len(ORIGINALS), len(ORIGINALS) + workers * count)
    )


def test_processes_updating_and_appending_lose_nothing(project: Path) -> None:
    _, session = start_session(project)
    appenders, updaters, count = 3, 2, 40
    folder = sessions_dir(project)
    procs = [spawn(APPENDER, folder, session.session_id, f"a{w}", count) for w in range(appenders)]
    procs += [spawn(UPDATER, folder, session.session_id, f"u{w}", count) for w in range(updaters)]
    (project / ".ta" / "go").touch()
    for proc in procs:
        assert proc.wait(timeout=120) == 0

    loaded = InteractiveSessionStore(folder).load(session.session_id)
    got = contents(loaded)
    assert len(got) == len(ORIGINALS) + (appenders + updaters) * count
    for w in range(appenders):
        assert [c for c in got if c.startswith(f"a{w}:")] == [f"a{w}:{i}" for i in range(count)]
    # Every update saw every earlier one: the draft counts it logged are 1, 2, 3, ... overall.
    counts = sorted(int(c.split(":")[1]) for c in got if c.startswith("u"))
    assert counts == list(range(1, updaters * count + 1))
    assert len(loaded.draft_ids) == len(set(loaded.draft_ids)) == updaters * count
    expected_state = "active" if (updaters * count) % 2 == 0 else "paused"
    assert loaded.state == expected_state
    assert audit_of(project).verify().ok


# -- writers killed with SIGKILL ------------------------------------------------------------


def run_and_kill(
    folder: Path, sid: UUID, tag: str, delay: float, interval: float
) -> tuple[list[int], int]:
    """Start an acking writer, SIGKILL it ``delay`` s after it is ready; return its acks."""
    proc = spawn(ACKING_WRITER, folder, sid, tag, interval, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    rest = proc.stdout.read()
    code = proc.wait(timeout=30)
    acked = [int(line) for line in rest.split("\n") if line.strip().isdigit()]
    return acked, code


def test_writers_killed_at_random_moments_never_tear_or_lose(project: Path) -> None:
    store, session = start_session(project)
    sid = session.session_id
    folder = sessions_dir(project)
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    watcher = InteractiveSessionStore(folder)  # a long-lived reader, like an attached client
    expected = list(ORIGINALS)
    total_acked = 0
    for round_number in range(20):
        tag = f"k{round_number}"
        delay = rng.choice([0.0, 0.001, rng.uniform(0.0, 0.05), rng.uniform(0.05, 0.35)])
        interval = rng.choice([0.0, 0.005, 0.25])  # snapshot every append, often, or default
        acked, code = run_and_kill(folder, sid, tag, delay, interval)
        context = f"seed {seed}, round {round_number}, delay {delay:.3f}, interval {interval}"
        assert code == -signal.SIGKILL, context
        total_acked += len(acked)
        assert acked == list(range(len(acked))), context

        # Whatever instant the kill hit, the file on disk is a whole, valid session.
        raw = store.path_for(sid).read_bytes()
        assert raw.endswith(b"}"), context
        on_disk = InteractiveSession.from_json(raw)
        assert on_disk.session_id == sid

        # Every acknowledged message is there, in order, after the next load.
        loaded = InteractiveSessionStore(folder).load(sid)
        got = contents(loaded)
        mine = [c for c in got if c.startswith(f"{tag}:")]
        acked_texts = [f"{tag}:{i}" for i in acked]
        # The message in flight at the kill may or may not have been made durable.
        assert mine in (acked_texts, [*acked_texts, f"{tag}:{len(acked)}"]), context
        expected += mine
        assert got == expected, context
        assert contents(watcher.load(sid)) == expected, context
        # ... and the load brought the snapshot itself up to date.
        assert raw_messages(store, sid) == expected, context

    assert total_acked > 0, f"seed {seed}: no writer got as far as one append"
    # A kill between a log line and its head update must not look like tampering.
    result = audit_of(project).verify()
    assert result.ok, (seed, result)
    assert store.list()[0].session_id == sid
    assert store.bad_files == []
    # Temporary files a killed writer may leave are hidden and never taken for sessions.
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == [f"{sid}.json"]


def test_snapshot_is_brought_up_to_date_after_a_kill_mid_burst(project: Path) -> None:
    store, session = start_session(project)
    sid = session.session_id
    count = 40
    proc = spawn(BURST_WRITER, sessions_dir(project), sid, count, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "done"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    expected = ORIGINALS + [f"burst:{i}" for i in range(count)]
    before = raw_messages(store, sid)
    assert len(before) < len(expected)  # the snapshot lags: the burst is in the audit log only
    assert before == expected[: len(before)]
    assert (project / ".ta" / "state" / "pending" / str(sid)).exists()

    assert contents(InteractiveSessionStore(sessions_dir(project)).load(sid)) == expected
    assert raw_messages(store, sid) == expected  # brought up to date on disk
    assert not (project / ".ta" / "state" / "pending" / str(sid)).exists()
    assert contents(store.load(sid)) == expected


def test_listing_repairs_a_snapshot_left_behind_by_a_killed_writer(project: Path) -> None:
    store, session = start_session(project)
    sid = session.session_id
    count = 25
    proc = spawn(BURST_WRITER, sessions_dir(project), sid, count, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "done"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(raw_messages(store, sid)) < len(ORIGINALS) + count

    summaries = InteractiveSessionStore(sessions_dir(project)).summaries()
    assert summaries[0].message_count == len(ORIGINALS) + count
    assert len(raw_messages(store, sid)) == len(ORIGINALS) + count
    listed = InteractiveSessionStore(sessions_dir(project)).list()
    assert len(listed[0].messages) == len(ORIGINALS) + count


def test_a_state_change_after_a_killed_burst_keeps_the_burst(project: Path) -> None:
    store, session = start_session(project)
    sid = session.session_id
    proc = spawn(BURST_WRITER, sessions_dir(project), sid, 10, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "done"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    # A store that cached the session before the burst must not write its stale copy back.
    updated = store.update(sid, lambda s: s.transition(InteractiveSessionState.PAUSED))
    assert len(updated.messages) == len(ORIGINALS) + 10
    assert raw_messages(store, sid)[-1] == "burst:9"
    assert InteractiveSessionStore(sessions_dir(project)).load(sid).state == "paused"
