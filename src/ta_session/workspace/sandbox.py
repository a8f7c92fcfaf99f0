"""Confining an agent with bubblewrap (``bwrap``), Debian's ``bubblewrap`` package.

The kernel does the enforcing (mount, PID and IPC namespaces); we only describe the view:

* the whole file system read-only (``--ro-bind / /``), so neither the project nor a file a
  symlink in the workspace points at can be written;
* the staging workspace, and the agent's own config folders (``sandbox.writable``), writable;
* the project's ``.ta/`` replaced by an empty folder: drafts, the audit log, recordings and
  other sessions' sockets are out of sight;
* a private ``/tmp``, its own ``/proc``; the network stays (agents call their model APIs).

Children of the agent inherit all of it. We do not use ``--new-session``: the agent must keep
its controlling terminal (the host's pty) for job control and full-screen programs.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BWRAP = "bwrap"


@dataclass(frozen=True, slots=True)
class SandboxSupport:
    available: bool
    tool: str | None  # the bwrap executable, when found
    detail: str  # what works, or why it does not


@dataclass(frozen=True, slots=True)
class SandboxPolicy:
    """What the confined agent may see and write."""

    workspace: Path
    project: Path
    writable: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = field(default=())  # folders replaced by an empty one
    # Kept visible (read-only) even under the private /tmp: the agent's PATH folders and the
    # Python installation ta runs from (its agents, the demo's, run `python -m ta_session…`).
    visible: tuple[Path, ...] = field(default=())
    search_path: str | None = None  # the agent's PATH, to find its program
    # (source, destination) read-write binds made last, e.g. the session's agent socket from
    # the hidden .ta/run/ to a path in the private /tmp.
    binds: tuple[tuple[Path, Path], ...] = ()

    def describe(self) -> str:
        parts = [f"workspace {self.workspace} writable", "everything else read-only"]
        parts += [f"{p} hidden" for p in self.hidden]
        if self.writable:
            parts.append("also writable: " + ", ".join(map(str, self.writable)))
        parts += [f"{dest} bound to {source.name}" for source, dest in self.binds]
        return "bubblewrap: " + "; ".join(parts) + "; private /tmp; network on"


@functools.lru_cache(maxsize=1)
def probe() -> SandboxSupport:
    """Can this machine run a bubblewrap sandbox? (Runs ``bwrap`` once: a few milliseconds.)"""
    wanted = os.environ.get("TA_BWRAP") or BWRAP  # bwrap installed elsewhere
    tool = shutil.which(wanted)
    if tool is None:
        if wanted != BWRAP:
            return SandboxSupport(False, None, f"TA_BWRAP is {wanted!r}, which is not a program")
        return SandboxSupport(
            False, None, "bubblewrap is not installed (apt-get install bubblewrap)"
        )
    try:
        result = subprocess.run(
            [tool, "--ro-bind", "/", "/", "--proc", "/proc", "--dev-bind", "/dev", "/dev",
             "--unshare-pid", "--unshare-ipc", "--", "true"],
            capture_output=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxSupport(False, tool, f"bubblewrap does not run: {exc}")
    if result.returncode != 0:
        why = result.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = why[-1] if why else f"exit code {result.returncode}"
        return SandboxSupport(False, tool, f"bubblewrap cannot create namespaces here: {reason}")
    return SandboxSupport(True, tool, f"bubblewrap ({tool}): mount, PID and IPC namespaces")


def expand(path: str, home: str | None = None) -> Path:
    """``~`` in a configured path is the user's home folder."""
    if path == "~" or path.startswith("~/"):
        path = (home or os.path.expanduser("~")) + path[1:]
    return Path(path)


def _install_root(path: Path) -> list[Path]:
    """The virtual environment (a folder with ``pyvenv.cfg``) that ``path`` is part of, if any:
    its interpreter needs the whole of it."""
    for folder in path.parents:
        if (folder / "pyvenv.cfg").is_file():
            return [folder]
    return []


def _program_folders(program: Path) -> list[Path]:
    """What running ``program`` needs to see: the folder it is named in (a link there, e.g.
    ``node_modules/.bin/claude``, must still resolve), the installation a ``bin`` folder belongs
    to (a virtual environment, a ``node_modules``), and the folder of the file it points to."""
    real = program.resolve()
    found = [program.parent, real.parent, *_install_root(program), *_install_root(real)]
    if program.parent.name in ("bin", ".bin"):
        found.append(program.parent.parent)
    return found


def _outermost(paths: Iterable[Path]) -> list[Path]:
    """``paths`` without those inside another one (binding the outer one shows them)."""
    chosen: list[Path] = []
    for path in sorted(set(paths), key=lambda p: len(p.parts)):
        if not any(path.is_relative_to(outer) for outer in chosen):
            chosen.append(path)
    return chosen


def visible_installation(search_path: str | None) -> tuple[Path, ...]:
    """What a confined agent must still see of this machine's software when it lives under
    ``/tmp``: the folders of its PATH (with their virtual environments) and the Python
    installation and source folder ta itself runs from."""
    import ta_session

    found = [Path(sys.prefix), Path(ta_session.__file__).resolve().parents[1]]
    for entry in (search_path or "").split(os.pathsep):
        if entry:
            found += [Path(entry), *_install_root(Path(entry) / "x")]
    return tuple(found)


def wrap(argv: Sequence[str], policy: SandboxPolicy, tool: str) -> list[str]:
    """``argv`` run inside the sandbox that ``policy`` describes."""
    args = [
        tool,
        "--ro-bind", "/", "/",
        "--dev-bind", "/dev", "/dev",  # the agent's pty lives in the host's /dev/pts
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent",
    ]  # fmt: skip
    # The private /tmp would hide a project, or the agent's programs, kept there: show those
    # again, read-only (and nothing else of the real /tmp: its sockets stay out of reach).
    program = shutil.which(argv[0], path=policy.search_path) if argv else None
    wanted = [policy.project, *policy.visible]
    if program is not None:
        wanted += _program_folders(Path(program))
    for arg in argv[1:]:  # a script named on the command line, with the folder it imports from
        if arg.startswith("/tmp/") and os.path.exists(arg):
            wanted.append(Path(arg) if os.path.isdir(arg) else Path(arg).parent)
    in_tmp = (p for p in wanted if p.is_relative_to("/tmp") and p != Path("/tmp") and p.exists())
    for shown in _outermost(in_tmp):
        args += ["--ro-bind", str(shown), str(shown)]
    # A hidden folder that holds the workspace (.ta/ holds .ta/staging/…) is hidden first and
    # the workspace mounted back into it; one inside the workspace (.ta/ of a --no-staging
    # session) is hidden after the workspace is mounted, or the mount would show it again.
    around = [f for f in policy.hidden if policy.workspace.is_relative_to(f)]
    inside = [f for f in policy.hidden if f not in around]
    for folder in around:
        args += ["--tmpfs", str(folder)]
    args += ["--bind", str(policy.workspace), str(policy.workspace)]
    for folder in inside:
        if folder.is_dir():
            args += ["--tmpfs", str(folder)]
    for path in policy.writable:
        args += ["--bind-try", str(path), str(path)]
    for source, dest in policy.binds:
        args += ["--bind", str(source), str(dest)]
    args += ["--chdir", str(policy.workspace), "--", *argv]
    return args
