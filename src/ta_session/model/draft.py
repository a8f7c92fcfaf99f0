"""Drafts (SPEC §2.3, §7): the changes an agent made, one artifact per changed path, each with
its own disposition. Pure data and rules; building and applying live in ``ta_session.workspace``.

Paths in resource URIs. A file name on Linux is any bytes but ``/`` and NUL, while a draft is
UTF-8 JSON, so a path is written in the URI (``fs://workspace/<path>``) as its bytes with a
percent-escape (``%XX``, upper-case hex) for every byte that is not part of valid UTF-8, for
control characters (C0, DEL, C1) and for ``%`` itself; everything else is kept as it is, so
ordinary names (spaces, accents, backslashes) read as themselves. ``decode_path`` gives back
the exact bytes (as Python's ``surrogateescape`` string, which ``os`` functions accept), so a
name round-trips byte for byte from staging to the draft to the applied file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from ta_session.model.display import visible
from ta_session.model.errors import RecordFormatError, loads_json
from ta_session.model.ids import new_uuid, parse_uuid
from ta_session.model.timestamps import Timestamp

URI_PREFIX = "fs://workspace/"


class DraftStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    DENIED = "denied"
    APPLIED = "applied"
    SUPERSEDED = "superseded"


class ChangeType(StrEnum):
    ADD = "add"
    MODIFY = "modify"
    DELETE = "delete"


class Disposition(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISCUSS = "discuss"


SETID_BITS = 0o6000  # setuid and setgid: dropped on apply unless allowed explicitly

# What a path keeps percent-escaped in a URI: "%", controls, and lone surrogates (the
# surrogateescape form of bytes that are not UTF-8).
_URI_ESCAPED = re.compile("[%\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def _escape_char(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8
        return f"%{code - 0xDC00:02X}"
    return "".join(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass"))


def encode_path(path: str) -> str:
    """A file path (``str`` as ``os`` gives it, maybe with surrogate escapes) in URI form."""
    if _URI_ESCAPED.search(path) is None:
        return path
    return _URI_ESCAPED.sub(lambda m: _escape_char(m.group()), path)


def decode_path(text: str) -> str:
    """The path named by ``encode_path``'s form: ``%XX`` are bytes; a ``%`` followed by
    anything else is kept literally (drafts written before escaping was introduced)."""
    if "%" not in text:
        return text
    raw = bytearray()
    pos = 0
    try:
        for match in _PERCENT.finditer(text):
            raw += text[pos : match.start()].encode("utf-8", "surrogateescape")
            raw.append(int(match.group(1), 16))
            pos = match.end()
        raw += text[pos:].encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise RecordFormatError(f"not a valid path: {text!r}") from None
    return raw.decode("utf-8", "surrogateescape")


def uri_for(path: str) -> str:
    return URI_PREFIX + encode_path(path)


def path_of(uri: str) -> str:
    """The relative path in an ``fs://workspace/…`` URI, still in URI form (not yet checked
    for safety); ``decode_path`` turns it into the file's name."""
    if not uri.startswith(URI_PREFIX):
        raise RecordFormatError(
            f"not a workspace URI: {visible(uri, name=True)!r} (expected {URI_PREFIX}<path>)"
        )
    return uri[len(URI_PREFIX) :]


def show_path(path: str) -> str:
    """A path as a reviewer sees it: one line, every control character and odd byte visible."""
    return visible(path, name=True)


@dataclass(slots=True)
class DraftWarning:
    """Something the reviewer must know that is not a change ``apply`` could write.

    ``kind`` ``outside_write``: a file outside the project, reached through a symlink that was
    in the project when staging was made, changed while the agent worked (without a sandbox
    the agent may have written through the link). ``apply`` never writes outside the project.
    """

    kind: str
    path: str  # the link's path, in URI form (``encode_path``)
    target: str  # where it leads, in URI form
    message: str  # one line, already safe to show

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "target": self.target,
                "message": self.message}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Any) -> DraftWarning:
        if not isinstance(data, dict):
            raise RecordFormatError("a draft warning is not a JSON object")
        return cls(
            str(data.get("kind", "")),
            str(data.get("path", "")),
            str(data.get("target", "")),
            str(data.get("message", "")),
        )


