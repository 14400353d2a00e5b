"""What a strategy run produces: figures, per-minute series, and the bookkeeping that fills them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.bounds import Bounds
from core.sim.fleet import EPS, Fleet

Progress = Callable[[int, int], None]


@dataclass
class StrategyResult:
    """One strategy's outcome over the trace, and its per-minute series (for plots and tests)."""

    name: str
    cost_usd: float
    instance_hours: float
    copy_hours: float
    served_fraction: float
    unmet_minutes: int
    scaling_actions: int
    requests: float
    served: list[float] = field(repr=False)
    capacity: list[float] = field(repr=False)
    copies: list[int] = field(repr=False)
    floor: list[int] = field(default_factory=list, repr=False)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def dropped(self) -> float:
        """Requests not served."""
        return max(self.requests - float(sum(self.served)), 0.0)

    def as_dict(self) -> dict[str, Any]:
        """The summary figures (no series) and the parameters the strategy ran with."""
        return {
            "params": self.params,
            "dropped": round(self.dropped, 3),
            "cost_usd": round(self.cost_usd, 2),
            "instance_hours": round(self.instance_hours, 3),
            "copy_hours": round(self.copy_hours, 3),
            "served_fraction": round(self.served_fraction, 6),
            "unmet_minutes": self.unmet_minutes,
            "scaling_actions": self.scaling_actions,
        }


@dataclass
class Simulation:
    """All strategies' results on one trace, with what is needed to explain them."""

    target: str
    start: datetime
    demand: list[float]
    strategies: dict[str, StrategyResult]
    parameters: dict[str, Any]
    bounds: list[tuple[datetime, Bounds]]
    notes: list[str]
    reactive_dropped: float = 0.0

    def instant(self, minute: int) -> datetime:
        """The instant at which minute ``minute`` of the trace starts."""
        return self.start + timedelta(minutes=minute)

    def as_dict(self) -> dict[str, Any]:
        """``{"strategies": {name: {...}}, ...}`` for ``--json``."""
        end = self.instant(len(self.demand))
        return {
            "strategies": {k: v.as_dict() for k, v in self.strategies.items()},
            "target": self.target,
            "trace": {
                "start": self.start.isoformat(),
                "end": end.isoformat(),
                "minutes": len(self.demand),
                "requests": round(sum(self.demand), 3),
            },
            "parameters": self.parameters,
            "limits": {
                "reactive_dropped": round(self.reactive_dropped, 3),
                "oracle_cost_usd": round(self.strategies["oracle"].cost_usd, 2)
                if "oracle" in self.strategies
                else None,
            },
            "notes": self.notes,
        }


class Recorder:
    """Per-minute bookkeeping shared by the simulated strategies."""

    def __init__(self, name: str, n: int, capacity_per_copy: float) -> None:
        self.name = name
        self.c = capacity_per_copy
        self.served: list[float] = [0.0] * n
        self.capacity: list[float] = [0.0] * n
        self.copies: list[int] = [0] * n
        self.floor: list[int] = []
        self.instance_minutes = 0
        self.copy_minutes = 0
        self.unmet = 0
        self.actions = 0
        self._last: int | None = None

    def minute(self, i: int, demand: float, ready: int, fleet: Fleet) -> None:
        cap = ready * self.c
        served = demand if demand <= cap else cap
        self.served[i] = served
        self.capacity[i] = cap
        self.copies[i] = fleet.count
        if demand - served > EPS:
            self.unmet += 1
        self.instance_minutes += fleet.instance_count
        self.copy_minutes += fleet.count

    def count(self, desired: int) -> None:
        if self._last is not None and desired != self._last:
            self.actions += 1
        self._last = desired

    def result(self, demand: Sequence[float], price: float) -> StrategyResult:
        total = float(sum(demand))
        served = float(sum(self.served))
        return StrategyResult(
            self.name,
            cost_usd=self.instance_minutes / 60 * price,
            instance_hours=self.instance_minutes / 60,
            copy_hours=self.copy_minutes / 60,
            served_fraction=served / total if total > 0 else 1.0,
            unmet_minutes=self.unmet,
            scaling_actions=self.actions,
            requests=total,
            served=self.served,
            capacity=self.capacity,
            copies=self.copies,
            floor=self.floor,
        )


def epoch_minute(instant: datetime) -> int:
    return int(instant.timestamp() // 60)
