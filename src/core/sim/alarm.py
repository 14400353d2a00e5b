"""CloudWatch metric alarm model: period, evaluation periods, datapoints to alarm, missing data."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from core.events import AlarmState
from core.sim.config import AlarmDef

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda v, t: v > t,
    ">=": lambda v, t: v >= t,
    "<": lambda v, t: v < t,
    "<=": lambda v, t: v <= t,
}


class CloudWatchAlarm:
    """A metric alarm: period, evaluation periods, datapoints to alarm, missing-data treatment.

    Minutes are fed with ``add`` (``None`` is a missing datapoint); a period's datapoint
    becomes visible ``delay`` minutes after the period ends; ``evaluate`` returns the new
    state when it changes. The state starts ``INSUFFICIENT_DATA``, as CloudWatch's does.
    """

    def __init__(self, name: str, definition: AlarmDef, delay: int) -> None:
        self.name = name
        self.d = definition
        self.delay = delay
        self.m, self.n = definition.m_of_n
        self.compare = _COMPARE[definition.comparison]
        self.state: AlarmState = "INSUFFICIENT_DATA"
        self.points: deque[float | None] = deque([None] * self.n, maxlen=self.n)
        self._bucket: list[float] = []
        self._queue: deque[tuple[int, float | None]] = deque()
        self.last_value: float | None = None

    def add(self, minute: int, value: float | None) -> None:
        """Record the metric for absolute minute ``minute`` (minutes since the epoch)."""
        if value is not None:
            self._bucket.append(value)
        if (minute + 1) % self.d.period == 0:
            self._queue.append((minute + 1 + self.delay, self._aggregate()))
            self._bucket = []

    def _aggregate(self) -> float | None:
        b = self._bucket
        if not b:
            return None
        stat = self.d.stat
        if stat == "Sum":
            return sum(b)
        if stat == "Average":
            return sum(b) / len(b)
        return max(b) if stat == "Maximum" else min(b)

    def evaluate(self, minute: int) -> AlarmState | None:
        """Take in the datapoints visible at ``minute``; the new state if it changed, else ``None``."""
        fresh = False
        while self._queue and self._queue[0][0] <= minute:
            value = self._queue.popleft()[1]
            self.points.append(value)
            if value is not None:
                self.last_value = value
            fresh = True
        if not fresh:
            return None
        new = self._state()
        if new == self.state:
            return None
        self.state = new
        return new

    def _state(self) -> AlarmState:
        treat = self.d.missing
        present = [p for p in self.points if p is not None]
        breaching = sum(1 for p in present if self.compare(p, self.d.threshold))
        if treat == "breaching":
            breaching += self.n - len(present)
        elif not present and treat in ("missing", "ignore"):
            return "INSUFFICIENT_DATA" if treat == "missing" else self.state
        return "ALARM" if breaching >= self.m else "OK"
