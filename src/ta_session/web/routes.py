"""The HTTP API: one small function per operation, each a call into the session service.

Handlers run in a worker thread (the service blocks on files and on the host's socket). Each
gets a ``Caller`` (the project and the channel id ``web:<client-id>`` it acts for) and the
request's checked path, query and body values; it returns what is sent back as JSON. Expected
failures are ``TaError``s, turned into 4xx answers by the app with their one-line message.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ta_session.model import Timestamp
from ta_session.model.draft import Disposition, Draft
from ta_session.service.drafts import DraftService
from ta_session.service.errors import InvalidRequest, valid_text
from ta_session.service.lifecycle import Outcome, SessionService
from ta_session.service.views import SessionRow, elapsed_seconds
from ta_session.store import Project, SessionSummary
from ta_session.web.api import Endpoint, Field
from ta_session.web.listing import Listing

QUESTION_SCAN = 256 << 10  # bytes of the audit log's tail searched for a session's question


class Titles:
    """Goal titles for session details (listings have theirs from the summary index): a goal's
    title never changes, so each is read once."""

    def __init__(self) -> None:
        self._titles: dict[UUID, str | None] = {}
        self._lock = threading.Lock()

    def get(self, project: Project, goal_id: UUID) -> str | None:
        with self._lock:
            if goal_id in self._titles:
                return self._titles[goal_id]
        title = project.goal_title(goal_id)
        with self._lock:
            self._titles[goal_id] = title
        return title


class RawJSON(str):
    """A handler's answer that is JSON text already (the session list): sent as it is."""


@dataclass
class Caller:
    """Who is asking: the project, and the channel id the service records for them."""

    project: Project
    channel_id: str
    titles: Titles
    listing: Listing | None = None  # the server's reusable session list, if it keeps one

    def sessions(self) -> SessionService:
        return SessionService(self.project, self.channel_id)

    def drafts(self) -> DraftService:
        return DraftService(self.project, self.channel_id)


# -------------------------------------------------------------------------------- views


def row_json(
    caller: Caller, service: SessionService, row: SessionRow, drafts: Any
) -> dict[str, Any]:
    data = row.to_json(drafts)
    title = row.title
    if title is None and not isinstance(row.summary, SessionSummary):
        title = caller.titles.get(caller.project, row.summary.goal_id)
    data["title"] = title
    data["elapsed_seconds"] = elapsed_seconds(row.summary, Timestamp.now())
    return data


def session_list(caller: Caller, include_finished: bool) -> list[dict[str, Any]]:
    service = caller.sessions()
    drafts = service.drafts()
    return [row_json(caller, service, row, drafts)
            for row in service.rows(include_finished=include_finished)]  # fmt: skip


def pending_question(project: Project, sid: UUID) -> str | None:
    """The prompt of the session's latest question, if no answer came after it (from the tail
    of the audit log, where the host records both)."""
    path = project.layout.audit_log
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - QUESTION_SCAN))
            tail = handle.read()
    except OSError:
        return None
    key = str(sid).encode()
    for raw in reversed(tail.split(b"\n")):
        if key not in raw:
            continue
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if event.get("session_id") != str(sid):
            continue
        action = event.get("action")
        if action == "question_asked":
            return str((event.get("details") or {}).get("prompt") or "")
        if action in ("question_answered", "input_injected", "state_changed"):
            return None
    return None


def session_detail(caller: Caller, sid: UUID) -> dict[str, Any]:
    service = caller.sessions()
    row = service.row(sid)
    data = row_json(caller, service, row, service.drafts())
    status = service.status(sid)
    data["activity"] = status.activity
    data["channels"] = status.channels
    data["elapsed"] = status.elapsed
    # The agent's own questions (MCP ask_human), each answered by its id; else a prompt seen
    # on its screen.
    questions = [
        {"question_id": q.get("question_id"), "prompt": str(q.get("prompt") or "")}
        for q in status.questions
    ]
    if not questions and status.activity == "waiting":
        prompt = pending_question(caller.project, sid)
        questions.append({"question_id": None,
                          "prompt": prompt or "The agent is waiting for input."})  # fmt: skip
    data["questions"] = questions
    return data


