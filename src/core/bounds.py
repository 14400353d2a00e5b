"""Effective bounds of a target at an instant, and every change of them over a range.

Pure: takes the policy, an aware ``now`` and state (surges, override); never the
clock, the environment or AWS. The order of DESIGN.md section 2:

1. ``floor`` = the largest ``min`` among active floors and active alarm surges;
2. a floor sets ``min_eff``; else an idle window sets 0 (inference component,
   async, parked real-time) or 1 (real-time); else the target's ``min``;
3. an active override replaces 1-2;
4. ``min_eff`` is clamped to ``max``; ``max_eff = max``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from core.timewindows import (
    DailyWindow,
    Interval,
    WallTime,
    load_zone,
    local_to_instant,
    parse_days,
    require_aware,
)

if TYPE_CHECKING:
    from core.policy import Calendar, Floor, IdleWindow, Policy, Target


@dataclass(frozen=True)
class Surge:
    """A temporary floor set by an alarm rule in bounds mode."""

    min: int
    until: datetime
    alarm: str


@dataclass(frozen=True)
class Override:
    """An operator's override of the minimum, with an expiry."""

    min: int
    until: datetime
    by: str = "operator"
    why: str = ""


@dataclass(frozen=True)
class Bounds:
    """Effective bounds of one target at one instant, with the reasons behind them."""

    min: int
    max: int
    reasons: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class CalendarEvent:
    first: date
    last: date
    name: str


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str | None, year: int) -> tuple[tuple[date, str], ...]:
    import holidays

    found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return tuple(sorted((day, str(name)) for day, name in found.items()))


def calendar_events(calendar: Calendar, years: Iterable[int]) -> list[CalendarEvent]:
    """Events of a calendar that touch any of ``years``: public holidays and explicit dates."""
    wanted = set(years)
    events: list[CalendarEvent] = []
    if calendar.country is not None:
        for year in sorted(wanted):
            events.extend(
                CalendarEvent(d, d, n)
                for d, n in _holidays(calendar.country, calendar.subdivision, year)
            )
    for item in calendar.dates:
        if any(item.first.year <= y <= item.last.year for y in wanted):
            events.append(CalendarEvent(item.first, item.last, item.name))
    return events


class _CalendarFloor:
    """A floor on a calendar's event days, from ``lead`` minutes before each event."""

    def __init__(
        self, floor: Floor, calendar_name: str, calendar: Calendar, zone: ZoneInfo
    ) -> None:
        self.min = floor.min
        self.lead = timedelta(minutes=floor.lead)
        self.calendar_name = calendar_name
        self.calendar = calendar
        self.zone = zone
        self.start = WallTime.parse(floor.from_) if floor.from_ else None
        self.end = WallTime.parse(floor.to) if floor.to else None

    def _event_intervals(self, event: CalendarEvent) -> Iterator[Interval]:
        reason = f"floor:{self.calendar_name} {event.name}"
        if self.start is None or self.end is None:
            begin = local_to_instant(WallTime(0).on(event.first), self.zone) - self.lead
            finish = local_to_instant(WallTime(1440).on(event.last), self.zone)
            yield Interval(begin, finish, reason)
            return
        day = event.first
        while day <= event.last:
            end_day = day if self.end > self.start else day + timedelta(days=1)
            begin = local_to_instant(self.start.on(day), self.zone) - self.lead
            finish = local_to_instant(self.end.on(end_day), self.zone)
            if finish > begin:
                yield Interval(begin, finish, reason)
            day += timedelta(days=1)

    def intervals(self, start: datetime, end: datetime) -> Iterator[Interval]:
        first_day = start.astimezone(self.zone).date() - timedelta(days=2)
        last_day = (end + self.lead).astimezone(self.zone).date() + timedelta(days=1)
        years = range(first_day.year - 1, last_day.year + 1)  # a range event may start a year early
        for event in calendar_events(self.calendar, years):
            if event.last < first_day or event.first > last_day:
                continue
            for iv in self._event_intervals(event):
                if iv.start < end and iv.end > start:
                    yield iv


class _WindowFloor:
    """A floor on recurring days and hours, starting ``lead`` minutes early."""

    def __init__(self, floor: Floor, zone: ZoneInfo) -> None:
        self.min = floor.min
        self.lead = timedelta(minutes=floor.lead)
        self.window = DailyWindow(
            days=parse_days(floor.days or ""),
            start=WallTime.parse(floor.from_) if floor.from_ else None,
            end=WallTime.parse(floor.to) if floor.to else None,
            zone=zone,
            label=f"floor:{floor.label}",
        )

    def intervals(self, start: datetime, end: datetime) -> Iterator[Interval]:
        """Occurrences from ``lead`` before the window's start (kept even if the window itself is in a DST gap)."""
        yield from self.window.occurrences(start, end, self.lead)


_Floor = _CalendarFloor | _WindowFloor


def _daily(window: IdleWindow, default_zone: ZoneInfo, label: str) -> DailyWindow:
    """A recurring window of the policy (an idle window, or headroom, which has the same fields)."""
    return DailyWindow(
        days=parse_days(window.days),
        start=WallTime.parse(window.from_) if window.from_ else None,
        end=WallTime.parse(window.to) if window.to else None,
        zone=load_zone(window.timezone) if window.timezone else default_zone,
        label=label,
    )


