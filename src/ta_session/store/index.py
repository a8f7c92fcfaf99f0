"""A summary index of the sessions folder, so listings need not parse every document.

The index (SQLite, ``.ta/state/index.sqlite3``) maps each ``<id>.json`` file to the
``(mtime_ns, size, inode)`` it had when it was last parsed, plus the fields a listing shows.
Every refresh compares it with the folder (one ``scandir`` and one ``stat`` per file) and
re-parses only files that were added or changed; rows of deleted files are dropped. Files
written by anything else, the reference implementation included, are therefore picked up
automatically. Our own writes replace files by rename, so the inode changes even when the
size and a coarse mtime do not.

The index is a cache: deleting it is always safe. If it cannot be opened or written (a
read-only folder, a full disk, a damaged file), an in-memory index is used for the run.

Nothing in the folder can break a listing: a file that cannot be read, parsed or stored is an
error row (reported once per listing, with its reason, until the file changes), and a write
that fails is rolled back, so the index stays usable in the same process.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from ta_session.model import InteractiveSession, InteractiveSessionState, Timestamp
from ta_session.store.errors import CorruptRecordError, NotFoundError
from ta_session.store.layout import private_dirs

# 2: a file not named after its session is an error row. 3: timestamps as Timestamp.split()
# pairs, exact and sortable for every year the reference can hold (64-bit nanoseconds end in
# 1677 and 2262). Caches of another version are rebuilt.
# 4: the agent's exit code. 5: the listing JSON of each session's own fields, encoded once
# when its file is indexed. 6: the title of the session's goal (read from the goal's file when
# the session's file is indexed).
_SCHEMA_VERSION = 6
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    name TEXT PRIMARY KEY,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    session_id TEXT,
    goal_id TEXT,
    channel_id TEXT,
    agent_id TEXT,
    state TEXT,
    created_s INTEGER,
    created_frac INTEGER,
    updated_s INTEGER,
    updated_frac INTEGER,
    message_count INTEGER,
    draft_ids TEXT,
    exit_code INTEGER,
    json_head TEXT,
    title TEXT,
    error TEXT
)
"""


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """What a listing needs to know about a session, without its messages."""

    session_id: UUID
    goal_id: UUID
    channel_id: str
    agent_id: str
    state: InteractiveSessionState
    created_at: Timestamp
    updated_at: Timestamp
    message_count: int
    draft_ids: tuple[UUID, ...]
    exit_code: int | None = None  # the agent's, once it has exited (listings show a failure)
    # ``head_json`` as the index keeps it, so that a JSON listing of 10,000 sessions does not
    # re-encode what did not change.
    json_head: str | None = field(default=None, compare=False, repr=False)
    # The goal's title as its file had it when this session's file was indexed (None: no goal
    # file, or one without a title). Raw text from a file: ``visible`` before printing it.
    title: str | None = None

    @classmethod
    def of(cls, session: InteractiveSession) -> SessionSummary:
        return cls(
            session.session_id,
            session.goal_id,
            session.channel_id,
            session.agent_id,
            session.state,
            session.created_at,
            session.updated_at,
            len(session.messages),
            tuple(session.draft_ids),
            session.agent_exit_code(),
        )

    def is_alive(self) -> bool:
        return self.state in (InteractiveSessionState.ACTIVE, InteractiveSessionState.PAUSED)

    def own_fields(self) -> dict[str, Any]:
        """The session file's own listing fields, in the file's names and formats."""
        return {
            "session_id": str(self.session_id),
            "goal_id": str(self.goal_id),
            "channel_id": self.channel_id,
            "agent_id": self.agent_id,
            "state": self.state.value,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    def head_json(self) -> str:
        """``own_fields``, ``exit_code`` and ``draft_ids`` as JSON, without the closing brace:
        a listing row continues it with the live fields."""
        if self.json_head is not None:
            return self.json_head
        fields = {
            **self.own_fields(),
            "exit_code": self.exit_code,
            "draft_ids": [str(d) for d in self.draft_ids],
        }
        return _ENCODE(fields)[:-1]


@dataclass(frozen=True, slots=True)
class BadFile:
    """A file in the sessions folder that is not a readable session."""

    path: Path
    reason: str


Parser = Callable[[Path], InteractiveSession]
# A goal's title, None if it has none or no file; never raises (``goals.title_reader``).
TitleOf = Callable[[UUID], str | None]
_NS_PER_SECOND = 1_000_000_000


_INSERT = "INSERT OR REPLACE INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
_NO_FIELDS = (None,) * 14
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
# What binding one row's values can raise: that row's problem, not the index's.
_ROW_ERRORS = (
    OverflowError,
    ValueError,  # UnicodeEncodeError included
    TypeError,
    sqlite3.InterfaceError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
)
Identity = tuple[int, int, int]  # (mtime_ns, size, inode)


class SessionIndex:
    def __init__(self, db_path: Path | None):
        self.db_path = db_path
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        db: sqlite3.Connection | None = None
        # SQLite would block reading a FIFO left at the index's path: only a file is opened.
        if self.db_path is not None and (self.db_path.is_file() or not self.db_path.exists()):
            try:
                private_dirs(self.db_path.parent)
                # Created 0600 before SQLite opens it: its -wal and -shm files take its mode.
                os.close(os.open(self.db_path, os.O_RDWR | os.O_CREAT, 0o600))
                db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version != _SCHEMA_VERSION:
                    db.execute("DROP TABLE IF EXISTS sessions")
                    db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
                db.execute(_SCHEMA)
            except (OSError, sqlite3.Error):
                if db is not None:
                    db.close()
                db = None
        if db is None:  # read-only project: index in memory for this run
            db = _memory_db()
        self._db = db
        return db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def refresh(
        self, folder: Path, parse: Parser, title_of: TitleOf | None = None
    ) -> tuple[list[SessionSummary], list[BadFile]]:
        """Bring the index in line with ``folder`` and return every summary and bad file.

        ``title_of`` gives the goal title kept with a session when its file is (re)indexed. A
        goal's title never changes (nothing rewrites it) and its file is written before its
        first session's, so the title is read once per change of the session's file, never
        per listing.
        """
        on_disk, problems, unnamed = _scan(folder)
        title_of = title_of or _no_title
        try:
            summaries, bad = self._refresh(folder, on_disk, problems, parse, title_of)
        except sqlite3.Error:
            # The index file itself failed (locked past the timeout, a full disk, damaged under
            # us). The transaction was rolled back; it is only a cache, so list from memory.
            self.close()
            self._db = _memory_db()
            summaries, bad = self._refresh(folder, on_disk, problems, parse, title_of)
        if unnamed:
            bad = sorted([*bad, *unnamed], key=lambda b: b.path.name)
        return summaries, bad

    def _refresh(
        self,
        folder: Path,
        on_disk: dict[str, Identity],
        problems: dict[str, str],
        parse: Parser,
        title_of: TitleOf,
        *,
        retry: bool = True,
    ) -> tuple[list[SessionSummary], list[BadFile]]:
        db = self._connect()
        known = {
            row[0]: (row[1], row[2], row[3])
            for row in db.execute("SELECT name, mtime_ns, size, inode FROM sessions")
        }
        gone = [name for name in known if name not in on_disk]
        rows: list[tuple[object, ...]] = []
        for name, ident in on_disk.items():
            if known.get(name) == ident:
                continue
            row = _row(folder / name, ident, parse, problems.get(name), title_of)
            if row is None:  # deleted since the scan
                gone.append(name)
            else:
                rows.append(row)
        if gone or rows:
            self._write(db, gone, rows)
        try:
            return _read_all(db, folder)
        except (ValueError, KeyError, TypeError):
            if not retry:
                raise
            # A row this code did not write (the file edited by hand, or by a build with the
            # same schema number): forget every row and parse the folder afresh.
            db.execute("DELETE FROM sessions")
            return self._refresh(folder, on_disk, problems, parse, title_of, retry=False)

    @staticmethod
    def _write(db: sqlite3.Connection, gone: list[str], rows: list[tuple[object, ...]]) -> None:
        """Apply one refresh in one transaction; on any failure nothing of it is kept."""
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("DELETE FROM sessions WHERE name = ?", [(n,) for n in gone])
            for row in rows:
                try:
                    db.execute(_INSERT, row)
                except _ROW_ERRORS as exc:
                    # One file's values cannot be stored: it is reported, the rest indexed.
                    name, mtime_ns, size, inode = row[:4]
                    problem = f"cannot be indexed: {type(exc).__name__}: {exc}"
                    db.execute(_INSERT, (name, mtime_ns, size, inode, *_NO_FIELDS, problem))
            db.execute("COMMIT")
        except BaseException:
            # Never leave the connection inside a transaction: the next call would fail too.
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


def _memory_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute(_SCHEMA)
    return db


_SIGNED64_END = 1 << 63


def _scan(folder: Path) -> tuple[dict[str, Identity], dict[str, str], list[BadFile]]:
    """The folder's ``*.json`` names with their identities, the problems found without opening
    any file (a dangling link, a ``stat`` that fails), and names SQLite cannot store."""
    on_disk: dict[str, Identity] = {}
    problems: dict[str, str] = {}
    unnamed: list[BadFile] = []
    try:
        entries = os.scandir(folder)
    except FileNotFoundError:
        return on_disk, problems, unnamed
    with entries:
        for entry in entries:
            name = entry.name
            if not name.endswith(".json") or name.startswith("."):
                continue
            if not name.isascii() and not _is_utf8(name):
                # Bytes that are not UTF-8 (Python keeps them as surrogates): no session id is
                # spelled so, and the index cannot store the name. Reported, never opened.
                unnamed.append(BadFile(folder / name, "a file name that is not UTF-8; not read"))
                continue
            try:
                info = entry.stat()  # follows a link; never opens the file
            except OSError as exc:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue  # gone since scandir listed it
                problems[name] = _stat_problem(folder / name, exc)
            inode = info.st_ino
            if inode >= _SIGNED64_END:  # unsigned 64-bit on some file systems; SQLite is signed
                inode -= 1 << 64
            on_disk[name] = (info.st_mtime_ns, info.st_size, inode)
    return on_disk, problems, unnamed


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _stat_problem(path: Path, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        try:
            return f"a symbolic link to {os.readlink(path)}, which does not exist; not read"
        except OSError:
            pass
    return f"cannot read: {exc.strerror or exc}"


def _no_title(goal_id: UUID) -> str | None:
    return None


def _row(
    path: Path, ident: Identity, parse: Parser, problem: str | None, title_of: TitleOf
) -> tuple[object, ...] | None:
    """The index row of one file, an error row if it is not a usable session, or None if the
    file is gone."""
    if problem is None:
        try:
            s = parse(path)
        except NotFoundError:
            return None
        except CorruptRecordError as exc:
            problem = exc.problem
        except Exception as exc:  # any failure is this one file's: reported, never fatal
            problem = f"cannot be read: {type(exc).__name__}: {exc}"
    if problem is not None:
        return (path.name, *ident, *_NO_FIELDS, problem)
    created_s, created_frac = s.created_at.split()
    updated_s, updated_frac = s.updated_at.split()
    drafts = json.dumps([str(d) for d in s.draft_ids])
    head = SessionSummary.of(s).head_json()
    return (
        path.name, *ident,
        str(s.session_id), str(s.goal_id), s.channel_id, s.agent_id, s.state.value,
        created_s, created_frac, updated_s, updated_frac, len(s.messages), drafts,
        s.agent_exit_code(), head, title_of(s.goal_id), None,
    )  # fmt: skip


def _read_all(db: sqlite3.Connection, folder: Path) -> tuple[list[SessionSummary], list[BadFile]]:
    summaries: list[SessionSummary] = []
    bad: list[BadFile] = []
    rows = db.execute(
        "SELECT name, session_id, goal_id, channel_id, agent_id, state, created_s, created_frac,"
        " updated_s, updated_frac, message_count, draft_ids, exit_code, json_head, title, error"
        " FROM sessions"
        " ORDER BY updated_s DESC, updated_frac DESC, name"
    )
    states = {s.value: s for s in InteractiveSessionState}
    ns = _NS_PER_SECOND
    from_split = Timestamp.from_split  # only inside a leap second
    for (
        name, sid, gid, channel, agent, state,
        created_s, created_frac, updated_s, updated_frac, count, drafts, code, head, title,
        error,
    ) in rows:  # fmt: skip
        if error is not None:
            bad.append(BadFile(folder / name, error))
            continue
        # Timestamp.from_split, inlined: this runs twice per session on every listing.
        created = (
            Timestamp(created_s * ns + created_frac)
            if created_frac < ns
            else from_split(created_s, created_frac)
        )
        updated = (
            Timestamp(updated_s * ns + updated_frac)
            if updated_frac < ns
            else from_split(updated_s, updated_frac)
        )
        summaries.append(
            SessionSummary(
                UUID(sid),
                UUID(gid),
                channel,
                agent,
                states[state],
                created,
                updated,
                count,
                tuple(UUID(d) for d in json.loads(drafts)) if drafts != "[]" else (),
                code,
                head,
                title,
            )
        )
    bad.sort(key=lambda b: b.path.name)
    return summaries, bad
