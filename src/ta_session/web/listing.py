"""The session list as JSON text, for ``GET /api/sessions`` and the live list (``events.py``).

Building the list means refreshing the summary index (one ``stat`` per session file and a read
of every row), reading the hosts' records and the drafts' statuses and encoding each row: tens
of milliseconds with 1,000 sessions, on every call. Most calls find nothing changed, so the
encoded rows of the last build are kept and served again while all of these hold:

* the folders whose files make up the list (``interactive_sessions/``, ``run/``, ``drafts/``)
  have the mtimes they had before that build: the store, the hosts (their records) and the
  drafts replace files by rename, which changes the folder's mtime;
* no request to this server changed anything since (every POST forgets the rows);
* the build is younger than ``MAX_AGE``, the live list's interval: what no folder mtime shows
  (a session file edited in place by another program, a host that died without removing its
  record) shows up within that time, as it always did on the live list;
* each folder's mtime was at least ``RACY`` old when it was read: a write within the same
  tick of a coarse file-system clock may leave the mtime unchanged, so such a build is used
  for its own call only.

Rows are encoded with ``SessionRow.to_json_text``, which reuses the JSON the summary index
keeps for each session; only ``elapsed_seconds`` of a live session is written per call.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from ta_session.model import Timestamp
from ta_session.service.lifecycle import SessionService
from ta_session.service.views import elapsed_seconds
from ta_session.store import Project, SessionSummary

MAX_AGE = 0.5  # seconds a build is served without being rebuilt (events.INTERVAL)
RACY = 0.05  # seconds: a folder changed more recently than this may change again unseen
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True, slots=True)
class _Row:
    alive: bool
    text: str  # the whole row (finished) or all of it but the elapsed time and '}' (alive)
    created_ns: int


@dataclass(frozen=True, slots=True)
class _Build:
    rows: list[_Row]
    folders: tuple[int, ...]  # the folders' mtimes before the build
    at: float  # time.monotonic() of the build
    reusable: bool  # False: a folder was too fresh to trust its mtime


class Listing:
    """The encoded session list of one project, reused between changes (module docstring)."""

    def __init__(self, title: Callable[[Project, UUID], str | None]):
        self._title = title
        self._lock = threading.Lock()
        self._build: _Build | None = None

    def forget(self) -> None:
        """Something changed through this server: the next call builds afresh."""
        self._build = None

    def text(self, project: Project, include_finished: bool) -> str:
        """The JSON array of ``ta session list --json`` rows plus ``title`` and
        ``elapsed_seconds``, newest activity first; live sessions only unless
        ``include_finished``."""
        build = self._current(project)
        now = time.time_ns()
        parts = []
        for row in build.rows:
            if row.alive:
                elapsed = max(0, (now - row.created_ns) // 1_000_000_000)
                parts.append(f"{row.text}{elapsed}}}")
            elif include_finished:
                parts.append(row.text)
        return "[" + ", ".join(parts) + "]"

    def _current(self, project: Project) -> _Build:
        with self._lock:  # one build at a time; the others wait for it and share it
            build = self._build
            folders = _folder_mtimes(project)
            if (
                build is not None
                and build.reusable
                and build.folders == folders
                and time.monotonic() - build.at < MAX_AGE
            ):
                return build
            build = self._make(project, folders)
            self._build = build
            return build

    def _make(self, project: Project, folders: tuple[int, ...]) -> _Build:
        started = time.monotonic()
        fresh = time.time_ns() - int(RACY * 1e9)
        service = SessionService(project, "web:list")
        drafts = service.drafts()
        now = Timestamp.now()
        rows = []
        for row in service.rows(include_finished=True):
            summary = row.summary
            text = row.to_json_text(drafts)[:-1]
            # The summary index keeps each goal's title (the CLI's listing shows the same).
            title = row.title
            if title is None and not isinstance(summary, SessionSummary):
                title = self._title(project, summary.goal_id)
            text = f'{text}, "title": {_ENCODE(title)}, "elapsed_seconds": '
            alive = summary.is_alive()
            if not alive:
                text = f"{text}{elapsed_seconds(summary, now)}}}"
            rows.append(_Row(alive, text, summary.created_at.ns))
        reusable = all(mtime < fresh for mtime in folders)
        return _Build(rows, folders, started, reusable)


def _folder_mtimes(project: Project) -> tuple[int, ...]:
    layout = project.layout
    out = []
    for folder in (layout.sessions_dir, layout.run_dir, layout.drafts_dir):
        out.append(_mtime(folder))
    return tuple(out)


def _mtime(folder: Path) -> int:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return -1  # missing: a folder that appears later changes the key
