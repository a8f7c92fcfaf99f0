"""The host's writes to the project, none of which may end the session.

Session messages, audit events, state changes, the goal's state and the host record are written
as they happen (SPEC §4.1). A write that fails (a full disk, a read-only folder) is reported when
the failures start and again when writes work once more: to the host's log and, through
``report``, to every channel. The agent keeps running. The store writes atomically (a temporary
file and a rename; an audit line cut back when it is short), so a failed write leaves the
previous records intact, and what could not be recorded is listed in the host's log.

``HostLog`` is that log: the host's stderr, ``.ta/run/<session_id>.log``. A line it cannot write
now (the log is on the same full disk) is kept and written with the next one.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from ta_session.model import GoalState, InteractiveSessionState, Timestamp
from ta_session.model.errors import RecordFormatError
from ta_session.store import Project
from ta_session.store.errors import StoreError
from ta_session.store.project import StateChange

T = TypeVar("T")
MAX_PENDING_LOG = 500  # lines kept while the log cannot be written


def safe_text(text: str) -> str:
    """``text`` as valid Unicode: lone surrogates (which no file can hold) become U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


class HostLog:
    def __init__(self, fd: int = 2):
        self.fd = fd
        self._pending: deque[bytes] = deque(maxlen=MAX_PENDING_LOG)

    def write(self, text: str) -> None:
        line = f"{Timestamp.now().isoformat()} {safe_text(text)}\n"
        self._pending.append(line.encode("utf-8"))
        self.flush()

    def flush(self) -> None:
        while self._pending:
            try:
                written = os.write(self.fd, self._pending[0])
            except OSError:
                return  # kept for the next try
            if written < len(self._pending[0]):
                self._pending[0] = self._pending[0][written:]
                return
            self._pending.popleft()


class Records:
    def __init__(
        self,
        project: Project,
        session_id: UUID,
        goal_id: UUID,
        *,
        log: HostLog,
        report: Callable[[str], None] = lambda text: None,
    ):
        self.project = project
        self.session_id = session_id
        self.goal_id = goal_id
        self.log = log
        self.report = report
        self.failing: str | None = None  # what could not be written, while writes fail

    def _attempt(self, what: str, write: Callable[[], T], lost: str = "") -> T | None:
        try:
            result = write()
        except (OSError, StoreError, RecordFormatError, UnicodeError) as exc:
            reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
            self.log.write(
                f"cannot write {what}: {reason}" + (f"; not recorded: {lost}" if lost else "")
            )
            if self.failing is None:
                self.failing = what
                self.report(
                    f"cannot write {what}: {reason}. The agent keeps running; what is "
                    "not recorded is listed in the host's log"
                )
            return None
        if self.failing is not None:
            self.failing = None
            self.log.write("records are written again")
            self.report("records are written again")
        return result

    def message(
        self,
        sender: str,
        content: str,
        *,
        channel_id: str | None,
        timestamp: Timestamp | None = None,
    ) -> bool:
        content = safe_text(content)
        return (
            self._attempt(
                "the session log",
                lambda: self.project.sessions.append_message(
                    self.session_id, sender, content, channel_id=channel_id, timestamp=timestamp
                ),
                lost=f"{sender} ({channel_id}): {content}",
            )
            is not None
        )

    def audit(self, action: str, channel_id: str, details: dict[str, Any]) -> bool:
        details = {k: safe_text(v) if isinstance(v, str) else v for k, v in details.items()}
        return (
            self._attempt(
                "the audit log",
                lambda: self.project.audit.append(
                    action,
                    session_id=self.session_id,
                    goal_id=self.goal_id,
                    channel_id=channel_id,
                    details=details,
                ),
                lost=f"{action} by {channel_id} {details}",
            )
            is not None
        )

    def change_state(
        self, target: InteractiveSessionState, *, channel_id: str, note: str | None
    ) -> StateChange | None:
        """The change made, or None when it could not be written. An invalid transition raises
        ``SessionChannelError`` (and changes nothing), as in the store."""
        return self._attempt(
            "the session state",
            lambda: self.project.change_state(
                self.session_id,
                target,
                channel_id=channel_id,
                note=safe_text(note) if note else note,
            ),
            lost=f"state → {target.value} ({note})",
        )

    def goal_state(self, state: GoalState) -> bool:
        def apply(goal: Any) -> None:
            goal.state = state

        return (
            self._attempt(
                "the goal's state",
                lambda: self.project.goals.update(self.goal_id, apply),
                lost=f"goal → {state.value}",
            )
            is not None
        )

    def host(self, **info: Any) -> None:
        """Update the host record (``.ta/run/<session_id>.json``)."""
        self._attempt("the host record", lambda: self.project.hosts.update(self.session_id, **info))

    def register(self, pid: int, **info: Any) -> None:
        self._attempt(
            "the host record", lambda: self.project.hosts.register(self.session_id, pid, **info)
        )

    def flush(self) -> None:
        """Write the session snapshot now (messages are durable in the audit log already)."""
        self._attempt("the session file", self.project.sessions.flush)
