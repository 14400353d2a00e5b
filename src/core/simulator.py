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

import bisect
import itertools
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from core.alarms import decide_alarm, match_alarm, wake_alarm_name
from core.bounds import Bounds, effective_bounds, transitions
from core.decide import Decision, Observed, ScalableBounds, choose_mode, decide
from core.events import AlarmRecord, AlarmState
from core.policy import Policy
from core.sim_config import AlarmDef, Resolved, SimConfig, default_alarm
from core.state import TargetState
from core.timewindows import require_aware

STRATEGIES = ("policy", "static", "target_tracking", "oracle")
Progress = Callable[[int, int], None]
_EPS = 1e-9
_STEPS_KEPT = 20


# ---------------------------------------------------------------------------
# instances and copies


class _Instance:
    __slots__ = ("copies", "empty_since", "ready_at")

    def __init__(self, ready_at: int) -> None:
        self.ready_at = ready_at
        self.copies: list[int] = []  # the minute each copy starts serving
        self.empty_since: int | None = None


class Fleet:
    """Copies of one inference component packed onto instances under managed instance scaling.

    A new copy goes to the fullest instance with a free slot (serving after
    ``copy_start`` minutes, or when that instance is up); with no free slot a new
    instance is launched and the copy serves after ``instance_start`` minutes. Removing
    copies drops starting ones first, then copies of the emptiest instance; an instance
    without copies is released after ``idle_minutes``. Billing runs from launch to release.
    """

    def __init__(self, per_instance: int, copy_start: int, instance_start: int, idle_minutes: int = 0) -> None:
        self.per_instance = per_instance
        self.copy_start = copy_start
        self.instance_start = instance_start
        self.idle_minutes = idle_minutes
        self.instances: list[_Instance] = []
        self.count = 0
        self._ready = 0
        self._next_ready: int | None = None

    def warm(self, copies: int) -> None:
        """Start with ``copies`` already serving (the state before the trace begins)."""
        self.instances = []
        self.count = 0
        for _ in range(copies):
            self._add(-10**9)
        self._refresh(-10**9)

    def set_count(self, wanted: int, now: int) -> None:
        """Move the copy count to ``wanted`` at minute ``now``."""
        while self.count < wanted:
            self._add(now)
        while self.count > wanted:
            self._remove(now)
        self._refresh(now)

    def _add(self, now: int) -> None:
        best: _Instance | None = None
        for inst in self.instances:
            if len(inst.copies) < self.per_instance and (best is None or len(inst.copies) > len(best.copies)):
                best = inst
        if best is None:
            best = _Instance(now + self.instance_start)
            self.instances.append(best)
        best.copies.append(max(best.ready_at, now + self.copy_start))
        best.empty_since = None
        self.count += 1

    def _remove(self, now: int) -> None:
        latest: tuple[int, _Instance] | None = None
        for inst in self.instances:
            for ready in inst.copies:
                if ready > now and (latest is None or ready > latest[0]):
                    latest = (ready, inst)
        if latest is not None:
            latest[1].copies.remove(latest[0])
            inst = latest[1]
        else:
            inst = min((i for i in self.instances if i.copies), key=lambda i: len(i.copies))
            inst.copies.pop()
        if not inst.copies:
            inst.empty_since = now
        self.count -= 1

    def _refresh(self, now: int) -> None:
        self.instances = [i for i in self.instances if i.copies or (i.empty_since is not None and now < i.empty_since + self.idle_minutes)]
        pending = [r for i in self.instances for r in i.copies if r > now]
        self._ready = self.count - len(pending)
        self._next_ready = min(pending) if pending else None

    def tick(self, now: int) -> int:
        """Advance to minute ``now``; returns the copies serving during it."""
        due = self._next_ready is not None and now >= self._next_ready
        if due or (self.idle_minutes and any(not i.copies for i in self.instances)):
            self._refresh(now)
        return self._ready

    @property
    def instance_count(self) -> int:
        return len(self.instances)


# ---------------------------------------------------------------------------
# CloudWatch alarms


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


# ---------------------------------------------------------------------------
# Application Auto Scaling target tracking


