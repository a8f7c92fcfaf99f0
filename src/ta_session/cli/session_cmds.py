"""``ta session list|show|close|abort``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from ta_session.cli.context import cli_channel_id, open_project, report_bad_files, resolve_session
from ta_session.cli.output import CommandError, print_json, style, table, use_colour
from ta_session.model import (
    Abort,
    Close,
    HumanInput,
    InteractiveSession,
    InteractiveSessionState,
    Message,
    Pause,
    RecordFormatError,
    Resume,
    SessionChannelError,
    Timestamp,
    format_elapsed,
)
from ta_session.store import Project, SessionSummary, StoreError
from ta_session.store.hosts import HostStatus


def ask_host(project: Project, sid: UUID, message: HumanInput | dict[str, Any]) -> Any:
    """``cli.live.ask_host``, imported on use: listings must not pay for the socket client."""
    from ta_session.cli.live import ask_host as ask

    return ask(project, sid, message)


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
    recorded = project.hosts.recorded()  # most sessions have no host record: skip their reads
    hosts = {
        s.session_id: project.hosts.status_of(
            s.session_id,
            s.is_alive(),
            project.hosts.read(s.session_id) if str(s.session_id) in recorded else None,
        )
        for s in summaries
    }
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


def _finish(
    args: argparse.Namespace,
    target: InteractiveSessionState,
    verb: str,
    note: str,
    request: HumanInput,
) -> int:
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
    if ask_host(project, sid, request) is not None:
        final = _wait_until_finished(project, sid)
        print(f"Session {short} {verb} ({session.state.value} → {final}).")
        return 0
    # No live host: the record is ours to change (the session is lost or was never hosted).
    _end_lost_host(project, sid)
    if target is InteractiveSessionState.COMPLETED and not getattr(args, "no_draft", True):
        _draft_before_close(project, sid, session.goal_id)
    try:
        change = project.change_state(sid, target, channel_id=cli_channel_id(), note=note)
    except SessionChannelError as exc:
        raise CommandError(f"Session {short}: {exc}") from None
    print(f"Session {short} {verb} ({change.previous.value} → {change.session.state.value}).")
    return 0


def _end_lost_host(project: Project, sid: UUID) -> None:
    """A lost host may have left its agent running: end it before the session moves on."""
    if project.host_status(sid, True).status == "live":
        raise CommandError(f"Session {str(sid)[:8]}'s host is running but did not answer; retry")
    if project.hosts.end_lost_agent(sid):
        print(f"Ended what was left of session {str(sid)[:8]}'s agent.")
    project.hosts.unregister(sid)


def _draft_before_close(project: Project, sid: UUID, goal_id: UUID) -> None:
    """Closing builds the draft (SPEC §4.3); a missing workspace is reported, not fatal."""
    from ta_session.workspace.drafts import WorkspaceMissing
    from ta_session.workspace.review import build_draft

    try:
        draft = build_draft(project, goal_id, session_id=sid, channel_id=cli_channel_id())
    except (WorkspaceMissing, StoreError, RecordFormatError) as exc:
        print(f"No draft: {exc}.")
        return
    if draft is None:
        print("No changes in the workspace: no draft.")
    else:
        print(
            f"Draft {draft.short_id} built: {draft.summary}. Review: ta draft view {draft.short_id}"
        )


def _wait_until_finished(project: Project, sid: UUID, timeout: float = 15.0) -> str:
    """Wait for the host to end the agent and record the final state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if project.host_status(sid, True).status != "live":
            break
        time.sleep(0.05)
    return project.sessions.load(sid).state.value


def cmd_close(args: argparse.Namespace) -> int:
    note = "Session closed" + (" without a draft" if args.no_draft else "")
    request = Close(build_draft=not args.no_draft)
    return _finish(args, InteractiveSessionState.COMPLETED, "closed", note, request)


def cmd_abort(args: argparse.Namespace) -> int:
    note = "Session aborted" + (f": {args.reason}" if args.reason else "")
    return _finish(args, InteractiveSessionState.ABORTED, "aborted", note, Abort(args.reason))


def _alive_session(args: argparse.Namespace) -> tuple[Project, UUID, InteractiveSession]:
    project = open_project(args)
    sid = resolve_session(project, args.session)
    session = project.sessions.load(sid)
    if not session.is_alive():
        raise CommandError(f"Session {str(sid)[:8]} is {session.state.value}; it has ended.")
    return project, sid, session


def _no_host(sid: UUID) -> CommandError:
    short = str(sid)[:8]
    return CommandError(
        f"Session {short} has no live host (it is lost); 'ta session resume {short}' relaunches it"
    )


def cmd_send(args: argparse.Namespace) -> int:
    project, sid, _ = _alive_session(args)
    if not args.text:
        raise CommandError("nothing to send: give the guidance text", code=2)
    if ask_host(project, sid, Message(args.text)) is None:
        raise _no_host(sid)
    print(f"Sent to session {str(sid)[:8]}.")
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    project, sid, _ = _alive_session(args)
    if ask_host(project, sid, Pause()) is None:
        raise _no_host(sid)
    print(f"Session {str(sid)[:8]} paused.")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    project, sid, session = _alive_session(args)
    short = str(sid)[:8]
    if project.host_status(sid, True).status == "live":
        ask_host(project, sid, Resume())
        print(f"Session {short} resumed.")
        return 0
    # The host is gone: relaunch one in the same workspace; the log continues.
    from ta_session.host.launch import HostStartError, start_host

    _end_lost_host(project, sid)
    channel = cli_channel_id()
    project.audit.append(
        "host_lost", session_id=sid, goal_id=session.goal_id, channel_id=channel, details={}
    )
    if session.state is InteractiveSessionState.PAUSED:
        project.change_state(sid, InteractiveSessionState.ACTIVE, channel_id=channel)
    project.log_message(sid, "ta-system", "Session host lost; relaunching", channel_id=channel)
    project.sessions.flush()
    try:
        start_host(project, str(sid), resume=True)
    except HostStartError as exc:
        raise CommandError(f"Session {short} could not be resumed: {exc}") from None
    project.audit.append(
        "host_recovered", session_id=sid, goal_id=session.goal_id, channel_id=channel, details={}
    )
    print(f"Session {short} resumed with a new host. Attach with 'ta session attach {short}'.")
    return 0


