"""Nanosecond-exact UTC timestamps in the reference's RFC 3339 form.

Python's ``datetime`` keeps only microseconds, but the reference writes nine
fraction digits and a load→save round trip must not lose any of them, so a
timestamp is kept as an integer count of nanoseconds since the Unix epoch.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_NS_PER_SECOND = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<fraction>\d{1,9}))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})\Z",
    re.ASCII,  # RFC 3339 digits are ASCII; without this, \d also matches e.g. Arabic-Indic digits
)


@dataclass(frozen=True, order=True, slots=True)
class Timestamp:
    """A point in time, UTC, with nanosecond precision."""

    ns: int

    @classmethod
    def now(cls) -> Timestamp:
        return cls(time.time_ns())

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Parse RFC 3339 with any offset; raise ``ValueError`` naming the bad text."""
        match = _RFC3339.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
        try:
            base = datetime.fromisoformat(f"{match['date']}T{match['time']}+00:00")
        except ValueError as exc:
            raise ValueError(f"not an RFC 3339 timestamp: {text!r} ({exc})") from None
        offset = match["offset"]
        offset_seconds = 0
        if offset not in ("Z", "z"):
            sign = 1 if offset[0] == "+" else -1
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError(f"not an RFC 3339 timestamp: {text!r} (bad offset)")
            offset_seconds = sign * (hours * 3600 + minutes * 60)
        fraction = match["fraction"] or ""
        nanos = int(fraction.ljust(9, "0")) if fraction else 0
        whole = (base - _EPOCH) // timedelta(seconds=1) - offset_seconds
        return cls(whole * _NS_PER_SECOND + nanos)

    def isoformat(self) -> str:
        """UTC with ``Z`` and the fewest of 0, 3, 6 or 9 fraction digits that is exact."""
        seconds, nanos = divmod(self.ns, _NS_PER_SECOND)
        moment = _EPOCH + timedelta(seconds=seconds)
        # Not strftime: its %Y does not zero-pad years before 1000 on glibc, which RFC 3339 needs.
        base = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
        if nanos == 0:
            return f"{base}Z"
        if nanos % 1_000_000 == 0:
            return f"{base}.{nanos // 1_000_000:03d}Z"
        if nanos % 1_000 == 0:
            return f"{base}.{nanos // 1_000:06d}Z"
        return f"{base}.{nanos:09d}Z"

    __str__ = isoformat

    @property
    def seconds(self) -> float:
        return self.ns / _NS_PER_SECOND

    def to_datetime(self) -> datetime:
        """The nearest ``datetime`` (microseconds), UTC, for display only."""
        return _EPOCH + timedelta(microseconds=self.ns // 1_000)
