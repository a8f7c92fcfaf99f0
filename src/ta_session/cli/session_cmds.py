"""``ta session list|show|close|abort``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ta_session.cli.context import cli_channel_id, open_project, report_bad_files, resolve_session
from ta_session.cli.output import CommandError, print_json, style, table, use_colour
from ta_session.model import (
    InteractiveSession,
    InteractiveSessionState,
    SessionChannelError,
    Timestamp,
    format_elapsed,
)
from ta_session.store import Project, SessionSummary
from ta_session.store.hosts import HostStatus

_STATE_COLOUR = {"active": "32", "paused": "33", "completed": "36", "aborted": "31"}


def elapsed_seconds(summary: SessionSummary | InteractiveSession, now: Timestamp) -> int:
    """Time since start for a live session; for a finished one, how long it ran."""
    end = now if summary.state in ("active", "paused") else summary.updated_at
    return max(0, (end.ns - summary.created_at.ns) // 1_000_000_000)


def session_json(
    project: Project, s: SessionSummary | InteractiveSession, host: HostStatus
) -> dict[str, Any]:
    """The reference's fields (same names and formats as the file) plus host, activity, drafts.

    Lists are always present here (the file omits empty ones) so scripts need no special case.
    """
    out: dict[str, Any] = {
        "session_id": str(s.session_id),
        "goal_id": str(s.goal_id),
        "channel_id": s.channel_id,
        "agent_id": s.agent_id,
        "state": s.state.value,
        "created_at": s.created_at.isoformat(),
        "updated_at": s.updated_at.isoformat(),
    }
    if isinstance(s, InteractiveSession):
        out["messages"] = [m.to_dict() for m in s.messages]
    out["draft_ids"] = [str(d) for d in s.draft_ids]
    out["host"] = host.to_dict()
    out["activity"] = host.activity if host.status == "live" else None
    out["drafts"] = [project.draft_brief(d) for d in s.draft_ids]
    return out


def cmd_list(args: argparse.Namespace) -> int:
    project = open_project(args)
    summaries = project.sessions.summaries()
    report_bad_files(project.sessions.bad_files)
    if not args.all:
        summaries = [s for s in summaries if s.is_alive()]
    hosts = {s.session_id: project.host_status(s.session_id, s.is_alive()) for s in summaries}
    if args.json:
        print_json([session_json(project, s, hosts[s.session_id]) for s in summaries])
        return 0
    if not summaries:
        if args.all:
            print("No interactive sessions found.")
        else:
            print("No active interactive sessions. Use --all to see completed sessions.")
        return 0
    now = Timestamp.now()
    colour = use_colour()
    rows = []
    for s in summaries:
        host = hosts[s.session_id]
        rows.append(
            [
                str(s.session_id),
                str(s.goal_id)[:8],
                s.agent_id,
                s.state.value,
                host.status if host.status != "none" else "-",
                (host.activity or "-") if host.status == "live" else "-",
                format_elapsed(elapsed_seconds(s, now)),
            ]
        )
    text = table(["SESSION", "GOAL", "AGENT", "STATE", "HOST", "ACTIVITY", "ELAPSED"], rows)
    if colour:  # colour after alignment, so escape codes do not upset the widths
        lines = text.split("\n")
        for i, s in enumerate(summaries, start=1):
            state = s.state.value
            painted = style(state, _STATE_COLOUR[state], True)
            lines[i] = lines[i].replace(f"  {state}  ", f"  {painted}  ", 1)
        text = "\n".join(lines)
    print(text)
    print(f"{len(summaries)} session(s).")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    project = open_project(args)
    sid = resolve_session(project, args.session)
    session = project.sessions.load(sid)
    host = project.host_status(sid, session.is_alive())
    if args.json:
        print_json(session_json(project, session, host))
        return 0
    goal_title = project.goal_title(session.goal_id)
    activity = f" ({host.activity})" if host.status == "live" and host.activity else ""
    pid = f", pid {host.pid}" if host.pid else ""
    lines = [
        f"Session:  {session.session_id}",
        f"Goal:     {session.goal_id}" + (f" — {goal_title}" if goal_title else ""),
        f"Channel:  {session.channel_id}",
        f"Agent:    {session.agent_id}",
        f"State:    {session.state.value}",
        f"Host:     {host.status}{pid}{activity}",
        f"Created:  {session.created_at.isoformat()}",
        f"Updated:  {session.updated_at.isoformat()}",
        f"Elapsed:  {format_elapsed(elapsed_seconds(session, Timestamp.now()))}",
    ]
    if session.draft_ids:
        lines.append("Drafts:")
        for draft_id in session.draft_ids:
            lines.append(f"  {draft_id}  {project.draft_brief(draft_id)['status']}")
    else:
        lines.append("Drafts:   none")
    lines.append(f"Message log ({len(session.messages)} messages):")
    for m in session.messages:
        clock = m.timestamp.isoformat()[11:19]
        body = m.content.replace("\n", "\n" + " " * 13)
        lines.append(f"  [{clock}] {m.sender}: {body}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _finish(args: argparse.Namespace, target: InteractiveSessionState, verb: str, note: str) -> int:
    project = open_project(args)
    sid = resolve_session(project, args.session)
    session = project.sessions.load(sid)
    short = str(sid)[:8]
    if not session.is_alive():
        if target is InteractiveSessionState.COMPLETED:
            print(f"Session {short} is already {session.state.value} — nothing to close.")
            return 0
        raise CommandError(
            f"Session {short} is already {session.state.value} — it cannot be {verb} "
            f"(invalid session transition from {session.state.value} to {target.value})."
        )
    try:
        change = project.change_state(sid, target, channel_id=cli_channel_id(), note=note)
    except SessionChannelError as exc:
        raise CommandError(f"Session {short}: {exc}") from None
    print(f"Session {short} {verb} ({change.previous.value} → {change.session.state.value}).")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    note = "Session closed" + (" without a draft" if args.no_draft else "")
    return _finish(args, InteractiveSessionState.COMPLETED, "closed", note)


def cmd_abort(args: argparse.Namespace) -> int:
    note = "Session aborted" + (f": {args.reason}" if args.reason else "")
    return _finish(args, InteractiveSessionState.ABORTED, "aborted", note)
