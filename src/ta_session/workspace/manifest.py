"""The baseline manifest: what each staged file was when the goal started.

For every staged path: its kind (file, symlink, dir), size, mtime (ns), mode, and the SHA-256 of
its content (or of its link target, as it is in the project). A draft build re-hashes only paths
whose size, mtime or mode differ from this record; apply compares the source with the recorded
hashes to find conflicts.

Besides the entries, the manifest keeps what staging decided once and for all:

* ``ignore``: the ignore rules the copy was made with (a draft build uses them, not the
  workspace's ``.gitignore`` files, which the agent may have edited);
* ``links``: the links whose target was rewritten in staging (path → the target written there),
  so that an untouched one is not reported as changed and apply writes the project's target;
* ``outside``: the links that lead outside the project, with what their target was (size,
  times, inode), so that a draft build can report a target that changed while the agent worked.
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


@dataclass(frozen=True, slots=True)
class OutsideLink:
    """A symlink in the project whose target is outside it, kept as a link in staging.

    Without a sandbox, an agent writing through it changes a file that is not the project's and
    that no draft could hold; so staging records what the target was, and a draft build
    reports it if it changed (``target_state``).
    """

    path: str  # the link, relative to the project
    target: str  # the link's text, as in the project
    resolved: str  # the absolute path it led to when staging was made
    state: tuple[int, int, int, int, int] | None  # target_state(resolved) then

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "resolved": self.resolved,
                "state": list(self.state) if self.state is not None else None}  # fmt: skip

    @classmethod
    def from_dict(cls, path: str, data: Any) -> OutsideLink:
        state = data.get("state")
        return cls(
            path,
            str(data["target"]),
            str(data["resolved"]),
            (int(state[0]), int(state[1]), int(state[2]), int(state[3]), int(state[4]))
            if state
            else None,
        )


def target_state(path: str) -> tuple[int, int, int, int, int] | None:
    """What tells that a file was written: (type, size, mtime, ctime, inode); None if absent.

    The ctime is set by the kernel on every write or attribute change and cannot be set back by
    a process, so even a write that restores size and mtime shows.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


class Manifest(dict[str, Entry]):
    """Path (relative, ``/``-separated) → ``Entry``; plus the fixed ignore rules, the rewritten
    links and the outside links (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ignore: dict[str, list[str]] | None = None  # None: an old manifest, read the files
        self.links: dict[str, str] = {}
        self.outside: dict[str, OutsideLink] = {}

    @property
    def outside_links(self) -> list[OutsideLink]:
        """The links leading outside the project that staging kept (for the session log)."""
        return [self.outside[p] for p in sorted(self.outside)]

    def save(self, path: Path) -> None:
        from ta_session.store.atomic import atomic_write
        from ta_session.store.layout import private_dirs

        private_dirs(path.parent)
        data: dict[str, Any] = {
            "version": 1,
            "entries": {p: e.to_list() for p, e in sorted(self.items())},
        }
        if self.ignore is not None:
            data["ignore"] = self.ignore
        if self.links:
            data["links"] = self.links
        if self.outside:
            data["outside"] = {p: o.to_dict() for p, o in sorted(self.outside.items())}
        # ASCII JSON: names that are not UTF-8 are kept as \udcXX escapes, which read back as
        # the same (surrogateescape) strings.
        atomic_write(path, json.dumps(data, separators=(",", ":")).encode())

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_bytes())
            manifest = cls({p: Entry.from_list(v) for p, v in data["entries"].items()})
            ignore = data.get("ignore")
            if ignore is not None:
                manifest.ignore = {str(k): [str(x) for x in v] for k, v in ignore.items()}
            manifest.links = {str(k): str(v) for k, v in (data.get("links") or {}).items()}
            manifest.outside = {
                str(p): OutsideLink.from_dict(str(p), v)
                for p, v in (data.get("outside") or {}).items()
            }
            return manifest
        except FileNotFoundError:
            raise RecordFormatError(f"the baseline manifest {path} is missing") from None
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise RecordFormatError(f"the baseline manifest {path} is unreadable: {exc}") from None
