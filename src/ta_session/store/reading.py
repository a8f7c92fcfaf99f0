"""Reading a record file without trusting what is at its path.

A name like ``<uuid>.json`` or ``<name>.yaml`` in ``.ta/`` may be a FIFO (opening it for
reading waits for a writer forever), a device (``/dev/zero`` never ends), a socket, a folder, a
symbolic link to any of these, or a regular file far too large to be a record.
``read_regular_file`` looks first with ``stat``, which never opens anything, and refuses all but
a regular file within the size limit. It then opens without blocking and checks again on the
open descriptor (a file swapped in between the two steps is refused too), and never reads more
than the limit and one byte.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ta_session.store.errors import CorruptRecordError, bad_file

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class NotARegularFileError(CorruptRecordError):
    """The path holds something other than a regular file (see ``describe_not_regular``)."""


_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 1 << 20


def read_regular_file(path: Path, limit: int, what: str = "a record file") -> bytes:
    """The whole content of the regular file at ``path`` (a link to one is followed).

    Raises ``FileNotFoundError`` when nothing is there (a dangling link included), and a
    ``CorruptRecordError`` naming ``path`` for anything else that stops the read: not a regular
    file, over ``limit`` bytes (``what`` names the kind of file in that message), unreadable.
    """
    try:
        _check(path, os.stat(path), limit, what)
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise bad_file(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        _check(path, info, limit, what)
        chunks: list[bytes] = []
        left = limit + 1  # one byte more than allowed tells a file that grew from one that fits
        want = min(left, info.st_size + 1)  # usually the whole file, and its end, in one read
        while left > 0:
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
            want = min(left, _CHUNK)
    except OSError as exc:
        raise bad_file(path, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise bad_file(path, _too_large(len(data), limit, what, grew=True))
    return data


def describe_not_regular(path: Path, mode: int) -> str:
    """Why a path that is not a regular file is refused, e.g. ``"a FIFO (named pipe), not a
    regular file; not opened"``, with the link's target when the path is a symbolic link."""
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    try:
        target = os.readlink(path)
    except OSError:  # not a link (the usual case), or gone meanwhile
        target = None
    through = f"a symbolic link to {target}, which is " if target is not None else ""
    return f"{through}{kind}, not a regular file; not opened"


def _check(path: Path, info: os.stat_result, limit: int, what: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        problem = describe_not_regular(path, info.st_mode)
        raise NotARegularFileError(f"{path}: {problem}", path=path, problem=problem)
    if info.st_size > limit:
        raise bad_file(path, _too_large(info.st_size, limit, what, grew=False))


def _too_large(size: int, limit: int, what: str, *, grew: bool) -> str:
    if grew:
        return f"grew past the {_size_text(limit)} limit for {what} while being read; not read"
    return f"{size:,} bytes, over the {_size_text(limit)} limit for {what}; not read"


def _size_text(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size:,}-byte"  # only odd limits (tests) get here
