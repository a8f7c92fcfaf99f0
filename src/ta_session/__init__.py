"""ta-session: the interactive-session layer of Trusted Autonomy.

The public API (SPEC §0) is importable from here; names load on first use.
"""

from typing import TYPE_CHECKING

from ta_session._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "HumanInput": "ta_session.model.protocol",
    "InteractiveConfig": "ta_session.model.config",
    "InteractiveSession": "ta_session.model.session",
    "InteractiveSessionState": "ta_session.model.session",
    "InteractiveSessionStore": "ta_session.store.sessions",
    "OutputStream": "ta_session.model.protocol",
    "SessionChannel": "ta_session.model.protocol",
    "SessionChannelError": "ta_session.model.errors",
    "SessionEvent": "ta_session.model.protocol",
    "SessionMessage": "ta_session.model.session",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from ta_session.model.config import InteractiveConfig
    from ta_session.model.errors import SessionChannelError
    from ta_session.model.protocol import HumanInput, OutputStream, SessionChannel, SessionEvent
    from ta_session.model.session import (
        InteractiveSession,
        InteractiveSessionState,
        SessionMessage,
    )
    from ta_session.store.sessions import InteractiveSessionStore
