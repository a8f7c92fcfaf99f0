"""Where a session host says it is alive: ``.ta/run/<session_id>.json`` (pid, socket, start).

A listing tells ``live`` from ``lost`` by checking that the recorded pid still runs *and* is the
same process (its start time in ``/proc`` matches), so a recycled pid never looks live.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from ta_session.model.host import HostActivity, HostState
from ta_session.store.atomic import atomic_write
from ta_session.store.errors import StoreError
from ta_session.store.reading import read_regular_file

_MAX_RECORD_BYTES = 1 << 20  # a host record is a few hundred bytes


@dataclass(frozen=True, slots=True)
class HostStatus:
    status: HostState
    pid: int | None = None
    socket: str | None = None
    activity: HostActivity | None = None  # while live

    @property
    def live(self) -> bool:
        return self.status is HostState.LIVE

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "pid": self.pid, "socket": self.socket}


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if it is gone.

    A zombie (exited, not yet reaped by its parent) counts as gone.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        if fields[0] in (b"Z", b"X"):
            return None
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def group_members(pgid: int) -> list[int]:
    """Pids of the live processes in process group ``pgid``."""
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and fields[0] not in (b"Z", b"X") and fields[2] == str(pgid).encode():
            members.append(int(name))
    return members


def pid_is_running(pid: int, start_time: int | None) -> bool:
    if pid <= 0:
        return False
    current = process_start_time(pid)
    if current is None:
        return False
    return start_time is None or current == start_time


class HostRegistry:
    def __init__(self, run_dir: Path):
        self.run_dir = run_dir

    def record_path(self, session_id: UUID) -> Path:
        return self.run_dir / f"{session_id}.json"

    def socket_path(self, session_id: UUID) -> Path:
        return self.run_dir / f"{session_id}.sock"

    def register(self, session_id: UUID, pid: int, **info: Any) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        record = {
            "pid": pid,
            "start_time": process_start_time(pid),
            "socket": str(self.socket_path(session_id)),
            **info,
        }
        atomic_write(self.record_path(session_id), json.dumps(record).encode(), mode=0o600)

    def update(self, session_id: UUID, **info: Any) -> None:
        record = self.read(session_id) or {}
        record.update(info)
        atomic_write(self.record_path(session_id), json.dumps(record).encode(), mode=0o600)

    def unregister(self, session_id: UUID) -> None:
        self.record_path(session_id).unlink(missing_ok=True)
        self.socket_path(session_id).unlink(missing_ok=True)
        (self.run_dir / f"{session_id}.agent.sock").unlink(missing_ok=True)  # its agent's socket

    def read(self, session_id: UUID) -> dict[str, Any] | None:
        try:
            # The reader refuses a FIFO or a device link in run/, which a listing (it reads the
            # record of every session that has one) would otherwise wait on.
            data = json.loads(read_regular_file(self.record_path(session_id), _MAX_RECORD_BYTES))
        except (OSError, ValueError, StoreError):
            return None
        return data if isinstance(data, dict) else None

    def recorded(self) -> set[str]:
        """Ids of the sessions that have a host record (one directory read, for listings)."""
        try:
            return {name[:-5] for name in os.listdir(self.run_dir) if name.endswith(".json")}
        except FileNotFoundError:
            return set()

    def end_lost_agent(self, session_id: UUID) -> bool:
        """Kill what is left of a lost host's agent (its process group); True if it was there.

        The host records the agent's pid and start time; the start time guards against a pid
        that was reused by an unrelated process since.
        """
        import signal

        record = self.read(session_id) or {}
        pid = record.get("agent_pid")
        if not isinstance(pid, int) or pid <= 1:
            return False
        # If the agent is gone (or its pid was reused: then leave well alone), its children may
        # live on in its process group; while any member lives, no other process can take that
        # group id, so the members found are the agent's.
        agent_running = pid_is_running(pid, record.get("agent_start_time"))
        if not agent_running and (process_start_time(pid) is not None or not group_members(pid)):
            return False
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def status(self, session_id: UUID, alive: bool) -> HostStatus:
        """``live`` if a host runs, else ``lost`` (alive session) or ``none`` (finished one)."""
        return self.status_of(session_id, alive, self.read(session_id))

    def status_of(self, session_id: UUID, alive: bool, record: dict[str, Any] | None) -> HostStatus:
        if record is not None:
            pid = record.get("pid")
            if isinstance(pid, int) and pid_is_running(pid, record.get("start_time")):
                activity = record.get("activity")
                return HostStatus(
                    HostState.LIVE,
                    pid,
                    record.get("socket"),
                    HostActivity(activity) if activity in _ACTIVITIES else None,
                )
        return HostStatus(HostState.LOST if alive else HostState.NONE)


_ACTIVITIES = frozenset(a.value for a in HostActivity)
