"""Wall-clock time arithmetic with the exact DST rules of the policy format.

Everything here is pure: it takes aware datetimes and zones, never the clock.

Rules (DESIGN.md section 2):
- a wall-clock time that does not exist (spring forward) means the first
  instant after the gap;
- an ambiguous one (fall back) means its first occurrence;
- a window belongs to the day it starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_INDEX = {name.lower(): i for i, name in enumerate(DAY_NAMES)}
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone reached code that needs an instant."""


def require_aware(value: datetime, what: str = "time") -> datetime:
    """Return ``value`` if it is timezone-aware, else raise ``NaiveDatetimeError``."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(f"{what} must carry a UTC offset or zone, got naive {value!r}")
    return value


def load_zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name; ``ValueError`` naming it if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as America/New_York)"
        ) from exc


def parse_days(spec: str) -> frozenset[int]:
    """Parse ``Mon``, ``Mon-Fri``, ``Fri-Mon`` (wraps) and lists ``Mon,Wed`` into weekday numbers.

    Monday is 0. Names are case-insensitive; a range wraps around the week end.
    """
    if not spec or not spec.strip():
        raise ValueError("days must name at least one day, e.g. 'Mon-Fri'")
    days: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        ends = [p.strip() for p in part.split("-")]
        if len(ends) > 2 or not all(ends):
            raise ValueError(f"bad day range {part!r}: use 'Mon', 'Mon-Fri' or 'Mon,Wed'")
        idx = []
        for name in ends:
            if name.lower() not in _DAY_INDEX:
                raise ValueError(f"unknown day {name!r}: use one of {', '.join(DAY_NAMES)}")
            idx.append(_DAY_INDEX[name.lower()])
        if len(idx) == 1:
            days.add(idx[0])
        else:
            first, last = idx
            n = (last - first) % 7
            days.update((first + k) % 7 for k in range(n + 1))
    return frozenset(days)


@dataclass(frozen=True, order=True)
class WallTime:
    """A wall-clock time of day in minutes after midnight; 24:00 (1440) is allowed as an end."""

    minutes: int

    @classmethod
    def parse(cls, text: str) -> WallTime:
        m = _TIME_RE.match(text.strip())
        if not m:
            raise ValueError(f"bad time {text!r}: use HH:MM, e.g. '20:00'")
        hours, minutes = int(m.group(1)), int(m.group(2))
        if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
            raise ValueError(
                f"bad time {text!r}: hours 00-23 (24:00 only as an end), minutes 00-59"
            )
        return cls(hours * 60 + minutes)

    def __str__(self) -> str:
        return f"{self.minutes // 60:02d}:{self.minutes % 60:02d}"

    def on(self, day: date) -> datetime:
        """The naive local datetime of this time on ``day`` (24:00 is the next day's 00:00)."""
        return datetime.combine(day, time()) + timedelta(minutes=self.minutes)


def local_to_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """Resolve a naive wall-clock datetime in ``zone`` to an instant (aware, in UTC).

    Nonexistent times (in a spring-forward gap) map to the first instant after
    the gap; ambiguous times (fall back) map to their first occurrence.
    """
    if local.tzinfo is not None:
        raise ValueError("local_to_instant takes a naive wall-clock datetime")
    first = local.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local:
        return instant
    # In a gap. fold=0 uses the offset before the transition and fold=1 the one
    # after; the transition instant lies between the two readings. Find the
    # first instant whose wall-clock time is not before ``local``.
    other = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(instant, other), max(instant, other)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(zone).replace(tzinfo=None) >= local:
            hi = mid
        else:
            lo = mid
    if lo.astimezone(zone).replace(tzinfo=None) >= local:
        return lo
    return hi


@dataclass(frozen=True)
class Interval:
    """A half-open span of time ``[start, end)`` between two UTC instants, with a label."""

    start: datetime
    end: datetime
    label: str

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True)
class DailyWindow:
    """A window that recurs on some weekdays, e.g. Mon-Fri 20:00 to 07:00 the next morning.

    ``start``/``end`` of ``None`` mean the whole day. An ``end`` not after ``start``
    crosses midnight. A window belongs to the day it starts.
    """

    days: frozenset[int]
    start: WallTime | None
    end: WallTime | None
    zone: ZoneInfo
    label: str

    def span(self, day: date) -> tuple[datetime, datetime] | None:
        """The instants the window starting on local ``day`` begins and ends (possibly empty), if it runs that day."""
        if day.weekday() not in self.days:
            return None
        start_wall = self.start or WallTime(0)
        end_wall = self.end or WallTime(1440)
        end_day = day if end_wall > start_wall else day + timedelta(days=1)
        return local_to_instant(start_wall.on(day), self.zone), local_to_instant(
            end_wall.on(end_day), self.zone
        )

    def occurrence(self, day: date, lead: timedelta = timedelta(0)) -> Interval | None:
        """The occurrence that starts on local ``day`` (``lead`` earlier), or ``None`` if there is none."""
        span = self.span(day)
        if span is None:
            return None
        begin, finish = span[0] - lead, span[1]
        if finish <= begin:  # e.g. a window lying entirely inside a DST gap, with no lead
            return None
        return Interval(begin, finish, self.label)

    def active_at(self, instant: datetime) -> Interval | None:
        """The occurrence containing ``instant`` (aware), if any."""
        require_aware(instant, "instant")
        local_day = instant.astimezone(self.zone).date()
        for day in (local_day, local_day - timedelta(days=1)):
            occ = self.occurrence(day)
            if occ is not None and occ.contains(instant):
                return occ
        return None

    def occurrences(
        self, start: datetime, end: datetime, lead: timedelta = timedelta(0)
    ) -> Iterator[Interval]:
        """Every occurrence (each ``lead`` earlier) that overlaps ``[start, end)`` (aware instants)."""
        require_aware(start, "start")
        require_aware(end, "end")
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = (end + lead).astimezone(self.zone).date()
        while day <= last:
            occ = self.occurrence(day, lead)
            if occ is not None and occ.start < end and occ.end > start:
                yield occ
            day += timedelta(days=1)
