"""Building a draft (SPEC §7): compare the staging workspace with its baseline manifest.

Only paths whose size, mtime or mode changed are hashed; a file that was touched but has the same
content and mode is not an artifact. Text files get a unified diff; binary files a marker with
sizes and hashes; symlinks and permission changes are artifacts too.

Nothing here holds a whole file in memory: files are hashed by streaming, and a diff is only
made when both sides together are at most ``MAX_DIFF_BYTES``; a larger file is reviewed like a
binary one, by sizes and hashes (a 20 GiB file costs one streamed hash, not 20 GiB of RAM).

The workspace is walked with the ignore rules recorded when staging was made (see ``ignore``),
and links that staging re-pointed are mapped back to the project's own targets (see
``staging``). Links leading outside the project whose target changed while the agent worked
become draft warnings (``outside_writes``): apply never writes there, but the reviewer is told.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ta_session.model import RecordFormatError
from ta_session.model.display import visible
from ta_session.model.draft import (
    Artifact,
    ChangeType,
    DraftWarning,
    encode_path,
    show_path,
    uri_for,
)
from ta_session.model.errors import TaError
from ta_session.workspace.ignore import walk
from ta_session.workspace.manifest import Entry, Manifest, target_state
from ta_session.workspace.staging import digest_bytes, digest_file, digest_link

MAX_DIFF_BYTES = 1 << 20  # larger files get a size/hash marker instead of a diff
_SNIFF = 8000
_LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")


class WorkspaceMissing(TaError):
    """The staging folder is gone; the message says which and what to do."""


@dataclass(frozen=True, slots=True)
class Current:
    kind: str
    size: int
    mode: int
    digest: str | None
    link_target: str | None = None  # for links: the target as it would be in the project


def _inside(path: str, root: str) -> str | None:
    root = root.rstrip("/")
    if path == root:
        return ""
    return path[len(root) + 1 :] if path.startswith(root + "/") else None


def project_link_target(
    rel: str, staged: str, manifest: Manifest, workspace: Path, source: Path | None
) -> str | None:
    """The target a staged link has in the project's terms; None if it is the baseline's.

    A link staging re-pointed, still as staging wrote it, is the baseline link. An absolute
    link into the staging folder (the agent's ``ln -s $PWD/x y``) means the same path in the
    project: a draft must never make the project point into ``.ta/staging``.
    """
    if manifest.links.get(rel) == staged:
        return None
    if source is not None and os.path.isabs(staged):
        inner = _inside(os.path.normpath(staged), os.path.abspath(workspace))
        if inner is not None:
            return os.path.join(os.path.abspath(source), inner) if inner else str(source)
    return staged


def _current(
    path: str,
    st: os.stat_result,
    baseline: Entry | None,
    rel: str,
    manifest: Manifest,
    workspace: Path,
    source: Path | None,
) -> Current:
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        target = project_link_target(rel, os.readlink(path), manifest, workspace, source)
        if target is None and baseline is not None:  # the re-pointed baseline link, untouched
            return Current("symlink", baseline.size, mode, baseline.digest, None)
        target = target if target is not None else os.readlink(path)
        return Current("symlink", len(os.fsencode(target)), mode, digest_link(target), target)
    if baseline is not None and baseline.kind == "file" and baseline.same_stat(st):
        return Current("file", st.st_size, mode, baseline.digest)  # unchanged: no hashing
    return Current("file", st.st_size, mode, digest_file(path))


def compute_changes(
    manifest: Manifest, workspace: Path, source: Path | None = None
) -> list[tuple[str, Entry | None, Current | None]]:
    """(path, baseline entry or None, current state or None) for every changed path.

    ``source``: the project, to map links into staging back to it (see
    ``project_link_target``).
    """
    if not workspace.is_dir():
        raise WorkspaceMissing(f"the staging workspace {workspace} no longer exists")
    changes: list[tuple[str, Entry | None, Current | None]] = []
    seen: set[str] = set()
    for rel, entry in walk(workspace, rules=manifest.ignore):
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            base = manifest.get(rel)
            if base is None or base.kind == "dir":
                seen.add(rel)  # else the file or link that was there is gone: a deletion
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            continue
        seen.add(rel)
        base = manifest.get(rel)
        if base is not None and base.kind == "dir":
            base = None
        now = _current(entry.path, st, base, rel, manifest, workspace, source)
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


def _read_at_most(path: Path, limit: int) -> bytes | None:
    """The content of a regular file of at most ``limit`` bytes; None if it is missing, not a
    regular file (a link is not followed) or larger."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        chunks = []
        remaining = limit + 1  # one byte more: a file that grew since the fstat shows
        while remaining > 0 and (chunk := os.read(fd, min(remaining, 1 << 20))):
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _baseline_content(source: Path, rel: str, base: Entry | None, limit: int) -> bytes | None:
    """The file as it was at the baseline: the source copy, if it still has that content."""
    if base is None or base.kind != "file":
        return b""
    data = _read_at_most(source / rel, limit)
    if data is None or digest_bytes(data) != base.digest:
        return None
    return data


def _lines(text: str) -> list[str]:
    """Lines split at ``\\n`` only: ``str.splitlines`` also splits at ``\\r``, form feeds and
    other separators, which would make a diff of a line that holds them wrong."""
    return _LINES.findall(text)


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
        link_target=encode_path(now.link_target) if now and now.link_target else None,
    )
    if kind == "symlink" or (now is not None and base is not None and base.digest == now.digest):
        return artifact  # a link, or a mode-only change: nothing to diff
    old_size = base.size if base is not None and base.kind == "file" else 0
    new_size = now.size if now is not None else 0
    if old_size + new_size > MAX_DIFF_BYTES:
        artifact.binary = True  # too large to diff: reviewed by sizes and hashes
        return artifact
    old = _baseline_content(source, rel, base, MAX_DIFF_BYTES)
    new = _read_at_most(workspace / rel, MAX_DIFF_BYTES) if now is not None else b""
    if old is None or new is None:
        artifact.diff = None
        artifact.binary = old is not None and _is_binary(old)
        return artifact
    if _is_binary(old) or _is_binary(new):
        artifact.binary = True
        return artifact
    if len(old) + len(new) > MAX_DIFF_BYTES:
        artifact.binary = True
        return artifact
    # The names in the headers are shown forms: a diff is text for people, and a name that is
    # not UTF-8 could not even be stored in the draft's JSON as it is.
    name = show_path(rel)
    a_name = f"a/{name}" if change is not ChangeType.ADD else "/dev/null"
    b_name = f"b/{name}" if change is not ChangeType.DELETE else "/dev/null"
    lines = difflib.unified_diff(
        _lines(old.decode("utf-8")),
        _lines(new.decode("utf-8")),
        fromfile=a_name,
        tofile=b_name,
    )
    artifact.diff = "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
    return artifact


