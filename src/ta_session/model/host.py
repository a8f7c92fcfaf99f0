"""The closed sets of states a live session's host and its clients are in."""

from __future__ import annotations

from enum import StrEnum


class HostState(StrEnum):
    """Whether a session has a running host: ``live``; an alive session without one: ``lost``;
    a finished session: ``none``."""

    LIVE = "live"
    LOST = "lost"
    NONE = "none"


class HostActivity(StrEnum):
    """What the agent of a live session is doing, as the host sees it (SPEC §4.4)."""

    RUNNING = "running"  # output arrived recently
    IDLE = "idle"  # quiet, and nothing on screen looks like a question
    WAITING = "waiting"  # quiet, and a prompt pattern matches: it waits for the human


class ClientRole(StrEnum):
    """What a client of the host's socket is: a terminal typing into the agent, or a script."""

    ATTACH = "attach"
    CONTROL = "control"
    AGENT = "agent"  # the agent's own socket only (``host/agent_channel.py``)


class WindowSize(StrEnum):
    """Which size the agent's window takes when terminals of different sizes are attached
    (``ta run --size``, the agent config's ``window_size``): as tmux's ``window-size``."""

    SMALLEST = "smallest"  # the smallest width and the smallest height among them
    LATEST = "latest"  # the size the most recent terminal reported (attached or resized)
