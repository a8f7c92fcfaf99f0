"""The interactive session record and its rules (SPEC §2.1).

The JSON produced here is byte-compatible with the reference implementation:
fields in declaration order, empty lists omitted, unknown keys carried through
at the place they were found.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from ta_session.model.errors import RecordFormatError, SessionChannelError, loads_json
from ta_session.model.ids import new_uuid, parse_uuid
from ta_session.model.timestamps import Timestamp

AGENT_EXITED = "Agent exited with code "  # the host's message when the agent ends


class InteractiveSessionState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ABORTED = "aborted"

    def __str__(self) -> str:
        return self.value


_VALID_TRANSITIONS = frozenset(
    {
        (InteractiveSessionState.ACTIVE, InteractiveSessionState.PAUSED),
        (InteractiveSessionState.ACTIVE, InteractiveSessionState.COMPLETED),
        (InteractiveSessionState.ACTIVE, InteractiveSessionState.ABORTED),
        (InteractiveSessionState.PAUSED, InteractiveSessionState.ACTIVE),
        (InteractiveSessionState.PAUSED, InteractiveSessionState.ABORTED),
    }
)

SESSION_FIELDS = (
    "session_id",
    "goal_id",
    "channel_id",
    "agent_id",
    "state",
    "created_at",
    "updated_at",
    "messages",
    "draft_ids",
)
_REQUIRED_FIELDS = SESSION_FIELDS[:7]
MESSAGE_FIELDS = ("sender", "content", "timestamp")

_OMIT = object()  # marks a field the reference leaves out (an empty list)

# An unknown key remembers the known field it followed, so it is written back in place.
Extras = list[tuple[str, Any, str | None]]


def split_extras(data: dict[str, Any], known: tuple[str, ...]) -> Extras:
    extras: Extras = []
    anchor: str | None = None
    for key, value in data.items():
        if key in known:
            anchor = key
        else:
            extras.append((key, value, anchor))
    return extras


def merge_extras(known: list[tuple[str, Any]], extras: Extras) -> dict[str, Any]:
    """Known ``(key, value)`` pairs in order, each followed by the extras anchored to it."""
    out: dict[str, Any] = {k: v for k, v, anchor in extras if anchor is None}
    for key, value in known:
        if value is not _OMIT:
            out[key] = value
        for extra_key, extra_value, anchor in extras:
            if anchor == key:
                out[extra_key] = extra_value
    return out


def _parse_state(value: Any) -> InteractiveSessionState:
    try:
        return InteractiveSessionState(value)
    except ValueError:
        raise RecordFormatError(f"unknown session state {value!r}") from None


def coerce_state(value: InteractiveSessionState | str) -> InteractiveSessionState:
    if isinstance(value, InteractiveSessionState):
        return value
    try:
        return InteractiveSessionState(str(value).lower())
    except ValueError:
        names = ", ".join(s.value for s in InteractiveSessionState)
        raise SessionChannelError(f"unknown session state {value!r} (expected {names})") from None


@dataclass(slots=True)
class SessionMessage:
    sender: str
    content: str
    timestamp: Timestamp
    extra: Extras = field(default_factory=list, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        known = [
            ("sender", self.sender),
            ("content", self.content),
            ("timestamp", self.timestamp.isoformat()),
        ]
        return merge_extras(known, self.extra)

    @classmethod
    def from_dict(cls, data: Any) -> SessionMessage:
        if not isinstance(data, dict):
            raise RecordFormatError("a message is not a JSON object")
        for key in MESSAGE_FIELDS:
            if key not in data:
                raise RecordFormatError(f"a message lacks the field {key!r}")
        sender, content = data["sender"], data["content"]
        if not isinstance(sender, str) or not isinstance(content, str):
            raise RecordFormatError("a message's sender and content must be strings")
        try:
            stamp = Timestamp.parse(data["timestamp"])
        except ValueError as exc:
            raise RecordFormatError(f"a message has a bad timestamp: {exc}") from None
        return cls(sender, content, stamp, split_extras(data, MESSAGE_FIELDS))


@dataclass(slots=True)
class InteractiveSession:
    session_id: UUID
    goal_id: UUID
    channel_id: str
    agent_id: str
    state: InteractiveSessionState
    created_at: Timestamp
    updated_at: Timestamp
    messages: list[SessionMessage] = field(default_factory=list)
    draft_ids: list[UUID] = field(default_factory=list)
    extra: Extras = field(default_factory=list, compare=False, repr=False)

    # -- the reference's methods ------------------------------------------------------------

    @classmethod
    def new(cls, goal_id: UUID | str, channel_id: str, agent_id: str) -> InteractiveSession:
        now = Timestamp.now()
        return cls(
            session_id=new_uuid(),
            goal_id=parse_uuid(goal_id),
            channel_id=channel_id,
            agent_id=agent_id,
            state=InteractiveSessionState.ACTIVE,
            created_at=now,
            updated_at=now,
        )

    def log_message(self, sender: str, content: str) -> SessionMessage:
        message = SessionMessage(sender, content, Timestamp.now())
        self.messages.append(message)
        self.updated_at = message.timestamp
        return message

    def add_draft(self, draft_id: UUID | str) -> None:
        draft_id = parse_uuid(draft_id)
        if draft_id not in self.draft_ids:
            self.draft_ids.append(draft_id)
        self.updated_at = Timestamp.now()

    def transition(self, new_state: InteractiveSessionState | str) -> None:
        target = coerce_state(new_state)
        if (self.state, target) not in _VALID_TRANSITIONS:
            raise SessionChannelError(f"invalid session transition from {self.state} to {target}")
        self.state = target
        self.updated_at = Timestamp.now()

    def is_alive(self) -> bool:
        return self.state in (InteractiveSessionState.ACTIVE, InteractiveSessionState.PAUSED)

    @property
    def exit_code(self) -> int | None:
        """As ``SessionSummary.exit_code``: the agent's exit code, once known."""
        return self.agent_exit_code()

    def agent_exit_code(self) -> int | None:
        """The agent's exit code (128+N: killed by signal N) from the host's "Agent exited with
        code N" message, or None (still running, never launched, or no code known)."""
        for message in reversed(self.messages):
            if message.sender == "ta-system" and message.content.startswith(AGENT_EXITED):
                code = message.content.removeprefix(AGENT_EXITED)
                return int(code) if code.lstrip("-").isdigit() else None
        return None

    def elapsed_seconds(self, now: Timestamp | None = None) -> int:
        now = now or Timestamp.now()
        return max(0, (now.ns - self.created_at.ns) // 1_000_000_000)

    def elapsed_display(self, now: Timestamp | None = None) -> str:
        return format_elapsed(self.elapsed_seconds(now))

    @property
    def short_id(self) -> str:
        return str(self.session_id)[:8]

    # -- the file format --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        known: list[tuple[str, Any]] = [
            ("session_id", str(self.session_id)),
            ("goal_id", str(self.goal_id)),
            ("channel_id", self.channel_id),
            ("agent_id", self.agent_id),
            ("state", self.state.value),
            ("created_at", self.created_at.isoformat()),
            ("updated_at", self.updated_at.isoformat()),
            ("messages", [m.to_dict() for m in self.messages] if self.messages else _OMIT),
            ("draft_ids", [str(d) for d in self.draft_ids] if self.draft_ids else _OMIT),
        ]
        return merge_extras(known, self.extra)

    def to_json(self) -> str:
        """The reference's exact bytes (as text): pretty JSON, raw UTF-8, no trailing newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Any) -> InteractiveSession:
        if not isinstance(data, dict):
            raise RecordFormatError("not a JSON object")
        missing = [key for key in _REQUIRED_FIELDS if key not in data]
        if missing:
            raise RecordFormatError(f"missing required field {missing[0]!r}")
        for key in ("channel_id", "agent_id"):
            if not isinstance(data[key], str):
                raise RecordFormatError(f"field {key!r} must be a string")
        try:
            session_id = parse_uuid(data["session_id"])
            goal_id = parse_uuid(data["goal_id"])
            created_at = Timestamp.parse(data["created_at"])
            updated_at = Timestamp.parse(data["updated_at"])
            draft_ids = [parse_uuid(d) for d in _as_list(data.get("draft_ids"), "draft_ids")]
        except ValueError as exc:
            raise RecordFormatError(str(exc)) from None
        messages = [SessionMessage.from_dict(m) for m in _as_list(data.get("messages"), "messages")]
        return cls(
            session_id=session_id,
            goal_id=goal_id,
            channel_id=data["channel_id"],
            agent_id=data["agent_id"],
            state=_parse_state(data["state"]),
            created_at=created_at,
            updated_at=updated_at,
            messages=messages,
            draft_ids=draft_ids,
            extra=split_extras(data, SESSION_FIELDS),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> InteractiveSession:
        data = loads_json(text)
        escaped = (
            _ESCAPED_SURROGATE.search(text)
            if isinstance(text, str)
            else _ESCAPED_SURROGATE_BYTES.search(text)
        )
        if escaped:
            _refuse_lone_surrogates(data)
        return cls.from_dict(data)


# ``\ud800``–``\udfff`` escapes: a pair is one character, a lone one is no character at all.
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_ESCAPED_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_lone_surrogates(data: Any) -> None:
    """Refuse a string holding half of a UTF-16 surrogate pair.

    Python's ``json`` reads one, but the reference (serde_json) refuses the file, and UTF-8
    cannot hold it: the index, the terminal and the next save would all fail on it later.
    """
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise RecordFormatError(
                    f"a string holds an unpaired UTF-16 surrogate escape: {item[:40]!r}"
                )
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _as_list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordFormatError(f"field {name!r} must be a list")
    return value


def format_elapsed(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60}s"
    return f"{seconds // 3600}h {(seconds % 3600) // 60}m"
