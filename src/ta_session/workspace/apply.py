"""Applying a draft (SPEC §7): write the approved artifacts into the source, all or nothing.

Before anything is written:
* every path is confined to the project: no absolute paths, no ``..``, no NUL, and no symlink in
  the source on the way to a target (a link could lead outside, whatever the draft file says);
* each target must still be what the baseline recorded (else it is a conflict: listed, and
  nothing is written unless ``force``);
* each approved file in staging must still have the content that was reviewed.

Then every target is backed up and written; on any error, everything already written is put
back as it was.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from uuid import UUID

from ta_session.model import RecordFormatError, Timestamp
from ta_session.model.draft import Artifact, ChangeType, Disposition, Draft, DraftStatus
from ta_session.model.errors import TaError
from ta_session.store import Project
from ta_session.workspace.staging import digest_file, digest_link


class ApplyError(TaError):
    """Apply refused or failed; nothing in the source was changed."""


class ConflictError(ApplyError):
    def __init__(self, paths: list[str]):
        self.paths = paths
        super().__init__(
            "the source changed since the goal started: "
            + ", ".join(paths)
            + " (nothing was written; review the changes, or use --force to overwrite)"
        )


def safe_relative(path: str) -> str:
    """Validate a draft path; return it normalised. Raise ``ApplyError`` if it could escape."""
    if not path or "\0" in path or "\\" in path:
        raise ApplyError(f"refusing unsafe path {path!r}")
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts) or path.startswith("/"):
        raise ApplyError(f"refusing path {path!r}: it leads outside the project")
    if pure.parts[0] in (".ta", ".git"):
        raise ApplyError(f"refusing path {path!r}: {pure.parts[0]}/ is not project content")
    return str(pure)


def _check_no_symlinks(root: Path, rel: str) -> None:
    """No component of the target's folder (nor the target, if it exists) may be a symlink."""
    current = root
    parts = PurePosixPath(rel).parts
    for i, part in enumerate(parts):
        current = current / part
        if current.is_symlink() and i < len(parts) - 1:
            raise ApplyError(f"refusing path {rel!r}: {current} is a symlink")
        if not current.exists() and not current.is_symlink():
            return
    resolved_parent = current.parent.resolve()
    if resolved_parent != root.resolve() and root.resolve() not in resolved_parent.parents:
        raise ApplyError(f"refusing path {rel!r}: it leads outside the project")


def _source_digest(path: Path) -> str | None:
    if path.is_symlink():
        return digest_link(os.readlink(path))
    if path.is_file():
        return digest_file(path)
    return None


@dataclass
class _Step:
    artifact: Artifact
    rel: str
    target: Path
    backup: Path | None = None
    existed: bool = False
    # Set only once the target was really changed (moved away, replaced or deleted): a step
    # that failed before that point has nothing to undo, and undoing it anyway could fail.
    changed: bool = False
    made_dirs: list[Path] = field(default_factory=list)  # folders created for it, outermost first


def apply_draft(
    project: Project, draft_id: UUID, *, force: bool = False, channel_id: str
) -> list[str]:
    """Write the approved artifacts; return their paths. Raises ``ApplyError``/``ConflictError``."""
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
        _check_no_symlinks(root, rel)
        steps.append(_Step(artifact, rel, root / rel))

    conflicts = [] if force else [s.rel for s in steps if not _matches_baseline(s)]
    if conflicts and not in_place:
        raise ConflictError(conflicts)
    if not in_place:
        for step in steps:
            _check_staged(step, workspace)
        _write_all(project, draft, steps, workspace)
    _mark_applied(project, draft, [s.rel for s in steps], channel_id, force)
    return [s.rel for s in steps]


def _matches_baseline(step: _Step) -> bool:
    current = _source_digest(step.target)
    if step.artifact.change_type is ChangeType.ADD:
        return current is None or current == step.artifact.new_hash
    return current == step.artifact.base_hash


def _check_staged(step: _Step, workspace: Path) -> None:
    """The staged content must be the content that was reviewed."""
    if step.artifact.change_type is ChangeType.DELETE:
        return
    staged = workspace / step.rel
    if _source_digest(staged) != step.artifact.new_hash:
        raise ApplyError(
            f"{step.rel} changed in staging after the draft was built; rebuild the draft"
        )


def _write_all(project: Project, draft: Draft, steps: list[_Step], workspace: Path) -> None:
    backup_dir = project.layout.state_dir / "apply" / f"{draft.draft_id}-{secrets.token_hex(3)}"
    backup_dir.mkdir(parents=True, exist_ok=True)
    current = steps[0].rel if steps else ""
    keep_backups = False
    try:
        for i, step in enumerate(steps):
            current = step.rel
            step.existed = step.target.exists() or step.target.is_symlink()
            if step.existed:
                step.backup = backup_dir / f"{i}-{step.target.name}"
                if step.target.is_symlink():
                    os.rename(step.target, step.backup)
                    step.changed = True  # the link is out of the source until restored
                else:
                    shutil.copy2(step.target, step.backup)
            _write_one(step, workspace)
    except Exception as exc:
        failures = _rollback(steps)
        # The path being written, not the temporary or backup file the error may name.
        detail = f"{exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
        message = f"apply failed writing {current} ({detail}); the source was restored"
        if failures:
            # Never throw away an original we could not put back: say where it is.
            keep_backups = True
            message += f" except: {', '.join(failures)} (their originals are in {backup_dir})"
        raise ApplyError(message) from exc
    finally:
        if not keep_backups:
            shutil.rmtree(backup_dir, ignore_errors=True)


def _write_one(step: _Step, workspace: Path) -> None:
    artifact, target = step.artifact, step.target
    if artifact.change_type is ChangeType.DELETE:
        if target.is_symlink() or target.exists():
            target.unlink()
            step.changed = True
        return
    staged = workspace / step.rel
    _make_parents(step)
    tmp = target.with_name(f".{target.name}.ta-apply-{secrets.token_hex(4)}")
    try:
        if staged.is_symlink():
            os.symlink(os.readlink(staged), tmp)
        else:
            shutil.copyfile(staged, tmp)
            os.chmod(tmp, stat.S_IMODE(os.stat(staged).st_mode))
        if target.is_symlink():
            step.changed = True
            target.unlink()  # a symlink target was moved to the backup; be explicit anyway
        os.replace(tmp, target)  # atomic: if it fails, the target is as it was
        step.changed = True
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _make_parents(step: _Step) -> None:
    """Create the target's missing folders, remembering each one so rollback can remove it."""
    missing = []
    folder = step.target.parent
    while not folder.exists() and not folder.is_symlink():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir()
        step.made_dirs.append(folder)


def _rollback(steps: list[_Step]) -> list[str]:
    failures = []
    for step in reversed(steps):
        try:
            if step.changed:
                if step.target.is_symlink() or step.target.exists():
                    step.target.unlink()
                if step.existed and step.backup is not None:
                    os.rename(step.backup, step.target)
            for folder in reversed(step.made_dirs):
                folder.rmdir()
        except OSError:
            failures.append(step.rel)
    return failures


def _mark_applied(
    project: Project, draft: Draft, paths: list[str], channel_id: str, forced: bool
) -> None:
    def mark(d: Draft) -> None:
        d.status = DraftStatus.APPLIED
        d.applied_at = d.updated_at = Timestamp.now()

    project.drafts.update(draft.draft_id, mark)
    project.audit.append(
        "draft_applied",
        session_id=draft.session_id,
        goal_id=draft.goal_id,
        channel_id=channel_id,
        details={"draft_id": str(draft.draft_id), "paths": paths, "forced": forced},
    )
