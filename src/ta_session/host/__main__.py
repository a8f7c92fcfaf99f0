"""``python -m ta_session.host``: the session host process (started by ``start_host``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from uuid import UUID

from ta_session.host.launch import build_plan
from ta_session.host.server import SessionHost
from ta_session.model import InteractiveSessionState
from ta_session.store import Project


def main() -> int:
    parser = argparse.ArgumentParser(prog="ta-session-host")
    parser.add_argument("--project", required=True)
    parser.add_argument("--session", required=True)
    parser.add_argument("--cols", type=int, default=80)
    parser.add_argument("--rows", type=int, default=24)
    parser.add_argument("--term", default="xterm-256color")
    parser.add_argument("--ready-fd", type=int, default=None)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()

    def ready(line: str) -> None:
        if args.ready_fd is not None:
            try:
                os.write(args.ready_fd, (line + "\n").encode("utf-8"))
                os.close(args.ready_fd)
            except OSError:
                pass  # the starter went away; the session goes on

    project = Project(Path(args.project))
    session_id = UUID(args.session)
    try:
        session = project.sessions.load(session_id)
        goal = project.goals.load(session.goal_id)
        plan = build_plan(project, session, goal, resume=args.resume, term=args.term)
    except Exception as exc:  # anything that stops us from launching ends the session
        message = f"Agent launch failed: {exc}"
        try:
            project.sessions.append_message(session_id, "ta-system", message)
            project.change_state(session_id, InteractiveSessionState.ABORTED, channel_id="ta-host")
        finally:
            ready(f"error {message}")
        return 1
    host = SessionHost(
        project, session_id, plan, cols=args.cols, rows=args.rows, title=goal.title, ready=ready
    )
    return host.run()


if __name__ == "__main__":
    sys.exit(main())
