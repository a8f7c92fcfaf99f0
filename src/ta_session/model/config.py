"""Per-agent interactive settings (SPEC §2.2), with the reference's defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ta_session.model.errors import RecordFormatError


class CaptureMode(StrEnum):
    """How the host captures the agent's output (``interactive.output_capture``)."""

    PIPE = "pipe"  # stdout/stderr on pipes, input on a pipe
    PTY = "pty"  # a pseudo-terminal: full-screen programs work
    LOG = "log"  # output recorded only; no live relay to clients


OUTPUT_CAPTURE_MODES = tuple(mode.value for mode in CaptureMode)
_IDLE_TIMEOUT = re.compile(r"idle_timeout\s*:\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\Z")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(slots=True)
class InteractiveConfig:
    enabled: bool = False
    output_capture: CaptureMode = CaptureMode.PIPE
    allow_human_input: bool = True
    auto_exit_on: str | None = None
    resume_cmd: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> InteractiveConfig:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise RecordFormatError("'interactive' must be a mapping")
        config = cls(extra={k: v for k, v in data.items() if k not in _FIELD_NAMES})
        for name in _FIELD_NAMES:
            if name in data and data[name] is not None:
                setattr(config, name, data[name])
        config.validate()
        return config

    @classmethod
    def from_yaml(cls, text: str) -> InteractiveConfig:
        """Parse YAML text: either the mapping itself or an agent config with ``interactive:``."""
        import yaml  # imported here: YAML is only needed where configs are read

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RecordFormatError(f"invalid YAML: {_yaml_problem(exc)}") from None
        if isinstance(data, dict) and "interactive" in data:
            data = data["interactive"]
        return cls.from_dict(data)

    def validate(self) -> None:
        for name in ("enabled", "allow_human_input"):
            if not isinstance(getattr(self, name), bool):
                raise RecordFormatError(f"'{name}' must be true or false")
        if self.output_capture not in OUTPUT_CAPTURE_MODES:
            modes = ", ".join(OUTPUT_CAPTURE_MODES)
            raise RecordFormatError(
                f"'output_capture' is {self.output_capture!r}; expected one of {modes}"
            )
        self.output_capture = CaptureMode(self.output_capture)
        for name in ("auto_exit_on", "resume_cmd"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise RecordFormatError(f"'{name}' must be a string")
        if self.auto_exit_on is not None:
            self.idle_timeout_seconds()  # raises on a malformed condition

    def idle_timeout_seconds(self) -> float | None:
        """Seconds of silence after which the session closes, or None."""
        condition = (self.auto_exit_on or "").strip()
        if not condition or condition == "goal_complete":
            return None
        match = _IDLE_TIMEOUT.match(condition)
        if match is None:
            raise RecordFormatError(
                f"'auto_exit_on' is {condition!r}; expected 'idle_timeout: <N>s' or 'goal_complete'"
            )
        return float(match[1]) * _UNIT_SECONDS[match[2] or "s"]

    @property
    def exits_on_goal_complete(self) -> bool:
        return (self.auto_exit_on or "").strip() == "goal_complete"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in _FIELD_NAMES}
        out["output_capture"] = self.output_capture.value  # a plain string for JSON and YAML
        out.update(self.extra)
        return out


_FIELD_NAMES = ("enabled", "output_capture", "allow_human_input", "auto_exit_on", "resume_cmd")


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return problem
