"""Where everything lives inside a project's ``.ta/`` folder, and how the project is found."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TA_DIR = ".ta"
PROJECT_ENV = "TA_PROJECT_ROOT"
PRIVATE_DIR_MODE = 0o700
# Bookkeeping folders ``.ta/`` is given as soon as it is made private, so that the code that
# writes in them with a plain ``mkdir`` (the host's run files and recordings, locks) finds them
# already private. Record folders are not made in advance: their absence means "no records".
_STANDARD_DIRS = ("run", "recordings", "state", "state/locks")


def private_dirs(path: Path) -> None:
    """``mkdir -p`` for our bookkeeping: every folder created is 0700 (SPEC §7: everything
    under ``.ta/`` is private to its owner).

    When ``path`` lies inside a project's ``.ta/`` and something had to be created, ``.ta/``
    itself is made 0700 (it may have been made by an older version, or by ``mkdir``) and given
    its bookkeeping folders, 0700 too. Cheap when ``path`` exists: one ``stat``.
    """
    path = Path(path)
    if path.is_dir():
        return
    ta = next((p for p in (path, *path.parents) if p.name == TA_DIR), None)
    if ta is not None:
        _make_private_ta(ta)
    _mkdirs(path)


def _mkdirs(path: Path) -> None:
    missing = []
    folder = path
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR_MODE)  # the umask can only take bits away
        except FileExistsError:
            if not folder.is_dir():
                raise


def _make_private_ta(ta: Path) -> None:
    _mkdirs(ta)
    st = ta.stat()
    if st.st_mode & 0o077 and st.st_uid == os.getuid():
        os.chmod(ta, PRIVATE_DIR_MODE)
    for name in _STANDARD_DIRS:
        _mkdirs(ta / name)
    try:  # never replaces one the user wrote; private like everything in .ta/
        fd = os.open(ta / ".gitignore", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(_GITIGNORE)


# What ta-session keeps in .ta/ that no one should commit: copies, sockets, caches, recordings
# and the web token. Sessions, goals, drafts, the audit log and agent configs are left to the
# user (a team may keep them).
_GITIGNORE = """\
# ta-session's runtime state (written by ta; edit freely)
staging/
baselines/
run/
state/
recordings/
web-token
"""


def find_project_root(
    start: Path | None = None, override: str | os.PathLike[str] | None = None
) -> Path:
    """``--project`` wins, then ``TA_PROJECT_ROOT``, then the nearest ancestor holding ``.ta/``,
    then the top of the git work tree, else the current directory (SPEC §0)."""
    chosen = override if override is not None else os.environ.get(PROJECT_ENV) or None
    if chosen is not None:
        return Path(chosen).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / TA_DIR).is_dir():
            return folder
    for folder in (here, *here.parents):  # no .ta/ yet: the top of the git work tree
        if (folder / ".git").exists():
            return folder
    return here


@dataclass(frozen=True, slots=True)
class ProjectLayout:
    root: Path

    @property
    def ta_dir(self) -> Path:
        return self.root / TA_DIR

    @property
    def sessions_dir(self) -> Path:
        return self.ta_dir / "interactive_sessions"

    @property
    def goals_dir(self) -> Path:
        return self.ta_dir / "goals"

    @property
    def drafts_dir(self) -> Path:
        return self.ta_dir / "drafts"

    @property
    def staging_dir(self) -> Path:
        return self.ta_dir / "staging"

    @property
    def baselines_dir(self) -> Path:
        return self.ta_dir / "baselines"

    def baseline_path(self, goal_id: object) -> Path:
        return self.baselines_dir / f"{goal_id}.json"

    @property
    def run_dir(self) -> Path:
        return self.ta_dir / "run"

    @property
    def recordings_dir(self) -> Path:
        return self.ta_dir / "recordings"

    @property
    def agents_dir(self) -> Path:
        return self.ta_dir / "agents"

    @property
    def audit_log(self) -> Path:
        return self.ta_dir / "audit.jsonl"

    @property
    def state_dir(self) -> Path:
        """Our bookkeeping (locks, index, pending-append markers); the reference never reads it."""
        return self.ta_dir / "state"

    def exists(self) -> bool:
        return self.ta_dir.is_dir()
