"""Traffic traces: reading and validating ``timestamp,requests`` CSV files, and a deterministic generator.

A trace has one row per minute: ``timestamp`` (ISO 8601 with a UTC offset, on a whole
minute) and ``requests`` (requests in that minute, >= 0). Rows are strictly increasing
in time; a minute without a row has no requests (as CloudWatch reports an idle endpoint).
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from core.timewindows import load_zone, local_to_instant, require_aware

MAX_MINUTES = 366 * 1440


class TraceError(ValueError):
    """A trace that cannot be used; the message names the file, line and problem."""


@dataclass(frozen=True)
class Trace:
    """Requests per minute from ``start`` (aware, whole minute) on."""

    start: datetime
    requests: list[float]

    def __post_init__(self) -> None:
        # minutes are counted in UTC: an aware datetime in a zone adds timedelta in wall-clock
        # time, which shifts every minute after a DST change by the change
        object.__setattr__(self, "start", self.start.astimezone(UTC))

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=len(self.requests))


def _parse_time(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TraceError(
            f"{where}: timestamp {text!r} is not ISO 8601 (e.g. 2026-11-23T00:00:00-05:00)"
        ) from None
    if value.tzinfo is None:
        raise TraceError(
            f"{where}: timestamp {text!r} has no UTC offset (write e.g. {text.strip()}-05:00 or {text.strip()}Z)"
        )
    if value.second or value.microsecond:
        raise TraceError(f"{where}: timestamp {text!r} is not on a whole minute")
    return value


def _parse_requests(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TraceError(f"{where}: requests {text!r} is not a number") from None
    if math.isnan(value) or math.isinf(value):
        raise TraceError(f"{where}: requests {text!r} is not a finite number")
    if value < 0:
        raise TraceError(f"{where}: requests {text!r} is negative")
    return value


def parse_trace(stream: TextIO, source: str = "trace") -> Trace:
    """Read a trace CSV; raises ``TraceError`` naming the line of the first problem."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise TraceError(
            f"{source}: empty file; expected a header line 'timestamp,requests'"
        ) from None
    except csv.Error as exc:
        raise TraceError(f"{source}: not CSV: {exc}") from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in ("timestamp", "requests") if c not in names]
    if missing:
        raise TraceError(
            f"{source}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} (header: {','.join(header)}); expected 'timestamp,requests'"
        )
    ti, ri = names.index("timestamp"), names.index("requests")
    rows: list[tuple[datetime, float, str]] = []
    try:
        for row in reader:
            where = f"{source}:{reader.line_num}"
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) <= max(ti, ri):
                raise TraceError(f"{where}: expected {len(header)} fields, got {len(row)}")
            rows.append((_parse_time(row[ti], where), _parse_requests(row[ri], where), where))
            if len(rows) > MAX_MINUTES:
                raise TraceError(f"{where}: the trace is longer than {MAX_MINUTES // 1440} days")
    except csv.Error as exc:
        raise TraceError(f"{source}:{reader.line_num}: not CSV: {exc}") from None
    if not rows:
        raise TraceError(f"{source}: no data rows after the header")
    return _per_minute(rows)


