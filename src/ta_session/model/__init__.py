"""Pure data and rules: no I/O happens in this package."""

from ta_session.model.config import InteractiveConfig
from ta_session.model.errors import RecordFormatError, SessionChannelError
from ta_session.model.goal import Goal, GoalState, goal_prompt
from ta_session.model.ids import parse_uuid
from ta_session.model.protocol import (
    Abort,
    AgentOutput,
    Answer,
    Approve,
    Close,
    Discuss,
    DraftReady,
    GoalComplete,
    HumanInput,
    Message,
    OutputStream,
    Pause,
    Reject,
    Resume,
    SessionChannel,
    SessionEvent,
    StateChanged,
    StatusUpdate,
    WaitingForInput,
)
from ta_session.model.session import (
    InteractiveSession,
    InteractiveSessionState,
    SessionMessage,
    format_elapsed,
)
from ta_session.model.timestamps import Timestamp

__all__ = [
    "Abort",
    "AgentOutput",
    "Answer",
    "Approve",
    "Close",
    "Discuss",
    "DraftReady",
    "Goal",
    "GoalComplete",
    "GoalState",
    "HumanInput",
    "InteractiveConfig",
    "InteractiveSession",
    "InteractiveSessionState",
    "Message",
    "OutputStream",
    "Pause",
    "RecordFormatError",
    "Reject",
    "Resume",
    "SessionChannel",
    "SessionChannelError",
    "SessionEvent",
    "SessionMessage",
    "StateChanged",
    "StatusUpdate",
    "Timestamp",
    "WaitingForInput",
    "format_elapsed",
    "goal_prompt",
    "parse_uuid",
]
