"""Errors raised by the store. Their messages are complete sentences for the user."""

from ta_session.model.errors import TaError


class StoreError(TaError):
    """Something in ``.ta/`` could not be read or written as asked."""


class NotFoundError(StoreError):
    pass


class AmbiguousIdError(StoreError):
    pass


class CorruptRecordError(StoreError):
    """A record file exists but cannot be understood; the message names the file."""
