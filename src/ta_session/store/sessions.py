"""``InteractiveSessionStore``: session records in ``.ta/interactive_sessions/`` (SPEC §2.1, §3).

Files are exactly the reference's format. Beyond the reference's API the store offers a durable
O(1) ``append_message`` and a locked read-modify-write ``update``.

How appends stay O(1) and lose nothing:

* The durable record of a message is its audit-log line (``action: "message"``, with the
  message's position ``index`` in the session's log), fsynced before ``append_message`` returns.
* The session JSON is a complete snapshot, rewritten at most every 250 ms (or ten times the cost
  of the last rewrite, if that is longer) while messages arrive, and at exit.
* While messages are in the audit log but not yet in the snapshot, a *pending marker*
  (``.ta/state/pending/<id>``) holds the audit-log offset where they start. Whoever opens the
  session next (after a crash, or another process) replays the log from that offset, so the
  snapshot is brought up to date and no acknowledged message is lost.

All writes of one session are serialised by an exclusive lock (``.ta/state/locks/<id>.lock``),
so concurrent writers in different processes never lose each other's updates.
"""

from __future__ import annotations

import atexit
import builtins
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from ta_session.model import (
    InteractiveSession,
    RecordFormatError,
    SessionMessage,
    Timestamp,
    parse_uuid,
)
from ta_session.store.atomic import atomic_write
from ta_session.store.audit import AuditLog
from ta_session.store.errors import NotFoundError, StoreError, bad_file
from ta_session.store.goals import title_reader
from ta_session.store.index import BadFile, SessionIndex, SessionSummary
from ta_session.store.layout import private_dirs
from ta_session.store.locks import exclusive_lock
from ta_session.store.reading import NotARegularFileError, read_regular_file
from ta_session.store.records import resolve_prefix

MIN_SNAPSHOT_INTERVAL = 0.25
# A session file larger than this is refused unread (a reference session of 10,000 messages is
# about 2 MiB; reading and parsing 256 MiB already takes seconds and gigabytes).
MAX_SESSION_FILE_BYTES = 256 << 20
_MAX_MARKER_BYTES = 4096  # "<audit offset> <pid>-<token>"


@dataclass(slots=True)
class _Cached:
    """A session this store object last read or wrote, and how the files looked then."""

    session: InteractiveSession
    identity: tuple[int, int, int] | None  # the snapshot's (mtime_ns, size, inode)
    marker: str | None  # the pending marker's content, if we wrote it
    dirty: bool = False
    last_write: float = 0.0
    write_cost: float = 0.0


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _copy(session: InteractiveSession) -> InteractiveSession:
    return InteractiveSession.from_dict(session.to_dict())


def _read_text(path: Path) -> str | None:
    """A pending marker's content; None if there is none, or if something other than a file is
    in its place (a listing replays markers, and must not wait on a FIFO)."""
    try:
        data = read_regular_file(path, _MAX_MARKER_BYTES, "a pending marker")
    except (FileNotFoundError, NotARegularFileError):
        return None
    return data.decode("utf-8", errors="replace")


