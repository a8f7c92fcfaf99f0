"""Staging workspaces (SPEC §7): the copy of the project an agent works in.

``create_staging`` copies the source into ``.ta/staging/<goal_id>/``, leaving out what
``ignore.walk`` excludes, and records the baseline manifest as it goes: each file is read once,
hashed while it is written (or cloned copy-on-write where the filesystem can, then hashed), and
keeps its mode and mtime so that an untouched file is recognised without hashing it again.

Files with holes (sparse files) stay sparse: only their data is read and written, and the holes
are hashed as the zeros they read as, from memory (``copy_file``). Memory stays bounded whatever
the size of a file (1 MiB at a time).

Symlinks must not let the agent reach the real project from its copy:

* a link to a path inside the project by absolute path (``/home/me/proj/data.csv``) is
  re-pointed to the same path in staging;
* a relative link that climbs out of the project (``../../shared/x``) would lead somewhere
  else from inside ``.ta/staging/<goal>/`` (possibly into the project itself), so it is written
  as the absolute path it leads to from the project;
* a link that leads outside the project is kept (the agent may need to read through it) and
  reported: ``Manifest.outside_links`` lists them for the session log, and the manifest records
  the state of each target so that a draft build can report one that was written through.

The rewritten links are recorded (``Manifest.links``) and mapped back at draft build, so an
untouched link is no change and an applied one gets the project's own target.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ta_session.model.errors import TaError
from ta_session.workspace.ignore import IgnoreRules, walk
from ta_session.workspace.manifest import Entry, Manifest, OutsideLink, target_state
from ta_session.workspace.progress import Meter, Progress

_FICLONE = 0x40049409  # ioctl: clone a file's extents (btrfs, xfs, …): copy-on-write
_CHUNK = 1 << 20
_ZEROS = bytes(_CHUNK)
_BATCH = 256  # files per task when copying on several threads
_COPY_THREADS = 2
Tick = Callable[[int], None] | None  # told the bytes of each chunk read (progress), if given


class StagingError(TaError):
    pass


def digest_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_file(path: Path | str) -> str:
    """The SHA-256 of a file's content, streamed (holes are not read)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return digest_fd(fd)
    finally:
        os.close(fd)


def digest_fd(fd: int, tick: Tick = None) -> str:
    st = os.fstat(fd)
    hasher = hashlib.sha256()
    if _is_sparse(st):
        for start, end, data in _segments(fd, st.st_size):
            if data:
                _read_range(fd, start, end, hasher, None, tick)
            else:
                _hash_zeros(hasher, end - start, tick)
    else:
        while chunk := os.read(fd, _CHUNK):
            hasher.update(chunk)
            if tick:
                tick(len(chunk))
    return "sha256:" + hasher.hexdigest()


def digest_link(target: str) -> str:
    return digest_bytes(os.fsencode(target))


def _is_sparse(st: os.stat_result) -> bool:
    """Fewer blocks than the size needs: the file has holes (what ``cp`` checks too)."""
    return st.st_blocks * 512 < st.st_size


def _segments(fd: int, size: int) -> list[tuple[int, int, bool]]:
    """(start, end, is_data) ranges covering ``size`` bytes, from SEEK_DATA/SEEK_HOLE."""
    out: list[tuple[int, int, bool]] = []
    pos = 0
    try:
        while pos < size:
            try:
                data = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise
                data = size  # no data after pos: the rest is a hole
            data = min(data, size)
            if data > pos:
                out.append((pos, data, False))
            if data >= size:
                break
            hole = min(os.lseek(fd, data, os.SEEK_HOLE), size)
            out.append((data, hole, True))
            pos = hole
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
            raise
        out = [(0, size, True)]  # no hole support here: all of it is data
    return out


def _hash_zeros(hasher: Any, count: int, tick: Tick = None) -> None:
    view = memoryview(_ZEROS)
    while count > 0:
        step = min(count, _CHUNK)
        hasher.update(view[:step])
        count -= step
        if tick:
            tick(step)


def _read_range(
    fd: int, start: int, end: int, hasher: Any, out: int | None, tick: Tick = None
) -> None:
    """Hash (and write to ``out`` at the same offsets) bytes [start, end) of ``fd``.

    All-zero chunks are not written, so they stay (or become) holes. A file that shrank while
    being read reads as zeros past its end, the content the final ``ftruncate`` gives it.
    """
    pos = start
    while pos < end:
        chunk = os.pread(fd, min(_CHUNK, end - pos), pos)
        if not chunk:
            _hash_zeros(hasher, end - pos, tick)
            return
        hasher.update(chunk)
        if tick:
            tick(len(chunk))
        if out is not None and not _all_zero(chunk):
            view = memoryview(chunk)
            offset = pos
            while view:
                written = os.pwrite(out, view, offset)
                view, offset = view[written:], offset + written
        pos += len(chunk)


