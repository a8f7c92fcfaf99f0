"""``ta run``: start a session (goal, staging, session, host), then attach unless ``--detach``."""

from __future__ import annotations

import argparse
import json
import sys

from ta_session.cli.context import session_service
from ta_session.cli.output import UsageError
from ta_session.model.host import WindowSize


def cmd_run(args: argparse.Namespace) -> int:
    from ta_session.service.starting import launch, start_session

    title = (args.title or "").strip()
    if not title:
        raise UsageError('a goal title is required: ta run "<title>" [-- COMMAND …]')
    command = list(args.command or [])
    if command and args.agent:
        raise UsageError("give either --agent NAME or -- COMMAND, not both")
    service = session_service(args)
    from ta_session.channels.progress import terminal_progress

    with terminal_progress(sys.stderr) as progress:  # a long staging copy shows how it goes
        session = start_session(
            service.project,
            title=title,
            channel_id=service.channel_id,
            objective=args.objective or "",
            agent_id=args.agent,
            command=command,
            no_staging=args.no_staging,
            sandbox=args.sandbox,
            progress=progress,
            window_size=WindowSize(args.size) if args.size else None,
        )
    from ta_session.channels.terminal import terminal_size

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    cols, rows = terminal_size(1) if interactive else (80, 24)
    launch(service.project, session, cols=cols, rows=rows)
    # Which project (nearest .ta/, else the git work tree's top, else here): on stderr, so
    # that --detach's stdout stays just the id.
    sys.stderr.write(f"ta: session {session.short_id} in project {service.project.root}\n")
    if args.detach or not interactive:
        if args.json:
            ids = {"session_id": str(session.session_id), "goal_id": str(session.goal_id)}
            print(json.dumps(ids))
        else:
            print(session.session_id)
        if not args.detach:
            sys.stderr.write(f"not a terminal: session {session.short_id} runs detached\n")
        return 0
    from ta_session.cli.live import attach_terminal

    return attach_terminal(service, session.session_id, args.detach_key, launched=True)
