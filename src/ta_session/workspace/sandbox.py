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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ta_session.model.errors import TaError

BWRAP = "bwrap"


class SandboxUnavailable(TaError):
    """No sandbox can be had on this machine; the message says why and what to do."""


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
    tool = shutil.which(BWRAP)
    if tool is None:
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
    # The private /tmp would hide a project, or the agent's program, kept there: show them
    # again, read-only.
    program = shutil.which(argv[0]) if argv else None
    for shown in (policy.project, Path(program).resolve() if program else None):
        if shown is not None and shown.is_relative_to("/tmp"):
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
