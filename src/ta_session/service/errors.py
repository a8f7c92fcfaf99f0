"""What the session service refuses, in sentences a person can act on."""

from __future__ import annotations

from ta_session.model.errors import TaError


class ServiceError(TaError):
    """The service could not do what was asked; the message says why and what to do."""


class InvalidRequest(ServiceError):
    """The request itself is malformed (empty guidance, a bad option): a usage error."""


class NoLiveHost(ServiceError):
    """The action needs the running agent, and the session's host is gone (it is lost)."""

    def __init__(self, short_id: str):
        super().__init__(
            f"Session {short_id} has no live host (it is lost); "
            f"'ta session resume {short_id}' relaunches it"
        )
