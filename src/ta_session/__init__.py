"""ta-session: the interactive-session layer of Trusted Autonomy.

The public API (SPEC §0) is importable from here.
"""

from ta_session.model import (
    HumanInput,
    InteractiveConfig,
    InteractiveSession,
    InteractiveSessionState,
    OutputStream,
    SessionChannel,
    SessionChannelError,
    SessionEvent,
    SessionMessage,
)
from ta_session.store import InteractiveSessionStore

__version__ = "0.1.0"

__all__ = [
    "HumanInput",
    "InteractiveConfig",
    "InteractiveSession",
    "InteractiveSessionState",
    "InteractiveSessionStore",
    "OutputStream",
    "SessionChannel",
    "SessionChannelError",
    "SessionEvent",
    "SessionMessage",
]
