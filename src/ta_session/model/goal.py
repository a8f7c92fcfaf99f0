"""The goal record (SPEC §2.3): a unit of work with its source and staging folders."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from ta_session.model.errors import RecordFormatError, loads_json
from ta_session.model.host import WindowSize
from ta_session.model.ids import new_uuid, parse_uuid
from ta_session.model.timestamps import Timestamp


class GoalState(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    ABORTED = "aborted"

    def __str__(self) -> str:
        return self.value


def goal_prompt(title: str, objective: str = "") -> str:
    """The text handed to the agent (SPEC §6)."""
    if not objective.strip():
        return f"Implement: {title}"
    return f"{title}\n\nObjective: {objective}"


@dataclass(slots=True)
class Goal:
    goal_id: UUID
    title: str
    objective: str
    agent_id: str
    state: GoalState
    source_dir: str
    workspace_path: str
    created_at: Timestamp
    updated_at: Timestamp
    baseline: dict[str, Any] = field(default_factory=dict)
    agent_command: list[str] = field(default_factory=list)  # for ad-hoc `ta run -- COMMAND`
    # How the agent is confined: {"enabled": true, "tool": "bubblewrap", "writable": [...]}
    # or {"enabled": false, "reason": "..."}; decided once, when the session starts.
    sandbox: dict[str, Any] = field(default_factory=dict)
    # `ta run --size`: the agent's window policy for every launch (None: the agent config's).
    window_size: WindowSize | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def new(
        cls,
        title: str,
        *,
        objective: str = "",
        agent_id: str = "generic",
        source_dir: str = "",
        workspace_path: str = "",
    ) -> Goal:
        now = Timestamp.now()
        return cls(
            goal_id=new_uuid(),
            title=title,
            objective=objective,
            agent_id=agent_id,
            state=GoalState.RUNNING,
            source_dir=source_dir,
            workspace_path=workspace_path,
            created_at=now,
            updated_at=now,
        )

    @property
    def prompt(self) -> str:
        return goal_prompt(self.title, self.objective)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "goal_id": str(self.goal_id),
            "title": self.title,
            "objective": self.objective,
            "agent_id": self.agent_id,
            "state": self.state.value,
            "source_dir": self.source_dir,
            "workspace_path": self.workspace_path,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "agent_command": self.agent_command,
            "baseline": self.baseline,
        }
        if self.sandbox:
            out["sandbox"] = self.sandbox
        if self.window_size is not None:
            out["window_size"] = self.window_size.value
        out.update(self.extra)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Any) -> Goal:
        if not isinstance(data, dict):
            raise RecordFormatError("not a JSON object")
        for key in ("goal_id", "title", "state", "created_at", "updated_at"):
            if key not in data:
                raise RecordFormatError(f"missing required field {key!r}")
        try:
            goal_id = parse_uuid(data["goal_id"])
            created_at = Timestamp.parse(data["created_at"])
            updated_at = Timestamp.parse(data["updated_at"])
            state = GoalState(data["state"])
            size = data.get("window_size")
            window_size = None if size is None else WindowSize(size)
        except ValueError as exc:
            raise RecordFormatError(str(exc)) from None
        known = {
            "goal_id",
            "title",
            "objective",
            "agent_id",
            "state",
            "source_dir",
            "workspace_path",
            "created_at",
            "updated_at",
            "baseline",
            "agent_command",
            "sandbox",
            "window_size",
        }
        return cls(
            goal_id=goal_id,
            title=str(data["title"]),
            objective=str(data.get("objective") or ""),
            agent_id=str(data.get("agent_id") or ""),
            state=state,
            source_dir=str(data.get("source_dir") or ""),
            workspace_path=str(data.get("workspace_path") or ""),
            created_at=created_at,
            updated_at=updated_at,
            baseline=data.get("baseline") or {},
            agent_command=[str(a) for a in data.get("agent_command") or []],
            sandbox=data["sandbox"] if isinstance(data.get("sandbox"), dict) else {},
            window_size=window_size,
            extra={k: v for k, v in data.items() if k not in known},
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Goal:
        return cls.from_dict(loads_json(text))
