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


def valid_text(text: str, what: str) -> str:
    """``text``, if it can be stored and sent: refuse what is not valid Unicode.

    Arguments that are not UTF-8 reach Python as lone surrogates (``surrogateescape``); such a
    string cannot be written to a session file or the audit log, so it is refused here, once,
    before anything is written or sent.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ServiceError(
            f"the {what} is not valid UTF-8 text (check the terminal's or script's encoding)"
        ) from None
    return text
