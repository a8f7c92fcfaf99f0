"""``LaunchPlan``: what a session host runs and how, decided from the agent's config.

It lives apart from the server so that ``ta run`` and ``ta session attach`` can build or read a
plan without loading the host's loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ta_session.model.config import CaptureMode
from ta_session.model.host import WindowSize


@dataclass
class LaunchPlan:
    """What the host runs; decided by the caller (``ta run`` / resume) from the agent config."""

    argv: list[str]
    mode: CaptureMode
    env: dict[str, str]
    cwd: str
    submit_key: bytes = b"\r"
    allow_human_input: bool = True
    idle_after: float = 2.0
    idle_timeout: float | None = None
    exit_on_goal_complete: bool = False
    prompt_patterns: list[re.Pattern[str]] = field(default_factory=list)
    missing_hint: str | None = None
    # The agent's own command, when ``argv`` runs it inside a sandbox (bwrap … -- command).
    agent_argv: list[str] | None = None
    sandbox: str | None = None  # how it is confined, for the log
    # The agent's window with terminals of different sizes attached (host/window.py).
    window_size: WindowSize = WindowSize.SMALLEST

    @property
    def command(self) -> list[str]:
        """The agent's command as the user knows it (without the sandbox around it)."""
        return self.agent_argv if self.agent_argv is not None else self.argv

    def __post_init__(self) -> None:
        self.mode = CaptureMode(self.mode)  # "pty" given as a plain string
        self.window_size = WindowSize(self.window_size)
