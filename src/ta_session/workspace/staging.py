"""Staging workspaces (SPEC §7): the copy of the project an agent works in.

``create_staging`` copies the source into ``.ta/staging/<goal_id>/``, leaving out what
``ignore.walk`` excludes, and records the baseline manifest as it goes: each file is read once,
hashed while it is written (or cloned copy-on-write where the filesystem can, then hashed), and
keeps its mode and mtime so that an untouched file is recognised without hashing it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

from ta_session.model.errors import TaError
from ta_session.workspace.ignore import walk
from ta_session.workspace.manifest import Entry, Manifest

_FICLONE = 0x40049409  # ioctl: clone a file's extents (btrfs, xfs, …): copy-on-write
_CHUNK = 1 << 20
_BATCH = 256  # files per task when copying on several threads
_COPY_THREADS = 2


class StagingError(TaError):
    pass


def digest_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_file(path: Path | str) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


def digest_link(target: str) -> str:
    return digest_bytes(os.fsencode(target))


def _copy_file(src: str, dst: str, mode: int, times_ns: tuple[int, int], clone: list[bool]) -> str:
    """Copy one file's content, mode and times; return its digest.

    ``clone[0]`` remembers whether cloning works. Plain file descriptors, no buffered file
    objects: a staging copy is mostly small files, where their set-up costs more than the copy.
    """
    fin = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode | 0o200)
        try:
            digest = None
            if clone[0]:
                try:
                    fcntl.ioctl(fout, _FICLONE, fin)
                    digest = digest_file(src)
                except OSError:
                    clone[0] = False  # not supported here: plain copies from now on
            if digest is None:
                hasher = hashlib.sha256()
                while chunk := os.read(fin, _CHUNK):
                    hasher.update(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fout, view) :]
                digest = "sha256:" + hasher.hexdigest()
            os.fchmod(fout, mode)
            os.utime(fout, ns=times_ns)
            return digest
        finally:
            os.close(fout)
    finally:
        os.close(fin)


def create_staging(source: Path, destination: Path) -> Manifest:
    """Copy ``source`` to ``destination`` and return the baseline manifest."""
    if destination.exists():
        raise StagingError(f"staging folder {destination} already exists")
    order: list[str] = []  # the manifest keeps the walk's order
    entries: dict[str, Entry] = {}
    files: list[tuple[str, str, str, int, os.stat_result]] = []
    clone = [True]
    try:
        destination.mkdir(parents=True)
        for rel, entry in walk(source):
            target = os.path.join(destination, rel)
            st = entry.stat(follow_symlinks=False)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                os.mkdir(target, 0o700)
                entries[rel] = Entry("dir", 0, st.st_mtime_ns, mode, None)
            elif stat.S_ISLNK(st.st_mode):
                link = os.readlink(entry.path)
                os.symlink(link, target)
                os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
                link_mode = stat.S_IMODE(os.lstat(target).st_mode)  # fixed by the system
                entries[rel] = Entry(
                    "symlink", st.st_size, st.st_mtime_ns, link_mode, digest_link(link)
                )
            elif stat.S_ISREG(st.st_mode):
                files.append((rel, entry.path, target, mode, st))
            else:
                continue  # sockets, FIFOs and devices are not project content: not staged
            order.append(rel)
        entries.update(_copy_files(files, clone))
        for rel in order:  # folders last: their modes may forbid writing
            if entries[rel].kind == "dir":
                os.chmod(os.path.join(destination, rel), entries[rel].mode)
    except OSError as exc:
        remove_tree(destination)
        where = f" ({exc.filename})" if exc.filename else ""
        problem = f"{exc.strerror or exc}{where}"
        raise StagingError(f"cannot copy {source} to staging: {problem}") from exc
    return Manifest({rel: entries[rel] for rel in order})


def _copy_files(
    files: list[tuple[str, str, str, int, os.stat_result]], clone: list[bool]
) -> dict[str, Entry]:
    """Copy the files in batches on two threads: the system calls of one overlap the other's
    Python work (both release the GIL in ``read``, ``write`` and hashing)."""

    def copy_batch(
        batch: list[tuple[str, str, str, int, os.stat_result]],
    ) -> list[tuple[str, Entry]]:
        out = []
        for rel, src, dst, mode, st in batch:
            digest = _copy_file(src, dst, mode, (st.st_atime_ns, st.st_mtime_ns), clone)
            out.append((rel, Entry("file", st.st_size, st.st_mtime_ns, mode, digest)))
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
    manifest = Manifest()
    for rel, entry in walk(root):
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
