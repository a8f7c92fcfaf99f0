"""Attaching the current terminal to a session's live host."""

from __future__ import annotations

import os
import sys
from uuid import UUID

from ta_session.cli.output import CommandError
from ta_session.model import InteractiveSession, InteractiveSessionState
from ta_session.service.drafts import DraftService
from ta_session.service.errors import NoLiveHost
from ta_session.service.lifecycle import SessionService
from ta_session.store import Project

_SELF_ATTACH = (
    "cannot attach to session {short} from inside it: this terminal is that session's own "
    "agent, and its output would be fed back into itself"
)


def _ancestors() -> set[int]:
    """This process and its parents (from /proc): is this command running inside an agent?"""
    found, pid = set(), os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                pid = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return found


# How much of a session's output is shown when it ended before this terminal could attach.
ENDED_TAIL_CHARS = 64 << 10


def _agent_detach_key(project: Project, sid: UUID) -> str | None:
    """The session's agent may set its own detach key (``detach_key`` in its config)."""
    from ta_session.store.agents import AgentCatalog

    try:
        goal = project.goals.load(project.sessions.load(sid).goal_id)
        if goal.agent_command:
            return None
        return AgentCatalog(project.root).get(goal.agent_id).detach_key
    except Exception:  # no goal, no config: the default key
        return None


def attach_terminal(
    service: SessionService, sid: UUID, detach_key: str | None, *, launched: bool = False
) -> int:
    """Attach this terminal; print how it ended; return the exit code. ``launched``: the
    session was started for this terminal (``ta run``), which then sees the agent's output from
    its start, below what it printed before, rather than a redrawn screen."""
    from ta_session.channels.terminal import attach, terminal_size
    from ta_session.model import RecordFormatError
    from ta_session.model.agent import key_sequence

    project = service.project
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CommandError("attaching needs a terminal (stdin and stdout must be a tty)")
    try:
        spec = detach_key or os.environ.get("TA_DETACH_KEY") or _agent_detach_key(project, sid)
        key = key_sequence(spec)
    except RecordFormatError as exc:
        raise CommandError(str(exc).replace("'detach_key'", "detach key"), code=2) from None
    short = str(sid)[:8]
    if os.environ.get("TA_SESSION_ID") == str(sid):
        raise CommandError(_SELF_ATTACH.format(short=short))
    client = service.link.connect(sid, role="attach", size=terminal_size(1), from_start=launched)
    if client is None:
        session = project.sessions.load(sid)
        if not session.is_alive():
            # A quick agent can finish before this terminal attaches (``ta run`` starts the host
            # first): show what an attached terminal would have seen, then offer the review.
            return _ended_before_attach(service, session)
        raise NoLiveHost(short)
    if client is not None and client.welcome.get("agent_pid") in _ancestors():
        client.close()  # TA_SESSION_ID was unset, but this process runs inside the agent
        raise CommandError(_SELF_ATTACH.format(short=short))
    key_name = "Ctrl-" + chr(key[0] + 0x40) if len(key) == 1 and key[0] < 0x20 else repr(key)
    sys.stderr.write(f"[attached to session {short}; detach with {key_name}]\r\n")
    sys.stderr.flush()
    with client:
        result = attach(client, detach_key=key)
    if result.reason == "detached":
        print(f"\n[detached from session {short}; it keeps running — "
              f"'ta session attach {short}' to return]")  # fmt: skip
        return 0
    if result.reason == "ended":
        print(f"\n[session {short} {result.message}]")
        if result.draft_id and sys.stdin.isatty():
            from ta_session.cli.draft_cmds import inline_review

            inline_review(DraftService(project, service.channel_id), UUID(result.draft_id))
        if result.exit_code:  # an aborted session whose agent exited 0 still fails (below)
            return int(result.exit_code)  # the agent's own (128+N: killed by signal N)
        return 0 if result.state == "completed" else 1
    print(f"\n[session {short}: {result.message}]")
    return 1


def _ended_before_attach(service: SessionService, session: InteractiveSession) -> int:
    from ta_session.host.recording import read_events

    project = service.project
    recording = project.layout.recordings_dir / f"{session.session_id}.cast"
    try:
        output = "".join(e.data for e in read_events(recording) if e.code == "o")
    except OSError:
        output = ""
    sys.stdout.write(output[-ENDED_TAIL_CHARS:])
    how = session.state.value
    code = session.agent_exit_code()
    if code is not None:
        how += f" (agent exited with code {code})"
    print(f"\n[session {session.short_id} {how}]")
    if session.draft_ids and sys.stdin.isatty():
        draft_id = session.draft_ids[-1]
        if project.drafts.load(draft_id).is_open():
            from ta_session.cli.draft_cmds import inline_review

            inline_review(DraftService(project, service.channel_id), draft_id)
    if code:
        return code
    return 0 if session.state is InteractiveSessionState.COMPLETED else 1