def outcome_json(caller: Caller, sid: UUID, outcome: Outcome) -> dict[str, Any]:
    service = caller.sessions()
    row = service.row(sid)
    return {
        "summary": outcome.summary,
        "notes": outcome.notes,
        "session": row_json(caller, service, row, service.drafts()),
    }


def draft_json(draft: Draft, *, diffs: bool = True) -> dict[str, Any]:
    data = draft.to_dict()
    for artifact, source in zip(data["artifacts"], draft.artifacts, strict=True):
        artifact["path"] = source.path
        artifact["description"] = source.describe()
        if not diffs:
            artifact.pop("diff", None)
    return data


# -------------------------------------------------------------------------------- sessions


def list_sessions(caller: Caller, all: bool = False) -> list[dict[str, Any]] | RawJSON:
    """Sessions, newest activity first: alive ones, or all with ``all``."""
    if caller.listing is not None:
        return RawJSON(caller.listing.text(caller.project, all))
    return session_list(caller, all)


def start_session(caller: Caller, title: str, objective: str = "", agent: str | None = None,
                  command: list[str] | None = None, cols: int = 100,
                  rows: int = 30) -> dict[str, Any]:  # fmt: skip
    """Create the goal, its staging copy and the session, and start its host."""
    from ta_session.service import starting

    if not (1 <= cols <= 1000 and 1 <= rows <= 1000):
        raise InvalidRequest("cols and rows must be between 1 and 1000")
    if command is not None and not command:
        raise InvalidRequest("the command is empty: give the program and its arguments")
    session = starting.start_session(caller.project, title=title, channel_id=caller.channel_id,
                                     objective=objective, agent_id=agent,
                                     command=command)  # fmt: skip
    starting.launch(caller.project, session, cols=cols, rows=rows)
    return {"session_id": str(session.session_id), "goal_id": str(session.goal_id)}


def show_session(caller: Caller, session_id: str) -> dict[str, Any]:
    """One session: its record, message log, drafts, host, activity, channels and question."""
    sid = caller.sessions().resolve(session_id)
    return session_detail(caller, sid)


def session_status(caller: Caller, session_id: str) -> dict[str, Any]:
    """Live status: state, host, activity and the channels attached to the host."""
    service = caller.sessions()
    return service.status(service.resolve(session_id)).to_json()


def send_guidance(caller: Caller, session_id: str, text: str) -> dict[str, Any]:
    """Type guidance into the agent (followed by its submit key); logged with this channel."""
    service = caller.sessions()
    sid = service.resolve(session_id)
    return outcome_json(caller, sid, service.send(sid, text))