def _all_zero(chunk: bytes) -> bool:
    if len(chunk) == _CHUNK:
        return chunk == _ZEROS  # one memcmp
    return chunk.count(0) == len(chunk)


def copy_fd(fin: int, fout: int, tick: Tick = None) -> str:
    """Copy an open file's content to an empty one, keeping holes; return the digest."""
    st = os.fstat(fin)
    hasher = hashlib.sha256()
    for start, end, data in _segments(fin, st.st_size):
        if data:
            _read_range(fin, start, end, hasher, fout, tick)
        else:
            _hash_zeros(hasher, end - start, tick)
    os.ftruncate(fout, st.st_size)  # the size, with any hole at the end
    return "sha256:" + hasher.hexdigest()


def _copy_file(
    src: str, dst: str, mode: int, st: os.stat_result, clone: list[bool], tick: Tick = None
) -> str:
    """Copy one file's content, mode and times; return its digest.

    ``clone[0]`` remembers whether cloning works. Plain file descriptors, no buffered file
    objects: a staging copy is mostly small files, where their set-up costs more than the copy.
    """
    fin = os.open(src, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode | 0o200)
        try:
            digest = None
            if clone[0]:
                try:
                    fcntl.ioctl(fout, _FICLONE, fin)
                    digest = digest_fd(fin, tick)
                except OSError:
                    clone[0] = False  # not supported here: plain copies from now on
            if digest is None and _is_sparse(st):
                digest = copy_fd(fin, fout, tick)
            if digest is None:
                hasher = hashlib.sha256()
                while chunk := os.read(fin, _CHUNK):
                    hasher.update(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fout, view) :]
                    if tick:
                        tick(len(chunk))
                digest = "sha256:" + hasher.hexdigest()
            os.fchmod(fout, mode)
            os.utime(fout, ns=(st.st_atime_ns, st.st_mtime_ns))
            return digest
        finally:
            os.close(fout)
    finally:
        os.close(fin)


def _inside(path: str, root: str) -> str | None:
    """``path`` (absolute, normalised) relative to ``root``, or None if it is not inside."""
    if path == root:
        return ""
    if path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) + 1 :]
    return None


def _staged_link(
    source: str, real_source: str, destination: str, rel: str, target: str
) -> tuple[str, bool]:
    """What to write as the target of the link ``rel`` in staging, and whether it leads
    outside the project (see the module's docstring)."""
    if os.path.isabs(target):
        norm = os.path.normpath(target)
        inner = _inside(norm, source)
        if inner is None:
            inner = _inside(os.path.realpath(norm), real_source)
        if inner is not None:
            return (os.path.join(destination, inner) if inner else destination), False
        return target, True
    lexical = os.path.normpath(os.path.join(source, os.path.dirname(rel), target))
    if _inside(lexical, source) is not None:
        return target, False  # leads to the same place from the staging copy
    return lexical, True


