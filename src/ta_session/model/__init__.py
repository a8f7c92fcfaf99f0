"""Pure data and rules: no I/O happens in this package."""

from typing import TYPE_CHECKING

from ta_session._lazy import lazy_exports

_EXPORTS = {
    "Abort": "ta_session.model.protocol",
    "AgentOutput": "ta_session.model.protocol",
    "Answer": "ta_session.model.protocol",
    "Approve": "ta_session.model.protocol",
    "BuildDraft": "ta_session.model.protocol",
    "CaptureMode": "ta_session.model.config",
    "ClientRole": "ta_session.model.host",
    "Close": "ta_session.model.protocol",
    "Discuss": "ta_session.model.protocol",
    "DraftReady": "ta_session.model.protocol",
    "Goal": "ta_session.model.goal",
    "GoalComplete": "ta_session.model.protocol",
    "GoalState": "ta_session.model.goal",
    "HostActivity": "ta_session.model.host",
    "HostState": "ta_session.model.host",
    "HumanInput": "ta_session.model.protocol",
    "InteractiveConfig": "ta_session.model.config",
    "InteractiveSession": "ta_session.model.session",
    "InteractiveSessionState": "ta_session.model.session",
    "Message": "ta_session.model.protocol",
    "OutputStream": "ta_session.model.protocol",
    "Pause": "ta_session.model.protocol",
    "RecordFormatError": "ta_session.model.errors",
    "Reject": "ta_session.model.protocol",
    "Resume": "ta_session.model.protocol",
    "SessionChannel": "ta_session.model.protocol",
    "SessionChannelError": "ta_session.model.errors",
    "SessionEvent": "ta_session.model.protocol",
    "SessionMessage": "ta_session.model.session",
    "TaError": "ta_session.model.errors",
    "StateChanged": "ta_session.model.protocol",
    "StatusUpdate": "ta_session.model.protocol",
    "Timestamp": "ta_session.model.timestamps",
    "WaitingForInput": "ta_session.model.protocol",
    "format_elapsed": "ta_session.model.session",
    "goal_prompt": "ta_session.model.goal",
    "parse_uuid": "ta_session.model.ids",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from ta_session.model.config import CaptureMode, InteractiveConfig
    from ta_session.model.errors import RecordFormatError, SessionChannelError, TaError
    from ta_session.model.goal import Goal, GoalState, goal_prompt
    from ta_session.model.host import ClientRole, HostActivity, HostState
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