def outside_writes(manifest: Manifest) -> list[DraftWarning]:
    """A warning for each link leading outside the project whose target changed since staging
    was made: without a sandbox, the agent may have written through it."""
    warnings = []
    for link in manifest.outside_links:
        now = target_state(link.resolved)
        before = link.state
        if now == before:
            continue
        if before is None:
            what = "it was created"
        elif now is None:
            what = "it was deleted"
        elif now[0] != before[0] or now[4] != before[4]:
            what = "it was replaced"
        elif now[1] != before[1]:
            what = f"its size went from {before[1]} to {now[1]} bytes"
        else:
            what = "it was modified"
        message = (
            f"agent may have written through link {show_path(link.path)} → "
            f"{show_path(link.target)}: {visible(link.resolved, name=True)}, outside the project,"
            f" changed while the agent worked ({what}). ta never applies anything outside the"
            " project: check that file yourself"
        )
        warnings.append(
            DraftWarning(
                "outside_write", encode_path(link.path), encode_path(link.resolved), message
            )
        )
    return warnings


def project_writes(manifest: Manifest, source: Path) -> list[DraftWarning]:
    """A warning for each file of the project that changed since staging was made.

    The agent works in staging, so its own changes are never here; but an agent without a
    sandbox can write the project by absolute path, and that must not be silent. (A change the
    user made meanwhile shows up too, which the reviewer also wants to know before applying.)
    One ``lstat`` per baseline file: no hashing. New files in the project are not looked for.
    """
    changed = []
    for rel, entry in manifest.items():
        if entry.kind != "file":
            continue
        try:
            st = os.lstat(source / rel)
        except OSError:
            changed.append((rel, "it was deleted"))
            continue
        if not (stat.S_ISREG(st.st_mode) and entry.same_stat(st)):
            changed.append((rel, "it was modified"))
    return [
        DraftWarning(
            "project_changed",
            encode_path(rel),
            encode_path(rel),
            f"{show_path(rel)} in the project changed while the agent worked ({what}), not"
            " through this draft: review it yourself (apply reports a conflict if the draft"
            " also changes it)",
        )
        for rel, what in sorted(changed)
    ]


def build_artifacts(manifest: Manifest, source: Path, workspace: Path) -> list[Artifact]:
    try:
        changes = compute_changes(manifest, workspace, source)
    except OSError as exc:
        raise RecordFormatError(f"cannot read the staging workspace: {exc}") from exc
    return [make_artifact(rel, base, now, source, workspace) for rel, base, now in changes]


def summarize(artifacts: list[Artifact], warnings: list[DraftWarning] | None = None) -> str:
    counts = {t: sum(1 for a in artifacts if a.change_type is t) for t in ChangeType}
    parts = [
        f"{counts[ChangeType.ADD]} added" if counts[ChangeType.ADD] else "",
        f"{counts[ChangeType.MODIFY]} modified" if counts[ChangeType.MODIFY] else "",
        f"{counts[ChangeType.DELETE]} deleted" if counts[ChangeType.DELETE] else "",
    ]
    text = ", ".join(p for p in parts if p) or "no changes"
    outside = sum(1 for w in warnings or [] if w.kind == "outside_write")
    if outside:
        text += f"; WARNING: {outside} file(s) outside the project changed (see warnings)"
    if warnings and len(warnings) > outside:
        text += (
            f"; WARNING: {len(warnings) - outside} project file(s) changed outside the draft"
            " (see warnings)"
        )
    return text