def cmd_attach(args: argparse.Namespace) -> int:
    from ta_session.cli.live import attach_terminal

    project, sid, _ = _alive_session(args)
    return attach_terminal(project, sid, args.detach_key)


def cmd_status(args: argparse.Namespace) -> int:
    project = open_project(args)
    sid = resolve_session(project, args.session)
    session = project.sessions.load(sid)
    host = project.host_status(sid, session.is_alive())
    info: dict[str, Any] = {
        "session_id": str(sid),
        "state": session.state.value,
        "host": host.to_dict(),
        "activity": host.activity if host.status == "live" else None,
        "channels": [],
        "messages": len(session.messages),
        "elapsed": format_elapsed(elapsed_seconds(session, Timestamp.now())),
    }
    if host.status == "live":
        reply = ask_host(project, sid, {"type": "status"})
        if reply is not None:
            info["activity"] = reply.get("activity")
            info["channels"] = reply.get("clients", [])
    if args.json:
        print_json(info)
        return 0
    channels = ", ".join(c["channel_id"] for c in info["channels"]) or "none"
    print(f"Session:   {sid}")
    print(f"State:     {info['state']}")
    print(f"Host:      {host.status}" + (f" (pid {host.pid})" if host.pid else ""))
    print(f"Activity:  {info['activity'] or '-'}")
    print(f"Channels:  {channels}")
    print(f"Messages:  {info['messages']}")
    print(f"Elapsed:   {info['elapsed']}")
    return 0


def _recording(project: Project, sid: UUID) -> Path:
    path = project.layout.recordings_dir / f"{sid}.cast"
    if not path.is_file():
        raise CommandError(f"Session {str(sid)[:8]} has no recording ({path} does not exist).")
    return path


def cmd_logs(args: argparse.Namespace) -> int:
    from ta_session.host.recording import parse_event
    from ta_session.host.text import strip_ansi

    project = open_project(args)
    sid = resolve_session(project, args.session)
    path = _recording(project, sid)
    out = sys.stdout
    with path.open("rb") as handle:
        handle.readline()
        while True:
            line = handle.readline()
            if line.endswith(b"\n"):
                event = parse_event(line)
                if event is not None and event.code == "o":
                    out.write(event.data if args.raw else strip_ansi(event.data))
                continue
            # End of the file (or a half-written last line): stop, or wait with --follow.
            if not args.follow or project.host_status(sid, True).status != "live":
                if line:
                    event = parse_event(line)
                    if event is not None and event.code == "o":
                        out.write(event.data if args.raw else strip_ansi(event.data))
                break
            out.flush()
            handle.seek(-len(line), os.SEEK_CUR)
            time.sleep(0.1)
    out.flush()
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from ta_session.host.recording import read_events

    if args.speed <= 0:
        raise CommandError("--speed must be greater than 0", code=2)
    project = open_project(args)
    sid = resolve_session(project, args.session)
    path = _recording(project, sid)
    previous = 0.0
    for event in read_events(path):
        if event.code != "o":
            continue
        delay = max(0.0, event.time - previous)
        if args.idle_limit is not None:
            delay = min(delay, args.idle_limit)
        previous = event.time
        if delay > 0:
            sys.stdout.flush()
            time.sleep(delay / args.speed)
        sys.stdout.write(event.data)
    sys.stdout.flush()
    return 0


def _session_decision(args: argparse.Namespace, disposition: Any, text: str | None) -> int:
    from ta_session.cli.draft_cmds import decide_and_report, resolve_draft

    project = open_project(args)
    sid = resolve_session(project, args.session)
    session = project.sessions.load(sid)
    if args.draft:
        draft_id = resolve_draft(project, args.draft)
    elif session.draft_ids:
        draft_id = session.draft_ids[-1]
    else:
        raise CommandError(f"Session {str(sid)[:8]} has no drafts yet.")
    return decide_and_report(project, draft_id, disposition, args.artifact, text)


def cmd_approve(args: argparse.Namespace) -> int:
    from ta_session.model.draft import Disposition

    return _session_decision(args, Disposition.APPROVED, None)


def cmd_reject(args: argparse.Namespace) -> int:
    from ta_session.model.draft import Disposition

    return _session_decision(args, Disposition.REJECTED, args.reason)


def cmd_complete(args: argparse.Namespace) -> int:
    """For agents: report that the goal is done (``auto_exit_on: goal_complete`` then closes)."""
    args.session = args.session or os.environ.get("TA_SESSION_ID")
    if not args.session:
        raise CommandError(
            "give the session id (inside a session, TA_SESSION_ID supplies it)", code=2
        )
    project, sid, _ = _alive_session(args)
    reply = ask_host(project, sid, {"type": "goal_complete"})
    if reply is None:
        raise _no_host(sid)
    print(f"Session {str(sid)[:8]}: goal complete ({reply.get('detail')}).")
    return 0
