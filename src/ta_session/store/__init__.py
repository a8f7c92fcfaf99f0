"""Files, locks, the summary index and the audit log: everything under ``.ta/``."""

from ta_session.store.audit import AuditEvent, AuditLog, VerifyResult
from ta_session.store.errors import AmbiguousIdError, CorruptRecordError, NotFoundError, StoreError
from ta_session.store.goals import GoalStore
from ta_session.store.index import BadFile, SessionSummary
from ta_session.store.layout import ProjectLayout, find_project_root
from ta_session.store.project import Project, StateChange
from ta_session.store.sessions import InteractiveSessionStore

__all__ = [
    "AmbiguousIdError", "AuditEvent", "AuditLog", "BadFile", "CorruptRecordError", "GoalStore",
    "InteractiveSessionStore", "NotFoundError", "Project", "ProjectLayout", "SessionSummary",
    "StateChange", "StoreError", "VerifyResult", "find_project_root",
]