def answer_question(caller: Caller, session_id: str, text: str,
                    question_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Answer the question the agent is waiting on."""
    service = caller.sessions()
    sid = service.resolve(session_id)
    return outcome_json(caller, sid, service.answer(sid, text, question_id))


def pause_session(caller: Caller, session_id: str) -> dict[str, Any]:
    """Stop the agent (SIGSTOP): active → paused."""
    service = caller.sessions()
    sid = service.resolve(session_id)
    return outcome_json(caller, sid, service.pause(sid))


def resume_session(caller: Caller, session_id: str) -> dict[str, Any]:
    """Continue a paused agent, or relaunch the host of a lost session."""
    service = caller.sessions()
    sid = service.resolve(session_id)
    return outcome_json(caller, sid, service.resume(sid))


def abort_session(caller: Caller, session_id: str, reason: str | None = None) -> dict[str, Any]:
    """Kill the agent: → aborted, with the reason logged."""
    service = caller.sessions()
    sid = service.resolve(session_id)
    return outcome_json(caller, sid, service.abort(sid, reason))


def close_session(caller: Caller, session_id: str, build_draft: bool = True) -> dict[str, Any]:
    """End the agent gracefully and build the draft (unless ``build_draft`` is false)."""
    service = caller.sessions()
    sid = service.resolve(session_id)
    return outcome_json(caller, sid, service.close(sid, build_draft=build_draft))


# -------------------------------------------------------------------------------- drafts


def list_drafts(caller: Caller, session: str | None = None,
                goal: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Drafts, newest first, without their diffs: all, a goal's, or a session's."""
    service = caller.drafts()
    if session is not None:
        sid = service.sessions.resolve(session)
        ids = service.sessions.load(sid).draft_ids
        drafts = [service.load(d) for d in reversed(ids)]
    else:
        drafts = service.list(service.resolve_goal(goal) if goal else None)
    return [draft_json(d, diffs=False) for d in drafts]


def build_draft(caller: Caller, goal: str | None = None) -> dict[str, Any]:
    """Build a draft of a goal's changes now (default: the newest goal)."""
    service = caller.drafts()
    draft = service.build(service.resolve_goal(goal) if goal else None)
    if draft is None:
        return {"summary": "No changes in the workspace: no draft was built.", "draft": None}
    return {"summary": f"Draft {draft.short_id} built: {draft.summary}.",
            "draft": draft_json(draft)}  # fmt: skip


def show_draft(caller: Caller, draft_id: str) -> dict[str, Any]:
    """One draft with every artifact's diff and disposition."""
    service = caller.drafts()
    return draft_json(service.load(service.resolve(draft_id)))


def decide(caller: Caller, draft_id: str, disposition: str, artifacts: list[str] | None = None,
           text: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Approve, reject (with a reason) or discuss (with a comment) some artifacts (all when
    ``artifacts`` is empty)."""
    service = caller.drafts()
    did = service.resolve(draft_id)
    chosen = Disposition(disposition)
    if text is not None:
        valid_text(text, "reason")
    draft = service.decide(did, chosen, list(artifacts or []), text or None)
    what = ", ".join(artifacts) if artifacts else "all artifacts"
    return {
        "summary": f"{chosen.value.capitalize()}: {what} in draft {draft.short_id} "
        f"(draft is {draft.status.value}).",
        "draft": draft_json(draft),
    }


def apply_draft(caller: Caller, draft_id: str, force: bool = False) -> dict[str, Any]:
    """Write the approved artifacts into the project (all or nothing; conflicts refuse)."""
    service = caller.drafts()
    applied = service.apply(service.resolve(draft_id), force=force)
    return {
        "summary": f"Applied draft {str(applied.draft_id)[:8]}: {len(applied.paths)} file(s) "
        f"written to {service.project.root}.",
        "paths": applied.paths,
        "draft": draft_json(service.load(applied.draft_id)),
    }


# -------------------------------------------------------------------------------- others


def list_agents(caller: Caller) -> list[dict[str, Any]]:
    """Agent configurations a session can start with."""
    from ta_session.store.agents import AgentCatalog

    catalog = AgentCatalog(caller.project.root)
    return [{"name": a.name, "description": a.description, "command": a.command}
            for a in catalog.list()]  # fmt: skip


def audit_log(caller: Caller, session: str | None = None,
              limit: int | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Audit events, oldest first: all, or one session's; the last ``limit`` only."""
    sid = str(caller.sessions().resolve(session)) if session else None
    if limit is not None and limit < 0:
        raise InvalidRequest("limit must not be negative")
    events = [e.to_dict() for e in caller.project.audit.events()
              if sid is None or e.session_id == sid]  # fmt: skip
    return events[-limit:] if limit else events


def verify_audit(caller: Caller) -> dict[str, Any]:
    """Recompute the audit log's hash chain; the first broken line, if any."""
    result = caller.project.audit.verify()
    return {
        "ok": result.ok,
        "lines": result.lines,
        "broken_line": result.broken_line,
        "problem": result.problem,
    }


# -------------------------------------------------------------------------------- the table

_ID = "session id or unique prefix"
TEXT = Field("string", "the text", required=True)

# fmt: off
ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/api/sessions", "List sessions", list_sessions, returns="SessionList",
             query={"all": Field("boolean", "include completed and aborted sessions")},
             errors=()),
    Endpoint("POST", "/api/sessions", "Start a session", start_session, status=201,
             returns="Started", errors=(409,), body={
                 "title": Field("string", "what the agent should do", required=True),
                 "objective": Field("string", "more detail for the agent"),
                 "agent": Field("string", "agent config name (default claude-code)"),
                 "command": Field("array", "an ad-hoc agent command (instead of an agent)"),
                 "cols": Field("integer", "the agent's terminal width (default 100)"),
                 "rows": Field("integer", "the agent's terminal height (default 30)"),
             }),
    Endpoint("GET", "/api/sessions/{session_id}", "Show a session", show_session,
             returns="SessionDetail"),
    Endpoint("GET", "/api/sessions/{session_id}/status", "Live status", session_status,
             returns="Status"),
    Endpoint("POST", "/api/sessions/{session_id}/send", "Send guidance", send_guidance,
             body={"text": Field("string", "the guidance", required=True)},
             errors=(404, 409)),
    Endpoint("POST", "/api/sessions/{session_id}/answer", "Answer a question", answer_question,
             body={"text": Field("string", "the answer", required=True),
                   "question_id": Field("string", "which question (MCP questions)")},
             errors=(404, 409)),
    Endpoint("POST", "/api/sessions/{session_id}/pause", "Pause", pause_session, body={},
             errors=(404, 409)),
    Endpoint("POST", "/api/sessions/{session_id}/resume", "Resume", resume_session, body={},
             errors=(404, 409)),
    Endpoint("POST", "/api/sessions/{session_id}/abort", "Abort", abort_session,
             body={"reason": Field("string", "why (logged)")}, errors=(404, 409)),
    Endpoint("POST", "/api/sessions/{session_id}/close", "Close", close_session,
             body={"build_draft": Field("boolean", "build the draft (default true)")},
             errors=(404, 409)),
    Endpoint("GET", "/api/drafts", "List drafts", list_drafts, returns="DraftList", tag="drafts",
             query={"session": Field("string", "only this session's drafts"),
                    "goal": Field("string", "only this goal's drafts")}),
    Endpoint("POST", "/api/drafts", "Build a draft now", build_draft, returns="Built",
             tag="drafts", body={"goal": Field("string", "goal id or prefix (default newest)")},
             errors=(404, 409)),
    Endpoint("GET", "/api/drafts/{draft_id}", "Show a draft with diffs", show_draft,
             returns="Draft", tag="drafts"),
    Endpoint("POST", "/api/drafts/{draft_id}/decide", "Approve, reject or discuss artifacts",
             decide, returns="Decided", tag="drafts", errors=(404, 409), body={
                 "disposition": Field("string", "the decision", required=True,
                                      choices=("approved", "rejected", "discuss")),
                 "artifacts": Field("array", "fs://workspace/… URIs or paths (default all)"),
                 "text": Field("string", "the reason (reject) or comment (discuss)"),
             }),
    Endpoint("POST", "/api/drafts/{draft_id}/apply", "Apply approved artifacts", apply_draft,
             returns="Applied", tag="drafts", errors=(404, 409),
             body={"force": Field("boolean", "overwrite source changes (conflicts)")}),
    Endpoint("GET", "/api/agents", "List agents", list_agents, returns="AgentList",
             tag="other", errors=()),
    Endpoint("GET", "/api/audit", "Audit events", audit_log, returns="AuditList", tag="other",
             query={"session": Field("string", "only this session's events"),
                    "limit": Field("integer", "only the last N events")}),
    Endpoint("GET", "/api/audit/verify", "Verify the audit log", verify_audit,
             returns="Verify", tag="other", errors=()),
]
# fmt: on
