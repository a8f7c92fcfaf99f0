"""Building a draft (SPEC §7): compare the staging workspace with its baseline manifest.

Only paths whose size, mtime or mode changed are hashed; a file that was touched but has the same
content and mode is not an artifact. Text files get a unified diff; binary files a marker with
sizes and hashes; symlinks and permission changes are artifacts too.
"""

from __future__ import annotations

import difflib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ta_session.model import RecordFormatError
from ta_session.model.draft import Artifact, ChangeType, uri_for
from ta_session.model.errors import TaError
from ta_session.workspace.ignore import walk
from ta_session.workspace.manifest import Entry, Manifest
from ta_session.workspace.staging import digest_bytes, digest_file, digest_link

MAX_DIFF_BYTES = 1 << 20  # larger text files get a size/hash marker instead of a diff
_SNIFF = 8000


class WorkspaceMissing(TaError):
    """The staging folder is gone; the message says which and what to do."""


@dataclass(frozen=True, slots=True)
class Current:
    kind: str
    size: int
    mode: int
    digest: str | None
    link_target: str | None = None


def _current(path: str, st: os.stat_result, baseline: Entry | None) -> Current:
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(path)
        return Current("symlink", st.st_size, mode, digest_link(target), target)
    if baseline is not None and baseline.kind == "file" and baseline.same_stat(st):
        return Current("file", st.st_size, mode, baseline.digest)  # unchanged: no hashing
    return Current("file", st.st_size, mode, digest_file(path))


def compute_changes(
    manifest: Manifest, workspace: Path
) -> list[tuple[str, Entry | None, Current | None]]:
    """(path, baseline entry or None, current state or None) for every changed path."""
    if not workspace.is_dir():
        raise WorkspaceMissing(f"the staging workspace {workspace} no longer exists")
    changes: list[tuple[str, Entry | None, Current | None]] = []
    seen: set[str] = set()
    for rel, entry in walk(workspace):
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            seen.add(rel)
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            continue
        seen.add(rel)
        base = manifest.get(rel)
        if base is not None and base.kind == "dir":
            base = None
        now = _current(entry.path, st, base)
        content_changed = base is None or base.kind != now.kind or base.digest != now.digest
        mode_changed = base is not None and base.mode != now.mode and now.kind == "file"
        if content_changed or mode_changed:
            changes.append((rel, base, now))
    for rel, base in manifest.items():
        if rel not in seen and base.kind != "dir":
            changes.append((rel, base, None))
    return sorted(changes, key=lambda c: c[0])


def _is_binary(data: bytes) -> bool:
    if b"\0" in data[:_SNIFF]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _baseline_content(source: Path, rel: str, base: Entry | None) -> bytes | None:
    """The file as it was at the baseline: the source copy, if it still has that content."""
    if base is None or base.kind != "file":
        return b""
    path = source / rel
    if path.is_symlink():
        return None
    data = _read(path)
    if data is None or digest_bytes(data) != base.digest:
        return None
    return data


def make_artifact(
    rel: str, base: Entry | None, now: Current | None, source: Path, workspace: Path
) -> Artifact:
    if now is None:
        change = ChangeType.DELETE
    elif base is None:
        change = ChangeType.ADD
    else:
        change = ChangeType.MODIFY
    kind = now.kind if now is not None else (base.kind if base is not None else "file")
    artifact = Artifact(
        resource_uri=uri_for(rel),
        change_type=change,
        kind=kind,
        base_hash=base.digest if base else None,
        new_hash=now.digest if now else None,
        base_size=base.size if base else None,
        new_size=now.size if now else None,
        base_mode=base.mode if base and base.kind == "file" else None,
        new_mode=now.mode if now and now.kind == "file" else None,
        link_target=now.link_target if now else None,
    )
    if kind == "symlink" or (now is not None and base is not None and base.digest == now.digest):
        return artifact  # a link, or a mode-only change: nothing to diff
    old = _baseline_content(source, rel, base)
    new = _read(workspace / rel) if now is not None else b""
    if old is None or new is None:
        artifact.diff = None
        artifact.binary = old is not None and _is_binary(old)
        return artifact
    if _is_binary(old) or _is_binary(new):
        artifact.binary = True
        return artifact
    if len(old) + len(new) > MAX_DIFF_BYTES:
        return artifact
    a_name = f"a/{rel}" if change is not ChangeType.ADD else "/dev/null"
    b_name = f"b/{rel}" if change is not ChangeType.DELETE else "/dev/null"
    lines = difflib.unified_diff(
        old.decode("utf-8").splitlines(keepends=True),
        new.decode("utf-8").splitlines(keepends=True),
        fromfile=a_name,
        tofile=b_name,
    )
    artifact.diff = "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
    return artifact


def build_artifacts(manifest: Manifest, source: Path, workspace: Path) -> list[Artifact]:
    try:
        changes = compute_changes(manifest, workspace)
    except OSError as exc:
        raise RecordFormatError(f"cannot read the staging workspace: {exc}") from exc
    return [make_artifact(rel, base, now, source, workspace) for rel, base, now in changes]


def summarize(artifacts: list[Artifact]) -> str:
    counts = {t: sum(1 for a in artifacts if a.change_type is t) for t in ChangeType}
    parts = [
        f"{counts[ChangeType.ADD]} added" if counts[ChangeType.ADD] else "",
        f"{counts[ChangeType.MODIFY]} modified" if counts[ChangeType.MODIFY] else "",
        f"{counts[ChangeType.DELETE]} deleted" if counts[ChangeType.DELETE] else "",
    ]
    return ", ".join(p for p in parts if p) or "no changes"
