"""A summary index of the sessions folder, so listings need not parse every document.

The index (SQLite, ``.ta/state/index.sqlite3``) maps each ``<id>.json`` file to the
``(mtime_ns, size, inode)`` it had when it was last parsed, plus the fields a listing shows.
Every refresh compares it with the folder (one ``scandir`` and one ``stat`` per file) and
re-parses only files that were added or changed; rows of deleted files are dropped. Files
written by anything else, the reference implementation included, are therefore picked up
automatically. Our own writes replace files by rename, so the inode changes even when the
size and a coarse mtime do not.

The index is a cache: deleting it is always safe. If it cannot be written (a read-only
folder), an in-memory index is used for the run.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from ta_session.model import InteractiveSession, InteractiveSessionState, Timestamp
from ta_session.store.layout import private_dirs

_SCHEMA_VERSION = 2  # 2: a file not named after its session is an error row; rebuild old caches
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
    created_ns INTEGER,
    updated_ns INTEGER,
    message_count INTEGER,
    draft_ids TEXT,
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
        )

    def is_alive(self) -> bool:
        return self.state in (InteractiveSessionState.ACTIVE, InteractiveSessionState.PAUSED)


@dataclass(frozen=True, slots=True)
class BadFile:
    """A file in the sessions folder that is not a readable session."""

    path: Path
    reason: str


Parser = Callable[[Path], InteractiveSession]


class SessionIndex:
    def __init__(self, db_path: Path | None):
        self.db_path = db_path
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        db: sqlite3.Connection | None = None
        if self.db_path is not None:
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
            db = sqlite3.connect(":memory:", isolation_level=None)
            db.execute(_SCHEMA)
        self._db = db
        return db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def refresh(self, folder: Path, parse: Parser) -> tuple[list[SessionSummary], list[BadFile]]:
        """Bring the index in line with ``folder`` and return every summary and bad file."""
        on_disk: dict[str, tuple[int, int, int]] = {}
        try:
            entries = os.scandir(folder)
        except FileNotFoundError:
            entries = None
        if entries is not None:
            with entries:
                for entry in entries:
                    name = entry.name
                    if not name.endswith(".json") or name.startswith("."):
                        continue
                    try:
                        st = entry.stat()
                    except FileNotFoundError:
                        continue
                    on_disk[name] = (st.st_mtime_ns, st.st_size, st.st_ino)

        db = self._connect()
        known = {
            row[0]: (row[1], row[2], row[3])
            for row in db.execute("SELECT name, mtime_ns, size, inode FROM sessions")
        }
        stale = [name for name in known if name not in on_disk]
        changed = [name for name, ident in on_disk.items() if known.get(name) != ident]
        if stale or changed:
            rows = [self._row(folder / name, on_disk[name], parse) for name in changed]
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("DELETE FROM sessions WHERE name = ?", [(n,) for n in stale])
                db.executemany(
                    "INSERT OR REPLACE INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
                )
                db.execute("COMMIT")
            except sqlite3.Error:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return self._read_all(db, folder)

    @staticmethod
    def _row(path: Path, ident: tuple[int, int, int], parse: Parser) -> tuple[object, ...]:
        try:
            s = parse(path)
        except Exception as exc:  # any unreadable file is recorded, never fatal
            return (path.name, *ident, *([None] * 9), str(exc))
        if path.name != f"{s.session_id}.json":
            # A copy or a renamed file: it cannot be opened by its id, and listing it would show
            # its session twice, so it is reported instead of silently dropped or duplicated.
            problem = f"{path}: holds session {s.session_id}, but is not named {s.session_id}.json"
            return (path.name, *ident, *([None] * 9), problem)
        drafts = json.dumps([str(d) for d in s.draft_ids])
        return (
            path.name, *ident,
            str(s.session_id), str(s.goal_id), s.channel_id, s.agent_id, s.state.value,
            s.created_at.ns, s.updated_at.ns, len(s.messages), drafts, None,
        )  # fmt: skip

    @staticmethod
    def _read_all(
        db: sqlite3.Connection, folder: Path
    ) -> tuple[list[SessionSummary], list[BadFile]]:
        summaries: list[SessionSummary] = []
        bad: list[BadFile] = []
        rows = db.execute(
            "SELECT name, session_id, goal_id, channel_id, agent_id, state, created_ns,"
            " updated_ns, message_count, draft_ids, error FROM sessions"
            " ORDER BY updated_ns DESC, name"
        )
        states = {s.value: s for s in InteractiveSessionState}
        for name, sid, gid, channel, agent, state, created, updated, count, drafts, error in rows:
            if error is not None:
                bad.append(BadFile(folder / name, error))
                continue
            summaries.append(
                SessionSummary(
                    UUID(sid),
                    UUID(gid),
                    channel,
                    agent,
                    states[state],
                    Timestamp(created),
                    Timestamp(updated),
                    count,
                    tuple(UUID(d) for d in json.loads(drafts)) if drafts != "[]" else (),
                )
            )
        bad.sort(key=lambda b: b.path.name)
        return summaries, bad
