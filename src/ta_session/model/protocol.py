"""The wire types of channels (SPEC §2.2): ``SessionEvent`` out, ``HumanInput`` in.

The JSON shapes of the reference's variants are fixed. Our extensions are new
tags, listed in ``docs/protocol.md``; a reader that does not know a tag rejects
it with a clear error instead of guessing.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar, Protocol, cast, runtime_checkable
from uuid import UUID

from ta_session.model.errors import RecordFormatError, loads_json
from ta_session.model.ids import parse_uuid


class OutputStream(StrEnum):
    STD_OUT = "std_out"
    STD_ERR = "std_err"

    @property
    def label(self) -> str:
        return "stdout" if self is OutputStream.STD_OUT else "stderr"


def _wire(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


class _Tagged:
    """Shared JSON handling for internally tagged unions (serde's ``tag = "..."``)."""

    TAG_KEY: ClassVar[str]
    tag: ClassVar[str]
    _variants: ClassVar[dict[str, type]]
    _uuid_fields: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        # Callers may pass an id as the user typed it (upper case, braced, ...); the wire form
        # must still be the canonical lowercase UUID, and equality must not depend on the form.
        for name in self._uuid_fields:
            value = getattr(self, name)
            if value is not None and not isinstance(value, UUID):
                object.__setattr__(self, name, parse_uuid(value))  # the variants are frozen

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {self.TAG_KEY: self.tag}
        for f in fields(self):  # type: ignore[arg-type]
            out[f.name] = _wire(getattr(self, f.name))
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def _decode(cls, data: Any) -> Any:
        kind = cls.__name__
        if not isinstance(data, dict):
            raise RecordFormatError(f"a {kind} must be a JSON object")
        tag = data.get(cls.TAG_KEY)
        variant = cls._variants.get(tag) if isinstance(tag, str) else None
        if variant is None:
            known = ", ".join(sorted(cls._variants))
            raise RecordFormatError(f"unknown {cls.TAG_KEY} {tag!r} (known: {known})")
        kwargs: dict[str, Any] = {}
        for f in fields(variant):
            if f.name in data:
                kwargs[f.name] = data[f.name]
            elif f.type == "str | None":  # serde reads a missing Option as None
                kwargs[f.name] = None
            elif f.default is MISSING:
                raise RecordFormatError(f"{cls.TAG_KEY} {tag!r} lacks the field {f.name!r}")
            if f.name in kwargs and not _has_type(kwargs[f.name], f.type):
                raise RecordFormatError(f"{cls.TAG_KEY} {tag!r}: {f.name!r} must be {f.type}")
        try:
            return variant._coerce(**kwargs)  # type: ignore[attr-defined]
        except (TypeError, ValueError) as exc:
            raise RecordFormatError(f"{cls.TAG_KEY} {tag!r}: {exc}") from None

    @classmethod
    def _coerce(cls, **kwargs: Any) -> Any:
        for name in cls._uuid_fields:
            if kwargs.get(name) is not None:
                kwargs[name] = parse_uuid(kwargs[name])
        return cls(**kwargs)


def _has_type(value: Any, annotation: Any) -> bool:
    """Check the plain JSON types our variants use; other fields are checked by ``_coerce``."""
    if annotation == "str":
        return isinstance(value, str)
    if annotation == "str | None":
        return value is None or isinstance(value, str)
    if annotation == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation == "bool":
        return isinstance(value, bool)
    return True


# -- SessionEvent: TA → human ---------------------------------------------------------------


class SessionEvent(_Tagged):
    TAG_KEY = "event_type"
    _variants: ClassVar[dict[str, type]] = {}

    def __init_subclass__(cls, tag: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.tag = tag
        SessionEvent._variants[tag] = cls

    @classmethod
    def from_dict(cls, data: Any) -> SessionEvent:
        return cast(SessionEvent, SessionEvent._decode(data))

    @classmethod
    def from_json(cls, text: str | bytes) -> SessionEvent:
        return cls.from_dict(loads_json(text))


@dataclass(frozen=True)
class AgentOutput(SessionEvent, tag="agent_output"):
    stream: OutputStream
    content: str

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.stream, OutputStream):  # "std_out" given as a plain string
            object.__setattr__(self, "stream", OutputStream(self.stream))

    @classmethod
    def _coerce(cls, stream: Any, content: Any) -> AgentOutput:  # type: ignore[override]
        return cls(OutputStream(stream), content)

    def __str__(self) -> str:
        return f"[{self.stream.label}] {self.content}"


@dataclass(frozen=True)
class DraftReady(SessionEvent, tag="draft_ready"):
    draft_id: UUID
    summary: str
    artifact_count: int
    _uuid_fields = ("draft_id",)

    def __str__(self) -> str:
        return f"Draft ready: {self.draft_id} ({self.artifact_count} artifacts) — {self.summary}"


@dataclass(frozen=True)
class GoalComplete(SessionEvent, tag="goal_complete"):
    goal_id: UUID
    _uuid_fields = ("goal_id",)

    def __str__(self) -> str:
        return f"Goal complete: {self.goal_id}"


@dataclass(frozen=True)
class WaitingForInput(SessionEvent, tag="waiting_for_input"):
    prompt: str

    def __str__(self) -> str:
        return f"Waiting for input: {self.prompt}"


@dataclass(frozen=True)
class StatusUpdate(SessionEvent, tag="status_update"):
    message: str

    def __str__(self) -> str:
        return f"Status: {self.message}"


# Extension: the session changed lifecycle state (documented in docs/protocol.md).
@dataclass(frozen=True)
class StateChanged(SessionEvent, tag="state_changed"):
    from_state: str
    to_state: str

    def __str__(self) -> str:
        return f"State: {self.from_state} → {self.to_state}"


# -- HumanInput: human → TA -----------------------------------------------------------------


class HumanInput(_Tagged):
    TAG_KEY = "input_type"
    _variants: ClassVar[dict[str, type]] = {}

    def __init_subclass__(cls, tag: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.tag = tag
        HumanInput._variants[tag] = cls

    @classmethod
    def from_dict(cls, data: Any) -> HumanInput:
        return cast(HumanInput, HumanInput._decode(data))

    @classmethod
    def from_json(cls, text: str | bytes) -> HumanInput:
        return cls.from_dict(loads_json(text))


@dataclass(frozen=True)
class Message(HumanInput, tag="message"):
    text: str

    def __str__(self) -> str:
        return f"Message: {self.text}"


@dataclass(frozen=True)
class Approve(HumanInput, tag="approve"):
    draft_id: UUID
    artifact_uri: str | None = None
    _uuid_fields = ("draft_id",)

    def __str__(self) -> str:
        if self.artifact_uri is not None:
            return f"Approve {self.artifact_uri} in draft {self.draft_id}"
        return f"Approve draft {self.draft_id}"


@dataclass(frozen=True)
class Reject(HumanInput, tag="reject"):
    draft_id: UUID
    artifact_uri: str | None
    reason: str
    _uuid_fields = ("draft_id",)

    def __str__(self) -> str:
        if self.artifact_uri is not None:
            return f"Reject {self.artifact_uri} in draft {self.draft_id}: {self.reason}"
        return f"Reject draft {self.draft_id}: {self.reason}"


@dataclass(frozen=True)
class Abort(HumanInput, tag="abort"):
    # Extension: an optional reason. Omitted from the JSON when absent, so a plain abort keeps
    # the reference's exact shape {"input_type":"abort"}.
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.reason is None:
            del out["reason"]
        return out

    def __str__(self) -> str:
        return "Abort session" if self.reason is None else f"Abort session: {self.reason}"


# Extensions (documented in docs/protocol.md).
@dataclass(frozen=True)
class Discuss(HumanInput, tag="discuss"):
    draft_id: UUID
    artifact_uri: str | None
    comment: str
    _uuid_fields = ("draft_id",)

    def __str__(self) -> str:
        target = f"{self.artifact_uri} in draft" if self.artifact_uri is not None else "draft"
        return f"Discuss {target} {self.draft_id}: {self.comment}"


@dataclass(frozen=True)
class Answer(HumanInput, tag="answer"):
    question_id: str
    text: str

    def __str__(self) -> str:
        return f"Answer {self.question_id}: {self.text}"


@dataclass(frozen=True)
class BuildDraft(HumanInput, tag="build_draft"):
    def __str__(self) -> str:
        return "Build a draft now"


@dataclass(frozen=True)
class Pause(HumanInput, tag="pause"):
    def __str__(self) -> str:
        return "Pause session"


@dataclass(frozen=True)
class Resume(HumanInput, tag="resume"):
    def __str__(self) -> str:
        return "Resume session"


@dataclass(frozen=True)
class Close(HumanInput, tag="close"):
    build_draft: bool = True

    def __str__(self) -> str:
        return "Close session" if self.build_draft else "Close session without a draft"


# -- the channel contract -------------------------------------------------------------------


@runtime_checkable
class SessionChannel(Protocol):
    """A human-facing endpoint: events go out with ``emit``, inputs come back from ``receive``."""

    @property
    def channel_id(self) -> str: ...

    def emit(self, event: SessionEvent) -> None: ...

    def receive(self, timeout: float) -> HumanInput | None: ...
