"""The OpenAPI 3.1 document of ``ta serve``, built from the endpoint table (``routes.py``)."""

from __future__ import annotations

import re
from typing import Any

from ta_session import __version__
from ta_session.web.api import Endpoint

_OBJ = {"type": "object"}
_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}


_HOST = _obj(["status"], status={"enum": ["live", "lost", "none"]},
             pid={"type": ["integer", "null"]}, socket=_NSTR)  # fmt: skip
_MESSAGE = _obj(["sender", "content", "timestamp"], sender=_STR, content=_STR, timestamp=_STR)
_SESSION_FIELDS: dict[str, Any] = {
    "session_id": _STR, "goal_id": _STR, "channel_id": _STR, "agent_id": _STR,
    "state": {"enum": ["active", "paused", "completed", "aborted"]},
    "created_at": _STR, "updated_at": _STR,
    "draft_ids": {"type": "array", "items": _STR},
    "host": _HOST,
    "activity": {"enum": ["running", "idle", "waiting", None]},
    "drafts": {"type": "array", "items": _obj(["draft_id", "status"], draft_id=_STR,
                                              status=_STR)},
    "title": _NSTR, "elapsed_seconds": {"type": "integer"},
}  # fmt: skip
_SESSION = _obj(list(_SESSION_FIELDS)[:7], **_SESSION_FIELDS)
_DETAIL = _obj(
    [*list(_SESSION_FIELDS)[:7], "messages", "questions"],
    **_SESSION_FIELDS,
    messages={"type": "array", "items": _MESSAGE},
    channels={"type": "array", "items": _obj(["channel_id", "role"], channel_id=_STR, role=_STR)},
    elapsed=_STR,
    questions={"type": "array", "items": _obj(["prompt"], question_id=_NSTR, prompt=_STR)},
)
_ARTIFACT = _obj(
    ["resource_uri", "change_type", "disposition"],
    resource_uri=_STR, path=_STR, description=_STR,
    change_type={"enum": ["add", "modify", "delete"]}, kind=_STR, binary={"type": "boolean"},
    diff={"type": ["string", "null"], "description": "unified diff (text files)"},
    disposition={"enum": ["pending", "approved", "rejected", "discuss"]},
    reason=_NSTR, comment=_NSTR, decided_by=_NSTR, decided_channel=_NSTR, decided_at=_NSTR,
)  # fmt: skip
_DRAFT = _obj(
    ["draft_id", "goal_id", "status", "artifacts"],
    draft_id=_STR, goal_id=_STR, session_id=_NSTR, summary=_STR,
    status={"enum": ["pending_review", "approved", "denied", "applied", "superseded"]},
    created_at=_STR, updated_at=_STR, applied_at=_NSTR,
    artifacts={"type": "array", "items": {"$ref": "#/components/schemas/Artifact"}},
)  # fmt: skip

# fmt: off
SCHEMAS: dict[str, Any] = {
    "Error": _obj(["error"], error={"type": "string", "description": "one line: why"}),
    "Session": _SESSION,
    "SessionList": _list("Session"),
    "SessionDetail": _DETAIL,
    "Status": _obj(["session_id", "state", "host"], session_id=_STR, state=_STR, host=_HOST,
                   activity=_NSTR, channels={"type": "array", "items": _OBJ},
                   messages={"type": "integer"}, elapsed=_STR),
    "Started": _obj(["session_id", "goal_id"], session_id=_STR, goal_id=_STR),
    "Outcome": _obj(["summary", "notes", "session"], summary=_STR,
                    notes={"type": "array", "items": _STR},
                    session={"$ref": "#/components/schemas/Session"}),
    "Artifact": _ARTIFACT,
    "Draft": _DRAFT,
    "DraftList": _list("Draft"),
    "Built": _obj(["summary", "draft"], summary=_STR,
                  draft={"oneOf": [{"$ref": "#/components/schemas/Draft"}, {"type": "null"}]}),
    "Decided": _obj(["summary", "draft"], summary=_STR,
                    draft={"$ref": "#/components/schemas/Draft"}),
    "Applied": _obj(["summary", "paths", "draft"], summary=_STR,
                    paths={"type": "array", "items": _STR},
                    draft={"$ref": "#/components/schemas/Draft"}),
    "AgentList": {"type": "array", "items": _obj(["name"], name=_STR, description=_NSTR,
                                                 command=_NSTR)},
    "AuditList": {"type": "array", "items": _obj(
        ["event_id", "timestamp", "action"], event_id=_STR, timestamp=_STR, actor=_STR,
        channel_id=_NSTR, action=_STR, session_id=_NSTR, goal_id=_NSTR, details=_OBJ,
        previous_hash=_NSTR)},
    "Verify": _obj(["ok", "lines"], ok={"type": "boolean"}, lines={"type": "integer"},
                   broken_line={"type": ["integer", "null"]}, problem=_NSTR),
}
# fmt: on

