"""Wall-clock arithmetic: DST gaps and folds in several zones, day specs, wall times."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from core.timewindows import (
    DailyWindow,
    NaiveDatetimeError,
    WallTime,
    local_to_instant,
    parse_days,
    require_aware,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SYDNEY = ZoneInfo("Australia/Sydney")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "local", "expected_utc"),
    [
        # spring forward: a time in the gap is the first instant after it
        (NY, "2026-03-08T02:30", "2026-03-08T07:00"),
        (NY, "2026-03-08T02:00", "2026-03-08T07:00"),
        (NY, "2026-03-08T03:00", "2026-03-08T07:00"),
        (NY, "2026-03-08T01:59", "2026-03-08T06:59"),
        (BERLIN, "2026-03-29T02:15", "2026-03-29T01:00"),
        (SYDNEY, "2026-10-04T02:30", "2026-10-03T16:00"),
        # fall back: an ambiguous time is its first occurrence
        (NY, "2026-11-01T01:30", "2026-11-01T05:30"),
        (NY, "2026-11-01T01:00", "2026-11-01T05:00"),
        (NY, "2026-11-01T02:00", "2026-11-01T07:00"),
        (BERLIN, "2026-10-25T02:30", "2026-10-25T00:30"),
        (SYDNEY, "2026-04-05T02:30", "2026-04-04T15:30"),
        # ordinary days
        (NY, "2026-07-04T12:00", "2026-07-04T16:00"),
        (SYDNEY, "2028-02-29T00:00", "2028-02-28T13:00"),
    ],
)
def test_local_to_instant(zone: ZoneInfo, local: str, expected_utc: str) -> None:
    assert local_to_instant(datetime.fromisoformat(local), zone) == utc(expected_utc)


def test_local_to_instant_in_half_hour_dst_zone() -> None:
    """Lord Howe Island moves its clocks by 30 minutes: the gap is 02:00-02:30."""
    zone = ZoneInfo("Australia/Lord_Howe")
    got = local_to_instant(datetime(2026, 10, 4, 2, 10), zone)
    assert got.astimezone(zone).replace(tzinfo=None) == datetime(2026, 10, 4, 2, 30)


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("Mon", {0}),
        ("Mon-Fri", {0, 1, 2, 3, 4}),
        ("Fri-Mon", {4, 5, 6, 0}),
        ("Sun-Fri", {6, 0, 1, 2, 3, 4}),
        ("Mon,Wed", {0, 2}),
        ("mon-wed, fri", {0, 1, 2, 4}),
        ("Sat-Sun", {5, 6}),
        ("Sun-Sat", {6, 0, 1, 2, 3, 4, 5}),
    ],
)
def test_parse_days(spec: str, days: set[int]) -> None:
    assert parse_days(spec) == frozenset(days)


@pytest.mark.parametrize("spec", ["", "Fry", "Mon-", "Mon-Tue-Wed", "Monday", ","])
def test_parse_days_rejects(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_days(spec)


@pytest.mark.parametrize("text", ["24:01", "25:00", "7", "07:60", "ab:cd", "-1:00"])
def test_wall_time_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        WallTime.parse(text)


def test_wall_time_24_is_next_midnight() -> None:
    assert WallTime.parse("24:00").on(date(2026, 12, 31)) == datetime(2027, 1, 1)
    assert str(WallTime.parse("7:05")) == "07:05"


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(NaiveDatetimeError):
        require_aware(datetime(2026, 1, 1))
    window = DailyWindow(frozenset({0}), None, None, NY, "x")
    with pytest.raises(NaiveDatetimeError):
        window.active_at(datetime(2026, 1, 5))


def test_window_lying_inside_a_gap_never_happens() -> None:
    """02:10-02:40 on the spring-forward Sunday in New York does not exist: no occurrence."""
    window = DailyWindow(
        parse_days("Sun"), WallTime.parse("02:10"), WallTime.parse("02:40"), NY, "x"
    )
    assert window.occurrence(date(2026, 3, 8)) is None
    assert window.occurrence(date(2026, 3, 15)) is not None
