"""The activity monitor (SPEC §4.4): is the agent running, idle, or waiting for the human?

Agent-agnostic: output makes it ``running``; ``idle_after`` seconds of silence make it ``idle``,
or ``waiting`` when one of the agent's prompt patterns matches one of the last lines of the
rendered screen (``screen``: the screen model's lines, as a person sees them, so that prompts
drawn with cursor moves match too; without one, the last lines of output with ANSI removed).
``auto_exit_on: idle_timeout`` is a longer silence after
which the session closes. Pure: it is given a clock and the output, and says what changed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ta_session.host.text import last_lines
from ta_session.model.host import HostActivity

TAIL_BYTES = 4096  # the output kept for prompt matching
PROMPT_LINES = 10  # how many of the last non-blank lines a prompt pattern is tried on
_BOX = " │┃"  # the edges of a box drawn around a prompt, not part of it


@dataclass(frozen=True, slots=True)
class ActivityChange:
    activity: HostActivity
    prompt: str | None = None  # the line that matched, when the agent is now waiting


class ActivityMonitor:
    def __init__(
        self,
        *,
        idle_after: float,
        idle_timeout: float | None = None,
        prompt_patterns: Sequence[re.Pattern[str]] = (),
        screen: Callable[[], list[str]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.idle_after = idle_after
        self.idle_timeout = idle_timeout
        self.prompt_patterns = list(prompt_patterns)
        self.screen = screen
        self.clock = clock
        self.activity = HostActivity.RUNNING
        self.last_output = clock()
        self._tail = bytearray()

    def output(self, data: bytes) -> ActivityChange | None:
        """The agent printed ``data``; a change when it was idle or waiting until now."""
        self.last_output = self.clock()
        if self.prompt_patterns and self.screen is None:
            self._tail += data
            if len(self._tail) > 2 * TAIL_BYTES:
                del self._tail[:-TAIL_BYTES]
        if self.activity is HostActivity.RUNNING:
            return None
        self.activity = HostActivity.RUNNING
        return ActivityChange(HostActivity.RUNNING)

    def restart(self) -> None:
        """Silence counts from now (the agent was paused: it could not print)."""
        self.last_output = self.clock()

    def silence(self) -> float:
        return self.clock() - self.last_output

    def check(self) -> ActivityChange | None:
        """After ``idle_after`` seconds of silence: ``idle``, or ``waiting`` with its prompt."""
        if self.activity is not HostActivity.RUNNING or self.silence() < self.idle_after:
            return None
        prompt = self.prompt()
        self.activity = HostActivity.IDLE if prompt is None else HostActivity.WAITING
        return ActivityChange(self.activity, prompt)

    def timed_out(self) -> bool:
        """True once the silence reaches ``idle_timeout`` (when one is set)."""
        return self.idle_timeout is not None and self.silence() >= self.idle_timeout

    def prompt(self) -> str | None:
        """The prompt on screen: the lowest of the last lines that the first pattern (in the
        agent's order) matching any of them matches, or None."""
        if not self.prompt_patterns:
            return None
        if self.screen is not None:
            lines = [line for line in self.screen() if line.strip()][-PROMPT_LINES:]
        else:
            text = bytes(self._tail[-TAIL_BYTES:]).decode("utf-8", "replace")
            lines = last_lines(text, PROMPT_LINES)
        for pattern in self.prompt_patterns:
            for line in reversed(lines):
                if pattern.search(line):
                    return line.strip(_BOX)
        return None
