"""Property tests of the decision core: invariants that hold for any valid policy and instant."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.bounds import effective_bounds, target_schedule, transitions
from core.policy import Policy, parse_policy

ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "UTC",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
]
DAY_SPECS = ["Mon", "Sun", "Mon-Fri", "Fri-Mon", "Sat-Sun", "Sun-Thu", "Mon,Wed", "Tue,Thu,Sat"]

times = st.integers(0, 24 * 60 - 1).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")


@st.composite
def spans(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return {}
    start = draw(times)
    end = draw(times.filter(lambda t: t != start))
    return {"from": start, "to": end}


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    zone = draw(st.sampled_from(ZONES))
    kind = draw(st.sampled_from(["ic", "realtime", "parked", "async"]))
    maximum = draw(st.integers(1, 10))
    minimum = draw(st.integers(1 if kind in ("realtime", "parked") else 0, maximum))
    target: dict[str, Any] = {"min": minimum, "max": maximum}
    if kind == "ic":
        target["inference_component"] = "ic"
    else:
        target["endpoint"] = "ep"
        if kind == "async":
            target["kind"] = "async"
        if kind == "parked":
            target["park"] = True
    idle = draw(
        st.lists(
            st.builds(lambda d, s: {"days": d, **s}, st.sampled_from(DAY_SPECS), spans()),
            max_size=3,
        )
    )
    window_floors = st.builds(
        lambda d, s, m, lead: {"days": d, "min": m, "lead": lead, **s},
        st.sampled_from(DAY_SPECS),
        spans(),
        st.integers(1, 15),
        st.integers(0, 180),
    )
    calendar_floors = st.builds(
        lambda s, m, lead: {"calendar": "c", "min": m, "lead": lead, **s},
        spans(),
        st.integers(1, 15),
        st.integers(0, 24 * 60),
    )
    floors = draw(st.lists(st.one_of(window_floors, calendar_floors), max_size=3))
    if idle:
        target["idle"] = idle
    if floors:
        target["floors"] = floors
    day = draw(st.dates(datetime(2026, 1, 1).date(), datetime(2028, 12, 20).date()))
    length = draw(st.integers(0, 3))
    dates = [
        {"from": day.isoformat(), "to": (day + timedelta(days=length)).isoformat(), "name": "event"}
    ]
    return parse_policy(
        {
            "version": 1,
            "timezone": zone,
            "calendars": {"c": {"dates": dates}},
            "targets": {"t": target},
        }
    )


instants = st.datetimes(datetime(2026, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC))


@contextmanager
def host_zone(name: str) -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies(), instants)
def test_bounds_invariants(policy: Policy, now: datetime) -> None:
    target = policy.targets["t"]
    b = effective_bounds(policy, "t", now)
    assert 0 <= b.min <= b.max
    assert b.max == target.max
    assert b.reasons
    if not target.zero_when_idle:
        assert b.min >= 1
    floors = target_schedule(policy, "t").active_floors(now)
    if floors:  # a floor beats an idle window, clamped to max
        assert b.min == min(target.max, max(m for m, _ in floors))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policies(),
    instants,
    st.sampled_from(["Pacific/Chatham", "America/St_Johns", "UTC", "Asia/Tokyo"]),
)
def test_bounds_do_not_depend_on_host_zone(policy: Policy, now: datetime, other_zone: str) -> None:
    reference = effective_bounds(policy, "t", now)
    with host_zone(other_zone):
        assert effective_bounds(policy, "t", now) == reference
        assert effective_bounds(policy, "t", now.astimezone()) == reference


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies(), instants, st.lists(st.integers(0, 4 * 24 * 3600 - 1), min_size=20, max_size=60))
def test_calendar_transitions_are_exact(
    policy: Policy, start: datetime, offsets: list[int]
) -> None:
    """Between two transitions the bounds are constant, and each transition is a real change."""
    end = start + timedelta(days=4)
    rows = transitions(policy, start, end)
    assert rows[0].at == start
    for earlier, later in pairwise(rows):
        assert earlier.at < later.at
        assert (earlier.bounds.min, earlier.bounds.max) != (later.bounds.min, later.bounds.max)
    probes = [start + timedelta(seconds=s) for s in offsets]
    probes += [r.at for r in rows] + [r.at - timedelta(microseconds=1) for r in rows[1:]]
    for probe in probes:
        expected = max((r for r in rows if r.at <= probe), key=lambda r: r.at).bounds
        got = effective_bounds(policy, "t", probe)
        assert (got.min, got.max) == (expected.min, expected.max), (probe, rows)