def create_staging(source: Path, destination: Path, progress: Progress | None = None) -> Manifest:
    """Copy ``source`` to ``destination`` and return the baseline manifest.

    ``manifest.outside_links`` lists the links that lead outside the project (kept as links);
    the session service logs them when the session starts. ``progress``, if given, is told how
    far the copy has got (``workspace.progress``); it may be called from the copying threads.
    """
    if destination.exists():
        raise StagingError(f"staging folder {destination} already exists")
    from ta_session.store.layout import private_dirs

    order: list[str] = []  # the manifest keeps the walk's order
    entries: dict[str, Entry] = {}
    files: list[tuple[str, str, str, int, os.stat_result]] = []
    links: dict[str, str] = {}
    outside: dict[str, OutsideLink] = {}
    rules: IgnoreRules = {}
    clone = [True]
    meter = Meter(progress) if progress is not None else None
    root = os.path.abspath(source)
    real_root = os.path.realpath(source)
    dest_root = os.path.abspath(destination)
    try:
        private_dirs(destination.parent)
        os.mkdir(destination, 0o700)  # the agent's own folder, under the private .ta/
        if meter:
            meter.start()
        for rel, entry in walk(source, record=rules):
            target = os.path.join(destination, rel)
            st = entry.stat(follow_symlinks=False)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                os.mkdir(target, 0o700)
                entries[rel] = Entry("dir", 0, st.st_mtime_ns, mode, None)
            elif stat.S_ISLNK(st.st_mode):
                link = os.readlink(entry.path)
                staged, leads_out = _staged_link(root, real_root, dest_root, rel, link)
                os.symlink(staged, target)
                os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
                if staged != link:
                    links[rel] = staged
                if leads_out:
                    resolved = os.path.realpath(entry.path)
                    outside[rel] = OutsideLink(rel, link, resolved, target_state(resolved))
                link_mode = stat.S_IMODE(os.lstat(target).st_mode)  # fixed by the system
                entries[rel] = Entry(
                    "symlink", st.st_size, st.st_mtime_ns, link_mode, digest_link(link)
                )
            elif stat.S_ISREG(st.st_mode):
                files.append((rel, entry.path, target, mode, st))
                if meter:
                    meter.found(st.st_size)
            else:
                continue  # sockets, FIFOs and devices are not project content: not staged
            order.append(rel)
        if meter:
            meter.walked()
        entries.update(_copy_files(files, clone, meter))
        for rel in order:  # folders last: their modes may forbid writing
            if entries[rel].kind == "dir":
                os.chmod(os.path.join(destination, rel), entries[rel].mode)
    except OSError as exc:
        remove_tree(destination)
        where = f" ({exc.filename})" if exc.filename else ""
        problem = f"{exc.strerror or exc}{where}"
        raise StagingError(f"cannot copy {source} to staging: {problem}") from exc
    manifest = Manifest({rel: entries[rel] for rel in order})
    manifest.ignore = rules
    manifest.links = links
    manifest.outside = outside
    if meter:
        meter.finish()
    return manifest


def _copy_files(
    files: list[tuple[str, str, str, int, os.stat_result]],
    clone: list[bool],
    meter: Meter | None = None,
) -> dict[str, Entry]:
    """Copy the files in batches on two threads: the system calls of one overlap the other's
    Python work (both release the GIL in ``read``, ``write`` and hashing)."""
    tick = meter.copied if meter else None

    def copy_batch(
        batch: list[tuple[str, str, str, int, os.stat_result]],
    ) -> list[tuple[str, Entry]]:
        out = []
        for rel, src, dst, mode, st in batch:
            digest = _copy_file(src, dst, mode, st, clone, tick)
            out.append((rel, Entry("file", st.st_size, st.st_mtime_ns, mode, digest)))
            if meter:
                meter.copied(0, 1)
        return out

    batches = [files[i : i + _BATCH] for i in range(0, len(files), _BATCH)]
    if len(batches) <= 1:
        return dict(copy_batch(files))
    from concurrent.futures import ThreadPoolExecutor

    copied: dict[str, Entry] = {}
    with ThreadPoolExecutor(max_workers=_COPY_THREADS) as pool:
        for results in pool.map(copy_batch, batches):
            copied.update(results)
    return copied


def scan_baseline(root: Path) -> Manifest:
    """A manifest of ``root`` as it is now, without copying (for in-place work in a git tree)."""
    rules: IgnoreRules = {}
    manifest = Manifest()
    for rel, entry in walk(root, record=rules):
        st = entry.stat(follow_symlinks=False)
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            manifest[rel] = Entry("dir", 0, st.st_mtime_ns, mode, None)
        elif stat.S_ISLNK(st.st_mode):
            manifest[rel] = Entry(
                "symlink", st.st_size, st.st_mtime_ns, mode, digest_link(os.readlink(entry.path))
            )
        elif stat.S_ISREG(st.st_mode):
            manifest[rel] = Entry("file", st.st_size, st.st_mtime_ns, mode, digest_file(entry.path))
    manifest.ignore = rules
    return manifest


def remove_tree(path: Path) -> None:
    """Remove a staging folder, even where the agent left read-only folders."""

    def make_writable(func: object, target: str, _exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
        with contextlib.suppress(OSError):
            if os.path.isdir(target) and not os.path.islink(target):
                os.rmdir(target)
            else:
                os.unlink(target)

    if path.exists() or path.is_symlink():
        shutil.rmtree(path, onerror=make_writable)


def is_git_work_tree(folder: Path) -> bool:
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout.strip() == "true"
