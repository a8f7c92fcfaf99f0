"""A folder of JSON records named ``<uuid>.json`` (goals, drafts): atomic saves, prefix lookup."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from ta_session.model import RecordFormatError, parse_uuid
from ta_session.store.atomic import atomic_write
from ta_session.store.errors import (
    AmbiguousIdError,
    CorruptRecordError,
    NotFoundError,
    StoreError,
    bad_file,
)
from ta_session.store.index import BadFile
from ta_session.store.layout import private_dirs
from ta_session.store.locks import exclusive_lock
from ta_session.store.reading import read_regular_file


class Record(Protocol):
    def to_json(self) -> str: ...


R = TypeVar("R", bound=Record)

# Goals are small; a draft holds diffs (each at most 1 MiB), so only a size no record reaches.
MAX_RECORD_FILE_BYTES = 1 << 30


def _common_prefix(a: str, b: str) -> int:
    pairs = enumerate(zip(a, b, strict=False))  # not every name is a full UUID
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


def resolve_prefix(prefix: str, names: list[str], kind: str) -> UUID:
    """Match a full id (any UUID form) or a unique prefix against ``<uuid>.json`` names."""
    text = prefix.strip().lower()
    ids = sorted(n[:-5] for n in names if n.endswith(".json") and not n.startswith("."))
    try:
        full = parse_uuid(text)
    except ValueError:
        full = None
    if full is not None:
        if str(full) in ids:
            return full
        raise NotFoundError(f"No {kind} matches {prefix!r}.")
    if not text or any(c not in "0123456789abcdef-" for c in text):
        raise NotFoundError(f"No {kind} matches {prefix!r} (ids are hexadecimal UUIDs).")
    matches = [i for i in ids if i.startswith(text)]
    if not matches:
        raise NotFoundError(f"No {kind} matches {prefix!r}.")
    if len(matches) > 1:
        # Eight characters, or more when the candidates share a longer prefix: each must be
        # shown so that it can be told apart (and typed) from the others.
        # ``matches`` is sorted, so comparing neighbours finds the longest shared prefix.
        width = max(8, *(_common_prefix(a, b) + 1 for a, b in pairwise(matches)))
        shown = ", ".join(m[:width] for m in matches[:10]) + (" …" if len(matches) > 10 else "")
        raise AmbiguousIdError(
            f"{prefix!r} matches {len(matches)} {kind}s ({shown}); give more characters."
        )
    return UUID(matches[0])


class RecordFolder(Generic[R]):
    def __init__(
        self,
        folder: Path,
        kind: str,
        parse: Callable[[bytes], R],
        record_id: Callable[[R], UUID],
        locks_dir: Path,
    ):
        self.folder = Path(folder)
        self.kind = kind
        self._parse = parse
        self._record_id = record_id
        self._locks_dir = locks_dir
        self.bad_files: list[BadFile] = []

    def path_for(self, record_id: UUID | str) -> Path:
        return self.folder / f"{parse_uuid(record_id)}.json"

    def names(self) -> list[str]:
        try:
            return os.listdir(self.folder)
        except FileNotFoundError:
            return []

    def resolve(self, prefix: str) -> UUID:
        return resolve_prefix(prefix, self.names(), self.kind)

    def exists(self, record_id: UUID | str) -> bool:
        return self.path_for(record_id).is_file()

    def save(self, record: R) -> None:
        path = self.path_for(self._record_id(record))
        try:
            private_dirs(self.folder)
            atomic_write(path, record.to_json().encode("utf-8"))
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def load(self, record_id: UUID | str) -> R:
        path = self.path_for(record_id)
        try:
            data = read_regular_file(path, MAX_RECORD_FILE_BYTES, f"a {self.kind} file")
        except FileNotFoundError:
            raise NotFoundError(f"No {self.kind} {record_id}.") from None
        try:
            return self._parse(data)
        except RecordFormatError as exc:
            raise bad_file(path, str(exc)) from None

    def update(self, record_id: UUID | str, fn: Callable[[R], object]) -> R:
        """Locked read-modify-write of one record."""
        rid = parse_uuid(record_id)
        private_dirs(self._locks_dir)
        with exclusive_lock(self._locks_dir / f"{self.kind}-{rid}.lock"):
            record = self.load(rid)
            fn(record)
            self.save(record)
            return record

    def __iter__(self) -> Iterator[R]:
        """Every readable record; unreadable files are collected in ``bad_files``."""
        self.bad_files = []
        for name in sorted(self.names()):
            if not name.endswith(".json") or name.startswith("."):
                continue
            try:
                yield self.load(name[:-5])
            except CorruptRecordError as exc:  # the message after the path: named once
                self.bad_files.append(BadFile(self.folder / name, exc.problem))
            except (StoreError, ValueError) as exc:
                self.bad_files.append(BadFile(self.folder / name, str(exc)))
