"""``ta session …``: parse, call the session service, print."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

from ta_session.cli.context import report_bad_files, session_service
from ta_session.cli.output import (
    CommandError,
    output_width,
    print_json,
    print_json_rows,
    style,
    table,
    use_colour,
)
from ta_session.model import SessionMessage, TaError, Timestamp, format_elapsed
from ta_session.model.display import visible
from ta_session.service.lifecycle import Outcome, SessionService
from ta_session.service.views import elapsed_seconds

_STATE_COLOUR = {"active": "32", "paused": "33", "completed": "36", "aborted": "31"}


def _report(outcome: Outcome) -> int:
    for note in outcome.notes:
        print(note)
    print(outcome.summary)
    return 0


def _target(args: argparse.Namespace) -> tuple[SessionService, UUID]:
    service = session_service(args)
    return service, service.resolve(args.session)


def cmd_list(args: argparse.Namespace) -> int:
    service = session_service(args)
    rows = service.rows(include_finished=args.all)
    report_bad_files(service.project.sessions.bad_files)
    if args.json:
        drafts = service.drafts()
        print_json_rows([row.to_json_text(drafts) for row in rows])
        return 0
    if not rows:
        if args.all:
            print("No interactive sessions found.")
        else:
            print("No active interactive sessions. Use --all to see completed sessions.")
        return 0
    now = Timestamp.now()
    id_chars = 36 if args.full else 8
    cells = []
    for row in rows:
        s, host = row.summary, row.host
        cells.append(
            [
                str(s.session_id)[:id_chars],
                str(s.goal_id)[:id_chars],
                s.agent_id,
                _state_cell(s.state.value, s.exit_code),
                host.status.value if host.status != "none" else "-",
                row.activity.value if row.activity else "-",
                format_elapsed(elapsed_seconds(s, now)),
                _title_cell(row.title),
            ]
        )
    headers = ["SESSION", "GOAL", "AGENT", "STATE", "HOST", "ACTIVITY", "ELAPSED", "TITLE"]
    # The title is cut to the terminal's width (never with --full, nor into a pipe).
    text = table(headers, cells, fit=None if args.full else output_width())
    if use_colour():  # colour after alignment, so escape codes do not upset the widths
        lines = text.split("\n")
        for i, row in enumerate(rows, start=1):
            state = row.summary.state.value
            cell = _state_cell(state, row.summary.exit_code)
            painted = style(cell, _STATE_COLOUR[state], True)
            lines[i] = lines[i].replace(f"  {cell}  ", f"  {painted}  ", 1)
        text = "\n".join(lines)
    print(text)
    print(f"{len(rows)} session(s).")
    return 0


def _title_cell(title: str | None) -> str:
    """The goal's title on one line, with whatever a terminal would act on made visible (a
    title is anyone's text: the goal file may hold escape sequences)."""
    if not title:
        return "-"
    if title.isprintable() and "  " not in title and title[0] != " " and title[-1] != " ":
        return title  # the common case, cheaply: one line already, nothing to escape
    return visible(" ".join(title.split())) or "-"


def _state_cell(state: str, exit_code: int | None) -> str:
    """A finished session whose agent failed says so: ``completed (exit 3)``."""
    return f"{state} (exit {exit_code})" if exit_code and state != "active" else state