_REASONS = {400: "Malformed request (body, query or id)", 401: "No valid token",
            403: "Wrong Host or Origin", 404: "No such session or draft",
            409: "Not possible now (the session's state, no live host, a conflict)"}  # fmt: skip

WEBSOCKETS = [
    ("/api/sessions/{session_id}/terminal", "The live terminal (WebSocket)",
     "Binary messages from the server are the agent's raw terminal output (the first ones "
     "draw the current screen); text messages are JSON: `welcome`, the host's events "
     "(`activity`, `waiting_for_input`, `state_changed`, `status_update`, …), `resync` when "
     "output was skipped for a slow viewer, `closed`, `error`. The client sends binary "
     "messages (keystrokes) or JSON text `{\"type\":\"input\",\"data\":…}` and "
     "`{\"type\":\"resize\",\"cols\":…,\"rows\":…}`. Query: `cols`, `rows` (the viewer's size)."),
    ("/api/events", "Live session list (WebSocket)",
     "Text messages `{\"type\":\"sessions\",\"sessions\":[Session…]}`: the whole list (all "
     "sessions) when the socket opens and whenever it changes."),
]  # fmt: skip


def _path_params(path: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": _STR,
             "description": "id or unique prefix"}
            for name in re.findall(r"{(\w+)}", path)]  # fmt: skip


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    params = _path_params(endpoint.path)
    params += [{"name": name, "in": "query", "required": False, "schema": spec.schema()}
               for name, spec in endpoint.query.items()]  # fmt: skip
    responses: dict[str, Any] = {
        str(endpoint.status): {"description": "Done", "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{endpoint.returns}"}}}},
    }  # fmt: skip
    for code in sorted({400, 401, 403, *endpoint.errors}):
        responses[str(code)] = {"description": _REASONS[code], "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}  # fmt: skip
    op: dict[str, Any] = {
        "operationId": endpoint.name, "summary": endpoint.summary, "tags": [endpoint.tag],
        "description": (endpoint.handler.__doc__ or "").strip(), "responses": responses,
    }  # fmt: skip
    if params:
        op["parameters"] = params
    if endpoint.body is not None:
        required = [n for n, f in endpoint.body.items() if f.required]
        schema: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {n: f.schema() for n, f in endpoint.body.items()},
        }
        if required:
            schema["required"] = required
        op["requestBody"] = {"required": bool(required),
                             "content": {"application/json": {"schema": schema}}}  # fmt: skip
    return op


def document(endpoints: list[Endpoint]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    for path, summary, text in WEBSOCKETS:
        paths[path] = {"get": {
            "operationId": path.strip("/").replace("/", "_").replace("{", "").replace("}", ""),
            "summary": summary, "description": text, "tags": ["websockets"],
            "parameters": _path_params(path),
            "responses": {"101": {"description": "Switching to the WebSocket protocol"},
                          "403": {"description": "No valid token, or a foreign Origin"}},
        }}  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ta serve",
            "version": __version__,
            "description": "Supervise AI coding agents from a browser or a script: the same "
            "operations as the `ta` command. Every request needs the token (`Authorization: "
            "Bearer …`, or the cookie the page sets). State-changing requests and WebSockets "
            "from another site's Origin are refused. Actions are audited with the channel id "
            "`web:<client>` (the `X-TA-Client` header names a script's client).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "ta_token"},
            },
        },
        "paths": paths,
    }
