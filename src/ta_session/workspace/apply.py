"""Applying a draft (SPEC §7): write the approved artifacts into the source, all or nothing.

One apply at a time per project: ``.ta/state/locks/apply.lock`` is held throughout, so a second
apply of the same draft waits, then finds it applied and says so.

Before anything is written:
* the draft file must be byte for byte the one ta last wrote (its seal, see
  ``store.drafts``): a draft edited after it was reviewed is refused;
* every path is confined to the project: no absolute paths, no ``..``, no NUL, not in ``.ta/``
  or ``.git/``, no symlink on the way to a target, and no path beneath another path that this
  same draft turns into a file or a link (a draft adding ``sub → ../outside`` and ``sub/x``);
* each target must still be what the baseline recorded (else it is a conflict: listed, and
  nothing is written unless ``force``).

Every file-system call below goes through directory descriptors, one path component at a time,
with ``O_NOFOLLOW`` (``O_DIRECTORY | O_NOFOLLOW`` for folders): a symlink anywhere on the way,
even one that appears while the apply runs, makes the call fail instead of leading elsewhere.
Nothing is ever resolved by a path string.

Then, in two phases:
1. *prepare*: each new file or link is written to a temporary name next to its target (holes
   kept, content hashed while copied and checked against the reviewed hash: staged content
   that changed since the review is refused here, before any target is touched);
2. *commit*: each original is kept under a temporary name (a hard link, else moved aside) and
   the new one renamed over the target; on any error everything is put back as it was, and
   the temporary names and the folders made for them are removed.

setuid and setgid bits are dropped unless ``allow_setuid`` (``ta draft apply --allow-setuid``);
the audit event names the files whose bits were dropped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from ta_session.model import RecordFormatError, Timestamp
from ta_session.model.draft import (
    SETID_BITS,
    Artifact,
    ChangeType,
    Disposition,
    Draft,
    DraftStatus,
    encode_path,
    show_path,
)
from ta_session.store import Project
from ta_session.store.drafts import TamperedDraftError
from ta_session.store.layout import private_dirs
from ta_session.store.locks import exclusive_lock
from ta_session.workspace.confined import (
    DIR_FLAGS,
    ApplyError,
    Refused,
    lstat_at,
    open_dir,
    safe_relative,
    split,
    target_digest,
)
from ta_session.workspace.drafts import project_link_target
from ta_session.workspace.manifest import Manifest
from ta_session.workspace.staging import copy_fd, digest_link


class ConflictError(ApplyError):
    def __init__(self, paths: list[str]):
        self.paths = paths
        super().__init__(
            "the source changed since the goal started: "
            + ", ".join(show_path(p) for p in paths)
            + " (nothing was written; review the changes, or use --force to overwrite)"
        )



# -- the steps ----------------------------------------------------------------------------------


@dataclass
class _Step:
    artifact: Artifact
    rel: str  # the path, as ``os`` takes it
    tmp: str | None = None  # the new content's temporary name, in the target's folder
    backup: str | None = None  # the original's temporary name, in the same folder
    committed: bool = False  # the target was replaced or removed
    made_dirs: list[str] = field(default_factory=list)  # folders created for it, outermost first
    setid_dropped: bool = False
    deferred: bool = False  # prepared at commit time: a file this draft deletes is in its way

    @property
    def folder(self) -> str:
        return split(self.rel)[0]

    @property
    def name(self) -> str:
        return split(self.rel)[1]

    @property
    def uri_path(self) -> str:
        return encode_path(self.rel)


def _temp_name(what: str) -> str:
    # Not derived from the target's name: that may already be as long as a name can be.
    return f".ta-{what}-{secrets.token_hex(6)}"


def apply_draft(
    project: Project,
    draft_id: UUID,
    *,
    force: bool = False,
    channel_id: str,
    allow_setuid: bool = False,
) -> list[str]:
    """Write the approved artifacts; return their paths (in URI form, ``encode_path``).

    Raises ``ApplyError``/``ConflictError``.
    """
    lock = project.layout.state_dir / "locks" / "apply.lock"
    try:
        private_dirs(lock.parent)
    except OSError as exc:
        raise ApplyError(f"cannot create {lock.parent}: {exc.strerror}") from None
    with exclusive_lock(lock):  # one apply at a time per project
        return _apply_locked(project, draft_id, force, channel_id, allow_setuid)


def _apply_locked(
    project: Project, draft_id: UUID, force: bool, channel_id: str, allow_setuid: bool
) -> list[str]:
    # The draft that is applied is the sealed one; a draft that fails its seal is still read,
    # only so that a path that could never be written is named as such first.
    tampered: TamperedDraftError | None = None
    try:
        draft = project.drafts.load_sealed(draft_id)
    except TamperedDraftError as exc:
        tampered = exc
        draft = project.drafts.load(draft_id)
    if draft.status is DraftStatus.APPLIED:
        raise ApplyError(f"draft {draft.short_id} is already applied")
    if draft.status is DraftStatus.SUPERSEDED:
        raise ApplyError(f"draft {draft.short_id} was superseded by a newer draft")
    approved = [a for a in draft.artifacts if a.disposition is Disposition.APPROVED]
    if not approved:
        raise ApplyError(f"draft {draft.short_id} has no approved artifacts")
    goal = project.goals.load(draft.goal_id)
    root = project.root.resolve()
    workspace = Path(goal.workspace_path)
    in_place = workspace.resolve() == root
    if not in_place and not workspace.is_dir():
        raise ApplyError(f"the staging workspace {workspace} no longer exists")

    steps = []
    for artifact in approved:
        try:
            rel = safe_relative(artifact.path)
        except RecordFormatError as exc:
            raise ApplyError(str(exc)) from None
        steps.append(_Step(artifact, rel))
    _check_nesting(steps)

    root_fd = os.open(root, DIR_FLAGS & ~os.O_NOFOLLOW)
    try:
        deleted = {s.rel for s in steps if s.artifact.change_type is ChangeType.DELETE}
        current = {}
        for step in steps:  # no symlink on the way to any target (and read what is there)
            try:
                current[step.rel] = target_digest(root_fd, step.rel)
            except Refused as exc:
                if exc.where not in deleted:
                    raise ApplyError(f"refusing path {step.rel!r}: {exc}") from None
                # The draft deletes that link first (the agent made a folder of it): the
                # folder is created once the link is gone, and nothing is there until then.
                current[step.rel] = None
        if tampered is not None:
            raise ApplyError(str(tampered))
        conflicts = [] if force else [s.rel for s in steps if not _matches(s, current[s.rel])]
        if conflicts and not in_place:
            raise ConflictError(conflicts)
        if not in_place:
            manifest = Manifest.load(project.layout.baseline_path(goal.goal_id))
            ws_fd = os.open(workspace, DIR_FLAGS & ~os.O_NOFOLLOW)
            try:
                writer = _Writer(steps, root_fd, ws_fd, manifest, workspace, root, allow_setuid)
                writer.write_all()
            finally:
                os.close(ws_fd)
    finally:
        os.close(root_fd)
    paths = [s.uri_path for s in steps]
    dropped = [s.uri_path for s in steps if s.setid_dropped]
    _mark_applied(project, draft, paths, channel_id, force, dropped)
    return paths


def _check_nesting(steps: list[_Step]) -> None:
    """No path may lie beneath another path that this draft writes as a file or a link."""
    written = {s.rel: s for s in steps if s.artifact.change_type is not ChangeType.DELETE}
    for step in steps:
        parts = step.rel.split("/")
        for i in range(1, len(parts)):
            above = written.get("/".join(parts[:i]))
            if above is not None:
                what = "a symlink" if above.artifact.kind == "symlink" else "a file"
                raise ApplyError(
                    f"refusing path {step.rel!r}: this draft also makes"
                    f" {show_path(above.rel)} {what}, so it could not be a folder"
                )


def _matches(step: _Step, current: str | None) -> bool:
    if step.artifact.change_type is ChangeType.ADD:
        return current is None or current == step.artifact.new_hash
    return current == step.artifact.base_hash


@dataclass
class _Writer:
    steps: list[_Step]
    root_fd: int
    ws_fd: int
    manifest: Manifest
    workspace: Path
    root: Path
    allow_setuid: bool

    def write_all(self) -> None:
        current = self.steps[0].rel if self.steps else ""
        try:
            for step in self.steps:  # 1. prepare: nothing in the project is replaced yet
                current = step.rel
                self._prepare(step, at_commit=False)
            for step in self.steps:  # 2. commit
                current = step.rel
                if step.deferred:
                    self._prepare(step, at_commit=True)
                self._commit(step)
        except Exception as exc:
            failures = self._rollback()
            if isinstance(exc, ApplyError) and not failures:
                raise
            detail = f"{exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
            # The path being written, not the temporary file the error may name.
            message = (
                f"apply failed writing {show_path(current)} ({detail}); the source was restored"
            )
            if failures:
                # Never throw away an original we could not put back: say where it is.
                message += " except: " + ", ".join(failures)
            raise ApplyError(message) from exc
        for step in self.steps:  # done: the originals kept for a rollback are not needed
            if step.backup is not None:
                with contextlib.suppress(OSError):
                    fd = open_dir(self.root_fd, step.folder)
                    try:
                        os.unlink(step.backup, dir_fd=fd)
                    finally:
                        os.close(fd)

    def _deleted_by_draft(self, rel: str) -> bool:
        return any(s.rel == rel and s.artifact.change_type is ChangeType.DELETE for s in self.steps)

    def _prepare(self, step: _Step, *, at_commit: bool) -> None:
        artifact = step.artifact
        if artifact.change_type is ChangeType.DELETE:
            try:
                fd = open_dir(self.root_fd, step.folder)
            except FileNotFoundError:
                return
            try:
                st = lstat_at(fd, step.name)
                if st is not None and stat.S_ISDIR(st.st_mode):
                    raise IsADirectoryError(errno.EISDIR, "a folder is in the way")
            finally:
                os.close(fd)
            return
        changed = ApplyError(
            f"{show_path(step.rel)} changed in staging after the draft was built; rebuild the draft"
        )
        try:
            fd = open_dir(self.root_fd, step.folder, create=True, made=step.made_dirs)
        except Refused as exc:
            if not at_commit and self._deleted_by_draft(exc.where):
                # A file or link the agent turned into a folder: written once it is gone.
                step.deferred = True
                return
            raise ApplyError(f"refusing path {step.rel!r}: {exc}") from None
        try:
            existing = lstat_at(fd, step.name)
            if existing is not None and stat.S_ISDIR(existing.st_mode):
                raise IsADirectoryError(errno.EISDIR, "a folder is in the way")
            try:
                staged_dir = open_dir(self.ws_fd, step.folder)
            except (FileNotFoundError, Refused):
                raise changed from None
            try:
                self._write_temp(step, fd, staged_dir, changed)
            finally:
                os.close(staged_dir)
        finally:
            os.close(fd)

    def _write_temp(self, step: _Step, fd: int, staged_dir: int, changed: ApplyError) -> None:
        """The new content under a temporary name in the target's folder ``fd``, checked
        against the reviewed hash as it is copied."""
        artifact = step.artifact
        staged = lstat_at(staged_dir, step.name)
        tmp = _temp_name("apply")
        if staged is not None and stat.S_ISLNK(staged.st_mode):
            text = os.readlink(step.name, dir_fd=staged_dir)
            target = project_link_target(step.rel, text, self.manifest, self.workspace, self.root)
            if target is None or digest_link(target) != artifact.new_hash:
                raise changed
            os.symlink(target, tmp, dir_fd=fd)
            step.tmp = tmp
            return
        if staged is None or not stat.S_ISREG(staged.st_mode):
            raise changed
        fin = os.open(step.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=staged_dir)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fout = os.open(tmp, flags, 0o600, dir_fd=fd)
            step.tmp = tmp
            try:
                if copy_fd(fin, fout) != artifact.new_hash:
                    raise changed
                # The mode that was reviewed, not whatever staging has now.
                mode = artifact.new_mode
                if mode is None:
                    mode = stat.S_IMODE(os.fstat(fin).st_mode)
                if mode & SETID_BITS and not self.allow_setuid:
                    mode &= ~SETID_BITS
                    step.setid_dropped = True
                os.fchmod(fout, mode)
            finally:
                os.close(fout)
        finally:
            os.close(fin)

    def _commit(self, step: _Step) -> None:
        fd = open_dir(self.root_fd, step.folder)
        try:
            exists = lstat_at(fd, step.name) is not None
            if step.artifact.change_type is ChangeType.DELETE:
                if exists:
                    step.backup = _temp_name("orig")
                    os.rename(step.name, step.backup, src_dir_fd=fd, dst_dir_fd=fd)
                    step.committed = True
                return
            assert step.tmp is not None
            if exists:
                backup = _temp_name("orig")
                try:  # a second name for the original: the target is never missing
                    os.link(step.name, backup, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
                    step.backup = backup
                except OSError:
                    os.rename(step.name, backup, src_dir_fd=fd, dst_dir_fd=fd)
                    step.backup = backup
                    step.committed = True  # the target is out of the way until restored
            os.rename(step.tmp, step.name, src_dir_fd=fd, dst_dir_fd=fd)  # atomic replacement
            step.tmp = None
            step.committed = True
        finally:
            os.close(fd)

    def _rollback(self) -> list[str]:
        failures = []
        for step in reversed(self.steps):
            try:
                try:
                    fd: int | None = open_dir(self.root_fd, step.folder)
                except FileNotFoundError:
                    fd = None
                if fd is not None:
                    try:
                        if step.tmp is not None:
                            with contextlib.suppress(FileNotFoundError):
                                os.unlink(step.tmp, dir_fd=fd)
                        if step.committed:
                            if step.backup is not None:
                                os.rename(step.backup, step.name, src_dir_fd=fd, dst_dir_fd=fd)
                            else:
                                os.unlink(step.name, dir_fd=fd)
                        elif step.backup is not None:  # a hard link that was never needed
                            os.unlink(step.backup, dir_fd=fd)
                    finally:
                        os.close(fd)
                for made in reversed(step.made_dirs):
                    parent, name = split(made)
                    parent_fd = open_dir(self.root_fd, parent)
                    try:
                        os.rmdir(name, dir_fd=parent_fd)
                    finally:
                        os.close(parent_fd)
            except OSError:
                where = f" (its original is kept as {step.backup})" if step.backup else ""
                failures.append(show_path(step.rel) + where)
        return failures


def _mark_applied(
    project: Project,
    draft: Draft,
    paths: list[str],
    channel_id: str,
    forced: bool,
    setid_dropped: list[str],
) -> None:
    def mark(d: Draft) -> None:
        d.status = DraftStatus.APPLIED
        d.applied_at = d.updated_at = Timestamp.now()

    project.drafts.update(draft.draft_id, mark)
    details: dict[str, object] = {"draft_id": str(draft.draft_id), "paths": paths,
                                  "forced": forced}  # fmt: skip
    if setid_dropped:
        details["setid_dropped"] = setid_dropped
    project.audit.append(
        "draft_applied",
        session_id=draft.session_id,
        goal_id=draft.goal_id,
        channel_id=channel_id,
        details=details,
    )