def _per_minute(rows: list[tuple[datetime, float, str]]) -> Trace:
    """Check the order of the rows and fill minutes without a row with 0."""
    start = rows[0][0]
    requests: list[float] = []
    previous: datetime | None = None
    for at, value, where in rows:
        if previous is not None and at == previous:
            raise TraceError(f"{where}: duplicate timestamp {at.isoformat()}")
        if previous is not None and at < previous:
            raise TraceError(
                f"{where}: timestamp {at.isoformat()} is before the previous row's; sort the trace by time"
            )
        index = int((at - start).total_seconds() // 60)
        if index >= MAX_MINUTES:
            raise TraceError(f"{where}: the trace is longer than {MAX_MINUTES // 1440} days")
        requests.extend([0.0] * (index - len(requests)))
        requests.append(value)
        previous = at
    return Trace(start, requests)


def read_trace(path: str | Path) -> Trace:
    """Read and validate a trace file; ``TraceError`` for an unreadable or bad one."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8", newline="") as stream:
            return parse_trace(stream, str(p))
    except OSError as exc:
        raise TraceError(f"{p}: cannot read trace: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TraceError(f"{p}: not a UTF-8 text file") from None


def write_trace(trace: Trace, stream: TextIO, zone: ZoneInfo | None = None) -> None:
    """Write ``timestamp,requests`` rows (timestamps in ``zone``, default UTC offsets of ``start``)."""
    out = csv.writer(stream, lineterminator="\n")
    out.writerow(["timestamp", "requests"])
    for i, value in enumerate(trace.requests):
        at = trace.start + timedelta(minutes=i)
        if zone is not None:
            at = at.astimezone(zone)
        out.writerow([at.isoformat(), f"{value:g}"])


KINDS = ("holiday-week", "b2b-week", "unannounced-spike")

# Relative load by local hour on a working day for a retail assistant (peak at midday,
# busy into the evening, a trickle at night).


_RETAIL_HOURS = (
    0.02,
    0.01,
    0.01,
    0.01,
    0.01,
    0.02,
    0.08,
    0.35,
    0.75,
    1.0,
    1.15,
    1.25,
    1.3,
    1.25,
    1.15,
    1.1,
    1.05,
    1.0,
    0.9,
    0.7,
    0.3,
    0.12,
    0.06,
    0.03,
)
# Office hours: busy 08:30-18:00 with a lunch dip, nothing at night.
_B2B_HOURS = (
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0.05,
    0.6,
    1.2,
    1.3,
    1.25,
    0.8,
    1.2,
    1.3,
    1.25,
    1.1,
    0.8,
    0.15,
    0,
    0,
    0,
    0,
    0,
)


@dataclass(frozen=True)
class Spike:
    """A traffic spike: ramps to ``peak`` over ``ramp`` minutes, holds ``hold``, decays over ``decay``."""

    at: datetime
    peak: float
    ramp: int = 5
    hold: int = 15
    decay: int = 20

    def rate(self, instant: datetime) -> float:
        minutes = (instant - self.at).total_seconds() / 60
        if minutes < 0:
            return 0.0
        if minutes < self.ramp:
            return self.peak * (minutes + 1) / self.ramp
        minutes -= self.ramp
        if minutes < self.hold:
            return self.peak
        minutes -= self.hold
        if minutes < self.decay:
            return self.peak * (1 - (minutes + 1) / (self.decay + 1))
        return 0.0


def _noisy(rng: random.Random, rate: float) -> float:
    """A request count with about Poisson spread around ``rate``."""
    if rate <= 0:
        return 0.0
    if rate < 30:  # Knuth's method is exact and quick for small rates
        limit, k, p = math.exp(-rate), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return float(k)
            k += 1
    return float(max(0, round(rng.gauss(rate, math.sqrt(rate)))))


def generate(
    kind: str,
    *,
    start: date | None = None,
    days: int = 7,
    seed: int = 1,
    mean: float = 100.0,
    peak: float = 10_000.0,
    timezone: str = "America/New_York",
    holidays: Iterable[date] = (),
    spikes: Iterable[Spike] = (),
) -> Trace:
    """A deterministic synthetic trace (same arguments, same trace).

    - ``holiday-week``: the retail day shape on working days, weekends at a fifth of it,
      holidays quiet until the evening, the day after Thanksgiving busy all day with a
      spike to ``peak`` requests/min (in all) at 09:00 local. Default: 2026-11-23 (Thanksgiving week).
    - ``b2b-week``: office hours on weekdays, nothing at night and at weekends.
    - ``unannounced-spike``: the retail day shape and a spike to ``peak`` on the Wednesday at 14:00.
    ``mean`` scales the base shape so that the trace, spike excluded, averages ``mean``/min.
    ``spikes`` places unannounced spikes at chosen instants, day or night (for
    ``unannounced-spike`` they replace the Wednesday one; otherwise they are added).
    """
    if kind not in KINDS:
        raise TraceError(f"unknown trace kind {kind!r} (known: {', '.join(KINDS)})")
    if days < 1 or days * 1440 > MAX_MINUTES:
        raise TraceError(f"days must be between 1 and {MAX_MINUTES // 1440}")
    zone = load_zone(timezone)
    first = start or (date(2026, 11, 23) if kind == "holiday-week" else date(2026, 9, 14))
    begin = local_to_instant(datetime.combine(first, datetime.min.time()), zone).astimezone(
        UTC
    )  # count minutes in UTC
    minutes = days * 1440
    holiday_days = set(holidays)
    if kind == "holiday-week" and not holiday_days:
        holiday_days = {
            _thanksgiving(y) for y in range(first.year, (first + timedelta(days=days)).year + 1)
        }
    placed = [s for s in spikes]
    for s in placed:
        require_aware(s.at, "spike time")
        if not begin <= s.at < begin + timedelta(minutes=days * 1440):
            raise TraceError(
                f"spike at {s.at.isoformat()} is outside the trace ({begin.astimezone(zone):%Y-%m-%d} for {days} days)"
            )
    spikes = list(placed)
    for offset in range(days):
        day = first + timedelta(days=offset)
        if (
            kind == "holiday-week"
            and day - timedelta(days=1) in holiday_days
            and day.weekday() == 4
        ):  # kept beside placed ones
            spikes.append(
                Spike(
                    local_to_instant(
                        datetime.combine(day, datetime.min.time()) + timedelta(hours=9), zone
                    ),
                    peak,
                )
            )
        if kind == "unannounced-spike" and day.weekday() == 2 and not spikes and not placed:
            spikes.append(
                Spike(
                    local_to_instant(
                        datetime.combine(day, datetime.min.time()) + timedelta(hours=14), zone
                    ),
                    peak,
                    ramp=3,
                    hold=20,
                    decay=30,
                )
            )
    shape = [
        _shape(kind, (begin + timedelta(minutes=i)).astimezone(zone), holiday_days, spikes)
        for i in range(minutes)
    ]
    scale = mean / (sum(shape) / minutes) if sum(shape) > 0 else 0.0
    rng = random.Random(seed)
    values = []
    for i, base in enumerate(shape):
        instant = begin + timedelta(minutes=i)
        spike = max((s.rate(instant) for s in spikes), default=0.0)
        values.append(_noisy(rng, max(base * scale, spike)))
    return Trace(begin.astimezone(zone), values)


def _thanksgiving(year: int) -> date:
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


def _shape(kind: str, local: datetime, holiday_days: set[date], spikes: list[Spike]) -> float:
    hour = local.hour + local.minute / 60
    h0 = int(hour)
    h1 = (h0 + 1) % 24
    frac = hour - h0
    day = local.date()
    if kind == "b2b-week":
        if day.weekday() >= 5 or day in holiday_days:
            return 0.0
        return _B2B_HOURS[h0] * (1 - frac) + _B2B_HOURS[h1] * frac
    value = _RETAIL_HOURS[h0] * (1 - frac) + _RETAIL_HOURS[h1] * frac
    if day in holiday_days:
        return value * (
            0.15 if hour < 17 else 1.2
        )  # quiet holiday, online sales open in the evening
    if kind == "holiday-week" and any(s.at.astimezone(local.tzinfo).date() == day for s in spikes):
        return value * 2.0 + 0.3  # the sales day: busy all day, and all night before
    if day.weekday() >= 5:
        return value * 0.2
    return value
