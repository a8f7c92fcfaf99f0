"""The tamper-evident audit log (SPEC §9): ``.ta/audit.jsonl``.

Each line is one compact JSON object whose ``previous_hash`` is the lowercase hex SHA-256 of
the exact bytes of the previous line (without its newline), ``null`` on the first line.
Appends from any number of processes are serialised with ``flock`` on the log itself and
fsynced before ``append`` returns: an acknowledged event survives a crash.

A small head record (line count and hash of the last line) is updated with each append so that
``verify`` also notices an edited or removed *last* line, which a hash chain alone cannot. It is
kept in two places, ``.ta/state/audit.head`` and ``.ta/audit.head``: a log cut short *and* one
head deleted is still caught by the other, and a log with events but neither head is reported
as unverifiable, never as intact (deleting both is the only way to hide a cut, and that shows).

The head also lets ``verify`` name the line that was edited, not the line after it: when line
``k`` no longer chains to line ``k-1`` but line ``k`` itself is intact (line ``k+1``, or the
head, still vouches for it) and no line is missing (the count matches the head), then line
``k-1`` is the one that changed.
"""

from __future__ import annotations

import errno
import fcntl
import getpass
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from ta_session.model import Timestamp
from ta_session.store.errors import StoreError
from ta_session.store.layout import private_dirs

_TAIL_CHUNK = 64 * 1024


def current_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    event_id: str
    timestamp: str
    actor: str
    channel_id: str | None
    action: str
    session_id: str | None
    goal_id: str | None
    details: dict[str, Any]
    previous_hash: str | None
    line_number: int = 0
    offset: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "timestamp": self.timestamp,
            "actor": self.actor,
            "channel_id": self.channel_id,
            "action": self.action,
            "session_id": self.session_id,
            "goal_id": self.goal_id,
            "details": self.details,
            "previous_hash": self.previous_hash,
        }

    @classmethod
    def from_line(cls, line: bytes, line_number: int = 0, offset: int = 0) -> AuditEvent:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        details = data.get("details")
        return cls(
            event_id=str(data.get("event_id", "")),
            timestamp=str(data.get("timestamp", "")),
            actor=str(data.get("actor", "")),
            channel_id=data.get("channel_id"),
            action=str(data.get("action", "")),
            session_id=data.get("session_id"),
            goal_id=data.get("goal_id"),
            details=details if isinstance(details, dict) else {},
            previous_hash=data.get("previous_hash"),
            line_number=line_number,
            offset=offset,
        )


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    lines: int
    broken_line: int | None = None
    problem: str | None = None


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


