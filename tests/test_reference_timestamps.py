"""Timestamps at the reference's edges: what chrono reads, we read; what it writes, we write.

The reference reads a ``DateTime<Utc>`` with chrono's ``FromStr`` (chrono 0.4.19–0.4.26) and
writes chrono's ``Debug`` form. The first table holds the cases measured on the reference's own
code; the second holds chrono 0.4.26's own test vectors for ``FromStr``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ta_session.model import InteractiveSession, Timestamp
from ta_session.model.timestamps import MAX_YEAR, MIN_YEAR

INT64_MAX = 2**63 - 1
NS = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "written"),
    [
        # Measured on the reference (the table).
        ("2016-12-31T23:59:60.5Z", "2016-12-31T23:59:60.500Z"),
        ("+10000-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"),
        ("-0001-01-01T00:00:00Z", "-0001-01-01T00:00:00Z"),
        ("2026-03-02T14:05:11.123456789123Z", "2026-03-02T14:05:11.123456789Z"),
        ("2026-03-02T14:05:11+0200", "2026-03-02T12:05:11Z"),
        # chrono 0.4.26, src/datetime/tests.rs, test_datetime_from_str.
        ("2015-02-18T23:16:9.15Z", "2015-02-18T23:16:09.150Z"),
        ("2015-02-18T23:16:9.15 UTC", "2015-02-18T23:16:09.150Z"),
        ("2015-02-18T23:16:9.15UTC", "2015-02-18T23:16:09.150Z"),
        ("2015-2-18T23:16:9.15Z", "2015-02-18T23:16:09.150Z"),
        ("2015-2-18T13:16:9.15-10:00", "2015-02-18T23:16:09.150Z"),
        # chrono 0.4.26's doc examples for FromStr.
        ("2012-12-12 12:12:12Z", "2012-12-12T12:12:12Z"),
        ("2012-  12-12T12:  12:12Z", "2012-12-12T12:12:12Z"),
        ("2012-12-12 12:12:12+0000", "2012-12-12T12:12:12Z"),
    ],
)
def test_read_and_written_as_the_reference_does(text: str, written: str) -> None:
    assert Timestamp.parse(text).isoformat() == written


@pytest.mark.parametrize(
    ("text", "written"),
    [
        # The rest of chrono's grammar, item by item (src/format/parse.rs, FromStr).
        (" 2026-03-02T14:05:11Z", "2026-03-02T14:05:11Z"),  # space before every number
        ("2026-03-02T14:05:11Z \n", "2026-03-02T14:05:11Z"),  # and at the end
        ("2026-03-02T14:05:11 Z", "2026-03-02T14:05:11Z"),  # and before the offset
        ("2026 - 03 - 02T 14 : 05 : 11Z", "2026-03-02T14:05:11Z"),
        ("2026-03-02T14:05:11\u3000Z", "2026-03-02T14:05:11Z"),  # Unicode White_Space too
        ("26-3-2T4:5:6Z", "0026-03-02T04:05:06Z"),  # 1 to 4 year digits, 1 or 2 for the rest
        ("+2026-03-02T14:05:11Z", "2026-03-02T14:05:11Z"),  # a signed year is written plain
        ("-0-01-01T00:00:00Z", "0000-01-01T00:00:00Z"),  # year 0 exists (1 BC)
        ("2026-03-02T14:05:11.1234567891Z", "2026-03-02T14:05:11.123456789Z"),  # truncated
        ("2026-03-02T14:05:11.9999999999Z", "2026-03-02T14:05:11.999999999Z"),  # not rounded
        ("2026-03-02T14:05:11utc", "2026-03-02T14:05:11Z"),
        ("2026-03-02T16:05:11+02 00", "2026-03-02T14:05:11Z"),  # colons or spaces, or none
        ("2026-03-02T16:05:11+02::00", "2026-03-02T14:05:11Z"),
        ("2026-03-03T13:59:11+23:54", "2026-03-02T14:05:11Z"),
        # Leap seconds: in any minute, kept through an offset.
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:60Z"),
        ("2017-01-01T01:59:60.25+02:00", "2016-12-31T23:59:60.250Z"),
        ("2026-03-02T14:05:60.000001Z", "2026-03-02T14:05:60.000001Z"),
        # Years at and beyond 0000–9999, up to chrono's limits.
        ("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999Z"),
        ("9999-12-31T23:00:00-01:00", "+10000-01-01T00:00:00Z"),
        ("0000-01-01T00:30:00+01:00", "-0001-12-31T23:30:00Z"),
        ("-0001-12-31T23:59:59Z", "-0001-12-31T23:59:59Z"),
        ("-0044-03-15T12:00:00Z", "-0044-03-15T12:00:00Z"),
        ("+262143-12-31T23:59:59.999999999Z", "+262143-12-31T23:59:59.999999999Z"),
        ("-262144-01-01T00:00:00Z", "-262144-01-01T00:00:00Z"),
        ("-0004-02-29T00:00:00Z", "-0004-02-29T00:00:00Z"),  # proleptic leap year
        # Ours, not the reference's: a lowercase t separator (RFC 3339 allows it).
        ("2026-03-02t14:05:11z", "2026-03-02T14:05:11Z"),
    ],
)
def test_chrono_grammar(text: str, written: str) -> None:
    assert Timestamp.parse(text).isoformat() == written


@pytest.mark.parametrize(
    "text",
    ["2016-12-31T23:59:60.5Z", "+10000-01-01T00:00:00Z", "-0001-01-01T00:00:00.000000001Z"],
)
def test_written_forms_read_back_unchanged(text: str) -> None:
    stamp = Timestamp.parse(text)
    assert Timestamp.parse(stamp.isoformat()) == stamp
    assert Timestamp.from_split(*stamp.split()) == stamp


# -- order and arithmetic -------------------------------------------------------------------


def test_a_leap_second_sorts_between_its_neighbours() -> None:
    texts = [
        "2016-12-31T23:59:59Z",
        "2016-12-31T23:59:59.999999999Z",
        "2016-12-31T23:59:60Z",
        "2016-12-31T23:59:60.5Z",
        "2016-12-31T23:59:60.999999999Z",
        "2017-01-01T00:00:00Z",
        "2017-01-01T00:00:00.1Z",
    ]
    stamps = [Timestamp.parse(t) for t in texts]
    assert sorted(reversed(stamps)) == stamps
    assert all(a < b for a, b in pairwise(stamps))
    assert [s.split() for s in stamps] == sorted(s.split() for s in stamps)
    # ``ns`` never goes backwards, so elapsed times across a leap second stay right.
    assert [s.ns for s in stamps] == sorted(s.ns for s in stamps)
    assert len(set(stamps)) == len(stamps)


def test_years_far_out_sort_and_subtract_exactly() -> None:
    texts = [
        "-262144-01-01T00:00:00Z",
        "-0001-01-01T00:00:00Z",
        "1677-09-21T00:12:43.145224191Z",  # one nanosecond before the int64 range
        "1970-01-01T00:00:00Z",
        "2262-04-11T23:47:16.854775808Z",  # one nanosecond after it
        "+10000-01-01T00:00:00Z",
        "+262143-12-31T23:59:59.999999999Z",
    ]
    stamps = [Timestamp.parse(t) for t in texts]
    assert stamps == sorted(stamps)
    assert stamps[2].ns == -(2**63) - 1
    assert stamps[4].ns == INT64_MAX + 1
    # Differences are exact integers, however large.
    assert stamps[5].ns - stamps[3].ns == 253_402_300_800 * NS
    for stamp in stamps:
        seconds, nanos = stamp.split()
        assert -(2**63) <= seconds <= INT64_MAX
        assert 0 <= nanos < 2 * NS


def test_elapsed_of_a_session_created_in_a_leap_second() -> None:
    session = InteractiveSession.new("845a79f8-2bb8-4c0f-90bb-2c0a42bba110", "cli:1", "codex")
    session.created_at = Timestamp.parse("2016-12-31T23:59:60.5Z")
    assert session.elapsed_seconds(Timestamp.parse("2017-01-01T00:01:01Z")) == 61
    assert session.elapsed_seconds(Timestamp.parse("2016-12-31T23:59:60.9Z")) == 0


# -- properties -----------------------------------------------------------------------------

_MIN_NS = Timestamp.parse(f"{MIN_YEAR}-01-01T00:00:00Z").ns
_MAX_NS = Timestamp.parse(f"+{MAX_YEAR}-12-31T23:59:59.999999999Z").ns


@given(st.integers(_MIN_NS, _MAX_NS), st.one_of(st.none(), st.integers(0, NS - 1)))
def test_every_instant_round_trips_through_its_text(ns: int, leap: int | None) -> None:
    if leap is not None:  # a leap second follows second 59 of any minute
        ns = ns - ns % (60 * NS) + 60 * NS - 1
        if ns > _MAX_NS:
            return
    stamp = Timestamp(ns, leap)
    text = stamp.isoformat()
    assert Timestamp.parse(text) == stamp
    assert Timestamp.from_split(*stamp.split()) == stamp
    assert (":60" in text) == (leap is not None)


@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(0, NS - 1),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59),
    st.booleans(),
    st.booleans(),
)
def test_relaxed_forms_give_the_same_instant(
    local: datetime, nanos: int, offset_minutes: int, colon: bool, padded: bool
) -> None:
    """Any spelling chrono accepts gives the instant Python's own calendar gives."""
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    offset = f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"
    if padded:
        date = f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
        clock = f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    else:
        date = f"{local.year}-{local.month}-{local.day}"
        clock = f"{local.hour}:{local.minute}:{local.second}"
    text = f"{date}T{clock}.{nanos:09d}{offset}"
    utc = local.replace(tzinfo=UTC) - timedelta(minutes=offset_minutes)
    expected = (utc - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1) * NS + nanos
    assert Timestamp.parse(text).ns == expected
