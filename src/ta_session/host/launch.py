"""Starting a session host in the background, and deciding what it runs.

``start_host`` spawns ``python -m ta_session.host`` in its own process session (so closing the
terminal that started it does not end it) and waits until the host reports, over an inherited
pipe, that the agent is running — or why it could not be started, including that the session
already has a running host (only one host runs a session: see ``runfiles.HostLock``).

This module does not load the server: ``ta run`` imports it, and ``LaunchPlan`` with it.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from ta_session.host.plan import LaunchPlan
from ta_session.model import Goal, InteractiveSession
from ta_session.model.errors import TaError
from ta_session.store import Project

__all__ = ["HostStartError", "LaunchPlan", "build_plan", "start_host"]

READY_TIMEOUT = 30.0


class HostStartError(TaError):
    """The host could not start the agent; the message is for the human."""


def build_plan(
    project: Project,
    session: InteractiveSession,
    goal: Goal,
    *,
    resume: bool = False,
    term: str = "xterm-256color",
    environ: Mapping[str, str] | None = None,
) -> LaunchPlan:
    from ta_session.model.builtin_agents import generic_agent
    from ta_session.store.agents import AgentCatalog, missing_command_message

    environ = dict(os.environ if environ is None else environ)
    if goal.agent_command:
        config = generic_agent(goal.agent_command)
    else:
        config = AgentCatalog(project.root).get(goal.agent_id)
    argv = config.resume_argv(goal.prompt, str(session.session_id), environ) if resume else None
    if argv is None:
        argv = config.argv(goal.prompt, environ, session_id=str(session.session_id))
    env = {
        **environ,
        **config.env,
        "TERM": term or environ.get("TERM") or "xterm-256color",
        "TA_SESSION_ID": str(session.session_id),
        "TA_GOAL_ID": str(goal.goal_id),
    }
    env.pop("TA_PROJECT_ROOT", None)  # the agent works in staging, not in the project
    # [mcp] The agent's own socket (host/agent_channel.py): inside a sandbox, bound in at a
    # fixed path, since .ta/ (where it lives) is hidden there.
    from ta_session.host.agent_channel import agent_socket_path
    from ta_session.host.mcp_wiring import SANDBOX_AGENT_SOCKET, wired_args

    agent_socket = agent_socket_path(project.layout.run_dir, session.session_id)
    sandboxed = bool(goal.sandbox.get("enabled"))
    env["TA_AGENT_SOCKET"] = SANDBOX_AGENT_SOCKET if sandboxed else str(agent_socket)
    if config.mcp_args and argv:
        server_env = {k: env[k] for k in ("TA_SESSION_ID", "TA_AGENT_SOCKET")}
        argv = [argv[0], *wired_args(config.mcp_args, server_env), *argv[1:]]
    missing = None
    if argv and shutil.which(argv[0], path=env.get("PATH")) is None:
        missing = missing_command_message(config)
    workspace = goal.workspace_path or str(project.root)
    agent_argv, confinement = list(argv), None
    if sandboxed:
        argv, confinement = _confined(argv, goal, project, workspace, agent_socket, env.get("PATH"))
    interactive = config.interactive
    submit_key = config.submit_key
    if interactive.output_capture != "pty" and submit_key == "\r":
        # Under a pty the terminal turns Enter (CR) into a newline; on a pipe nothing does,
        # and a line-reading agent would never see the line.
        submit_key = "\n"
    return LaunchPlan(
        argv=list(argv),
        mode=interactive.output_capture,
        env=env,
        cwd=workspace,
        submit_key=submit_key.encode("utf-8"),
        allow_human_input=interactive.allow_human_input,
        idle_after=config.idle_after,
        idle_timeout=interactive.idle_timeout_seconds(),
        exit_on_goal_complete=interactive.exits_on_goal_complete,
        prompt_patterns=list(config.prompt_regexes()),
        missing_hint=missing,
        agent_argv=agent_argv,
        sandbox=confinement,
        window_size=goal.window_size or config.window_size,
    )


def _confined(
    argv: list[str],
    goal: Goal,
    project: Project,
    workspace: str,
    agent_socket: Path,
    search_path: str | None,
) -> tuple[list[str], str]:
    """``argv`` inside the sandbox the session was started with (``goal.sandbox``), and a
    description of it for the log."""
    from ta_session.host.mcp_wiring import SANDBOX_AGENT_SOCKET
    from ta_session.workspace.sandbox import SandboxPolicy, probe, visible_installation, wrap

    support = probe()
    if not support.available or support.tool is None:
        raise HostStartError(
            f"the session runs its agent in a sandbox, and none can be had now ({support.detail})"
        )
    policy = SandboxPolicy(
        workspace=Path(workspace),
        project=project.root,
        writable=tuple(Path(p) for p in goal.sandbox.get("writable") or []),
        hidden=(project.layout.ta_dir,),
        visible=visible_installation(search_path),
        search_path=search_path,
        binds=((agent_socket, Path(SANDBOX_AGENT_SOCKET)),),  # [mcp] the agent socket only
    )
    return wrap(argv, policy, support.tool), policy.describe()


def start_host(
    project: Project,
    session_id: str,
    *,
    cols: int = 80,
    rows: int = 24,
    term: str | None = None,
    resume: bool = False,
) -> int:
    """Start the host and wait until the agent runs; return the host's pid."""
    run_dir = project.layout.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()
    argv = [
        sys.executable, "-m", "ta_session.host",
        "--project", str(project.root), "--session", str(session_id),
        "--cols", str(cols), "--rows", str(rows), "--ready-fd", str(write_fd),
        "--term", term or os.environ.get("TERM") or "xterm-256color",
    ]  # fmt: skip
    if resume:
        argv.append("--resume")
    log_path = run_dir / f"{session_id}.log"
    # Private like everything in .ta/ (it may quote what was typed).
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    with os.fdopen(log_fd, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            pass_fds=(write_fd,),
            start_new_session=True,
            cwd=str(project.root),
        )
    os.close(write_fd)
    try:
        line = _read_line(read_fd, float(os.environ.get("TA_HOST_START_TIMEOUT", READY_TIMEOUT)))
    finally:
        os.close(read_fd)
    if line == "ready":
        return proc.pid
    if line.startswith("error "):
        raise HostStartError(line[6:])
    raise HostStartError(f"the session host did not start ({_log_tail(log_path)})")


def _read_line(fd: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return f"see {path}"
    return lines[-1] if lines else f"see {path}"
