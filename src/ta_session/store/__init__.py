"""Files, locks, the summary index and the audit log: everything under ``.ta/``."""

from typing import TYPE_CHECKING

from ta_session._lazy import lazy_exports

_EXPORTS = {
    "AmbiguousIdError": "ta_session.store.errors",
    "AuditEvent": "ta_session.store.audit",
    "AuditLog": "ta_session.store.audit",
    "BadFile": "ta_session.store.index",
    "CorruptRecordError": "ta_session.store.errors",
    "GoalStore": "ta_session.store.goals",
    "InteractiveSessionStore": "ta_session.store.sessions",
    "NotFoundError": "ta_session.store.errors",
    "Project": "ta_session.store.project",
    "ProjectLayout": "ta_session.store.layout",
    "SessionSummary": "ta_session.store.index",
    "StateChange": "ta_session.store.project",
    "StoreError": "ta_session.store.errors",
    "VerifyResult": "ta_session.store.audit",
    "find_project_root": "ta_session.store.layout",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from ta_session.store.audit import AuditEvent, AuditLog, VerifyResult
    from ta_session.store.errors import (
        AmbiguousIdError,
        CorruptRecordError,
        NotFoundError,
        StoreError,
    )
    from ta_session.store.goals import GoalStore
    from ta_session.store.index import BadFile, SessionSummary
    from ta_session.store.layout import ProjectLayout, find_project_root
    from ta_session.store.project import Project, StateChange
    from ta_session.store.sessions import InteractiveSessionStore