class TargetSchedule:
    """The time-dependent parts of one target's policy, compiled for fast evaluation."""

    def __init__(self, policy: Policy, name: str) -> None:
        self.name = name
        self.target: Target = policy.targets[name]
        default_zone = load_zone(policy.timezone)
        self.idle = [_daily(w, default_zone, f"idle:{w.label}") for w in self.target.idle]
        self.headroom = [
            (_daily(h, default_zone, f"headroom:{h.label}"), h) for h in self.target.headroom
        ]
        self.reads_peak = max(
            (h.of_peak.days for h in self.target.headroom if h.of_peak is not None), default=0
        )  # days of demand to read
        self.floors: list[_Floor] = []
        for f in self.target.floors:
            zone = load_zone(f.timezone) if f.timezone else default_zone
            if f.calendar is not None:
                self.floors.append(
                    _CalendarFloor(f, f.calendar, policy.calendars[f.calendar], zone)
                )
            else:
                self.floors.append(_WindowFloor(f, zone))

    def active_floors(self, now: datetime) -> list[tuple[int, str]]:
        """``(min, reason)`` of every floor holding at ``now``."""
        probe_end = now + timedelta(microseconds=1)
        found = []
        for floor in self.floors:
            for iv in floor.intervals(now, probe_end):
                if iv.contains(now):
                    found.append((floor.min, iv.label))
        return found

    def active_idle(self, now: datetime) -> list[str]:
        """Labels of the idle windows holding at ``now``."""
        return [w.label for w in self.idle if w.active_at(now) is not None]

    def change_points(self, start: datetime, end: datetime) -> list[datetime]:
        """Every instant in ``(start, end)`` at which a floor or idle window starts or ends."""
        points: set[datetime] = set()
        spans: list[Iterator[Interval]] = [w.occurrences(start, end) for w in self.idle]
        spans += [w.occurrences(start, end) for w, _ in self.headroom]
        spans += [f.intervals(start, end) for f in self.floors]
        for ivs in spans:
            for iv in ivs:
                points.update(p for p in (iv.start, iv.end) if start < p < end)
        return sorted(points)

    def bounds(
        self,
        now: datetime,
        surges: Sequence[Surge] = (),
        override: Override | None = None,
        peak: float | None = None,
    ) -> Bounds:
        """Effective bounds at ``now`` (aware), following DESIGN.md section 2 in order.

        ``peak``: the busiest minute of recent demand (requests), for headroom sized by it;
        unknown, such a window adds nothing."""
        require_aware(now, "now")
        target = self.target
        candidates = self.active_floors(now)
        candidates += [
            (s.min, f"surge:{s.alarm}")
            for s in surges
            if require_aware(s.until, "surge.until") > now
        ]
        reasons: list[str]
        if override is not None and require_aware(override.until, "override.until") > now:
            min_eff = override.min
            reasons = [f"override:{override.by}" + (f" {override.why}" if override.why else "")]
        elif candidates:
            min_eff = max(m for m, _ in candidates)
            reasons = _unique(r for m, r in candidates if m == min_eff)
        else:
            idle = self.active_idle(now)
            if idle:
                min_eff = 0 if target.zero_when_idle else 1
                reasons = idle
            else:
                min_eff = target.min
                reasons = ["min"]
        overridden = override is not None and override.until > now
        extra = (
            []
            if overridden
            else [
                (h.extra(peak), w.label) for w, h in self.headroom if w.active_at(now) is not None
            ]
        )
        if (
            extra and max(extra)[0] > 0
        ):  # on top of floors and idle windows, before the clamp; an override replaces it too
            copies, label = max(extra)
            min_eff += copies
            reasons.append(f"{label} +{copies}")
        if min_eff > target.max:
            min_eff = target.max
            reasons.append("clamped:max")
        if min_eff < 1 and not target.zero_when_idle:
            min_eff = 1
            reasons.append("clamped:realtime-needs-1")
        return Bounds(min_eff, target.max, tuple(reasons))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def target_schedule(policy: Policy, name: str) -> TargetSchedule:
    """The compiled schedule of target ``name``, built once per policy."""
    key = f"schedule:{name}"
    found = policy.memo.get(key)
    if found is None:
        found = policy.memo[key] = TargetSchedule(policy, name)
    assert isinstance(found, TargetSchedule)
    return found


def effective_bounds(
    policy: Policy,
    target: str,
    now: datetime,
    *,
    surges: Sequence[Surge] = (),
    override: Override | None = None,
    peak: float | None = None,
) -> Bounds:
    """Effective ``(min, max, reasons)`` of ``target`` at the aware instant ``now`` (``peak``: the
    busiest minute of recent demand, for headroom sized by it)."""
    schedule = target_schedule(policy, target)
    return schedule.bounds(now, surges, override, peak)


@dataclass(frozen=True)
class Transition:
    """The bounds of ``target`` from ``at`` on (until its next transition)."""

    at: datetime
    target: str
    bounds: Bounds


def transitions(
    policy: Policy, start: datetime, end: datetime, targets: Sequence[str] | None = None
) -> list[Transition]:
    """Bounds of every target at ``start``, then every instant in ``(start, end)`` where they change.

    Exact: bounds are piecewise constant between the starts and ends of floors and
    idle windows, so those instants are the only candidates.
    """
    require_aware(start, "start")
    require_aware(end, "end")
    if end <= start:
        raise ValueError("the end of the range must be after its start")
    out: list[Transition] = []
    for name in targets if targets is not None else list(policy.targets):
        schedule = target_schedule(policy, name)
        previous = schedule.bounds(start)
        out.append(Transition(start, name, previous))
        for point in schedule.change_points(start, end):
            current = schedule.bounds(point)
            if (current.min, current.max) != (previous.min, previous.max):
                out.append(Transition(point, name, current))
            previous = current
    out.sort(key=lambda t: (t.at, t.target))
    return out