class TargetTracker:
    """Target tracking on invocations per copy, as Application Auto Scaling runs it.

    Two alarms: above ``target`` for ``out_datapoints`` minutes (scale out), below 90 %
    of it for ``in_datapoints`` minutes (scale in). While one is in ALARM the policy acts
    every minute, clamped to the scalable target's limits: a scale-out to
    ``ceil(invocations / target)`` of the latest visible minute, a scale-in to
    ``ceil(invocations / target)`` of the busiest of the last ``in_datapoints`` minutes
    (so a quiet minute in a trickle does not take the last copy away). Cooldowns are per
    direction; no scale-in for ``protection`` minutes after a scale-out.
    """

    def __init__(self, target: float, out_cooldown: int, in_cooldown: int, protection: int, out_datapoints: int, in_datapoints: int, delay: int) -> None:
        self.target = target
        self.out_cooldown = out_cooldown
        self.in_cooldown = in_cooldown
        self.protection = protection
        self.high = CloudWatchAlarm("tt-high", AlarmDef(metric="invocations_per_copy", comparison=">", threshold=target, evaluation_periods=out_datapoints), delay)
        self.low = CloudWatchAlarm("tt-low", AlarmDef(metric="invocations_per_copy", comparison="<", threshold=0.9 * target, evaluation_periods=in_datapoints), delay)
        self.delay = delay
        self._loads: deque[tuple[int, float]] = deque()  # (visible at, invocations) of recent minutes
        self._window: deque[float] = deque(maxlen=in_datapoints)
        self._latest = 0.0
        self.last_out: int | None = None
        self.last_in: int | None = None

    def observe(self, minute: int, ready: int, demand: float) -> None:
        """Feed one minute: invocations per copy (none without copies) and invocations."""
        per_copy = demand / ready if ready > 0 else None
        self.high.add(minute, per_copy)
        self.low.add(minute, per_copy)
        self._loads.append((minute + 1 + self.delay, demand if ready > 0 else 0.0))

    def step(self, minute: int, desired: int, low: int, high: int) -> int:
        """The scalable target's desired count after this minute's alarm evaluations."""
        self.high.evaluate(minute)
        self.low.evaluate(minute)
        while self._loads and self._loads[0][0] <= minute:
            self._latest = self._loads.popleft()[1]
            self._window.append(self._latest)
        if self.high.state == "ALARM":
            wanted = min(max(math.ceil(self._latest / self.target - _EPS), low), high)
            if wanted > desired and (self.last_out is None or (minute - self.last_out) * 60 >= self.out_cooldown):
                self.last_out = minute
                return wanted
        if self.low.state == "ALARM":
            wanted = min(max(math.ceil(max(self._window, default=0.0) / self.target - _EPS), low), high)
            cooled = self.last_in is None or (minute - self.last_in) * 60 >= self.in_cooldown
            protected = self.last_out is not None and minute - self.last_out < self.protection
            if wanted < desired and cooled and not protected:
                self.last_in = minute
                return wanted
        return min(max(desired, low), high)


