"""How an HTTP endpoint is declared: its path, its body's fields, what it answers, its errors.

One table of ``Endpoint``s is the source of the routes, the body checks and the OpenAPI
document, so the three cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ta_session.model.errors import TaError
from ta_session.service.errors import InvalidRequest, NoLiveHost, ServiceError
from ta_session.store.errors import AmbiguousIdError, NotFoundError

MAX_BODY = 1 << 20  # bytes; guidance, answers and reasons are far smaller


class BadRequest(InvalidRequest):
    """The request's body or query is malformed; nothing was done."""


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a JSON body or one query parameter."""

    kind: str  # string | boolean | integer | array (of strings)
    doc: str
    required: bool = False
    choices: tuple[str, ...] = ()

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "description": self.doc}
        if self.kind == "array":
            out["items"] = {"type": "string"}
        if self.choices:
            out["enum"] = list(self.choices)
        return out


Handler = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    summary: str
    handler: Handler
    body: dict[str, Field] | None = None
    query: dict[str, Field] = field(default_factory=dict)
    returns: str = "Outcome"  # a schema name in openapi.SCHEMAS
    status: int = 200
    errors: tuple[int, ...] = (404,)
    tag: str = "sessions"

    @property
    def name(self) -> str:
        return self.handler.__name__


_PY_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "boolean": bool, "integer": int, "array": list,
}  # fmt: skip


def parse_body(raw: bytes, fields: dict[str, Field]) -> dict[str, Any]:
    """The JSON object in ``raw``, checked against ``fields`` (an empty body is ``{}``)."""
    if len(raw) > MAX_BODY:
        raise BadRequest(f"the request body is larger than {MAX_BODY} bytes")
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}; expected {sorted(fields)}")
    for name, spec in fields.items():
        if name not in data or data[name] is None:
            if spec.required:
                raise BadRequest(f"the field '{name}' is required ({spec.doc})")
            data.pop(name, None)
            continue
        check_value(name, data[name], spec)
    return data


def check_value(name: str, value: Any, spec: Field) -> None:
    wanted = _PY_TYPES[spec.kind]
    if not isinstance(value, wanted) or (spec.kind == "integer" and isinstance(value, bool)):
        raise BadRequest(f"the field '{name}' must be a {spec.kind}")
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        raise BadRequest(f"the field '{name}' must be a list of strings")
    if spec.choices and value not in spec.choices:
        raise BadRequest(f"the field '{name}' must be one of {', '.join(spec.choices)}")


def parse_query(params: dict[str, str], fields: dict[str, Field]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in params.items():
        spec = fields.get(name)
        if spec is None:
            continue  # extra query parameters (e.g. cache busters) are ignored
        if spec.kind == "boolean":
            if raw.lower() not in ("1", "true", "yes", "0", "false", "no", ""):
                raise BadRequest(f"the query parameter '{name}' must be true or false")
            out[name] = raw.lower() in ("1", "true", "yes")
        elif spec.kind == "integer":
            try:
                out[name] = int(raw)
            except ValueError:
                raise BadRequest(f"the query parameter '{name}' must be an integer") from None
        else:
            out[name] = raw
    return out


def status_for(exc: TaError) -> int:
    """The HTTP status of an expected failure: 400 the request, 404 no such thing, 409 not
    now (a state that forbids it, no live host)."""
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InvalidRequest | AmbiguousIdError):
        return 400
    if isinstance(exc, NoLiveHost | ServiceError):
        return 409
    return 409
