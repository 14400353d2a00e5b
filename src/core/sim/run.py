"""Policy simulator: replay a per-minute traffic trace against a policy and baselines, and price it.


Pure: takes the policy, the trace (an aware start and requests per minute) and a
``SimConfig``; no clock, no environment, no AWS. The ``policy`` strategy runs the
Lambdas' own decision code: bounds from ``core.bounds`` (precomputed with
``transitions``, or ``effective_bounds`` while a surge holds), reconcile decisions
from ``core.decide.decide`` every ``reconcile_every`` minutes, alarm steps from
``core.alarms.match_alarm`` / ``decide_alarm`` when a simulated CloudWatch alarm
changes state. What AWS does in between is modelled here: CloudWatch alarm
evaluation, Application Auto Scaling target tracking (bounds mode), managed
instance scaling with packing of copies onto instances, and start-up delays.
``docs/simulator.md`` documents every model and its defaults.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from core.bounds import Bounds, transitions
from core.policy import Policy
from core.sim.baselines import simulate_static, simulate_target_tracking
from core.sim.config import Resolved, SimConfig
from core.sim.oracle import reactive_limit, simulate_oracle
from core.sim.policy_run import simulate_policy
from core.sim.results import Progress, Simulation, StrategyResult
from core.timewindows import require_aware

STRATEGIES = ("policy", "static", "target_tracking", "oracle")


def simulate(
    policy: Policy,
    target: str,
    start: datetime,
    demand: Sequence[float],
    config: SimConfig,
    *,
    prices: dict[str, float] | None = None,
    static_copies: int = 4,
    strategies: Sequence[str] = STRATEGIES,
    progress: Progress | None = None,
) -> Simulation:
    """Run ``strategies`` over the trace (``demand[i]`` requests in minute ``start + i``)."""
    require_aware(start, "start")
    start = start.astimezone(
        UTC
    )  # minutes are counted in UTC (wall-clock arithmetic breaks at DST)
    if target not in policy.targets:
        raise ValueError(f"unknown target {target!r}")
    if start.second or start.microsecond:
        raise ValueError("the trace must start on a whole minute")
    if any(d < 0 or math.isnan(d) for d in demand):
        raise ValueError("requests must be non-negative numbers")
    r = Resolved(config, prices)
    target_spec = policy.targets[target]
    if policy.targets[target].resource_kind != "inference_component":
        r.per_instance = 1
    demand = [float(d) for d in demand]
    n = len(demand)
    simulated = [s for s in strategies if s != "oracle"]
    total = n * len(simulated)
    notes: list[str] = []
    results: dict[str, StrategyResult] = {}
    done = 0
    for name in strategies:
        if name == "policy":
            results[name] = simulate_policy(
                policy, target, start, demand, r, notes, progress, done, total
            )
        elif name == "static":
            results[name] = simulate_static(static_copies, demand, r, progress, done, total)
        elif name == "target_tracking":
            results[name] = simulate_target_tracking(
                start, demand, r, (target_spec.min, target_spec.max), progress, done, total
            )
        elif name == "oracle":
            results[name] = simulate_oracle(demand, r, target_spec.max)
            continue
        else:
            raise ValueError(f"unknown strategy {name!r} (known: {', '.join(STRATEGIES)})")
        done += n
    if progress is not None:
        progress(total, total)
    end = start + timedelta(minutes=max(n, 1))
    table = [(t.at, t.bounds) for t in transitions(policy, start, end, [target])]
    params = r.as_dict() | {"static_copies": static_copies}
    return Simulation(
        target,
        start,
        demand,
        results,
        params,
        table,
        notes,
        reactive_limit(demand, r, target_spec.max),
    )


def spike_onset(demand: Sequence[float], fraction: float = 0.1) -> int | None:
    """The first minute whose demand reaches ``fraction`` of the trace's peak (``None`` for an empty trace)."""
    peak = max(demand, default=0.0)
    if peak <= 0:
        return None
    return next(i for i, d in enumerate(demand) if d >= fraction * peak)


def served_in(result: StrategyResult, first: int, last: int) -> float:
    """Requests served in minutes ``first`` to ``last`` (exclusive)."""
    return float(sum(result.served[first:last]))


Kind = Literal["idle", "floor", "surge", "normal"]


def window_kind(bounds: Bounds) -> Kind:
    """What a bounds row is, for shading a plot: an idle window, a floor, or neither."""
    reasons = bounds.reasons
    if any(r.startswith("floor:") for r in reasons):
        return "floor"
    if any(r.startswith("idle:") for r in reasons):
        return "idle"
    return "normal"
