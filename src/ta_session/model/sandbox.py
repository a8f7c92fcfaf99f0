"""An agent's confinement settings (``sandbox:`` in its config): pure data, no I/O.

    sandbox: on                      # the default: confined wherever the machine allows it
    sandbox: off                     # run unconfined (also: ta run --no-sandbox)
    sandbox:
      mode: on
      writable: [~/.claude, ~/.claude.json]   # besides the staging workspace

Confined, the agent sees the file system read-only, its staging workspace writable, the
project's ``.ta/`` not at all, a private ``/tmp``, and the network as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ta_session.model.errors import RecordFormatError


class SandboxMode(StrEnum):
    ON = "on"
    OFF = "off"


_TRUE = {"on", "true", "yes"}
_FALSE = {"off", "false", "no"}


def _mode(value: Any) -> SandboxMode:
    if isinstance(value, bool):
        return SandboxMode.ON if value else SandboxMode.OFF
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return SandboxMode.ON
    if isinstance(value, str) and value.strip().lower() in _FALSE:
        return SandboxMode.OFF
    raise RecordFormatError(f"'sandbox' must be on or off, got {value!r}")


@dataclass(slots=True)
class SandboxSettings:
    mode: SandboxMode = SandboxMode.ON
    # Paths the agent may write besides its workspace; "~" is the user's home folder.
    writable: list[str] = field(default_factory=list)

    @classmethod
    def from_value(cls, value: Any) -> SandboxSettings:
        """From the YAML value: a mode (``on``/``off``/true/false) or a mapping."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            return cls(_mode(value))
        unknown = sorted(set(value) - {"mode", "writable"})
        if unknown:
            raise RecordFormatError(
                f"'sandbox' has unknown settings: {', '.join(map(str, unknown))}"
            )
        writable = value.get("writable") or []
        if not isinstance(writable, list) or not all(
            isinstance(p, str) and p.strip() for p in writable
        ):
            raise RecordFormatError("'sandbox.writable' must be a list of paths")
        return cls(_mode(value.get("mode", "on")), list(writable))

    @property
    def enabled(self) -> bool:
        return self.mode is SandboxMode.ON

    def to_value(self) -> Any:
        if not self.writable:
            return self.mode.value
        return {"mode": self.mode.value, "writable": list(self.writable)}
