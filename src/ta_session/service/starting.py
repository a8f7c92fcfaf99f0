"""Starting a session: the goal, its staging workspace, the session record, then its host."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ta_session.model import Goal, InteractiveSession, TaError
from ta_session.model.host import WindowSize
from ta_session.model.sandbox import SandboxSettings
from ta_session.service.errors import InvalidRequest, ServiceError, valid_text
from ta_session.store import Project

if TYPE_CHECKING:
    from ta_session.model.agent import AgentConfig
    from ta_session.workspace.progress import Progress

DEFAULT_AGENT = "claude-code"


def require_git_work_tree(root: Path) -> None:
    """``--no-staging`` lets the agent change the user's files: only where git can undo it."""
    from ta_session.workspace.staging import is_git_work_tree

    if not is_git_work_tree(root):
        raise ServiceError(
            "--no-staging lets the agent change your files directly, so it is only allowed"
            " in a git work tree (where git can show and undo every change); "
            "run 'git init' first or leave out --no-staging"
        )


def agent_config(project: Project, agent_id: str, command: list[str]) -> AgentConfig:
    """The config the agent runs with (else one line naming the problem)."""
    from ta_session.model.builtin_agents import generic_agent
    from ta_session.store.agents import AgentCatalog

    if command:
        return generic_agent(command)
    try:
        return AgentCatalog(project.root).get(agent_id)
    except TaError as exc:
        raise ServiceError(str(exc)) from None


def require_command(config: AgentConfig) -> None:
    """The agent's program must exist before anything is written: a typo in the command leaves
    no session, goal or staging folder behind, only this one line."""
    from ta_session.store.agents import missing_command_message

    environ = {**os.environ, **config.env}
    program = config.resolved_command(environ)
    if not program or shutil.which(program, path=environ.get("PATH")) is None:
        raise ServiceError(missing_command_message(config))


def sandbox_for(
    config: AgentConfig, requested: bool | None, *, fallback: bool = False
) -> dict[str, Any]:
    """How the agent will be confined, decided before anything is written.

    ``requested`` (``--sandbox``/``--no-sandbox``) wins over ``$TA_SANDBOX`` (on/off), which
    wins over the agent config's ``sandbox:``. A sandbox that was asked for but cannot be had
    is an error, unless ``fallback`` (``ta demo``: it must run on any machine), which records
    why the agent runs unconfined.
    """
    from ta_session.model.sandbox import SandboxMode
    from ta_session.workspace.sandbox import expand, probe

    if requested is None and os.environ.get("TA_SANDBOX", "").strip():
        try:
            requested = SandboxSettings.from_value(os.environ["TA_SANDBOX"]).enabled
        except TaError:
            raise InvalidRequest("TA_SANDBOX must be on or off") from None
    if requested is False:
        return {
            "enabled": False,
            "reason": "turned off for this session (--no-sandbox or TA_SANDBOX)",
        }
    if requested is None and config.sandbox.mode is SandboxMode.OFF:
        return {"enabled": False, "reason": f"sandbox: off in the {config.name} agent config"}
    support = probe()
    if not support.available:
        if fallback:
            return {"enabled": False, "reason": f"no sandbox on this machine: {support.detail}"}
        raise ServiceError(
            f"no sandbox on this machine ({support.detail}); run unconfined with --no-sandbox "
            "or 'sandbox: off' in the agent config"
        )
    return {
        "enabled": True,
        "tool": "bubblewrap",
        "writable": [str(expand(p)) for p in config.sandbox.writable],
    }


