"""Timestamp: RFC 3339 in, the reference's UTC form out, nanoseconds never lost (SPEC §2.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ta_session.model import Timestamp

# -262144-01-01T00:00:00Z and +262143-12-31T23:59:59.999999999Z (chrono's range), in
# nanoseconds since the epoch: far beyond a 64-bit integer at both ends.
MIN_NS = -8_334_632_851_200 * 1_000_000_000
MAX_NS = 8_210_298_412_799 * 1_000_000_000 + 999_999_999
# 9999-12-31T23:59:59.999999999Z: the end of what Python's datetime can hold.
DATETIME_MAX_NS = 253_402_300_799 * 1_000_000_000 + 999_999_999

BASE = "2026-03-02T14:05:11"


# -- parsing: any offset, converted to UTC ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-02T14:05:11Z", "2026-03-02T14:05:11Z"),
        ("2026-03-02T14:05:11z", "2026-03-02T14:05:11Z"),
        ("2026-03-02t14:05:11Z", "2026-03-02T14:05:11Z"),
        ("2026-03-02t14:05:11.5z", "2026-03-02T14:05:11.500Z"),
        ("2026-03-02T14:05:11+00:00", "2026-03-02T14:05:11Z"),
        ("2026-03-02T14:05:11-00:00", "2026-03-02T14:05:11Z"),
        ("2026-03-02T16:05:11+02:00", "2026-03-02T14:05:11Z"),
        ("2026-03-02T08:35:11-05:30", "2026-03-02T14:05:11Z"),
        ("2026-03-02T16:05:11.482915337+02:00", "2026-03-02T14:05:11.482915337Z"),
        # An offset that moves the instant across midnight, a month end and a year end.
        ("2026-03-02T01:00:00+02:00", "2026-03-01T23:00:00Z"),
        ("2026-12-31T22:30:00-05:30", "2027-01-01T04:00:00Z"),
        ("2024-02-29T23:59:59.999999999-00:01", "2024-03-01T00:00:59.999999999Z"),
        ("2026-03-02T14:05:11+23:59", "2026-03-01T14:06:11Z"),
    ],
)
def test_parse_converts_any_offset_to_utc(text: str, utc: str) -> None:
    assert Timestamp.parse(text).isoformat() == utc


def test_parse_same_instant_in_different_offsets_is_equal() -> None:
    forms = [
        "2026-03-02T14:05:11.482915337Z",
        "2026-03-02T16:05:11.482915337+02:00",
        "2026-03-02T08:35:11.482915337-05:30",
        "2026-03-02t14:05:11.482915337z",
    ]
    stamps = {Timestamp.parse(f) for f in forms}
    assert len(stamps) == 1


def test_parse_gives_nanoseconds_since_the_epoch() -> None:
    assert Timestamp.parse("1970-01-01T00:00:00Z").ns == 0
    assert Timestamp.parse("1970-01-01T00:00:01.000000001Z").ns == 1_000_000_001
    assert Timestamp.parse("1969-12-31T23:59:59.999999999Z").ns == -1
    assert Timestamp.parse("2026-03-02T14:05:11.482915337Z").ns == 1_772_460_311_482_915_337


# -- output: Z and the fewest of 0, 3, 6, 9 fraction digits that is exact -------------------


@pytest.mark.parametrize(
    ("nanos", "suffix"),
    [
        (0, ":11Z"),
        (500_000_000, ":11.500Z"),
        (100_000_000, ":11.100Z"),
        (1_000_000, ":11.001Z"),
        (482_915_000, ":11.482915Z"),
        (1_000, ":11.000001Z"),
        (482_915_337, ":11.482915337Z"),
        (1, ":11.000000001Z"),
        (999_999_999, ":11.999999999Z"),
        (10_000, ":11.000010Z"),
        (100, ":11.000000100Z"),
    ],
)
def test_fraction_digits_are_0_3_6_or_9(nanos: int, suffix: str) -> None:
    whole = Timestamp.parse(f"{BASE}Z")
    assert Timestamp(whole.ns + nanos).isoformat() == f"2026-03-02T14:05{suffix}"


@pytest.mark.parametrize(
    ("fraction", "written"),
    [
        ("5", ".500"),
        ("50", ".500"),
        ("500", ".500"),
        ("5000", ".500"),
        ("500000000", ".500"),
        ("12", ".120"),
        ("1234", ".123400"),
        ("4829153", ".482915300"),
        ("48291533", ".482915330"),
        ("000", ""),
        ("0", ""),
        ("000000000", ""),
        ("000001", ".000001"),
    ],
)
def test_any_fraction_length_in_is_normalised_out(fraction: str, written: str) -> None:
    assert Timestamp.parse(f"{BASE}.{fraction}Z").isoformat() == f"{BASE}{written}Z"


def test_str_is_the_iso_form() -> None:
    stamp = Timestamp.parse("2026-03-02T14:05:11.482915337Z")
    assert str(stamp) == "2026-03-02T14:05:11.482915337Z"


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-02T14:05:11Z",
        "2026-03-02T14:05:11.500Z",
        "2026-03-02T14:05:11.482915Z",
        "2026-03-02T14:05:11.482915337Z",
        "2026-03-02T14:05:11.000000001Z",
        "1970-01-01T00:00:00Z",
        "1969-07-20T20:17:40.000000001Z",
        "0001-01-01T00:00:00Z",
        "0999-12-31T23:59:59.999999999Z",
        "9999-12-31T23:59:59.999999999Z",
    ],
)
def test_canonical_text_round_trips_exactly(text: str) -> None:
    assert Timestamp.parse(text).isoformat() == text


def test_years_before_1000_are_written_with_four_digits() -> None:
    assert Timestamp.parse("0999-01-01T00:00:00Z").isoformat() == "0999-01-01T00:00:00Z"
    assert Timestamp.parse("0042-06-15T12:00:00.5Z").isoformat() == "0042-06-15T12:00:00.500Z"


@given(st.integers(min_value=MIN_NS, max_value=MAX_NS))
def test_nanosecond_round_trip_property(ns: int) -> None:
    stamp = Timestamp(ns)
    text = stamp.isoformat()
    assert Timestamp.parse(text) == stamp
    assert Timestamp.parse(text).ns == ns
    # The written form is canonical: parsing and writing it again changes nothing.
    assert Timestamp.parse(text).isoformat() == text
    assert text.endswith("Z")
    fraction = text[text.index("T") + len("14:05:11") + 1 : -1]
    assert fraction == "" or (fraction[0] == "." and len(fraction) - 1 in (3, 6, 9))


@given(
    st.integers(min_value=0, max_value=DATETIME_MAX_NS // 2),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
)
def test_offset_round_trip_property(ns: int, offset_minutes: int) -> None:
    """Writing an instant in any local offset and parsing it back gives the same instant."""
    from datetime import UTC, datetime, timedelta, timezone

    seconds, nanos = divmod(ns, 1_000_000_000)
    tz = timezone(timedelta(minutes=offset_minutes))
    local = datetime.fromtimestamp(seconds, UTC).astimezone(tz)
    if not (1 <= local.year <= 9999):
        return
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = f"{local:%Y-%m-%dT%H:%M:%S}.{nanos:09d}{sign}{hours:02d}:{minutes:02d}"
    assert Timestamp.parse(text).ns == ns


def test_order_and_equality_follow_the_instant() -> None:
    a = Timestamp.parse("2026-03-02T14:05:11.000000001Z")
    b = Timestamp.parse("2026-03-02T16:05:11.000000002+02:00")
    assert a < b
    assert max(a, b) == b
    assert Timestamp(a.ns) == a
    assert hash(Timestamp(a.ns)) == hash(a)


def test_now_is_close_to_the_clock_and_round_trips() -> None:
    import time

    before = time.time_ns()
    stamp = Timestamp.now()
    after = time.time_ns()
    assert before <= stamp.ns <= after
    assert Timestamp.parse(stamp.isoformat()) == stamp


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a time",
        "2026-03-02",
        "14:05:11Z",
        "2026-03-02T14:05:11",  # no offset
        "2026-03-02T14:05Z",  # no seconds
        "2026-03-02T14:05:11.Z",  # empty fraction
        "2026-03-02T14:05:11+2:00",
        "2026-03-02T14:05:11+02",  # no minutes
        "2026-03-02T14:05:11+02:0",
        "2026-03-02T14:05:11−02:00",  # a minus sign that is not ASCII
        "2026-03-02 T14:05:11Z",  # after the date: one T or one space, then the time
        "2026-03-02T14:05:61Z",
        "2026-03-02T14:05:11.5.5Z",
        "2026-03-02T14:05:11ZZ",
        "2026-03-02T14:05:11UT",
        "10000-01-01T00:00:00Z",  # five digits need a sign
        "+262144-01-01T00:00:00Z",  # beyond chrono's years
        "-262145-12-31T00:00:00Z",
        "-262144-01-01T00:00:00+00:01",  # in range locally, not in UTC
        "2026-03-02T14:05:11+24:00",
        "2026-03-02T14:05:11+02:60",
        "2026-13-02T14:05:11Z",
        "2026-00-02T14:05:11Z",
        "2026-02-30T14:05:11Z",
        "2025-02-29T14:05:11Z",
        "2026-03-32T14:05:11Z",
        "2026-03-02T24:00:00Z",
        "2026-03-02T14:60:11Z",
        "2026/03/02T14:05:11Z",
        "2026-03-02X14:05:11Z",
        "2026-03-02T14:05:11.١٢٣Z",  # non-ASCII digits
        "٢٠٢٦-03-02T14:05:11Z",
    ],
)
def test_bad_text_raises_value_error_naming_it(text: str) -> None:
    with pytest.raises(ValueError) as info:
        Timestamp.parse(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("value", [None, 1_772_460_311, 1.5, b"2026-03-02T14:05:11Z", ["x"]])
def test_non_string_raises_value_error(value: object) -> None:
    with pytest.raises(ValueError):
        Timestamp.parse(value)  # type: ignore[arg-type]