class InteractiveSessionStore:
    """Sessions stored as ``<sessions_dir>/<session_id>.json``.

    ``sessions_dir`` is normally ``.ta/interactive_sessions``; the audit log and our own state
    live beside it (``../audit.jsonl`` and ``../state/``) unless given explicitly.
    """

    def __init__(
        self,
        sessions_dir: str | os.PathLike[str],
        *,
        audit: AuditLog | None = None,
        state_dir: Path | None = None,
    ):
        self.sessions_dir = Path(sessions_dir)
        ta_dir = self.sessions_dir.parent
        self.state_dir = Path(state_dir) if state_dir is not None else ta_dir / "state"
        self.audit = audit or AuditLog(
            ta_dir / "audit.jsonl", head_path=self.state_dir / "audit.head"
        )
        self.index = SessionIndex(self.state_dir / "index.sqlite3")
        self.bad_files: list[BadFile] = []  # filled by every listing
        self._cache: dict[UUID, _Cached] = {}
        self._mutex = threading.RLock()
        self._held: set[UUID] = set()
        self._timer: threading.Timer | None = None
        ref = weakref.ref(self)
        atexit.register(_flush_if_alive, ref)

    # -- paths ------------------------------------------------------------------------------

    def path_for(self, session_id: UUID | str) -> Path:
        return self.sessions_dir / f"{parse_uuid(session_id)}.json"

    def _marker_path(self, session_id: UUID) -> Path:
        return self.state_dir / "pending" / str(session_id)

    @contextmanager
    def lock(self, session_id: UUID | str) -> Iterator[None]:
        """Hold the session's exclusive lock (re-entrant within this store object)."""
        locks = self.state_dir / "locks"
        try:
            private_dirs(locks)
        except OSError as exc:
            raise StoreError(f"cannot create {locks}: {exc.strerror}") from exc
        sid = parse_uuid(session_id)
        with self._mutex:
            if sid in self._held:  # re-entrant: flock would deadlock on a second descriptor
                yield
                return
            with exclusive_lock(locks / f"{sid}.lock"):
                self._held.add(sid)
                try:
                    yield
                finally:
                    self._held.discard(sid)

    # -- the reference's API ----------------------------------------------------------------

    def save(self, session: InteractiveSession) -> None:
        with self.lock(session.session_id):
            # The store caches what it wrote; it keeps its own copy so that later, unsaved
            # changes to the caller's object never reach the file through an append or flush.
            self._write(_copy(session))

    def load(self, session_id: UUID | str) -> InteractiveSession:
        """Read a session, first replaying any messages its snapshot has not caught up with."""
        sid = parse_uuid(session_id)
        if not self._marker_path(sid).exists():
            return self._parse(self.path_for(sid))
        try:
            with self.lock(sid):
                return _copy(self._current(sid).session)
        except StoreError:  # read-only project: replay in memory only
            session = self._parse(self.path_for(sid))
            self._replay(session, self._marker_path(sid))
            return session

    def exists(self, session_id: UUID | str) -> bool:
        return self.path_for(session_id).is_file()

    def delete(self, session_id: UUID | str) -> bool:
        sid = parse_uuid(session_id)
        with self.lock(sid):
            self._cache.pop(sid, None)
            self._marker_path(sid).unlink(missing_ok=True)
            try:
                self.path_for(sid).unlink()
            except FileNotFoundError:
                return False
        return True

    def list(self) -> list[InteractiveSession]:
        """Every readable session, newest ``updated_at`` first. Bad files land in ``bad_files``."""
        sessions = []
        for summary in self.summaries():
            try:
                sessions.append(self.load(summary.session_id))
            except StoreError:  # changed since it was indexed; the next listing reports it
                continue
        return sessions

    def list_alive(self) -> builtins.list[InteractiveSession]:
        return [s for s in self.list() if s.is_alive()]

    def find_active_for_goal(self, goal_id: UUID | str) -> InteractiveSession | None:
        gid = parse_uuid(goal_id)
        for summary in self.summaries():
            if summary.goal_id == gid and summary.is_alive():
                return self.load(summary.session_id)
        return None

    # -- our additions ----------------------------------------------------------------------

    def summaries(self) -> builtins.list[SessionSummary]:
        """Fast listing from the index, newest ``updated_at`` first."""
        if not self.sessions_dir.is_dir():
            # Nothing to list, and a listing never creates .ta/ (nor the index inside it).
            self.bad_files = []
            return []
        self._recover_pending()
        summaries, self.bad_files = self.index.refresh(
            self.sessions_dir, self._parse, title_reader(self.sessions_dir.parent / "goals")
        )
        return summaries

    def resolve(self, prefix: str) -> UUID:
        """A full id in any UUID form, or a unique prefix of one."""
        return resolve_prefix(prefix, self._names(), "session")

    def update(
        self, session_id: UUID | str, fn: Callable[[InteractiveSession], object]
    ) -> InteractiveSession:
        """Locked read-modify-write: ``fn`` changes the session in place; it is then saved.

        If ``fn`` raises, nothing is written and the exception propagates.
        """
        sid = parse_uuid(session_id)
        with self.lock(sid):
            cached = self._current(sid)
            working = _copy(cached.session)
            fn(working)
            self._write(working)
            # ``working`` holds every message the snapshot lacked, so nothing is pending now.
            self._marker_path(sid).unlink(missing_ok=True)
            self._cache[sid].marker = None
            return _copy(working)  # ``working`` is now the cached session: never hand it out

    def append_message(
        self,
        session_id: UUID | str,
        sender: str,
        content: str,
        *,
        channel_id: str | None = None,
        timestamp: Timestamp | None = None,
    ) -> SessionMessage:
        """Log a message durably in O(1); the snapshot follows within 250 ms (see module doc)."""
        sid = parse_uuid(session_id)
        with self.lock(sid):
            cached = self._current(sid)
            if cached.marker is None:
                cached.marker = self._write_marker(sid)
            session = cached.session
            message = SessionMessage(sender, content, timestamp or Timestamp.now())
            self.audit.append(
                "message",
                session_id=sid,
                goal_id=session.goal_id,
                channel_id=channel_id or session.channel_id,
                timestamp=message.timestamp,
                details={
                    "sender": sender,
                    "content": content,
                    "timestamp": message.timestamp.isoformat(),
                    "index": len(session.messages),
                },
            )
            session.messages.append(message)
            session.updated_at = message.timestamp
            cached.dirty = True
            if time.monotonic() - cached.last_write >= self._interval(cached):
                self._flush_one(sid, cached)
            else:
                self._schedule_flush(self._interval(cached))
            return message

    def flush(self) -> None:
        """Write every snapshot that has messages not yet in its file."""
        with self._mutex:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            for sid, cached in list(self._cache.items()):
                if cached.dirty:
                    try:
                        with self.lock(sid):
                            current = self._current(sid)
                            if current.dirty:
                                self._flush_one(sid, current)
                    except (StoreError, OSError):
                        pass  # durable in the audit log; the next open replays it

    # -- internals --------------------------------------------------------------------------

    def _names(self) -> builtins.list[str]:
        try:
            return os.listdir(self.sessions_dir)
        except FileNotFoundError:
            return []

    def _parse(self, path: Path) -> InteractiveSession:
        """Read one session file; every listing and every load goes through here, so a file
        gets the same answer (and the same message) from both."""
        try:
            data = read_regular_file(path, MAX_SESSION_FILE_BYTES, "a session file")
        except FileNotFoundError:
            raise NotFoundError(f"No session file {path}.") from None
        try:
            session = InteractiveSession.from_json(data)
        except RecordFormatError as exc:
            raise bad_file(path, str(exc)) from None
        if path.name != f"{session.session_id}.json":
            # A copy or a renamed file: opening it by the id in its name would show another
            # session, and listing it would show its session twice. It is reported instead.
            sid = session.session_id
            raise bad_file(path, f"holds session {sid}, but is not named {sid}.json")
        return session

    def _current(self, sid: UUID) -> _Cached:
        """The up-to-date session (caller holds the lock), from cache when nothing changed."""
        path = self.path_for(sid)
        marker_path = self._marker_path(sid)
        cached = self._cache.get(sid)
        if (
            cached is not None
            and cached.identity == _identity(path)
            and cached.marker == _read_text(marker_path)
        ):
            return cached
        session = self._parse(path)
        replayed = self._replay(session, marker_path)
        fresh = _Cached(session, _identity(path), None)
        if cached is not None:
            fresh.last_write, fresh.write_cost = cached.last_write, cached.write_cost
        self._cache[sid] = fresh
        if replayed:
            self._flush_one(sid, fresh)
        else:
            marker_path.unlink(missing_ok=True)
        return self._cache[sid]

    def _replay(self, session: InteractiveSession, marker_path: Path) -> int:
        """Append audit-logged messages the snapshot lacks; return how many."""
        text = _read_text(marker_path)
        if text is None:
            return 0
        try:
            offset = int(text.split()[0])
        except (ValueError, IndexError):
            offset = 0
        sid = str(session.session_id)
        found: dict[int, SessionMessage] = {}
        for event in self.audit.events(offset):
            if event.action != "message" or event.session_id != sid:
                continue
            details = event.details
            index = details.get("index")
            if not isinstance(index, int) or index < len(session.messages):
                continue
            try:
                stamp = Timestamp.parse(details["timestamp"])
                found[index] = SessionMessage(details["sender"], details["content"], stamp)
            except (KeyError, ValueError, TypeError):
                continue
        for index in sorted(found):
            session.messages.append(found[index])
            session.updated_at = max(session.updated_at, found[index].timestamp)
        return len(found)

    def _write_marker(self, sid: UUID) -> str:
        path = self._marker_path(sid)
        private_dirs(path.parent)
        content = f"{self.audit.size()} {os.getpid()}-{secrets.token_hex(6)}"
        atomic_write(path, content.encode())
        return content

    def _write(self, session: InteractiveSession) -> None:
        """Write a snapshot (caller holds the lock) and remember it."""
        try:
            private_dirs(self.sessions_dir)
            started = time.monotonic()
            atomic_write(self.path_for(session.session_id), session.to_json().encode("utf-8"))
        except OSError as exc:
            raise StoreError(
                f"cannot write session {session.session_id}: {exc.strerror or exc}"
                " (the previous record is intact)"
            ) from exc
        now = time.monotonic()
        previous = self._cache.get(session.session_id)
        marker = previous.marker if previous is not None else None
        self._cache[session.session_id] = _Cached(
            session,
            _identity(self.path_for(session.session_id)),
            marker,
            dirty=False,
            last_write=now,
            write_cost=now - started,
        )

    def _flush_one(self, sid: UUID, cached: _Cached) -> None:
        self._write(cached.session)
        self._marker_path(sid).unlink(missing_ok=True)
        self._cache[sid].marker = None

    @staticmethod
    def _interval(cached: _Cached) -> float:
        return max(MIN_SNAPSHOT_INTERVAL, 10 * cached.write_cost)

    def _schedule_flush(self, delay: float) -> None:
        with self._mutex:
            if self._timer is None or not self._timer.is_alive():
                self._timer = threading.Timer(delay, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def _recover_pending(self) -> None:
        """Bring up to date every snapshot left behind by a writer that died mid-burst."""
        try:
            pending = os.listdir(self.state_dir / "pending")
        except OSError:  # none yet, or a state folder we cannot read: listing must still work
            return
        for name in pending:
            try:
                sid = UUID(name)
            except ValueError:
                continue
            if sid in self._cache and self._cache[sid].dirty:
                continue  # our own burst; the timer writes it
            try:
                with self.lock(sid):
                    self._current(sid)
            except (StoreError, OSError):
                continue


def _flush_if_alive(ref: weakref.ref[InteractiveSessionStore]) -> None:
    """At exit, write any cached sessions of a store that still exists."""
    store = ref()
    if store is not None:
        store.flush()
