"""Nanosecond-exact UTC timestamps, read and written exactly as the reference does.

The reference keeps chrono ``DateTime<Utc>`` values and stores them through serde: it reads them
with chrono's ``FromStr`` (the relaxed RFC 3339 grammar of chrono 0.4.19–0.4.26) and writes them
in chrono's ``Debug`` form. Both are reproduced here, so that every timestamp the reference
reads, we read, and a load→save round trip writes what the reference would write:

* ``YYYY-MM-DDTHH:MM:SS``, a fraction of 0, 3, 6 or 9 digits (the fewest that is exact), ``Z``;
* years outside 0000–9999 with a sign and at least four digits (``+10000``, ``-0001``), for
  any year chrono can hold (-262144 to 262143);
* a leap second (``:60``) is kept, in any minute, as chrono keeps it;
* any offset (``+02:00``, ``+0200``, ``UTC``) is converted to UTC; fraction digits past the
  ninth are dropped (truncated, not rounded).

Python's ``datetime`` keeps only microseconds and years 1–9999, so a timestamp is an integer
count of nanoseconds since the Unix epoch: a Python int, with no 64-bit limit.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_NS_PER_SECOND = 1_000_000_000
_SECONDS_PER_DAY = 86_400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# chrono's NaiveDate range (i32::MIN >> 13 ..= i32::MAX >> 13): the years the reference can hold.
MIN_YEAR = -262_144
MAX_YEAR = 262_143

# The form the reference writes (and every other writer we know of): parsed without the scanner.
_CANONICAL = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z\Z",
    re.ASCII,  # RFC 3339 digits are ASCII; without this, \d also matches e.g. Arabic-Indic digits
)
_DIGITS = frozenset("0123456789")
# What Rust's ``char::is_whitespace`` accepts (Unicode White_Space): chrono skips it before
# every number and around the offset. Python's ``str.isspace`` differs (it takes \x1c–\x1f).
_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_MAX_YEAR_DIGITS = 20  # a signed year may have any number of digits; more than i64 holds fails


def _is_leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if _is_leap_year(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar, year 0 included (as chrono).

    Howard Hinnant's algorithm; Python's floor division makes it right for negative years too.
    """
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """The inverse of ``_days_from_civil``: ``(year, month, day)``."""
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + (3 if shifted_month < 10 else -9)
    return year_of_era + era * 400 + (month <= 2), month, day


_MIN_SECONDS = _days_from_civil(MIN_YEAR, 1, 1) * _SECONDS_PER_DAY
_END_SECONDS = (_days_from_civil(MAX_YEAR, 12, 31) + 1) * _SECONDS_PER_DAY