class AuditLog:
    def __init__(
        self,
        path: Path,
        *,
        head_path: Path | None = None,
        mirror_path: Path | None = None,
        actor: str | None = None,
    ):
        self.path = Path(path)
        self.head_path = head_path
        # The second copy of the head, next to the log (``.ta/audit.head``), so that removing
        # ``.ta/state/`` (our bookkeeping, much of it a cache) does not lose it.
        if mirror_path is None and head_path is not None:
            mirror_path = self.path.with_suffix(".head")
        self.mirror_path = mirror_path
        self.actor = actor or current_actor()

    def _head_paths(self) -> list[Path]:
        return [p for p in (self.head_path, self.mirror_path) if p is not None]

    def _open_log(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except FileNotFoundError:
            private_dirs(self.path.parent)
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def append(
        self,
        action: str,
        *,
        session_id: UUID | str | None = None,
        goal_id: UUID | str | None = None,
        channel_id: str | None = None,
        details: dict[str, Any] | None = None,
        actor: str | None = None,
        timestamp: Timestamp | None = None,
    ) -> AuditEvent:
        """Append one event durably and return it (with the byte offset it was written at)."""
        try:
            fd = self._open_log()
        except OSError as exc:
            raise StoreError(f"cannot append to the audit log {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            end = os.lseek(fd, 0, os.SEEK_END)
            if end > 0 and not self._ends_with_newline(fd, end):
                # A writer killed in the middle of its write (a write can be cut short by a
                # fatal signal) left part of a line that was never acknowledged: drop it.
                end = self._complete_end(fd, end)
                os.ftruncate(fd, end)
            previous, count = self._last_line(fd, end)
            event = AuditEvent(
                event_id=str(uuid4()),
                timestamp=(timestamp or Timestamp.now()).isoformat(),
                actor=actor or self.actor,
                channel_id=channel_id,
                action=action,
                session_id=str(session_id) if session_id is not None else None,
                goal_id=str(goal_id) if goal_id is not None else None,
                details=details or {},
                previous_hash=line_hash(previous) if previous is not None else None,
                offset=end,
            )
            line = json.dumps(event.to_dict(), ensure_ascii=False, separators=(",", ":"))
            encoded = line.encode("utf-8", "surrogateescape")
            data = encoded + b"\n"
            if os.write(fd, data) != len(data):
                # A short write (the disk filled up): leave no part of a line behind.
                os.ftruncate(fd, end)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(fd)
            self._write_head(count + 1 if count is not None else None, line_hash(encoded))
            return event
        except OSError as exc:
            raise StoreError(f"cannot append to the audit log {self.path}: {exc.strerror}") from exc
        finally:
            os.close(fd)

    # The head records how many lines the log has and the hash of the last one; counting lines
    # on every append would cost O(log size), so the count is carried forward from it.
    @staticmethod
    def _read_head_at(path: Path) -> tuple[int, str] | None:
        try:
            count, digest = path.read_text().split()
            return int(count), digest
        except (OSError, ValueError):
            return None

    def _read_heads(self) -> list[tuple[int, str]]:
        return [h for h in map(self._read_head_at, self._head_paths()) if h is not None]

    def _write_head(self, count: int | None, digest: str) -> None:
        if count is None:
            return
        # A fixed-width record rewritten in place (one small pwrite, under the log's lock) is
        # far cheaper per append than a temporary file and a rename.
        record = f"{count:020d} {digest}\n".encode()
        for path in self._head_paths():
            try:
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
                except FileNotFoundError:
                    private_dirs(path.parent)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
                try:
                    os.pwrite(fd, record, 0)
                    os.ftruncate(fd, len(record))
                finally:
                    os.close(fd)
            except OSError:
                pass  # the head is an extra check, never a reason to fail an append

    def _last_line(self, fd: int, end: int) -> tuple[bytes | None, int | None]:
        """The last complete line and the line count known from the head (None if unknown)."""
        if end == 0:
            return None, 0
        pos = end
        buffer = b""
        while pos > 0:
            step = min(_TAIL_CHUNK, pos)
            pos -= step
            buffer = os.pread(fd, step, pos) + buffer
            stripped = buffer.rstrip(b"\n")
            cut = stripped.rfind(b"\n")
            if cut >= 0 or pos == 0:
                last = stripped[cut + 1 :]
                for count, digest in self._read_heads():
                    if digest == line_hash(last):
                        return last, count
                return last, self._count_lines(fd, end) if self._head_paths() else None
        return None, 0

    @staticmethod
    def _count_lines(fd: int, end: int) -> int:
        count, pos = 0, 0
        while pos < end:
            chunk = os.pread(fd, 1 << 20, pos)
            if not chunk:
                break
            count += chunk.count(b"\n")
            pos += len(chunk)
        if os.pread(fd, 1, end - 1) != b"\n":
            count += 1
        return count

    @staticmethod
    def _complete_end(fd: int, end: int) -> int:
        """The offset just after the last newline before ``end`` (0 if there is none)."""
        pos = end
        while pos > 0:
            step = min(_TAIL_CHUNK, pos)
            pos -= step
            cut = os.pread(fd, step, pos).rfind(b"\n")
            if cut >= 0:
                return pos + cut + 1
        return 0

    @staticmethod
    def _ends_with_newline(fd: int, end: int) -> bool:
        return os.pread(fd, 1, end - 1) == b"\n"

    def events(self, start_offset: int = 0) -> Iterator[AuditEvent]:
        """Events from ``start_offset`` on; lines that do not parse are skipped."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        with handle:
            handle.seek(start_offset)
            offset = start_offset
            for number, raw in enumerate(handle, start=1):
                try:
                    event = AuditEvent.from_line(raw, number, offset)
                except ValueError:
                    event = None  # a torn or foreign line; `verify` reports it
                offset += len(raw)
                if event is not None:
                    yield event

    def verify(self) -> VerifyResult:
        """Recompute the chain; name the first line that is not what the chain says."""
        # The heads are read first: appends only add lines, so a head never claims more lines
        # than the scan below will see, even while other processes append.
        heads = self._read_heads()
        vouched: set[int] = set()  # lines whose hash a head confirms
        previous: bytes | None = None
        number = 0
        broken: int | None = None  # the first line that does not chain
        broken_line: bytes = b""
        after_broken: bytes | None = None  # the line after it, if any
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            handle = None
        if handle is not None:
            with handle:
                for raw in handle:
                    if broken is not None:
                        # Past the break: only count complete lines (and keep the next one).
                        if not raw.endswith(b"\n"):
                            break
                        number += 1
                        if after_broken is None:
                            after_broken = raw.rstrip(b"\n")
                        continue
                    number += 1
                    line = raw.rstrip(b"\n")
                    try:
                        data = json.loads(line)
                    except ValueError:
                        data = None
                    if not isinstance(data, dict) or "previous_hash" not in data:
                        if not raw.endswith(b"\n"):
                            # The tail of an append cut short by a crash: never acknowledged,
                            # dropped by the next append. The head check below still notices
                            # a real last line that was damaged.
                            number -= 1
                            break
                        return VerifyResult(False, number, number, "not a valid audit event")
                    claimed = data["previous_hash"]
                    expected = line_hash(previous) if previous is not None else None
                    if claimed != expected:
                        if previous is None:
                            problem = "the first line must have previous_hash null"
                            return VerifyResult(False, number, number, problem)
                        broken, broken_line = number, line
                        continue
                    for count, digest in heads:
                        if number == count and digest == line_hash(line):
                            vouched.add(number)
                    previous = line
        if broken is not None:
            return self._explain_break(broken, broken_line, after_broken, number, heads)
        if not heads:
            if number > 0 and self._head_paths():
                where = " and ".join(str(p) for p in self._head_paths())
                return VerifyResult(
                    False,
                    number,
                    number,
                    f"the log's head records ({where}) are missing, so lines removed from its"
                    " end could not be noticed",
                )
            return VerifyResult(ok=True, lines=number)
        for count, _digest in heads:
            if count > number:
                return VerifyResult(
                    False,
                    number,
                    number,
                    f"the log ends at line {number} but was last written with {count} lines"
                    " (lines were removed from the end)",
                )
            # Lines after the head's line are fine: the chain covers them, and a writer killed
            # between appending its line and updating the head leaves exactly that.
            if count > 0 and count not in vouched:
                return VerifyResult(
                    False,
                    number,
                    count,
                    f"line {count} is not the line last written there (it was edited)",
                )
        return VerifyResult(ok=True, lines=number)

    @staticmethod
    def _explain_break(
        k: int,
        line: bytes,
        after: bytes | None,
        total: int,
        heads: list[tuple[int, str]],
    ) -> VerifyResult:
        """Line ``k`` does not chain to line ``k-1``: say which line was tampered with.

        If line ``k`` is intact (the next line, or a head, still vouches for its exact bytes)
        the change is before it: line ``k-1`` was edited when no line is missing (the log has
        as many lines as the heads say), else a line was removed before line ``k``. If line
        ``k`` is not intact, it is the one that changed (edited, inserted or moved).
        """
        if after is not None:
            try:
                data = json.loads(after)
                intact = isinstance(data, dict) and data.get("previous_hash") == line_hash(line)
            except ValueError:
                intact = False
        else:
            intact = any(count == k and digest == line_hash(line) for count, digest in heads)
        if intact and heads:
            if total >= max(count for count, _ in heads):
                return VerifyResult(
                    False,
                    total,
                    k - 1,
                    f"line {k - 1} was edited (line {k}, intact, no longer chains to it)",
                )
            return VerifyResult(
                False,
                total,
                k,
                f"previous_hash does not match line {k - 1}: a line was removed before line {k}",
            )
        return VerifyResult(
            False,
            total,
            k,
            f"previous_hash does not match line {k - 1} (a line was edited, deleted or reordered)",
        )