def cmd_show(args: argparse.Namespace) -> int:
    service, sid = _target(args)
    row = service.row(sid)
    confinement = service.confinement(sid)
    questions = service.questions(sid) if row.host.live else []
    if args.json:
        print_json({**row.to_json(service.drafts()), "sandbox": confinement or None,
                    "questions": questions})  # fmt: skip
        return 0
    session, host = service.load(sid), row.host
    goal_title = service.project.goal_title(session.goal_id)
    activity = f" ({row.activity.value})" if row.activity else ""
    pid = f", pid {host.pid}" if host.pid else ""
    lines = [
        f"Session:  {session.session_id}",
        f"Goal:     {session.goal_id}" + (f" — {_title_cell(goal_title)}" if goal_title else ""),
        f"Channel:  {session.channel_id}",
        f"Agent:    {session.agent_id}",
        f"State:    {session.state.value}",
        f"Host:     {host.status.value}{pid}{activity}",
        f"Sandbox:  {_sandbox_line(confinement)}",
        f"Created:  {session.created_at.isoformat()}",
        f"Updated:  {session.updated_at.isoformat()}",
        f"Elapsed:  {format_elapsed(elapsed_seconds(session, Timestamp.now()))}",
    ]
    if session.draft_ids:
        drafts = service.drafts()
        lines.append("Drafts:")
        lines += [f"  {draft_id}  {drafts.status(draft_id)}" for draft_id in session.draft_ids]
    else:
        lines.append("Drafts:   none")
    if questions:  # the agent's ask_human questions, waiting for an answer
        lines.append("Questions:")
        for q in questions:
            lines.append(f"  {visible(str(q.get('question_id')))}  {visible(str(q.get('prompt')))}")
        lines.append(f'  answer with: ta session answer {session.short_id} --question ID "…"')
    lines.append(f"Message log ({len(session.messages)} messages):")
    for m in session.messages:
        clock = m.timestamp.isoformat().partition("T")[2][:8]  # any year, signed ones too
        # Messages hold what agents and people typed: shown, never run by the terminal.
        body = visible(m.content).replace("\n", "\n" + " " * 13)
        lines.append(f"  [{clock}] {visible(m.sender, name=True)}: {body}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _sandbox_line(confinement: dict[str, Any]) -> str:
    if confinement.get("enabled"):
        return f"on ({confinement.get('tool', 'bubblewrap')})"
    if confinement:
        return f"off — {confinement.get('reason', 'not confined')}"
    return "unknown (started before sandboxing existed)"


def cmd_close(args: argparse.Namespace) -> int:
    service, sid = _target(args)
    return _report(service.close(sid, build_draft=not args.no_draft))


def cmd_abort(args: argparse.Namespace) -> int:
    service, sid = _target(args)
    return _report(service.abort(sid, args.reason))


def cmd_send(args: argparse.Namespace) -> int:
    service, sid = _target(args)
    return _report(service.send(sid, args.text))


def cmd_answer(args: argparse.Namespace) -> int:
    service, sid = _target(args)
    return _report(service.answer(sid, args.text, args.question))


def cmd_pause(args: argparse.Namespace) -> int:
    service, sid = _target(args)
    return _report(service.pause(sid))


def cmd_resume(args: argparse.Namespace) -> int:
    service, sid = _target(args)
    return _report(service.resume(sid))


def cmd_complete(args: argparse.Namespace) -> int:
    """For agents: report that the goal is done (``auto_exit_on: goal_complete`` then closes)."""
    args.session = args.session or os.environ.get("TA_SESSION_ID")
    if not args.session:
        raise CommandError(
            "give the session id (inside a session, TA_SESSION_ID supplies it)", code=2
        )
    service, sid = _target(args)
    return _report(service.complete(sid))


def cmd_attach(args: argparse.Namespace) -> int:
    from ta_session.cli.live import attach_terminal

    service = session_service(args)
    sid = service.resolve(args.session) if args.session else _choose_live(service)
    service.alive(sid)
    return attach_terminal(service, sid, args.detach_key)


def _choose_live(service: SessionService) -> UUID:
    """No id given: the only live session, or the one picked from a numbered list."""
    live = service.live_sessions()
    if not live:
        raise CommandError("no live session to attach to ('ta session list' shows them all)")
    if len(live) == 1:
        return live[0].summary.session_id
    choices = [f"  {i}. {str(r.summary.session_id)[:8]}  {r.summary.agent_id}  "
               f"{r.summary.state.value}" for i, r in enumerate(live, start=1)]  # fmt: skip
    if not sys.stdin.isatty():
        ids = ", ".join(str(r.summary.session_id)[:8] for r in live)
        raise CommandError(f"{len(live)} live sessions: give the id of one ({ids})")
    print(f"{len(live)} live sessions:\n" + "\n".join(choices))
    try:
        answer = input(f"Attach to which (1-{len(live)})? ").strip()
    except EOFError:
        answer = ""
    if not answer.isdigit() or not 1 <= int(answer) <= len(live):
        raise CommandError(f"no session chosen (answer a number from 1 to {len(live)})")
    return live[int(answer) - 1].summary.session_id


def cmd_status(args: argparse.Namespace) -> int:
    service, sid = _target(args)
    status = service.status(sid)
    if args.json:
        print_json(status.to_json())
        return 0
    host = status.host
    channels = ", ".join(c["channel_id"] for c in status.channels) or "none"
    print(f"Session:   {sid}")
    print(f"State:     {status.state}")
    print(f"Host:      {host.status.value}" + (f" (pid {host.pid})" if host.pid else ""))
    print(f"Activity:  {status.activity or '-'}")
    print(f"Channels:  {channels}")
    if status.window:
        window = status.window
        print(f"Window:    {window.get('cols')}×{window.get('rows')} ({window.get('policy')} of "
              f"{window.get('terminals')} terminal(s) attached)")  # fmt: skip
    print(f"Messages:  {status.messages}")
    print(f"Elapsed:   {status.elapsed}")
    return 0


def _recording(service: SessionService, sid: UUID) -> Path:
    path = service.project.layout.recordings_dir / f"{sid}.cast"
    if not path.is_file():
        raise CommandError(f"Session {str(sid)[:8]} has no recording ({path} does not exist).")
    return path


def cmd_logs(args: argparse.Namespace) -> int:
    from ta_session.host.screen_text import how_it_ended, recording_text

    service, sid = _target(args)
    path = _recording(service, sid)
    out = sys.stdout
    live = (lambda: service.link.is_live(sid)) if args.follow else None
    for piece in recording_text(path, raw=args.raw, live=live):
        if piece:
            out.write(piece)
        else:
            out.flush()  # waiting for more: what came so far is shown
    if args.follow:
        session = service.load(sid)
        print(how_it_ended(session.state.value, session.agent_exit_code()), file=out)
    out.flush()
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from ta_session.channels.playback import Timeline
    from ta_session.channels.player import Ending, play, play_plain

    if not (math.isfinite(args.speed) and args.speed > 0):
        raise CommandError("--speed must be a finite number greater than 0", code=2)
    if math.isnan(args.idle_limit) or args.idle_limit < 0:  # inf: no cap, as 0
        raise CommandError("--idle-limit must be 0 (no cap) or more seconds", code=2)
    service, sid = _target(args)
    path = _recording(service, sid)
    with Timeline.load(path, idle_limit=args.idle_limit, messages=_log(service, sid)) as timeline:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            sys.stdout.flush()
            out = sys.stdout.fileno()
            play_plain(timeline, speed=args.speed, out_fd=out, restore=os.isatty(out))
            return 0
        if not timeline.items:
            return 0
        result = play(timeline, speed=args.speed)
    if result.ending is Ending.SIGNAL and result.signum is not None:
        return 128 + result.signum
    return 0


def _log(service: SessionService, sid: UUID) -> Iterator[SessionMessage]:
    """The session's messages, read only if iterated (the replay's markers when its recording
    carries none); a session file that cannot be read gives none."""
    try:
        messages = service.load(sid).messages
    except (TaError, OSError):
        return
    yield from messages


def _session_decision(args: argparse.Namespace, approve: bool) -> int:
    from ta_session.cli.context import draft_service
    from ta_session.cli.draft_cmds import report_decision
    from ta_session.model.draft import Disposition

    drafts = draft_service(args)
    sid = drafts.sessions.resolve(args.session)
    draft_id = drafts.resolve(args.draft) if args.draft else drafts.latest_of_session(sid)
    disposition = Disposition.APPROVED if approve else Disposition.REJECTED
    reason = None if approve else args.reason
    draft = drafts.decide(draft_id, disposition, list(args.artifact or []), reason)
    return report_decision(draft, disposition, args.artifact)


def cmd_approve(args: argparse.Namespace) -> int:
    return _session_decision(args, approve=True)


def cmd_reject(args: argparse.Namespace) -> int:
    return _session_decision(args, approve=False)