@dataclass(slots=True)
class Artifact:
    resource_uri: str
    change_type: ChangeType
    kind: str = "file"  # file | symlink
    base_hash: str | None = None
    new_hash: str | None = None
    base_size: int | None = None
    new_size: int | None = None
    base_mode: int | None = None
    new_mode: int | None = None
    link_target: str | None = None  # for symlinks: where the new link points
    binary: bool = False
    diff: str | None = None  # unified diff for text; None for binary files and mode-only changes
    disposition: Disposition = Disposition.PENDING
    reason: str | None = None  # why it was rejected
    comment: str | None = None  # the discussion comment
    decided_by: str | None = None
    decided_channel: str | None = None
    decided_at: Timestamp | None = None

    @property
    def path(self) -> str:
        """The file's path relative to the project, as ``os`` functions take it."""
        return decode_path(path_of(self.resource_uri))

    @property
    def shown_path(self) -> str:
        return show_path(self.path)

    @property
    def shown_link_target(self) -> str | None:
        return None if self.link_target is None else show_path(decode_path(self.link_target))

    @property
    def sets_id(self) -> bool:
        """The new file has setuid or setgid bits (dropped on apply unless allowed)."""
        return self.new_mode is not None and bool(self.new_mode & SETID_BITS)

    def describe(self) -> str:
        """One line: what changed, safe to print."""
        what = {"add": "added", "modify": "modified", "delete": "deleted"}[self.change_type]
        extra = []
        if self.kind == "symlink":
            target = self.shown_link_target
            extra.append(f"symlink → {target}" if target else "symlink")
        if self.binary:
            extra.append(f"binary, {self.base_size or 0} → {self.new_size or 0} bytes")
        if (
            self.base_mode is not None
            and self.new_mode is not None
            and self.base_mode != self.new_mode
        ):
            extra.append(f"mode {self.base_mode:o} → {self.new_mode:o}")
        elif (
            self.change_type is ChangeType.ADD
            and self.new_mode is not None
            and self.new_mode & 0o7111  # executable or special: worth a look
        ):
            extra.append(f"mode {self.new_mode:o}")
        if self.sets_id:
            extra.append("SETUID/SETGID: dropped on apply unless --allow-setuid")
        return f"{what:8} {self.shown_path}" + (f"  ({'; '.join(extra)})" if extra else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource_uri": self.resource_uri,
            "change_type": self.change_type.value,
            "kind": self.kind,
            "base_hash": self.base_hash,
            "new_hash": self.new_hash,
            "base_size": self.base_size,
            "new_size": self.new_size,
            "base_mode": _mode_text(self.base_mode),
            "new_mode": _mode_text(self.new_mode),
            "link_target": self.link_target,
            "binary": self.binary,
            "diff": self.diff,
            "disposition": self.disposition.value,
            "reason": self.reason,
            "comment": self.comment,
            "decided_by": self.decided_by,
            "decided_channel": self.decided_channel,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Artifact:
        if not isinstance(data, dict):
            raise RecordFormatError("an artifact is not a JSON object")
        try:
            uri = data["resource_uri"]
            if not isinstance(uri, str):
                raise RecordFormatError("resource_uri must be a string")
            path_of(uri)
            return cls(
                resource_uri=uri,
                change_type=ChangeType(data["change_type"]),
                kind=str(data.get("kind") or "file"),
                base_hash=data.get("base_hash"),
                new_hash=data.get("new_hash"),
                base_size=data.get("base_size"),
                new_size=data.get("new_size"),
                base_mode=_parse_mode(data.get("base_mode")),
                new_mode=_parse_mode(data.get("new_mode")),
                link_target=data.get("link_target"),
                binary=bool(data.get("binary", False)),
                diff=data.get("diff"),
                disposition=Disposition(data.get("disposition", "pending")),
                reason=data.get("reason"),
                comment=data.get("comment"),
                decided_by=data.get("decided_by"),
                decided_channel=data.get("decided_channel"),
                decided_at=Timestamp.parse(data["decided_at"]) if data.get("decided_at") else None,
            )
        except KeyError as exc:
            raise RecordFormatError(f"an artifact lacks the field {exc.args[0]!r}") from None
        except (ValueError, TypeError) as exc:
            raise RecordFormatError(f"a bad artifact: {exc}") from None


def _mode_text(mode: int | None) -> str | None:
    return None if mode is None else f"{mode:04o}"


def _parse_mode(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return int(str(value), 8)


@dataclass(slots=True)
class Draft:
    draft_id: UUID
    goal_id: UUID
    session_id: UUID | None
    summary: str
    status: DraftStatus
    created_at: Timestamp
    updated_at: Timestamp
    artifacts: list[Artifact] = field(default_factory=list)
    applied_at: Timestamp | None = None
    warnings: list[DraftWarning] = field(default_factory=list)

    @classmethod
    def new(
        cls,
        goal_id: UUID,
        session_id: UUID | None,
        summary: str,
        artifacts: list[Artifact],
        warnings: list[DraftWarning] | None = None,
    ) -> Draft:
        now = Timestamp.now()
        status = DraftStatus.PENDING_REVIEW
        return cls(
            new_uuid(), goal_id, session_id, summary, status, now, now, artifacts, None,
            list(warnings or []),
        )  # fmt: skip

    @property
    def short_id(self) -> str:
        return str(self.draft_id)[:8]

    def artifact(self, uri_or_path: str) -> Artifact:
        """The artifact named by its URI, its path (as typed: a name that is not UTF-8 arrives
        from the command line as surrogate escapes), its URI form, or its shown form."""
        for artifact in self.artifacts:
            if uri_or_path in (artifact.resource_uri, artifact.path):
                return artifact
        for artifact in self.artifacts:
            if uri_or_path in (path_of(artifact.resource_uri), artifact.shown_path):
                return artifact
        known = ", ".join(visible(a.resource_uri, name=True) for a in self.artifacts) or "none"
        raise RecordFormatError(
            f"draft {self.short_id} has no artifact {visible(uri_or_path, name=True)!r}"
            f" (artifacts: {known})"
        )

    def is_open(self) -> bool:
        """Still reviewable: not applied and not superseded."""
        return self.status in (
            DraftStatus.PENDING_REVIEW,
            DraftStatus.APPROVED,
            DraftStatus.DENIED,
        )

    def settle_status(self) -> None:
        """Derive the draft's status from its artifacts' dispositions."""
        if not self.is_open():
            return
        dispositions = {a.disposition for a in self.artifacts}
        if Disposition.PENDING in dispositions or Disposition.DISCUSS in dispositions:
            self.status = DraftStatus.PENDING_REVIEW
        elif Disposition.APPROVED in dispositions:
            self.status = DraftStatus.APPROVED
        else:
            self.status = DraftStatus.DENIED

    def to_dict(self) -> dict[str, Any]:
        return {
            "draft_id": str(self.draft_id),
            "goal_id": str(self.goal_id),
            "session_id": str(self.session_id) if self.session_id else None,
            "summary": self.summary,
            "status": self.status.value,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "artifacts": [a.to_dict() for a in self.artifacts],
            "warnings": [w.to_dict() for w in self.warnings],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Any) -> Draft:
        if not isinstance(data, dict):
            raise RecordFormatError("not a JSON object")
        try:
            artifacts = data.get("artifacts") or []
            if not isinstance(artifacts, list):
                raise RecordFormatError("'artifacts' must be a list")
            warnings = data.get("warnings") or []
            if not isinstance(warnings, list):
                raise RecordFormatError("'warnings' must be a list")
            return cls(
                draft_id=parse_uuid(data["draft_id"]),
                goal_id=parse_uuid(data["goal_id"]),
                session_id=parse_uuid(data["session_id"]) if data.get("session_id") else None,
                summary=str(data.get("summary", "")),
                status=DraftStatus(data["status"]),
                created_at=Timestamp.parse(data["created_at"]),
                updated_at=Timestamp.parse(data["updated_at"]),
                artifacts=[Artifact.from_dict(a) for a in artifacts],
                applied_at=Timestamp.parse(data["applied_at"]) if data.get("applied_at") else None,
                warnings=[DraftWarning.from_dict(w) for w in warnings],
            )
        except KeyError as exc:
            raise RecordFormatError(f"missing required field {exc.args[0]!r}") from None
        except ValueError as exc:
            raise RecordFormatError(str(exc)) from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Draft:
        return cls.from_dict(loads_json(text))
