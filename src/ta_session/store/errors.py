"""Errors raised by the store. Their messages are complete sentences for the user."""


class StoreError(Exception):
    """Something in ``.ta/`` could not be read or written as asked."""


class NotFoundError(StoreError):
    pass


class AmbiguousIdError(StoreError):
    pass


class CorruptRecordError(StoreError):
    """A record file exists but cannot be understood; the message names the file."""
