"""Effective bounds: the exact time semantics of DESIGN.md section 2, pinned by date tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.bounds import Override, Surge, effective_bounds, transitions
from core.policy import Policy, parse_policy
from core.timewindows import NaiveDatetimeError


def make_policy(
    target: dict[str, Any],
    *,
    timezone: str = "America/New_York",
    calendars: dict[str, Any] | None = None,
) -> Policy:
    body: dict[str, Any] = {"inference_component": "ic", "min": 1, "max": 8}
    body.update(target)
    return parse_policy(
        {"version": 1, "timezone": timezone, "calendars": calendars or {}, "targets": {"t": body}}
    )


def at(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


NY = ZoneInfo("America/New_York")

RETAIL = {
    "retail": {
        "dates": [
            {"date": "2026-11-27", "name": "Black Friday"},
            {"from": "2026-12-24", "to": "2026-12-26", "name": "Christmas"},
        ]
    }
}

# (description, timezone, target fields, instant, expected min, reason that must be present)
CASES: list[tuple[str, str, dict[str, Any], str, int, str]] = [
    # --- spring forward: a window starting inside the gap starts at the first instant after it
    (
        "NY gap start, before",
        "America/New_York",
        {"idle": [{"days": "Sun", "from": "02:30", "to": "06:00"}]},
        "2026-03-08T06:59:00+00:00",
        1,
        "min",
    ),
    (
        "NY gap start, at gap end",
        "America/New_York",
        {"idle": [{"days": "Sun", "from": "02:30", "to": "06:00"}]},
        "2026-03-08T07:00:00+00:00",
        0,
        "idle:Sun 02:30-06:00",
    ),
    (
        "NY gap start, end",
        "America/New_York",
        {"idle": [{"days": "Sun", "from": "02:30", "to": "06:00"}]},
        "2026-03-08T10:00:00+00:00",
        1,
        "min",
    ),
    (
        "Berlin gap start, before",
        "Europe/Berlin",
        {"idle": [{"days": "Sun", "from": "02:00", "to": "05:00"}]},
        "2026-03-29T00:59:00+00:00",
        1,
        "min",
    ),
    (
        "Berlin gap start, after",
        "Europe/Berlin",
        {"idle": [{"days": "Sun", "from": "02:00", "to": "05:00"}]},
        "2026-03-29T01:00:00+00:00",
        0,
        "idle:Sun 02:00-05:00",
    ),
    (
        "Sydney gap start, before",
        "Australia/Sydney",
        {"idle": [{"days": "Sun", "from": "02:15", "to": "04:00"}]},
        "2026-10-03T15:59:00+00:00",
        1,
        "min",
    ),
    (
        "Sydney gap start, after",
        "Australia/Sydney",
        {"idle": [{"days": "Sun", "from": "02:15", "to": "04:00"}]},
        "2026-10-03T16:00:00+00:00",
        0,
        "idle:Sun 02:15-04:00",
    ),
    # --- fall back: a window ending inside the repeated hour ends at its first occurrence
    (
        "NY fold end, just before",
        "America/New_York",
        {"idle": [{"days": "Sat", "from": "22:00", "to": "01:30"}]},
        "2026-11-01T05:29:00+00:00",
        0,
        "idle:Sat 22:00-01:30",
    ),
    (
        "NY fold end, first 01:30",
        "America/New_York",
        {"idle": [{"days": "Sat", "from": "22:00", "to": "01:30"}]},
        "2026-11-01T05:30:00+00:00",
        1,
        "min",
    ),
    (
        "NY fold end, second 01:15",
        "America/New_York",
        {"idle": [{"days": "Sat", "from": "22:00", "to": "01:30"}]},
        "2026-11-01T06:15:00+00:00",
        1,
        "min",
    ),
    (
        "Berlin fold end, just before",
        "Europe/Berlin",
        {"idle": [{"days": "Sat", "from": "23:00", "to": "02:30"}]},
        "2026-10-25T00:29:00+00:00",
        0,
        "idle:Sat 23:00-02:30",
    ),
    (
        "Berlin fold end, second 02:29",
        "Europe/Berlin",
        {"idle": [{"days": "Sat", "from": "23:00", "to": "02:30"}]},
        "2026-10-25T01:29:00+00:00",
        1,
        "min",
    ),
    (
        "Sydney fold end, just before",
        "Australia/Sydney",
        {"idle": [{"days": "Sat", "from": "20:00", "to": "02:30"}]},
        "2026-04-04T15:29:00+00:00",
        0,
        "idle:Sat 20:00-02:30",
    ),
    (
        "Sydney fold end, second 02:30",
        "Australia/Sydney",
        {"idle": [{"days": "Sat", "from": "20:00", "to": "02:30"}]},
        "2026-04-04T16:30:00+00:00",
        1,
        "min",
    ),
    # --- a window starting in the repeated hour starts at its first occurrence
    (
        "NY fold start",
        "America/New_York",
        {"idle": [{"days": "Sun", "from": "01:30", "to": "04:00"}]},
        "2026-11-01T05:30:00+00:00",
        0,
        "idle:Sun 01:30-04:00",
    ),
    (
        "NY fold start, before",
        "America/New_York",
        {"idle": [{"days": "Sun", "from": "01:30", "to": "04:00"}]},
        "2026-11-01T05:29:00+00:00",
        1,
        "min",
    ),
    # --- windows do not shift in UTC on other days: 20:00 local in winter and summer
    (
        "NY 20:00 EST",
        "America/New_York",
        {"idle": [{"days": "Mon", "from": "20:00", "to": "07:00"}]},
        "2026-03-03T01:00:00+00:00",
        0,
        "idle:Mon 20:00-07:00",
    ),
    (
        "NY 19:59 EST",
        "America/New_York",
        {"idle": [{"days": "Mon", "from": "20:00", "to": "07:00"}]},
        "2026-03-03T00:59:00+00:00",
        1,
        "min",
    ),
    (
        "NY 20:00 EDT",
        "America/New_York",
        {"idle": [{"days": "Mon", "from": "20:00", "to": "07:00"}]},
        "2026-03-10T00:00:00+00:00",
        0,
        "idle:Mon 20:00-07:00",
    ),
    # --- windows crossing midnight, Sunday to Monday
    (
        "Sun night into Mon",
        "America/New_York",
        {"idle": [{"days": "Sun", "from": "22:00", "to": "06:00"}]},
        "2026-11-23T02:00:00-05:00",
        0,
        "idle:Sun 22:00-06:00",
    ),
    (
        "Sun night ends Mon 06:00",
        "America/New_York",
        {"idle": [{"days": "Sun", "from": "22:00", "to": "06:00"}]},
        "2026-11-23T06:00:00-05:00",
        1,
        "min",
    ),
    (
        "window belongs to start day",
        "America/New_York",
        {"idle": [{"days": "Mon-Fri", "from": "20:00", "to": "07:00"}]},
        "2026-11-23T03:00:00-05:00",
        1,
        "min",
    ),
    (
        "Fri night runs into Sat",
        "America/New_York",
        {"idle": [{"days": "Fri", "from": "20:00", "to": "07:00"}]},
        "2026-11-28T06:59:00-05:00",
        0,
        "idle:Fri 20:00-07:00",
    ),
    (
        "Sun window on Sun 23:00",
        "America/New_York",
        {"idle": [{"days": "Sun", "from": "22:00", "to": "06:00"}]},
        "2026-11-22T23:00:00-05:00",
        0,
        "idle:Sun 22:00-06:00",
    ),
    (
        "Sat 23:00 not in Sun window",
        "America/New_York",
        {"idle": [{"days": "Sun", "from": "22:00", "to": "06:00"}]},
        "2026-11-21T23:00:00-05:00",
        1,
        "min",
    ),
    # --- Fri-Mon wraps the week end; all-day windows
    (
        "Fri-Mon includes Mon",
        "America/New_York",
        {"idle": [{"days": "Fri-Mon"}]},
        "2026-11-23T12:00:00-05:00",
        0,
        "idle:Fri-Mon",
    ),
    (
        "Fri-Mon includes Fri",
        "America/New_York",
        {"idle": [{"days": "Fri-Mon"}]},
        "2026-11-20T00:00:00-05:00",
        0,
        "idle:Fri-Mon",
    ),
    (
        "Fri-Mon excludes Tue",
        "America/New_York",
        {"idle": [{"days": "Fri-Mon"}]},
        "2026-11-24T00:00:00-05:00",
        1,
        "min",
    ),
    (
        "Fri-Mon excludes Thu 23:59",
        "America/New_York",
        {"idle": [{"days": "Fri-Mon"}]},
        "2026-11-19T23:59:00-05:00",
        1,
        "min",
    ),
    (
        "all-day Sun on fall-back day is 25 h",
        "America/New_York",
        {"idle": [{"days": "Sun"}]},
        "2026-11-02T04:59:00+00:00",
        0,
        "idle:Sun",
    ),
    (
        "all-day Sun ends Mon 00:00 EST",
        "America/New_York",
        {"idle": [{"days": "Sun"}]},
        "2026-11-02T05:00:00+00:00",
        1,
        "min",
    ),
    (
        "all-day Sun on spring day is 23 h",
        "America/New_York",
        {"idle": [{"days": "Sun"}]},
        "2026-03-09T03:59:00+00:00",
        0,
        "idle:Sun",
    ),
    (
        "to 24:00",
        "America/New_York",
        {"idle": [{"days": "Fri", "from": "18:00", "to": "24:00"}]},
        "2026-11-20T23:59:00-05:00",
        0,
        "idle:Fri 18:00-24:00",
    ),
    # --- leap day
    (
        "leap day Tue window",
        "Europe/Berlin",
        {"idle": [{"days": "Tue"}]},
        "2028-02-29T12:00:00+01:00",
        0,
        "idle:Tue",
    ),
    (
        "leap day explicit date",
        "Europe/Berlin",
        {"floors": [{"calendar": "leap", "min": 3}]},
        "2028-02-29T23:59:00+01:00",
        3,
        "floor:leap Leap day",
    ),
    (
        "day after leap day",
        "Europe/Berlin",
        {"floors": [{"calendar": "leap", "min": 3}]},
        "2028-03-01T00:00:00+01:00",
        1,
        "min",
    ),
    # --- calendar floors: lead crosses into the previous day; peak hours
    (
        "BF lead starts the evening before",
        "America/New_York",
        {
            "floors": [{"calendar": "retail", "min": 6, "lead": 120}],
            "idle": [{"days": "Mon-Fri", "from": "20:00", "to": "07:00"}],
        },
        "2026-11-26T22:00:00-05:00",
        6,
        "floor:retail Black Friday",
    ),
    (
        "BF lead not yet",
        "America/New_York",
        {
            "floors": [{"calendar": "retail", "min": 6, "lead": 120}],
            "idle": [{"days": "Mon-Fri", "from": "20:00", "to": "07:00"}],
        },
        "2026-11-26T21:59:00-05:00",
        0,
        "idle:Mon-Fri 20:00-07:00",
    ),
    (
        "BF ends at midnight",
        "America/New_York",
        {"floors": [{"calendar": "retail", "min": 6, "lead": 120}]},
        "2026-11-28T00:00:00-05:00",
        1,
        "min",
    ),
    (
        "peak hours floor with lead",
        "America/New_York",
        {
            "max": 16,
            "floors": [
                {"calendar": "retail", "min": 6},
                {"calendar": "retail", "from": "09:00", "to": "13:00", "min": 12, "lead": 30},
            ],
        },
        "2026-11-27T08:30:00-05:00",
        12,
        "floor:retail Black Friday",
    ),
    (
        "before peak lead",
        "America/New_York",
        {
            "max": 16,
            "floors": [
                {"calendar": "retail", "min": 6},
                {"calendar": "retail", "from": "09:00", "to": "13:00", "min": 12, "lead": 30},
            ],
        },
        "2026-11-27T08:29:00-05:00",
        6,
        "floor:retail Black Friday",
    ),
    (
        "after peak",
        "America/New_York",
        {
            "max": 16,
            "floors": [
                {"calendar": "retail", "min": 6},
                {"calendar": "retail", "from": "09:00", "to": "13:00", "min": 12, "lead": 30},
            ],
        },
        "2026-11-27T13:00:00-05:00",
        6,
        "floor:retail Black Friday",
    ),
    (
        "peak hours only on event days",
        "America/New_York",
        {"floors": [{"calendar": "retail", "from": "09:00", "to": "13:00", "min": 12}]},
        "2026-11-26T10:00:00-05:00",
        1,
        "min",
    ),
    (
        "date range middle day",
        "America/New_York",
        {"floors": [{"calendar": "retail", "min": 5}]},
        "2026-12-25T12:00:00-05:00",
        5,
        "floor:retail Christmas",
    ),
    (
        "date range ends after last day",
        "America/New_York",
        {"floors": [{"calendar": "retail", "min": 5}]},
        "2026-12-27T00:00:00-05:00",
        1,
        "min",
    ),
    # --- overlapping floors: the largest wins
    (
        "largest floor wins",
        "America/New_York",
        {
            "floors": [
                {"calendar": "retail", "min": 4},
                {"days": "Fri", "from": "08:00", "to": "18:00", "min": 7},
            ]
        },
        "2026-11-27T09:00:00-05:00",
        7,
        "floor:Fri 08:00-18:00",
    ),
    (
        "window floor with lead",
        "America/New_York",
        {"floors": [{"days": "Mon-Fri", "from": "08:30", "to": "18:00", "min": 2, "lead": 15}]},
        "2026-11-24T08:15:00-05:00",
        2,
        "floor:Mon-Fri 08:30-18:00",
    ),
    # --- a floor's lead survives its window lying in a DST gap, for day floors as for calendar floors
    (
        "day floor in the gap keeps its lead",
        "America/New_York",
        {"floors": [{"days": "Sun", "from": "02:00", "to": "02:30", "min": 3, "lead": 60}]},
        "2026-03-08T06:30:00+00:00",
        3,
        "floor:Sun 02:00-02:30",
    ),
    (
        "calendar floor in the gap keeps its lead",
        "America/New_York",
        {"floors": [{"calendar": "gap", "from": "02:00", "to": "02:30", "min": 3, "lead": 60}]},
        "2026-03-08T06:30:00+00:00",
        3,
        "floor:gap DST day",
    ),
    (
        "day floor in the gap ends at the gap",
        "America/New_York",
        {"floors": [{"days": "Sun", "from": "02:00", "to": "02:30", "min": 3, "lead": 60}]},
        "2026-03-08T07:00:00+00:00",
        1,
        "min",
    ),
    # --- floor above max is clamped and says so
    (
        "floor above max",
        "America/New_York",
        {"max": 8, "floors": [{"calendar": "retail", "min": 20}]},
        "2026-11-27T12:00:00-05:00",
        8,
        "clamped:max",
    ),
    # --- a floor during an idle window wins
    (
        "holiday at 03:00 beats idle night",
        "America/New_York",
        {
            "idle": [{"days": "Thu", "from": "20:00", "to": "07:00"}],
            "floors": [{"calendar": "retail", "min": 6}],
        },
        "2026-11-27T03:00:00-05:00",
        6,
        "floor:retail Black Friday",
    ),
    # --- per-window time zone overrides the file's
    (
        "window in its own zone",
        "America/New_York",
        {"idle": [{"days": "Mon", "from": "09:00", "to": "10:00", "timezone": "Europe/Berlin"}]},
        "2026-11-23T08:30:00+00:00",
        0,
        "idle:Mon 09:00-10:00",
    ),
    # --- real-time endpoints hold 1 when idle unless parked; async and parked go to 0
    (
        "realtime idle holds 1",
        "America/New_York",
        {"inference_component": None, "endpoint": "ep", "idle": [{"days": "Sat-Sun"}]},
        "2026-11-28T12:00:00-05:00",
        1,
        "idle:Sat-Sun",
    ),
    (
        "parked realtime idle is 0",
        "America/New_York",
        {
            "inference_component": None,
            "endpoint": "ep",
            "park": True,
            "idle": [{"days": "Sat-Sun"}],
        },
        "2026-11-28T12:00:00-05:00",
        0,
        "idle:Sat-Sun",
    ),
    (
        "async idle is 0",
        "America/New_York",
        {
            "inference_component": None,
            "endpoint": "ep",
            "kind": "async",
            "min": 1,
            "idle": [{"days": "Sat-Sun"}],
        },
        "2026-11-28T12:00:00-05:00",
        0,
        "idle:Sat-Sun",
    ),
    # --- headroom: extra copies on top of the minimum in chosen windows, clamped to max
    (
        "headroom adds to min",
        "America/New_York",
        {"headroom": [{"days": "Mon-Fri", "from": "09:00", "to": "17:00", "copies": 2}]},
        "2026-11-24T10:00:00-05:00",
        3,
        "headroom:Mon-Fri 09:00-17:00 +2",
    ),
    (
        "headroom ends at its window's end",
        "America/New_York",
        {"headroom": [{"days": "Mon-Fri", "from": "09:00", "to": "17:00", "copies": 2}]},
        "2026-11-24T17:00:00-05:00",
        1,
        "min",
    ),
    (
        "headroom on top of a floor",
        "America/New_York",
        {
            "max": 16,
            "floors": [{"calendar": "retail", "min": 6}],
            "headroom": [{"days": "Fri", "copies": 3}],
        },
        "2026-11-27T12:00:00-05:00",
        9,
        "headroom:Fri +3",
    ),
    (
        "largest headroom wins",
        "America/New_York",
        {
            "headroom": [
                {"days": "Tue", "copies": 1},
                {"days": "Mon-Fri", "from": "09:00", "to": "17:00", "copies": 2},
            ]
        },
        "2026-11-24T10:00:00-05:00",
        3,
        "headroom:Mon-Fri 09:00-17:00 +2",
    ),
    (
        "headroom clamped to max",
        "America/New_York",
        {"max": 4, "headroom": [{"days": "Tue", "copies": 9}]},
        "2026-11-24T10:00:00-05:00",
        4,
        "clamped:max",
    ),
    (
        "headroom across DST in its own zone",
        "Europe/Berlin",
        {"headroom": [{"days": "Sun", "from": "01:00", "to": "04:00", "copies": 2}]},
        "2026-03-29T01:30:00+00:00",
        3,
        "headroom:Sun 01:00-04:00 +2",
    ),
]


@pytest.mark.parametrize(
    ("desc", "zone", "target", "instant", "expected_min", "reason"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_effective_bounds_table(
    desc: str, zone: str, target: dict[str, Any], instant: str, expected_min: int, reason: str
) -> None:
    target = {k: v for k, v in target.items() if v is not None}
    if "endpoint" in target:
        target.pop("inference_component", None)
        body: dict[str, Any] = {"min": 1, "max": 8, **target}
    else:
        body = target
    calendars = {
        **RETAIL,
        "leap": {"dates": [{"date": "2028-02-29", "name": "Leap day"}]},
        "gap": {"dates": [{"date": "2026-03-08", "name": "DST day"}]},
    }
    policy = parse_policy(
        {
            "version": 1,
            "timezone": zone,
            "calendars": calendars,
            "targets": {
                "t": {"inference_component": "ic", "min": 1, "max": 8, **body}
                if "endpoint" not in body
                else body
            },
        }
    )
    bounds = effective_bounds(policy, "t", at(instant))
    assert (bounds.min, bounds.max) == (expected_min, policy.targets["t"].max), bounds
    assert reason in bounds.reasons, bounds


def test_public_holidays_from_country_calendar() -> None:
    policy = make_policy(
        {"floors": [{"calendar": "us", "min": 4}]},
        calendars={"us": {"country": "US", "subdivision": "NY"}},
    )
    b = effective_bounds(policy, "t", at("2026-07-04T12:00:00-04:00"))
    assert b.min == 4 and any("Independence Day" in r for r in b.reasons)
    assert effective_bounds(policy, "t", at("2026-07-06T12:00:00-04:00")).min == 1


def test_surge_floor_expires() -> None:
    policy = make_policy({})
    now = at("2026-11-24T10:00:00-05:00")
    surge = Surge(min=5, until=now + timedelta(minutes=30), alarm="latency")
    assert effective_bounds(policy, "t", now, surges=[surge]).min == 5
    assert effective_bounds(policy, "t", now + timedelta(minutes=30), surges=[surge]).min == 1


def test_surge_beats_idle_and_is_clamped() -> None:
    policy = make_policy({"max": 4, "idle": [{"days": "Mon-Sun"}]})
    now = at("2026-11-24T10:00:00-05:00")
    b = effective_bounds(policy, "t", now, surges=[Surge(9, now + timedelta(minutes=5), "spike")])
    assert (b.min, b.max) == (4, 4)
    assert b.reasons == ("surge:spike", "clamped:max")


def test_override_replaces_floors_and_idle_until_expiry() -> None:
    policy = make_policy(
        {"idle": [{"days": "Mon-Sun"}], "floors": [{"calendar": "retail", "min": 6}]},
        calendars=RETAIL,
    )
    now = at("2026-11-27T10:00:00-05:00")
    ov = Override(min=2, until=now + timedelta(hours=1), by="alice", why="load test")
    b = effective_bounds(policy, "t", now, override=ov)
    assert (b.min, b.reasons) == (2, ("override:alice load test",))
    assert effective_bounds(policy, "t", now + timedelta(hours=1), override=ov).min == 6


def test_override_above_max_is_clamped() -> None:
    policy = make_policy({"max": 3})
    now = at("2026-11-24T10:00:00-05:00")
    b = effective_bounds(policy, "t", now, override=Override(10, now + timedelta(hours=1)))
    assert b.min == 3 and "clamped:max" in b.reasons


def test_naive_now_is_rejected() -> None:
    policy = make_policy({})
    with pytest.raises(NaiveDatetimeError):
        effective_bounds(policy, "t", datetime(2026, 11, 24, 10, 0))


def test_transitions_around_fall_back() -> None:
    """A Sat 22:00 - 03:00 window on the fall-back night: 6 hours long, ends 03:00 EST."""
    policy = make_policy({"idle": [{"days": "Sat", "from": "22:00", "to": "03:00"}]})
    rows = transitions(policy, at("2026-10-31T00:00:00-04:00"), at("2026-11-02T00:00:00-05:00"))
    got = [(r.at.astimezone(UTC).isoformat(), r.bounds.min) for r in rows]
    assert got == [
        ("2026-10-31T04:00:00+00:00", 1),
        ("2026-11-01T02:00:00+00:00", 0),  # Sat 22:00 EDT
        ("2026-11-01T08:00:00+00:00", 1),  # Sun 03:00 EST, after the repeated hour
    ]


def test_transitions_skip_changes_without_bound_change() -> None:
    """Back-to-back windows of the same effect are one span, not two transitions."""
    policy = make_policy(
        {
            "idle": [
                {"days": "Mon", "from": "20:00", "to": "22:00"},
                {"days": "Mon", "from": "22:00", "to": "23:00"},
            ]
        }
    )
    rows = transitions(policy, at("2026-11-23T00:00:00-05:00"), at("2026-11-24T00:00:00-05:00"))
    assert [(r.at.astimezone(NY).hour, r.bounds.min) for r in rows] == [(0, 1), (20, 0), (23, 1)]


def test_transitions_reject_bad_range() -> None:
    policy = make_policy({})
    with pytest.raises(ValueError):
        transitions(policy, at("2026-11-24T00:00:00-05:00"), at("2026-11-23T00:00:00-05:00"))


def test_headroom_edges_are_transitions_and_an_override_replaces_it() -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from core.bounds import Override, effective_bounds, transitions
    from core.policy import loads_policy

    ny = ZoneInfo("America/New_York")
    policy = loads_policy(
        "version: 1\ntimezone: America/New_York\ntargets:\n  llm:\n    inference_component: llm-ic\n    min: 1\n    max: 8\n"
        "    headroom: [{days: Tue, from: '09:00', to: '17:00', copies: 2}]\n"
    )
    day = datetime(2026, 11, 24, 0, 0, tzinfo=ny)
    rows = [
        (t.at.astimezone(ny).hour, t.bounds.min)
        for t in transitions(policy, day, day + timedelta(days=1))
    ]
    assert rows == [(0, 1), (9, 3), (17, 1)]
    noon = datetime(2026, 11, 24, 12, 0, tzinfo=ny)
    held = effective_bounds(
        policy, "llm", noon, override=Override(5, noon + timedelta(hours=1), "ops")
    )
    assert held.min == 5 and not any(r.startswith("headroom") for r in held.reasons)
