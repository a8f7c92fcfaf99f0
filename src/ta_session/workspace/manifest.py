"""The baseline manifest: what each staged file was when the goal started.

For every staged path: its kind (file, symlink, dir), size, mtime (ns), mode, and the SHA-256 of
its content (or of its link target). A draft build re-hashes only paths whose size, mtime or
mode differ from this record; apply compares the source with the recorded hashes to find
conflicts.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ta_session.model import RecordFormatError


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str  # file | symlink | dir
    size: int
    mtime_ns: int
    mode: int  # permission bits
    digest: str | None  # "sha256:<hex>" for files and symlinks; None for folders

    def same_stat(self, st: os.stat_result) -> bool:
        return (
            self.size == st.st_size
            and self.mtime_ns == st.st_mtime_ns
            and self.mode == stat.S_IMODE(st.st_mode)
        )

    def to_list(self) -> list[Any]:
        return [self.kind, self.size, self.mtime_ns, self.mode, self.digest]

    @classmethod
    def from_list(cls, value: Any) -> Entry:
        kind, size, mtime_ns, mode, digest = value
        return cls(str(kind), int(size), int(mtime_ns), int(mode), digest)


class Manifest(dict[str, Entry]):
    """Path (relative, ``/``-separated) → ``Entry``."""

    def save(self, path: Path) -> None:
        from ta_session.store.atomic import atomic_write

        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": 1, "entries": {p: e.to_list() for p, e in sorted(self.items())}}
        atomic_write(path, json.dumps(data, separators=(",", ":")).encode())

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_bytes())
            entries = data["entries"]
            return cls({p: Entry.from_list(v) for p, v in entries.items()})
        except FileNotFoundError:
            raise RecordFormatError(f"the baseline manifest {path} is missing") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise RecordFormatError(f"the baseline manifest {path} is unreadable: {exc}") from None
