"""Errors raised by the store. Their messages are complete sentences for the user."""

from __future__ import annotations

from pathlib import Path

from ta_session.model.errors import TaError


class StoreError(TaError):
    """Something in ``.ta/`` could not be read or written as asked."""


class NotFoundError(StoreError):
    pass


class AmbiguousIdError(StoreError):
    pass


class CorruptRecordError(StoreError):
    """A record file exists but cannot be used; the message names the file.

    Raised with a path, ``str()`` is ``"<path>: <problem>"`` and both parts are kept, so that a
    listing can name the file once in its warning and give the problem after it.
    """

    def __init__(self, message: str, *, path: Path | None = None, problem: str | None = None):
        super().__init__(message)
        self.path = path
        self.problem = problem if problem is not None else message


def bad_file(path: Path, problem: str) -> CorruptRecordError:
    """A ``CorruptRecordError`` for ``path``: ``"<path>: <problem>"``."""
    return CorruptRecordError(f"{path}: {problem}", path=path, problem=problem)
