"""The policy strategy: the Lambdas' own decision code (reconcile, alarm rules, wake) minute by minute."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from core.alarms import burst_alarm_name, decide_alarm, match_alarm, wake_alarm_name
from core.bounds import Bounds, effective_bounds, target_schedule, transitions
from core.decide import (
    QUIET_MINUTES,
    Decision,
    Observed,
    ScalableBounds,
    choose_mode,
    decide,
    releasable,
)
from core.events import AlarmRecord, AlarmState
from core.policy import Policy
from core.sim.alarm import CloudWatchAlarm
from core.sim.baselines import new_fleet
from core.sim.config import Resolved, default_alarm, latency_ms
from core.sim.results import Progress, Recorder, StrategyResult, epoch_minute
from core.sim.tracking import tracker
from core.state import PendingStep, TargetState

_STEPS_KEPT = 20


class PolicyRun:
    """The policy strategy: reconcile, alarm rules and the wake alarm, with the Lambdas' decision code."""

    def __init__(
        self,
        policy: Policy,
        name: str,
        start: datetime,
        minutes: int,
        r: Resolved,
        notes: list[str],
    ) -> None:
        self.policy = policy
        self.name = name
        self.target = policy.targets[name]
        self.r = r
        c = r.config
        self.start = start = start.astimezone(UTC)  # minutes are counted in UTC
        end = start + timedelta(minutes=max(minutes, 1))
        self.table = [(t.at, t.bounds) for t in transitions(policy, start, end, [name])]
        self.reads_peak = target_schedule(
            policy, name
        ).reads_peak  # headroom sized by the recent peak
        self.demand: Sequence[float] = ()
        self._at = [at for at, _ in self.table]
        self.state = TargetState(name)
        self.desired = 0
        self.applied_min: int | None = None
        probe = Observed(
            True, "InService", scalable=ScalableBounds(0, 0) if c.mode == "bounds" else None
        )
        self.mode = choose_mode(self.target, probe)
        self.scalable: ScalableBounds | None = None
        tt = c.target_tracking
        self.tracker = tracker(c, tt.scale_out_cooldown, tt.scale_in_cooldown)
        self.alarms: list[CloudWatchAlarm] = []
        for rule in self.target.alarms:
            if rule.alarm in (a.name for a in self.alarms):
                continue
            definition = c.alarms.get(rule.alarm)
            if definition is None:
                definition = default_alarm(rule.change, c)
                notes.append(
                    f"alarm {rule.alarm}: not in the simulation config; using the default {definition.metric} {definition.comparison} {definition.threshold:g}"
                )
            self.alarms.append(CloudWatchAlarm(rule.alarm, definition, c.metric_delay_minutes))
        self.wake_alarm: CloudWatchAlarm | None = None
        self.last_wake_step: int | None = None
        self.minute = 0
        if self.target.wake:
            self.wake_alarm = CloudWatchAlarm(
                wake_alarm_name(name), c.wake_alarm, c.metric_delay_minutes
            )
            self.alarms.append(self.wake_alarm)
        self.burst_alarm = burst_alarm_name(name)
        if self.target.burst is not None:
            self.alarms.append(
                CloudWatchAlarm(self.burst_alarm, c.burst_alarm, c.metric_delay_minutes)
            )
        self.per_copy = (
            self.target.burst.per_copy if self.target.burst is not None else c.capacity_per_copy
        )
        if self.target.resource_kind != "inference_component":
            notes.append(f"target {name} is an endpoint variant: one unit is one instance")

    def scheduled(self, now: datetime) -> Bounds:
        """Bounds at ``now`` without surges or overrides, from the precomputed transitions."""
        return self.table[bisect.bisect_right(self._at, now) - 1][1]

    def bounds(self, now: datetime) -> Bounds:
        live = tuple(s for s in self.state.surges if s.until > now)
        if not live and not self.reads_peak:
            return self.scheduled(now)
        return effective_bounds(self.policy, self.name, now, surges=live, peak=self.peak(now))

    def peak(self, now: datetime) -> float | None:
        """The busiest minute of demand in the last ``reads_peak`` days before ``now`` (as
        reconcile reads it from CloudWatch); the minutes before the trace are unknown."""
        if not self.reads_peak:
            return None
        i = int((now - self.start).total_seconds() // 60)
        window = self.demand[max(0, i - self.reads_peak * 1440) : i]
        return max(window, default=0.0)

    def quiet(self, minutes: int) -> bool:
        """No request in the ``minutes`` minutes before this one, as reconcile reads it from
        CloudWatch (the minutes before the trace had none)."""
        i = self.minute
        return not any(d > 0 for d in self.demand[max(0, i - minutes) : i])

    def observed(self, ready: int) -> Observed:
        """What SageMaker reports: ``Updating`` while copies start or a scale-in completes."""
        status = "Updating" if self.fleet.busy(self.minute) else "InService"
        return Observed(True, status, desired=self.desired, current=ready, scalable=self.scalable)

    def begin(self) -> None:
        b = self.scheduled(self.start)
        self.desired = b.min
        if self.mode == "bounds":
            self.scalable = ScalableBounds(
                max(b.min, 1) if self.target.is_realtime else b.min, b.max
            )
        self.applied_min = b.min

    def apply(self, d: Decision) -> None:
        action: str = d.action
        if action == "set_bounds" and d.scalable is not None:
            self.scalable = d.scalable
            if not self.fleet.busy(
                self.minute
            ):  # AAS moves only an active resource into its new limits
                self.desired = min(max(self.desired, d.scalable.min), d.scalable.max)
        elif action == "set_count" and d.count is not None:
            self.desired = d.count
        self._move()

    def _move(self) -> None:
        """Carry the desired count to the fleet (the write lands: the component starts Updating)."""
        if self.desired != self.fleet.count:
            self.fleet.set_count(self.desired, self.minute)

    def reconcile(self, now: datetime, ready: int) -> int:
        b = self.bounds(now)
        observed = self.observed(ready)
        quiet = releasable(self.target, b, observed) and self.quiet(QUIET_MINUTES)
        d = decide(
            self.name,
            self.target,
            b,
            observed,
            self.applied_min,
            self.state.step_pending(now),
            quiet=quiet,
        )
        if d.action not in ("error", "defer"):
            self.apply(d)
            self.applied_min = b.min
            if self.state.pending_step is not None:
                self.state = replace(self.state, pending_step=None)
        if self.target.park and b.min == 0:
            self.desired = 0  # the park function deletes the endpoint for the idle window
        return b.min

    def on_alarm(
        self,
        alarm: str,
        state: AlarmState,
        previous: str,
        now: datetime,
        ready: int,
        value: float | None = None,
    ) -> None:
        record = AlarmRecord(
            alarm, state, previous, now.isoformat(), value=value
        )  # value: the datapoint CloudWatch's reason names
        for match in match_alarm(self.policy, record):
            if match.target != self.name:
                continue
            observed = self.observed(ready)
            step = decide_alarm(self.policy, match, record, observed, self.state, now)
            keeps_surge = (
                step.outcome == "unchanged"
                and step.surges is not None
                and step.surges != self.state.surges
            )
            waits = (
                step.outcome == "deferred"
            )  # Updating: the step waits for reconcile (core.aws.alarms)
            if step.decision is None or (step.outcome != "apply" and not keeps_surge and not waits):
                continue
            if step.outcome == "apply":
                self.apply(step.decision)
            d = step.decision
            if waits and d.action == "set_count" and d.count is not None:
                pending = PendingStep(
                    d.count,
                    "out" if d.count > (observed.desired or 0) else "in",
                    now + timedelta(minutes=match.hold),
                    alarm,
                )
                self.state = self.state.with_step(pending, now)
            cooldowns = dict(self.state.cooldowns)
            if not match.urgent:
                cooldowns[match.direction] = now.isoformat()
            self.state = replace(
                self.state,
                steps=(*self.state.steps[-_STEPS_KEPT:], {"key": record.key}),
                cooldowns=cooldowns,
                surges=step.surges if step.surges is not None else self.state.surges,
            )

    def run(
        self, demand: Sequence[float], progress: Progress | None, offset: int, total: int
    ) -> StrategyResult:
        c = self.r.config
        fleet = new_fleet(self.r)
        self.demand = demand
        self.fleet = fleet
        self.begin()
        fleet.warm(self.desired)
        rec = Recorder("policy", len(demand), c.capacity_per_copy)
        base = epoch_minute(self.start)
        ready = fleet.tick(0)
        floor = 0
        for i, d in enumerate(demand):
            m = base + i
            self.minute = i
            now = self.start + timedelta(minutes=i)
            for alarm in self.alarms:
                previous = alarm.state
                new = alarm.evaluate(m)
                if new is not None:
                    self.on_alarm(alarm.name, new, previous, now, ready, alarm.last_value)
                    if alarm.name == self.burst_alarm and new == "ALARM":
                        alarm.state = "OK"  # the alarm function re-arms it (SetAlarmState)
            if m % c.reconcile_every == 0 or i == 0:
                floor = self.reconcile(now, ready)
            if self.mode == "bounds" and self.scalable is not None:
                # Application Auto Scaling: its alarms invoke the policies once a minute while in ALARM
                self.desired = self.tracker.step(
                    m, self.desired, self.scalable.min, self.scalable.max, active=not fleet.busy(i)
                )
                self._move()
                if (
                    self.wake_alarm is not None
                    and self.wake_alarm.state == "ALARM"
                    and not fleet.busy(i)
                    and (self.last_wake_step is None or i - self.last_wake_step >= 1)
                ):
                    wanted = min(
                        max(self.desired + 1, self.scalable.min), self.scalable.max
                    )  # the wake step policy: +1, cooldown 60 s
                    if wanted != self.desired:
                        self.desired, self.last_wake_step = wanted, i
                        self._move()
            self._move()
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
            # SageMaker publishes per request: a minute without requests has no datapoint
            "no_capacity_failures": demand if ready == 0 and demand > 0 else None,
            "invocations": demand if ready > 0 and demand > 0 else None,
            "invocations_per_copy": demand / ready if ready > 0 and demand > 0 else None,
            "utilization": demand / (ready * c.capacity_per_copy)
            if ready > 0 and demand > 0
            else None,
            "latency_ms": latency_ms(demand, ready, c) if ready > 0 and demand > 0 else None,
            "excess_copies": demand / self.per_copy - ready,
        }
        for alarm in self.alarms:
            alarm.add(m, values[alarm.d.metric])


def simulate_policy(
    policy: Policy,
    target: str,
    start: datetime,
    demand: Sequence[float],
    r: Resolved,
    notes: list[str] | None = None,
    progress: Progress | None = None,
    offset: int = 0,
    total: int = 0,
) -> StrategyResult:
    """The policy's target, driven by the Lambdas' decision code on the simulated AWS."""
    run = PolicyRun(policy, target, start, len(demand), r, notes if notes is not None else [])
    result = run.run(demand, progress, offset, total)
    spec = policy.targets[target]
    result.params = {
        "min": spec.min,
        "max": spec.max,
        "mode": run.mode,
        "cooldown": {"out": spec.cooldown.out, "in": spec.cooldown.in_},
        "wake": spec.wake if isinstance(spec.wake, bool) else spec.wake.model_dump(),
        "burst": spec.burst.model_dump() if spec.burst is not None else None,
    }
    return result
