"""The project tree, reached one path component at a time through directory descriptors.

Writing a draft into the project (``apply``) must never be led outside it: every call here
goes through a folder's descriptor with ``O_NOFOLLOW`` (``O_DIRECTORY | O_NOFOLLOW`` for
folders), so a symlink anywhere on the way, even one that appears meanwhile, makes the call
fail (``Refused``) instead of leading elsewhere. Nothing is resolved by a path string. Draft
paths are checked first (``safe_relative``): no absolute path, no ``..``, no NUL, nothing in
``.ta/`` or ``.git/``.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import PurePosixPath

from ta_session.model.draft import show_path
from ta_session.model.errors import TaError
from ta_session.workspace.staging import digest_fd, digest_link

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class ApplyError(TaError):
    """Apply refused or failed; nothing in the source was changed."""


class Refused(ApplyError):
    """A path leads through a symlink or a file: refused before anything is written."""

    def __init__(self, where: str, is_link: bool):
        self.where = where
        self.is_link = is_link
        super().__init__(f"{show_path(where)} is {'a symlink' if is_link else 'not a folder'}")


def safe_relative(path: str) -> str:
    """Validate a draft path; return it normalised. Raise ``ApplyError`` if it could escape.

    A backslash is an ordinary character in a POSIX file name, so it is allowed.
    """
    if not path or "\0" in path:
        raise ApplyError(f"refusing unsafe path {path!r}")
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts) or path.startswith("/"):
        raise ApplyError(f"refusing path {path!r}: it leads outside the project")
    if not pure.parts:
        raise ApplyError(f"refusing unsafe path {path!r}")
    if pure.parts[0] in (".ta", ".git"):
        raise ApplyError(f"refusing path {path!r}: {pure.parts[0]}/ is not project content")
    return str(pure)


# -- walking beneath a folder without following links ------------------------------------------


def open_dir(
    base_fd: int, rel_dir: str, *, create: bool = False, made: list[str] | None = None
) -> int:
    """A descriptor of the folder ``rel_dir`` beneath ``base_fd``, opened one component at a
    time without following links; missing folders are created when ``create`` (and listed in
    ``made``). Raises ``Refused`` for a link or a file on the way, ``FileNotFoundError`` for a
    missing folder otherwise."""
    fd = os.dup(base_fd)
    parts = [p for p in rel_dir.split("/") if p] if rel_dir else []
    try:
        for i, part in enumerate(parts):
            try:
                next_fd = os.open(part, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, dir_fd=fd)
                if made is not None:
                    made.append("/".join(parts[: i + 1]))
                next_fd = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                raise Refused("/".join(parts[: i + 1]), stat.S_ISLNK(st.st_mode)) from None
            os.close(fd)
            fd = next_fd
        return fd
    except BaseException:
        os.close(fd)
        raise


def split(rel: str) -> tuple[str, str]:
    folder, _, name = rel.rpartition("/")
    return folder, name


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def digest_at(dir_fd: int, name: str) -> str | None:
    """The digest of the file or link ``name`` in ``dir_fd``; None if absent; a marker that
    matches no hash for anything else (a folder, a socket)."""
    st = lstat_at(dir_fd, name)
    if st is None:
        return None
    if stat.S_ISLNK(st.st_mode):
        return digest_link(os.readlink(name, dir_fd=dir_fd))
    if stat.S_ISREG(st.st_mode):
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            return digest_fd(fd)
        finally:
            os.close(fd)
    return f"<{stat.filemode(st.st_mode)[0]}>"


def target_digest(root_fd: int, rel: str) -> str | None:
    """What is at ``rel`` now (see ``digest_at``). A symlink on the way is refused; a file on
    the way means there is nothing at ``rel`` (writing it needs that file deleted first)."""
    folder, name = split(rel)
    try:
        fd = open_dir(root_fd, folder)
    except FileNotFoundError:
        return None
    except Refused as exc:
        if exc.is_link:
            raise
        return None
    try:
        return digest_at(fd, name)
    finally:
        os.close(fd)
