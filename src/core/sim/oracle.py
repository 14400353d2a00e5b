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


def _level_on(need: Sequence[int], level: int, lead: int) -> list[bool]:
    """The minutes the ``level``-th unit runs in the schedule ``_level_cost`` prices."""
    on = [False] * len(need)
    last_on: int | None = None
    for i, n in enumerate(need):
        if n < level:
            continue
        gap_start = 0 if last_on is None else last_on + 1
        for j in range(
            max(gap_start, i - lead), i + 1
        ):  # start-up ahead of the need, or a bridged gap
            on[j] = True
        last_on = i
    return on


def _schedule(need: Sequence[int], lead: int) -> list[int]:
    """Units running each minute: the sum over levels of their priced schedules."""
    running = [0] * len(need)
    for k in range(1, max(need, default=0) + 1):
        for i, on in enumerate(_level_on(need, k, lead)):
            running[i] += on
    return running


def simulate_oracle(
    demand: Sequence[float], r: Resolved, max_copies: int | None = None
) -> StrategyResult:
    """Perfect foresight within the target's max: the cheapest schedule that serves every request
    it can (all of them, unless demand exceeds ``max_copies``), computed exactly.

    Each minute needs ``ceil(demand / capacity)`` copies (at most ``max_copies``), packed onto
    ``ceil(copies / per_instance)`` instances. Instances are interchangeable and the sets
    of minutes needing at least k instances are nested, so the cost is the sum over
    levels k of the cheapest single-instance schedule for level k: on at every needed
    minute, launched ``instance_start`` minutes ahead (an instance that serves at minute
    s must have run since ``s - instance_start``), kept through any gap shorter than a
    relaunch. This is a lower bound for every strategy that serves as much. The reported
    copies, copy-hours and actions are that priced schedule at copy level (``copy_start``).
    """
    c = r.config
    copies = required_copies(demand, c.capacity_per_copy)
    if max_copies is not None:
        copies = [min(n, max_copies) for n in copies]
    instances = [-(-n // r.per_instance) for n in copies]
    inst_minutes = sum(
        _level_cost(instances, k, c.instance_start_minutes)
        for k in range(1, max(instances, default=0) + 1)
    )
    running = _schedule(copies, c.copy_start_minutes)
    actions = sum(1 for a, b in itertools.pairwise(running) if a != b)
    total = float(sum(demand))
    served = [min(float(d), n * c.capacity_per_copy) for d, n in zip(demand, copies, strict=True)]
    return StrategyResult(
        "oracle",
        cost_usd=inst_minutes / 60 * r.price,
        instance_hours=inst_minutes / 60,
        copy_hours=sum(running) / 60,
        served_fraction=sum(served) / total if total > 0 else 1.0,
        unmet_minutes=sum(1 for d, s in zip(demand, served, strict=True) if d - s > EPS),
        scaling_actions=actions,
        requests=total,
        served=served,
        capacity=[n * c.capacity_per_copy for n in copies],
        copies=running,
        params={"max": max_copies},
    )


def reactive_limit(demand: Sequence[float], r: Resolved, max_copies: int) -> float:
    """The fewest requests a controller without foresight can drop: it sees each minute's demand
    one metric delay after the minute ends, orders at once the copies that demand needs (within
    ``max_copies``; fewer when it falls), and each copy serves after its start-up: on a running
    instance after ``copy_start``, else after ``instance_start``. It starts warm, serving the
    first minute's need. The bound every strategy's dropped requests are measured against."""
    c = r.config
    cap = c.capacity_per_copy
    need = [min(n, max_copies) for n in required_copies(demand, cap)]
    if not need:
        return 0.0
    lag = c.metric_delay_minutes + 1
    ready_at: list[int] = [0] * need[0]  # the minute each ordered copy starts serving
    dropped = 0.0
    for t, d in enumerate(demand):
        if t >= lag:
            wanted = need[t - lag]
            if wanted > len(ready_at):
                running_instances = -(-len(ready_at) // r.per_instance)
                for k in range(len(ready_at), wanted):
                    fits = k < running_instances * r.per_instance
                    ready_at.append(
                        t + (c.copy_start_minutes if fits else c.instance_start_minutes)
                    )
            elif wanted < len(ready_at):
                ready_at.sort()  # drop the copies still starting first
                del ready_at[wanted:]
        serving = sum(1 for at in ready_at if at <= t)
        dropped += max(0.0, d - serving * cap)
    return dropped
