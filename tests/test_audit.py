"""The tamper-evident audit log (SPEC §9): the hash chain, verify, concurrent appends, events."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from ta_session.model import Timestamp
from ta_session.store import AuditLog

FIELDS = [
    "event_id", "timestamp", "actor", "channel_id", "action", "session_id", "goal_id", "details",
    "previous_hash",
]  # fmt: skip


def new_log(project: Path) -> AuditLog:
    ta = project / ".ta"
    return AuditLog(ta / "audit.jsonl", head_path=ta / "state" / "audit.head")


def fill(log: AuditLog, count: int) -> None:
    sid, gid = uuid.uuid4(), uuid.uuid4()
    for i in range(count):
        log.append(
            "message",
            session_id=sid,
            goal_id=gid,
            channel_id="cli:1",
            details={"sender": "agent", "content": f"line {i} — ✓", "index": i},
        )


def lines_of(log: AuditLog) -> list[bytes]:
    return log.path.read_bytes().split(b"\n")[:-1]


def write_lines(log: AuditLog, lines: list[bytes]) -> None:
    log.path.write_bytes(b"".join(line + b"\n" for line in lines))


def edited(line: bytes) -> bytes:
    data = json.loads(line)
    data["details"]["content"] = "something else"
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.fixture
def log(project: Path) -> AuditLog:
    log = new_log(project)
    fill(log, 6)
    return log


# -- the chain ------------------------------------------------------------------------------


def test_each_line_chains_to_the_exact_previous_line(log: AuditLog) -> None:
    lines = lines_of(log)
    assert len(lines) == 6
    previous = None
    for line in lines:
        data = json.loads(line)
        expected = hashlib.sha256(previous).hexdigest() if previous is not None else None
        assert data["previous_hash"] == expected
        previous = line
    assert json.loads(lines[0])["previous_hash"] is None


def test_lines_are_compact_json_objects_with_every_field(log: AuditLog) -> None:
    raw = log.path.read_bytes()
    assert raw.endswith(b"\n")
    for line in lines_of(log):
        data = json.loads(line)
        assert list(data) == FIELDS
        assert line == json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        assert len(data["previous_hash"] or "0" * 64) == 64
        assert (data["previous_hash"] or "").lower() == (data["previous_hash"] or "")
        assert Timestamp.parse(data["timestamp"]).isoformat() == data["timestamp"]
        uuid.UUID(data["event_id"])
    assert "✓".encode() in raw  # raw UTF-8


def test_append_returns_the_event_it_wrote(project: Path) -> None:
    log = new_log(project)
    sid, gid = uuid.uuid4(), uuid.uuid4()
    first = log.append("session_started", session_id=sid, goal_id=gid, channel_id="cli:7",
                       details={"agent": "codex"}, actor="alice")  # fmt: skip
    second = log.append("state_changed", session_id=str(sid), details={"from": "a", "to": "b"})
    assert first.offset == 0
    assert second.offset == len(lines_of(log)[0]) + 1
    assert first.previous_hash is None
    assert second.previous_hash == hashlib.sha256(lines_of(log)[0]).hexdigest()
    data = json.loads(lines_of(log)[0])
    assert data["actor"] == "alice"
    assert data["session_id"] == str(sid)
    assert data["goal_id"] == str(gid)
    assert data["channel_id"] == "cli:7"
    assert data["details"] == {"agent": "codex"}
    assert json.loads(lines_of(log)[1])["goal_id"] is None
    assert json.loads(lines_of(log)[1])["actor"]  # the OS user by default


def test_verify_ok_on_an_intact_log(log: AuditLog) -> None:
    result = log.verify()
    assert result.ok
    assert result.lines == 6
    assert result.broken_line is None


def test_verify_of_a_missing_or_empty_log(project: Path) -> None:
    log = new_log(project)
    assert log.verify().ok
    assert log.verify().lines == 0
    fill(log, 1)
    assert log.verify().ok and log.verify().lines == 1


def test_verify_without_a_head_file(project: Path) -> None:
    log = AuditLog(project / ".ta" / "audit.jsonl")
    fill(log, 4)
    assert log.verify().ok
    lines = lines_of(log)
    lines[1] = edited(lines[1])
    write_lines(log, lines)
    assert log.verify().broken_line == 3


# -- tampering ------------------------------------------------------------------------------


@pytest.mark.parametrize("edited_line", [1, 2, 3, 5])
def test_verify_catches_an_edited_middle_line(log: AuditLog, edited_line: int) -> None:
    lines = lines_of(log)
    lines[edited_line - 1] = edited(lines[edited_line - 1])
    write_lines(log, lines)
    result = log.verify()
    assert not result.ok
    # The edited line still claims the right predecessor; the chain breaks at the next line,
    # whose previous_hash no longer matches; that line is intact (the line after it, or the
    # head, vouches for it) and none is missing, so the edited line is the one reported.
    assert result.broken_line == edited_line
    assert f"line {edited_line} was edited" in (result.problem or "")


def test_verify_catches_an_edited_last_line(log: AuditLog) -> None:
    lines = lines_of(log)
    lines[-1] = edited(lines[-1])
    write_lines(log, lines)
    result = log.verify()
    assert not result.ok
    assert result.broken_line == 6


def test_verify_catches_a_changed_previous_hash(log: AuditLog) -> None:
    lines = lines_of(log)
    data = json.loads(lines[3])
    data["previous_hash"] = "0" * 64
    lines[3] = json.dumps(data, separators=(",", ":")).encode()
    write_lines(log, lines)
    assert log.verify().broken_line == 4


@pytest.mark.parametrize("deleted_line", [2, 3, 5])
def test_verify_catches_a_deleted_middle_line(log: AuditLog, deleted_line: int) -> None:
    lines = lines_of(log)
    del lines[deleted_line - 1]
    write_lines(log, lines)
    result = log.verify()
    assert not result.ok
    assert result.broken_line == deleted_line  # the line that moved up no longer fits


def test_verify_catches_a_deleted_first_line(log: AuditLog) -> None:
    write_lines(log, lines_of(log)[1:])
    result = log.verify()
    assert not result.ok
    assert result.broken_line == 1


def test_verify_catches_a_deleted_last_line(log: AuditLog) -> None:
    write_lines(log, lines_of(log)[:-1])
    result = log.verify()
    assert not result.ok
    assert result.broken_line == 5


def test_verify_catches_a_truncated_log(log: AuditLog) -> None:
    write_lines(log, lines_of(log)[:2])
    assert not log.verify().ok


@pytest.mark.parametrize("first", [1, 2, 4, 5])
def test_verify_catches_a_reordered_pair(log: AuditLog, first: int) -> None:
    lines = lines_of(log)
    lines[first - 1], lines[first] = lines[first], lines[first - 1]
    write_lines(log, lines)
    result = log.verify()
    assert not result.ok
    assert result.broken_line == first


def test_verify_catches_a_garbage_line(log: AuditLog) -> None:
    lines = lines_of(log)
    lines.insert(3, b"not json at all")
    write_lines(log, lines)
    result = log.verify()
    assert not result.ok
    assert result.broken_line == 4


def test_a_crash_between_the_line_and_the_head_is_not_tampering(log: AuditLog) -> None:
    """A writer killed after its line is on disk but before the head file is updated."""
    assert log.head_path is not None
    head_before = log.head_path.read_bytes()
    fill(log, 1)
    log.head_path.write_bytes(head_before)  # the head update never happened
    assert log.verify().ok
    assert log.verify().lines == 7
    # The next append carries on from the real end of the log.
    fill(log, 1)
    assert log.verify().ok
    assert log.verify().lines == 8
    assert int(log.head_path.read_text().split()[0]) == 8


def test_a_stale_head_does_not_hide_a_deleted_last_line(log: AuditLog) -> None:
    assert log.head_path is not None
    head_before = log.head_path.read_bytes()
    fill(log, 1)
    log.head_path.write_bytes(head_before)
    write_lines(log, lines_of(log)[:-2])  # now two lines short of what the stale head says
    assert not log.verify().ok


def test_a_torn_last_line_from_a_killed_writer_is_dropped_by_the_next_append(
    log: AuditLog,
) -> None:
    # A write cut short by SIGKILL leaves part of a line that was never acknowledged.
    before = log.path.read_bytes()
    with log.path.open("ab") as handle:
        handle.write(b'{"event_id":"torn')
    assert log.verify().ok  # a crash mid-append is not tampering
    assert log.verify().lines == 6
    fill(log, 1)
    raw = log.path.read_bytes()
    assert raw.startswith(before) and raw.endswith(b"\n")
    assert b"torn" not in raw
    assert json.loads(raw.split(b"\n")[-2])["action"] == "message"
    assert len(list(log.events())) == 7
    assert log.verify().ok


def test_a_damaged_last_line_without_its_newline_is_still_caught(log: AuditLog) -> None:
    raw = log.path.read_bytes()
    log.path.write_bytes(raw[:-1][:-5])  # the last real line cut short, as if edited
    result = log.verify()
    assert not result.ok


def test_append_to_a_log_written_without_a_head(project: Path) -> None:
    plain = AuditLog(project / ".ta" / "audit.jsonl")
    fill(plain, 3)
    with_head = new_log(project)
    fill(with_head, 2)
    assert with_head.verify().ok
    assert with_head.verify().lines == 5
    assert with_head.head_path is not None
    assert int(with_head.head_path.read_text().split()[0]) == 5


# -- events ---------------------------------------------------------------------------------


def test_events_reads_every_event_in_order(log: AuditLog) -> None:
    events = list(log.events())
    assert [e.details["index"] for e in events] == list(range(6))
    assert [e.line_number for e in events] == list(range(1, 7))
    offsets = [e.offset for e in events]
    lines = lines_of(log)
    assert offsets == [sum(len(line) + 1 for line in lines[:i]) for i in range(6)]
    assert all(e.action == "message" for e in events)


def test_events_from_an_offset(log: AuditLog) -> None:
    events = list(log.events())
    for k in range(6):
        later = list(log.events(events[k].offset))
        assert [e.event_id for e in later] == [e.event_id for e in events[k:]]
        assert [e.offset for e in later] == [e.offset for e in events[k:]]
    assert list(log.events(log.size())) == []


def test_events_offsets_match_what_append_returned(project: Path) -> None:
    log = new_log(project)
    written = [log.append("note", details={"i": i}) for i in range(5)]
    read = list(log.events())
    assert [(e.event_id, e.offset) for e in read] == [(e.event_id, e.offset) for e in written]
    assert next(log.events(written[3].offset)).details == {"i": 3}


def test_events_of_a_missing_log(project: Path) -> None:
    assert list(new_log(project).events()) == []
    assert new_log(project).size() == 0


# -- concurrent appends from several processes -----------------------------------------------

APPENDER = """
import sys, time
from pathlib import Path
from ta_session.store import AuditLog
ta, worker, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
log = AuditLog(ta / "audit.jsonl", head_path=ta / "state" / "audit.head")
while not (ta / "go").exists():
    time.sleep(0.002)
for i in range(count):
    log.append("message", channel_id="cli:" + worker, details={"worker": worker, "i": i})
"""


def test_concurrent_appends_from_processes_keep_the_chain(project: Path) -> None:
    ta = project / ".ta"
    workers, count = 5, 60
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(ta), str(w), str(count)])
        for w in range(workers)
    ]
    (ta / "go").touch()
    for p in procs:
        assert p.wait(timeout=60) == 0
    log = new_log(project)
    result = log.verify()
    assert result.ok, result
    assert result.lines == workers * count
    events = list(log.events())
    assert len(events) == workers * count
    for w in range(workers):
        mine = [e.details["i"] for e in events if e.details["worker"] == str(w)]
        assert mine == list(range(count))
    assert log.head_path is not None
    assert int(log.head_path.read_text().split()[0]) == workers * count