class _Refused(Exception):
    """The text is not a timestamp chrono would read; the argument says why, if it helps."""


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A point in time, UTC, with nanosecond precision.

    ``ns`` counts nanoseconds since the Unix epoch on the POSIX time line, which has no leap
    seconds. Inside a leap second ``ns`` stays on the last nanosecond of the second before
    (``…:59.999999999``), so sums, differences and orderings of ``ns`` never go backwards, and
    ``leap_ns`` says how far into the leap second the time is (0 to 999,999,999).
    """

    ns: int
    leap_ns: int | None = None

    @classmethod
    def now(cls) -> Timestamp:
        return cls(time.time_ns())

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Read a timestamp as the reference does; raise ``ValueError`` naming the bad text."""
        if not isinstance(text, str):
            raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
        match = _CANONICAL.match(text)
        try:
            if match is not None:
                year, month, day, hour, minute, second, fraction = match.groups()
                nanos = int(fraction.ljust(9, "0")) if fraction else 0
                return _assemble(
                    int(year), int(month), int(day), int(hour), int(minute), int(second), nanos, 0
                )
            return _Scanner(text).timestamp()
        except _Refused as exc:
            why = f" ({exc})" if str(exc) else ""
            raise ValueError(f"not an RFC 3339 timestamp: {_shown(text)}{why}") from None

    @classmethod
    def from_split(cls, seconds: int, nanos: int) -> Timestamp:
        """The inverse of ``split``."""
        if nanos >= _NS_PER_SECOND:
            return cls(seconds * _NS_PER_SECOND + _NS_PER_SECOND - 1, nanos - _NS_PER_SECOND)
        return cls(seconds * _NS_PER_SECOND + nanos)

    def split(self) -> tuple[int, int]:
        """chrono's own form: whole seconds since the epoch, and nanoseconds into that second
        (one billion and more inside a leap second, which chrono counts as part of second 59).

        Ordering the pairs orders the timestamps, and both fit a 64-bit integer anywhere in
        chrono's range (years -262144 to 262143), where ``ns`` alone does not: the summary
        index sorts on them.
        """
        seconds, nanos = divmod(self.ns, _NS_PER_SECOND)
        if self.leap_ns is not None:
            return seconds, _NS_PER_SECOND + self.leap_ns
        return seconds, nanos

    def isoformat(self) -> str:
        """The reference's form: UTC, ``Z``, the fewest of 0, 3, 6 or 9 fraction digits that is
        exact; a signed year of at least four digits outside 0000–9999; ``:60`` in a leap second.
        """
        seconds, nanos = divmod(self.ns, _NS_PER_SECOND)
        days, seconds = divmod(seconds, _SECONDS_PER_DAY)
        hour, seconds = divmod(seconds, 3600)
        minute, second = divmod(seconds, 60)
        if self.leap_ns is not None:
            second, nanos = second + 1, self.leap_ns
        year, month, day = _civil_from_days(days)
        # chrono writes `{:+05}` outside 0..=9999: a sign, then at least four digits.
        year_text = f"{year:04d}" if 0 <= year <= 9999 else f"{year:+05d}"
        base = f"{year_text}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
        if nanos == 0:
            return f"{base}Z"
        if nanos % 1_000_000 == 0:
            return f"{base}.{nanos // 1_000_000:03d}Z"
        if nanos % 1_000 == 0:
            return f"{base}.{nanos // 1_000:06d}Z"
        return f"{base}.{nanos:09d}Z"

    __str__ = isoformat

    # Ordering by instant: a leap second comes after every time in the second before it (equal
    # ``ns``) and before the next second. ``order=True`` would compare None with ints.
    def _key(self) -> tuple[int, int]:
        return (self.ns, -1 if self.leap_ns is None else self.leap_ns)

    def __lt__(self, other: Timestamp) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Timestamp) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Timestamp) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Timestamp) -> bool:
        return self._key() >= other._key()

    @property
    def seconds(self) -> float:
        return self.ns / _NS_PER_SECOND

    def to_datetime(self) -> datetime:
        """The nearest ``datetime`` (microseconds), UTC, for display only.

        Raises ``ValueError`` outside the years 1–9999, which ``datetime`` cannot hold.
        """
        try:
            return _EPOCH + timedelta(microseconds=self.ns // 1_000)
        except OverflowError:
            raise ValueError(f"{self.isoformat()} is outside datetime's range") from None


def _assemble(
    year: int,
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int,
    nanos: int,
    offset: int,
) -> Timestamp:
    """The instant of a local date and time at ``offset`` seconds east of UTC, checked as chrono
    checks it (``Parsed::to_datetime``): fields in range, and both the local and the UTC date
    within chrono's years."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _Refused(f"year {year} is outside {MIN_YEAR}..{MAX_YEAR}")
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        raise _Refused("no such date")
    if hour > 23 or minute > 59 or second > 60:
        raise _Refused("no such time")
    if not -_SECONDS_PER_DAY < offset < _SECONDS_PER_DAY:
        raise _Refused("offset out of range")
    leap = second == 60  # chrono keeps it as second 59 plus a second's worth of nanoseconds
    utc = (
        _days_from_civil(year, month, day) * _SECONDS_PER_DAY
        + hour * 3600
        + minute * 60
        + (59 if leap else second)
        - offset
    )
    if not _MIN_SECONDS <= utc < _END_SECONDS:
        raise _Refused(f"outside the years {MIN_YEAR}..{MAX_YEAR} in UTC")
    if leap:
        return Timestamp(utc * _NS_PER_SECOND + _NS_PER_SECOND - 1, nanos)
    return Timestamp(utc * _NS_PER_SECOND + nanos)


class _Scanner:
    """chrono 0.4.19–0.4.26 ``DateTime<FixedOffset>::from_str``, step for step.

    Items, in order: year (1–4 digits, or a sign and any number), ``-``, month (1–2 digits),
    ``-``, day (1–2), one ``T`` or space, hour, ``:``, minute, ``:``, second (1–2 digits each),
    an optional ``.`` and 1+ fraction digits (the first nine count), then ``Z``, ``UTC`` or
    ``±HH[:]MM``. Whitespace may come before every number, around the offset and at the end.
    One extension of ours: a lowercase ``t`` separator (RFC 3339 allows it; we always read it).
    """

    def __init__(self, text: str):
        self.text = text
        self.at = 0

    def timestamp(self) -> Timestamp:
        year = self._year()
        self._literal_after_space("-")
        month = self._number(2)
        self._literal_after_space("-")
        day = self._number(2)
        if self._peek() not in ("T", "t", " "):
            raise _Refused()
        self.at += 1
        hour = self._number(2)
        self._literal_after_space(":")
        minute = self._number(2)
        self._literal_after_space(":")
        second = self._number(2)
        nanos = self._fraction()
        offset = self._offset()
        self._skip_space()
        if self.at != len(self.text):
            raise _Refused()
        return _assemble(year, month, day, hour, minute, second, nanos, offset)

    def _peek(self, ahead: int = 0) -> str:
        """The character ``ahead`` of the cursor, or "" at the end (in no set of characters)."""
        index = self.at + ahead
        return self.text[index] if index < len(self.text) else ""

    def _skip_space(self) -> None:
        while self._peek() in _WHITESPACE:
            self.at += 1

    def _literal_after_space(self, literal: str) -> None:
        self._skip_space()
        if self._peek() != literal:
            raise _Refused()
        self.at += 1

    def _digits(self, most: int) -> str:
        start = self.at
        while self.at - start < most and self._peek() in _DIGITS:
            self.at += 1
        if self.at == start:
            raise _Refused()
        return self.text[start : self.at]

    def _number(self, most: int) -> int:
        self._skip_space()
        return int(self._digits(most))

    def _year(self) -> int:
        self._skip_space()
        sign = self._peek()
        if sign not in ("+", "-"):
            return int(self._digits(4))  # without a sign chrono keeps to four digits
        self.at += 1
        digits = self._digits(_MAX_YEAR_DIGITS + 1)
        if len(digits) > _MAX_YEAR_DIGITS:
            raise _Refused("year out of range")
        return -int(digits) if sign == "-" else int(digits)

    def _fraction(self) -> int:
        if self._peek() != ".":
            return 0
        self.at += 1
        digits = self._digits(9)
        while self._peek() in _DIGITS:
            self.at += 1  # chrono drops digits past the ninth: truncation, not rounding
        return int(digits.ljust(9, "0"))

    def _offset(self) -> int:
        """Seconds east of UTC: ``Z``/``z``, ``UTC`` in any case, or ``±HH`` ``[:…]`` ``MM``."""
        self._skip_space()
        first = self._peek()
        if first in ("Z", "z"):
            self.at += 1
            return 0
        if first in ("U", "u"):
            if self._peek(1) in ("T", "t") and self._peek(2) in ("C", "c"):
                self.at += 3
                return 0
            raise _Refused()
        if first not in ("+", "-"):
            raise _Refused()
        self.at += 1
        hours = self._two_digits("0123456789")
        # chrono's `colon_or_space`: any run of colons and whitespace, or none.
        while self._peek() == ":" or self._peek() in _WHITESPACE:
            self.at += 1
        minutes = self._two_digits("012345")
        seconds = hours * 3600 + minutes * 60
        return -seconds if first == "-" else seconds

    def _two_digits(self, first_digits: str) -> int:
        pair = self.text[self.at : self.at + 2]
        if len(pair) != 2 or pair[0] not in first_digits or pair[1] not in _DIGITS:
            raise _Refused()
        self.at += 2
        return int(pair)


def _shown(text: str) -> str:
    """The bad text for an error message; a huge one is cut, so the message stays one line."""
    return repr(text) if len(text) <= 80 else f"{text[:80]!r}… ({len(text)} characters)"