# ---------------------------------------------------------------------------
# results


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

    def as_dict(self) -> dict[str, Any]:
        """The summary figures (no series)."""
        return {
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

    def instant(self, minute: int) -> datetime:
        """The instant at which minute ``minute`` of the trace starts."""
        return self.start + timedelta(minutes=minute)

    def as_dict(self) -> dict[str, Any]:
        """``{"strategies": {name: {...}}, ...}`` for ``--json``."""
        end = self.instant(len(self.demand))
        return {
            "strategies": {k: v.as_dict() for k, v in self.strategies.items()},
            "target": self.target,
            "trace": {"start": self.start.isoformat(), "end": end.isoformat(), "minutes": len(self.demand), "requests": round(sum(self.demand), 3)},
            "parameters": self.parameters,
            "notes": self.notes,
        }


class _Recorder:
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
        if demand - served > _EPS:
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


def _epoch_minute(instant: datetime) -> int:
    return int(instant.timestamp() // 60)


# ---------------------------------------------------------------------------
# strategies


def _fleet(r: Resolved) -> Fleet:
    c = r.config
    return Fleet(r.per_instance, c.copy_start_minutes, c.instance_start_minutes, c.instance_idle_minutes)


def simulate_static(copies: int, demand: Sequence[float], r: Resolved, progress: Progress | None = None, offset: int = 0, total: int = 0) -> StrategyResult:
    """A fixed number of copies, serving from the first minute."""
    fleet = _fleet(r)
    fleet.warm(copies)
    rec = _Recorder("static", len(demand), r.config.capacity_per_copy)
    for i, d in enumerate(demand):
        rec.minute(i, d, fleet.tick(i), fleet)
        if progress is not None and i % 1440 == 0:
            progress(offset + i, total)
    return rec.result(demand, r.price)


def simulate_target_tracking(start: datetime, demand: Sequence[float], r: Resolved, progress: Progress | None = None, offset: int = 0, total: int = 0) -> StrategyResult:
    """Application Auto Scaling target tracking alone, as commonly configured (min 1, max 6, 200 s)."""
    c = r.config
    b = c.baseline
    tt = TargetTracker(c.tt_target, b.scale_out_cooldown, b.scale_in_cooldown, c.target_tracking.scale_in_protection, c.target_tracking.out_datapoints, c.target_tracking.in_datapoints, c.metric_delay_minutes)
    fleet = _fleet(r)
    desired = b.min
    fleet.warm(desired)
    rec = _Recorder("target_tracking", len(demand), c.capacity_per_copy)
    base = _epoch_minute(start)
    for i, d in enumerate(demand):
        m = base + i
        desired = tt.step(m, desired, b.min, b.max)
        if desired != fleet.count:
            fleet.set_count(desired, i)
        rec.count(desired)
        ready = fleet.tick(i)
        rec.minute(i, d, ready, fleet)
        tt.observe(m, ready, d)
        if progress is not None and i % 1440 == 0:
            progress(offset + i, total)
    return rec.result(demand, r.price)


class _PolicyRun:
    """The policy strategy: reconcile, alarm rules and the wake alarm, with the Lambdas' decision code."""

    def __init__(self, policy: Policy, name: str, start: datetime, minutes: int, r: Resolved, notes: list[str]) -> None:
        self.policy = policy
        self.name = name
        self.target = policy.targets[name]
        self.r = r
        c = r.config
        self.start = start
        end = start + timedelta(minutes=max(minutes, 1))
        self.table = [(t.at, t.bounds) for t in transitions(policy, start, end, [name])]
        self._at = [at for at, _ in self.table]
        self.state = TargetState(name)
        self.desired = 0
        self.applied_min: int | None = None
        probe = Observed(True, "InService", scalable=ScalableBounds(0, 0) if c.mode == "bounds" else None)
        self.mode = choose_mode(self.target, probe)
        self.scalable: ScalableBounds | None = None
        tt = c.target_tracking
        self.tracker = TargetTracker(c.tt_target, tt.scale_out_cooldown, tt.scale_in_cooldown, tt.scale_in_protection, tt.out_datapoints, tt.in_datapoints, c.metric_delay_minutes)
        self.alarms: list[CloudWatchAlarm] = []
        for rule in self.target.alarms:
            if rule.alarm in (a.name for a in self.alarms):
                continue
            definition = c.alarms.get(rule.alarm)
            if definition is None:
                definition = default_alarm(rule.change, c)
                notes.append(f"alarm {rule.alarm}: not in the simulation config; using the default {definition.metric} {definition.comparison} {definition.threshold:g}")
            self.alarms.append(CloudWatchAlarm(rule.alarm, definition, c.metric_delay_minutes))
        if self.target.wake:
            self.alarms.append(CloudWatchAlarm(wake_alarm_name(name), c.wake_alarm, c.metric_delay_minutes))
        if self.target.resource_kind != "inference_component":
            notes.append(f"target {name} is an endpoint variant: one unit is one instance")

    def scheduled(self, now: datetime) -> Bounds:
        """Bounds at ``now`` without surges or overrides, from the precomputed transitions."""
        return self.table[bisect.bisect_right(self._at, now) - 1][1]

    def bounds(self, now: datetime) -> Bounds:
        live = tuple(s for s in self.state.surges if s.until > now)
        if not live:
            return self.scheduled(now)
        return effective_bounds(self.policy, self.name, now, surges=live)

    def observed(self, ready: int) -> Observed:
        return Observed(True, "InService", desired=self.desired, current=ready, scalable=self.scalable)

    def begin(self) -> None:
        b = self.scheduled(self.start)
        self.desired = b.min
        if self.mode == "bounds":
            self.scalable = ScalableBounds(max(b.min, 1) if self.target.is_realtime else b.min, b.max)
        self.applied_min = b.min

    def apply(self, d: Decision) -> None:
        action: str = d.action
        if action == "set_bounds" and d.scalable is not None:
            self.scalable = d.scalable
            self.desired = min(max(self.desired, d.scalable.min), d.scalable.max)
        elif action == "set_count" and d.count is not None:
            self.desired = d.count

    def reconcile(self, now: datetime, ready: int) -> int:
        b = self.bounds(now)
        d = decide(self.name, self.target, b, self.observed(ready), self.applied_min)
        if d.action not in ("error", "defer"):
            self.apply(d)
            self.applied_min = b.min
        if self.target.park and b.min == 0:
            self.desired = 0  # the park function deletes the endpoint for the idle window
        return b.min

    def on_alarm(self, alarm: str, state: AlarmState, previous: str, now: datetime, ready: int) -> None:
        record = AlarmRecord(alarm, state, previous, now.isoformat())
        for match in match_alarm(self.policy, record):
            if match.target != self.name:
                continue
            step = decide_alarm(self.policy, match, record, self.observed(ready), self.state, now)
            keeps_surge = step.outcome == "unchanged" and step.surges is not None and step.surges != self.state.surges
            if step.decision is None or (step.outcome != "apply" and not keeps_surge):
                continue
            if step.outcome == "apply":
                self.apply(step.decision)
            cooldowns = dict(self.state.cooldowns)
            if not match.wake:
                cooldowns[match.direction] = now.isoformat()
            self.state = replace(
                self.state,
                steps=(*self.state.steps[-_STEPS_KEPT:], {"key": record.key}),
                cooldowns=cooldowns,
                surges=step.surges if step.surges is not None else self.state.surges,
            )

    def run(self, demand: Sequence[float], progress: Progress | None, offset: int, total: int) -> StrategyResult:
        c = self.r.config
        fleet = _fleet(self.r)
        self.begin()
        fleet.warm(self.desired)
        rec = _Recorder("policy", len(demand), c.capacity_per_copy)
        base = _epoch_minute(self.start)
        ready = fleet.tick(0)
        floor = 0
        for i, d in enumerate(demand):
            m = base + i
            now = self.start + timedelta(minutes=i)
            for alarm in self.alarms:
                previous = alarm.state
                new = alarm.evaluate(m)
                if new is not None:
                    self.on_alarm(alarm.name, new, previous, now, ready)
            if m % c.reconcile_every == 0 or i == 0:
                floor = self.reconcile(now, ready)
            if self.mode == "bounds" and self.scalable is not None:
                self.desired = self.tracker.step(m, self.desired, self.scalable.min, self.scalable.max)
            if self.desired != fleet.count:
                fleet.set_count(self.desired, i)
            rec.count(self.desired)
            rec.floor.append(floor)
            ready = fleet.tick(i)
            rec.minute(i, d, ready, fleet)
            self._observe(m, ready, d)
            if progress is not None and i % 1440 == 0:
                progress(offset + i, total)
        return rec.result(demand, self.r.price)

    def _observe(self, m: int, ready: int, demand: float) -> None:
        c = self.r.config
        self.tracker.observe(m, ready, demand)
        if not self.alarms:
            return
        values: dict[str, float | None] = {
            "no_capacity_failures": demand if ready == 0 and demand > 0 else None,
            "invocations": demand if ready > 0 and demand > 0 else None,
            "invocations_per_copy": demand / ready if ready > 0 else None,
            "utilization": demand / (ready * c.capacity_per_copy) if ready > 0 else None,
            "latency_ms": latency_ms(demand, ready, c) if ready > 0 and demand > 0 else None,
        }
        for alarm in self.alarms:
            alarm.add(m, values[alarm.d.metric])


def latency_ms(demand: float, ready: int, config: SimConfig) -> float:
    """Modelled model latency: ``base / (1 - utilization)``, capped at ``max_slowdown`` x base."""
    u = demand / (ready * config.capacity_per_copy)
    slowdown = config.max_slowdown if u >= 1 else min(1 / (1 - u), config.max_slowdown)
    return config.base_latency_ms * slowdown


def simulate_policy(policy: Policy, target: str, start: datetime, demand: Sequence[float], r: Resolved, notes: list[str] | None = None, progress: Progress | None = None, offset: int = 0, total: int = 0) -> StrategyResult:
    """The policy's target, driven by the Lambdas' decision code on the simulated AWS."""
    run = _PolicyRun(policy, target, start, len(demand), r, notes if notes is not None else [])
    return run.run(demand, progress, offset, total)


def required_copies(demand: Sequence[float], capacity_per_copy: float) -> list[int]:
    """Copies needed each minute to serve every request."""
    return [math.ceil(d / capacity_per_copy - _EPS) if d > 0 else 0 for d in demand]


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
    if target not in policy.targets:
        raise ValueError(f"unknown target {target!r}")
    if start.second or start.microsecond:
        raise ValueError("the trace must start on a whole minute")
    if any(d < 0 or math.isnan(d) for d in demand):
        raise ValueError("requests must be non-negative numbers")
    r = Resolved(config, prices)
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
            results[name] = simulate_policy(policy, target, start, demand, r, notes, progress, done, total)
        elif name == "static":
            results[name] = simulate_static(static_copies, demand, r, progress, done, total)
        elif name == "target_tracking":
            results[name] = simulate_target_tracking(start, demand, r, progress, done, total)
        elif name == "oracle":
            results[name] = simulate_oracle(demand, r)
            continue
        else:
            raise ValueError(f"unknown strategy {name!r} (known: {', '.join(STRATEGIES)})")
        done += n
    if progress is not None:
        progress(total, total)
    end = start + timedelta(minutes=max(n, 1))
    table = [(t.at, t.bounds) for t in transitions(policy, start, end, [target])]
    params = r.as_dict() | {"static_copies": static_copies, "target_tracking_baseline": r.config.baseline.model_dump()}
    return Simulation(target, start, demand, results, params, table, notes)


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