def start_session(
    project: Project,
    *,
    title: str,
    channel_id: str,
    objective: str = "",
    agent_id: str | None = None,
    command: list[str] | None = None,
    no_staging: bool = False,
    sandbox: bool | None = None,
    sandbox_fallback: bool = False,
    progress: Progress | None = None,
    window_size: WindowSize | None = None,
) -> InteractiveSession:
    """Create and record the goal, its staging workspace and the session (no host yet).

    Everything is checked before anything is written: a refusal leaves no trace in the project.
    ``progress`` is told how the staging copy goes (``workspace.progress``): a terminal shows it.
    ``window_size`` (``ta run --size``) is kept in the goal and wins over the agent config's.
    """
    from ta_session.workspace.staging import StagingError, create_staging, scan_baseline

    title = valid_text(title, "goal title").strip()
    valid_text(objective, "objective")
    for part in command or []:
        valid_text(part, "agent command")
    if not title:
        raise InvalidRequest("a goal title is required")
    command = list(command or [])
    if command and agent_id:
        raise InvalidRequest("give either an agent name or a command, not both")
    root = project.root
    if no_staging:
        require_git_work_tree(root)
    agent_id = "generic" if command else (agent_id or DEFAULT_AGENT)
    config = agent_config(project, agent_id, command)
    require_command(config)
    confinement = sandbox_for(config, sandbox, fallback=sandbox_fallback)
    project.layout.ta_dir.mkdir(exist_ok=True)

    goal = Goal.new(title, objective=objective, agent_id=agent_id, source_dir=str(root))
    goal.agent_command = command
    goal.sandbox = confinement
    goal.window_size = window_size
    if no_staging:
        goal.workspace_path = str(root)
        manifest = scan_baseline(root)
    else:
        staging = project.layout.staging_dir / str(goal.goal_id)
        try:
            manifest = create_staging(root, staging, progress)
        except StagingError as exc:
            raise ServiceError(str(exc)) from None
        goal.workspace_path = str(staging)
    baseline_path = project.layout.baseline_path(goal.goal_id)
    manifest.save(baseline_path)
    goal.baseline = {
        "manifest": str(baseline_path.relative_to(root)),
        "entries": len(manifest),
        "in_place": no_staging,
    }
    project.goals.save(goal)
    project.audit.append(
        "goal_created",
        goal_id=goal.goal_id,
        channel_id=channel_id,
        details={"title": title, "agent_id": agent_id, "workspace": goal.workspace_path},
    )
    session = InteractiveSession.new(goal.goal_id, channel_id, agent_id)
    project.sessions.save(session)
    project.audit.append(
        "session_started",
        session_id=session.session_id,
        goal_id=goal.goal_id,
        channel_id=channel_id,
        details={
            "agent_id": agent_id,
            "command": command,
            "source": str(Path(root)),
            "sandbox": confinement,
        },
    )
    for note in _start_notes(confinement, manifest.outside_links):
        project.log_message(session.session_id, "ta-system", note, channel_id=channel_id)
    return session


def _start_notes(confinement: dict[str, Any], outside_links: list[Any]) -> list[str]:
    """What the session log says at the start about the agent's confinement."""
    from ta_session.model.display import visible

    if confinement.get("enabled"):
        writable = ", ".join(confinement.get("writable") or []) or "nothing else"
        notes = [
            "Sandbox: bubblewrap — the workspace is writable, the rest of the file system "
            f"read-only, .ta/ hidden, /tmp private, network on; also writable: {writable}"
        ]
    else:
        notes = [f"Sandbox: off — {confinement.get('reason', 'not confined')}"]
    if outside_links:
        links = ", ".join(
            f"{visible(link.path)} → {visible(link.resolved)}" for link in outside_links
        )
        guard = ("the sandbox keeps them read-only" if confinement.get("enabled")
                 else "writes through them are reported in the draft")  # fmt: skip
        notes.append(f"Links leading outside the project (kept as links; {guard}): {links}")
    return notes


def launch(project: Project, session: InteractiveSession, *, cols: int = 80, rows: int = 24) -> int:
    """Start the session's host and wait until its agent runs; the host's pid.

    If the agent cannot be started the host records the session (and goal) as aborted, and
    this raises ``ServiceError`` saying why.
    """
    from ta_session.host.launch import HostStartError, start_host

    try:
        return start_host(project, str(session.session_id), cols=cols, rows=rows)
    except HostStartError as exc:
        raise ServiceError(f"Session {session.short_id} aborted: {exc}") from None
