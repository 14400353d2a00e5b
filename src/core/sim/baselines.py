"""Baseline strategies: a static fleet, and Application Auto Scaling target tracking alone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.sim.config import Resolved
from core.sim.fleet import Fleet
from core.sim.results import Progress, Recorder, StrategyResult, epoch_minute
from core.sim.tracking import tracker


def new_fleet(r: Resolved) -> Fleet:
    c = r.config
    return Fleet(
        r.per_instance,
        c.copy_start_minutes,
        c.instance_start_minutes,
        c.instance_idle_minutes,
        c.scale_in_minutes,
    )


def simulate_static(
    copies: int,
    demand: Sequence[float],
    r: Resolved,
    progress: Progress | None = None,
    offset: int = 0,
    total: int = 0,
) -> StrategyResult:
    """A fixed number of copies, serving from the first minute."""
    fleet = new_fleet(r)
    fleet.warm(copies)
    rec = Recorder("static", len(demand), r.config.capacity_per_copy)
    for i, d in enumerate(demand):
        rec.minute(i, d, fleet.tick(i), fleet)
        if progress is not None and i % 1440 == 0:
            progress(offset + i, total)
    result = rec.result(demand, r.price)
    result.params = {"copies": copies}
    return result


def simulate_target_tracking(
    start: datetime,
    demand: Sequence[float],
    r: Resolved,
    limits: tuple[int, int],
    progress: Progress | None = None,
    offset: int = 0,
    total: int = 0,
) -> StrategyResult:
    """Application Auto Scaling target tracking alone, on the target's own ``limits`` (min, max)
    unless the config's ``baseline`` gives others, with 200 s cooldowns as commonly configured."""
    c = r.config
    b = c.baseline
    low = b.min if b.min is not None else max(limits[0], 1)
    high = b.max if b.max is not None else limits[1]
    tt = tracker(c, b.scale_out_cooldown, b.scale_in_cooldown, disable_scale_in=b.disable_scale_in)
    fleet = new_fleet(r)
    desired = low
    fleet.warm(desired)
    rec = Recorder("target_tracking", len(demand), c.capacity_per_copy)
    base = epoch_minute(start)
    for i, d in enumerate(demand):
        m = base + i
        desired = tt.step(m, desired, low, high, active=not fleet.busy(i))
        if desired != fleet.count:
            fleet.set_count(desired, i)
        rec.count(desired)
        ready = fleet.tick(i)
        rec.minute(i, d, ready, fleet)
        tt.observe(m, ready, d)
        if progress is not None and i % 1440 == 0:
            progress(offset + i, total)
    result = rec.result(demand, r.price)
    result.params = {
        "min": low,
        "max": high,
        "metric": c.target_tracking.metric,
        "target": round(c.tt_target, 3),
        "scale_out_cooldown": b.scale_out_cooldown,
        "scale_in_cooldown": b.scale_in_cooldown,
        "scale_in_protection": c.target_tracking.scale_in_protection,
        "disable_scale_in": b.disable_scale_in,
    }
    return result
