"""``ta audit log|verify``."""

from __future__ import annotations

import argparse
import json
import sys
from collections import deque
from collections.abc import Iterator

from ta_session.cli.context import open_project, resolve_session
from ta_session.cli.output import CommandError, one_line, table
from ta_session.store import AuditEvent


def cmd_log(args: argparse.Namespace) -> int:
    project = open_project(args)
    session_id = str(resolve_session(project, args.session)) if args.session else None
    events: Iterator[AuditEvent] = (
        e for e in project.audit.events() if session_id is None or e.session_id == session_id
    )
    if args.limit is not None:
        if args.limit < 0:
            raise CommandError("--limit must be zero or more", code=2)
        events = iter(deque(events, maxlen=args.limit))
    if args.json:
        for event in events:
            sys.stdout.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
        return 0
    rows = [
        [
            e.timestamp[:23].replace("T", " "),
            e.actor,
            e.channel_id or "-",
            e.action,
            (e.session_id or "-")[:8],
            one_line(_describe(e.action, e.details), 60),
        ]
        for e in events
    ]
    if not rows:
        print("No audit events.")
        return 0
    print(table(["TIME", "ACTOR", "CHANNEL", "ACTION", "SESSION", "DETAILS"], rows))
    return 0


def _describe(action: str, details: dict[str, object]) -> str:
    if action == "message":
        return f"{details.get('sender')}: {details.get('content')}"
    if action == "state_changed":
        return f"{details.get('from')} → {details.get('to')}"
    return ", ".join(f"{k}={v}" for k, v in details.items())


def cmd_verify(args: argparse.Namespace) -> int:
    project = open_project(args)
    result = project.audit.verify()
    if result.ok:
        print(f"Audit log intact: {result.lines} event(s), hash chain verified.")
        return 0
    raise CommandError(f"Audit log broken at line {result.broken_line}: {result.problem}.")
