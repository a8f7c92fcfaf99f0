"""``ta run``: goal + staging + session + host, then attach (unless ``--detach``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ta_session.cli.context import cli_channel_id, open_project
from ta_session.cli.output import CommandError, UsageError
from ta_session.model import Goal, InteractiveSession
from ta_session.store import CorruptRecordError, NotFoundError, Project

DEFAULT_AGENT = "claude-code"


def cmd_run(args: argparse.Namespace) -> int:
    title = (args.title or "").strip()
    if not title:
        raise UsageError('a goal title is required: ta run "<title>" [-- COMMAND …]')
    command = list(args.command or [])
    if command and args.agent:
        raise UsageError("give either --agent NAME or -- COMMAND, not both")
    project = open_project(args)
    if args.no_staging:
        # Checked before .ta/ is created, so that a refusal leaves nothing behind.
        require_git_work_tree(project.root)
    project.layout.ta_dir.mkdir(exist_ok=True)
    agent_id = "generic" if command else (args.agent or DEFAULT_AGENT)
    if not command:
        _check_agent(project, agent_id)

    session = start_session(
        project,
        title=title,
        objective=args.objective or "",
        agent_id=agent_id,
        command=command,
        no_staging=args.no_staging,
    )
    short = session.short_id
    from ta_session.channels.terminal import terminal_size
    from ta_session.host.launch import HostStartError, start_host

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    cols, rows = terminal_size(1) if interactive else (80, 24)
    try:
        start_host(project, str(session.session_id), cols=cols, rows=rows)
    except HostStartError as exc:
        raise CommandError(f"Session {short} aborted: {exc}") from None
    if args.detach or not interactive:
        if args.json:
            print(
                json.dumps({"session_id": str(session.session_id), "goal_id": str(session.goal_id)})
            )
        else:
            print(session.session_id)
        if not args.detach:
            sys.stderr.write(f"not a terminal: session {short} runs detached\n")
        return 0
    from ta_session.cli.live import attach_terminal

    return attach_terminal(project, session.session_id, args.detach_key)


def _check_agent(project: Project, agent_id: str) -> None:
    from ta_session.store.agents import AgentCatalog

    try:
        AgentCatalog(project.root).get(agent_id)
    except (NotFoundError, CorruptRecordError) as exc:
        raise CommandError(str(exc)) from None


def require_git_work_tree(root: Path) -> None:
    """``--no-staging`` lets the agent change the user's files: only where git can undo it."""
    from ta_session.workspace.staging import is_git_work_tree

    if not is_git_work_tree(root):
        raise CommandError(
            "--no-staging lets the agent change your files directly, so it is only allowed"
            " in a git work tree (where git can show and undo every change); "
            "run 'git init' first or leave out --no-staging"
        )


def start_session(
    project: Project,
    *,
    title: str,
    objective: str,
    agent_id: str,
    command: list[str],
    no_staging: bool = False,
    channel_id: str | None = None,
) -> InteractiveSession:
    """Create and record the goal, its staging workspace and the session (no host yet)."""
    from ta_session.workspace.staging import StagingError, create_staging, scan_baseline

    root = project.root
    goal = Goal.new(title, objective=objective, agent_id=agent_id, source_dir=str(root))
    goal.agent_command = command
    if no_staging:
        require_git_work_tree(root)
        goal.workspace_path = str(root)
        manifest = scan_baseline(root)
    else:
        staging = project.layout.staging_dir / str(goal.goal_id)
        try:
            manifest = create_staging(root, staging)
        except StagingError as exc:
            raise CommandError(str(exc)) from None
        goal.workspace_path = str(staging)
    baseline_path = project.layout.baseline_path(goal.goal_id)
    manifest.save(baseline_path)
    goal.baseline = {
        "manifest": str(baseline_path.relative_to(root)),
        "entries": len(manifest),
        "in_place": no_staging,
    }
    project.goals.save(goal)
    channel = channel_id or cli_channel_id()
    project.audit.append(
        "goal_created",
        goal_id=goal.goal_id,
        channel_id=channel,
        details={"title": title, "agent_id": agent_id, "workspace": goal.workspace_path},
    )
    session = InteractiveSession.new(goal.goal_id, channel, agent_id)
    project.sessions.save(session)
    project.audit.append(
        "session_started",
        session_id=session.session_id,
        goal_id=goal.goal_id,
        channel_id=channel,
        details={"agent_id": agent_id, "command": command, "source": str(Path(root))},
    )
    return session
