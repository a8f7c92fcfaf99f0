"""UUID parsing in every form a user or another writer might hand us."""

from __future__ import annotations

import uuid
from uuid import UUID


def parse_uuid(value: object) -> UUID:
    """Accept a UUID, or a string in hyphenated, 32-hex, ``urn:uuid:`` or ``{braced}`` form.

    Upper case is accepted; the canonical output form is ``str(uuid)`` (lowercase, hyphenated).
    """
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise ValueError(f"not a UUID: {value!r}")
    try:
        # uuid.UUID itself strips "urn:uuid:" and braces and accepts both hyphenated and bare hex.
        return uuid.UUID(value.strip().lower())
    except ValueError:
        raise ValueError(f"not a UUID: {value!r}") from None


def new_uuid() -> UUID:
    return uuid.uuid4()
