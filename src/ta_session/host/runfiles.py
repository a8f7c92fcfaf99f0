"""The files a live host keeps in ``.ta/run/``: its lock, its record and its socket.

``<session_id>.lock`` is held (an exclusive ``flock``) by the one host of a session for its whole
life. A second host for the same session (two ``ta session resume`` racing) finds it taken and
gives up before it touches anything. The kernel releases the lock when the host dies, so a host
killed with SIGKILL never blocks a later resume.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from uuid import UUID

from ta_session.model.errors import TaError
from ta_session.store import Project


class HostRunning(TaError):
    """Another host already runs this session."""


class HostLock:
    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd = fd

    @classmethod
    def acquire(cls, project: Project, session_id: UUID) -> HostLock:
        run_dir = project.layout.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / f"{session_id}.lock"
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by the agent
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                os.close(fd)
                pid = f" (pid {holder})" if holder.isdigit() else ""
                raise HostRunning(f"session {session_id} already has a running host{pid}") from None
            # A host that ended removes its lock file. If that happened between our open and our
            # flock, we hold a lock on a file nobody else will open: start again with the path.
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        with contextlib.suppress(OSError):  # only for the message of a host that loses the race
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        """Remove the lock file, then let go of the lock (in that order: see ``acquire``)."""
        if self._fd < 0:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = -1


def host_is_running(project: Project, session_id: UUID) -> bool:
    """True while a host holds the session's lock. For a command about to treat the session as
    lost (end its agent, remove its run files, start a host): a host that is starting or running
    holds the lock even before its record and socket exist; a dead host's lock is free."""
    try:
        fd = os.open(project.layout.run_dir / f"{session_id}.lock", os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also lets go of the shared lock, if we got it
    return False


def remove_run_files(project: Project, session_id: UUID, lock: HostLock | None) -> None:
    """The host is done: its record, socket and lock go, so nothing shows it as alive."""
    with contextlib.suppress(OSError):
        project.hosts.unregister(session_id)
    if lock is not None:
        with contextlib.suppress(OSError):
            lock.release()


def clear_lost_host(project: Project, session_id: UUID) -> None:
    """A lost host's run files (record, socket, lock) go: nothing shows the session as alive.

    Only for a host known to be gone (``host_is_running`` is false): its lock is free, and a
    host starting after this finds no stale file (``HostLock.acquire`` re-checks the path).
    """
    project.hosts.unregister(session_id)
    (project.layout.run_dir / f"{session_id}.lock").unlink(missing_ok=True)
