"""The oracle: perfect foresight, the cheapest capacity that serves every request (a lower bound)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from core.sim.config import Resolved
from core.sim.fleet import EPS
from core.sim.results import StrategyResult


def required_copies(demand: Sequence[float], capacity_per_copy: float) -> list[int]:
    """Copies needed each minute to serve every request."""
    return [math.ceil(d / capacity_per_copy - EPS) if d > 0 else 0 for d in demand]


def _level_cost(need: Sequence[int], level: int, lead: int) -> int:
    """Minimum running minutes of the ``level``-th unit: on whenever ``need >= level``; a gap is
    bridged when shorter than a restart (``lead``), and each start costs ``lead`` minutes
    (less at the beginning of the trace, where units may already run)."""
    cost = 0
    last_on: int | None = None
    for i, n in enumerate(need):
        if n >= level:
            cost += 1
            if last_on is None:
                cost += min(i, lead)
            elif i - last_on > 1:
                cost += min(i - last_on - 1, lead)
            last_on = i
    return cost


def simulate_oracle(demand: Sequence[float], r: Resolved) -> StrategyResult:
    """Perfect foresight: the cheapest schedule that serves every request, computed exactly.

    Each minute needs ``ceil(demand / capacity)`` copies, packed onto
    ``ceil(copies / per_instance)`` instances. Instances are interchangeable and the sets
    of minutes needing at least k instances are nested, so the cost is the sum over
    levels k of the cheapest single-instance schedule for level k: on at every needed
    minute, launched ``instance_start`` minutes ahead (an instance that serves at minute
    s must have run since ``s - instance_start``), kept through any gap shorter than a
    relaunch. This is a lower bound for every strategy that serves all requests. Copy
    hours count serving copies, with the same rule at copy level (``copy_start``).
    """
    c = r.config
    copies = required_copies(demand, c.capacity_per_copy)
    instances = [-(-n // r.per_instance) for n in copies]
    inst_minutes = sum(_level_cost(instances, k, c.instance_start_minutes) for k in range(1, max(instances, default=0) + 1))
    copy_minutes = sum(_level_cost(copies, k, c.copy_start_minutes) for k in range(1, max(copies, default=0) + 1))
    actions = sum(1 for a, b in itertools.pairwise(copies) if a != b)
    total = float(sum(demand))
    return StrategyResult(
        "oracle",
        cost_usd=inst_minutes / 60 * r.price,
        instance_hours=inst_minutes / 60,
        copy_hours=copy_minutes / 60,
        served_fraction=1.0,
        unmet_minutes=0,
        scaling_actions=actions,
        requests=total,
        served=[float(d) for d in demand],
        capacity=[n * c.capacity_per_copy for n in copies],
        copies=copies,
    )
