"""``python -m ta_session.host``: the session host process (started by ``start_host``).

Before anything else it takes the session's host lock: a second host for the same session
reports that one is running and exits without touching the session. It then builds the launch
plan; if that fails, the session and its goal are aborted and the reason is reported.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from uuid import UUID

from ta_session.host.controller import HOST
from ta_session.host.launch import build_plan
from ta_session.host.records import HostLog, Records
from ta_session.host.runfiles import HostLock, HostRunning, remove_run_files
from ta_session.model import GoalState, InteractiveSessionState, SessionChannelError
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
                os.write(args.ready_fd, (line + "\n").encode("utf-8", "replace"))
                os.close(args.ready_fd)
            except OSError:
                pass  # the starter went away; the session goes on

    project = Project(Path(args.project))
    session_id = UUID(args.session)
    try:
        lock = HostLock.acquire(project, session_id)
    except (HostRunning, OSError) as exc:
        ready(f"error {exc}")
        return 1
    try:
        session = project.sessions.load(session_id)
    except Exception as exc:  # nothing to run: say why, leave no run files
        ready(f"error cannot load session {session_id}: {exc}")
        remove_run_files(project, session_id, lock)
        return 1
    try:
        goal = project.goals.load(session.goal_id)
        plan = build_plan(project, session, goal, resume=args.resume, term=args.term)
    except Exception as exc:  # anything that stops us from launching ends the session
        message = f"Agent launch failed: {exc}"
        records = Records(project, session_id, session.goal_id, log=HostLog())
        records.message("ta-system", message, channel_id=HOST)
        records.audit("launch_failed", HOST, {"text": message})
        with contextlib.suppress(SessionChannelError):
            records.change_state(InteractiveSessionState.ABORTED, channel_id=HOST, note=None)
        records.goal_state(GoalState.ABORTED)
        records.flush()
        remove_run_files(project, session_id, lock)
        ready(f"error {message}")
        return 1
    from ta_session.host.server import SessionHost  # only a host that will run needs it

    host = SessionHost(
        project, session, plan, cols=args.cols, rows=args.rows, title=goal.title, ready=ready,
        lock=lock,
    )  # fmt: skip
    return host.run()


if __name__ == "__main__":
    sys.exit(main())
