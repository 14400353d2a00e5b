"""Application Auto Scaling target-tracking model (bounds mode and the baseline)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

from core.sim.alarm import CloudWatchAlarm
from core.sim.config import AlarmDef, SimConfig, concurrency_per_copy
from core.sim.fleet import EPS

PerCopy = Callable[
    [float, int], float
]  # (demand per minute, serving copies) -> the metric per copy


class TargetTracker:
    """Target tracking on a per-copy metric (invocations, by default), as Application Auto Scaling runs it.

    Two alarms: above ``target`` for ``out_datapoints`` minutes (scale out), below 90 %
    of it for ``in_datapoints`` minutes (scale in). While one is in ALARM the policy acts
    every minute, clamped to the scalable target's limits: a scale-out to
    ``ceil(copies x metric / target)`` of the latest visible minute, a scale-in to
    ``ceil(copies x metric / target)`` of the busiest of the last ``in_datapoints`` minutes
    (so a quiet minute in a trickle does not take the last copy away). Cooldowns are per
    direction, with AAS's semantics: during the scale-out cooldown a scale-out still goes
    through when it asks for more than the one that started the cooldown; a scale-in waits
    for the scale-in cooldown only. No scale-in for ``protection`` minutes after a scale-out (AAS has no
    such rule: 0 unless configured), none at all with ``disable_scale_in``.
    """

    def __init__(
        self,
        target: float,
        out_cooldown: int,
        in_cooldown: int,
        protection: int,
        out_datapoints: int,
        in_datapoints: int,
        delay: int,
        *,
        disable_scale_in: bool = False,
        per_copy: PerCopy | None = None,
    ) -> None:
        self.target = target
        self.per_copy: PerCopy = per_copy or (lambda demand, ready: demand / ready)
        self.out_cooldown = out_cooldown
        self.in_cooldown = in_cooldown
        self.protection = protection
        self.high = CloudWatchAlarm(
            "tt-high",
            AlarmDef(
                metric="invocations_per_copy",
                comparison=">",
                threshold=target,
                evaluation_periods=out_datapoints,
            ),
            delay,
        )
        self.low = CloudWatchAlarm(
            "tt-low",
            AlarmDef(
                metric="invocations_per_copy",
                comparison="<",
                threshold=0.9 * target,
                evaluation_periods=in_datapoints,
            ),
            delay,
        )
        self.delay = delay
        self._loads: deque[tuple[int, float]] = (
            deque()
        )  # (visible at, invocations) of recent minutes
        self._window: deque[float] = deque(maxlen=in_datapoints)
        self._latest = 0.0
        self.last_out: int | None = None
        self.last_out_to = 0  # the capacity the last scale-out asked for
        self.last_in: int | None = None
        self.disable_scale_in = disable_scale_in

    def observe(self, minute: int, ready: int, demand: float) -> None:
        """Feed one minute: the metric per copy and over all copies; no datapoint without copies
        or without requests (SageMaker publishes per request: an idle minute has no datapoint)."""
        per_copy = self.per_copy(demand, ready) if ready > 0 and demand > 0 else None
        self.high.add(minute, per_copy)
        self.low.add(minute, per_copy)
        self._loads.append(
            (minute + 1 + self.delay, per_copy * ready if per_copy is not None else 0.0)
        )

    def step(self, minute: int, desired: int, low: int, high: int, *, active: bool = True) -> int:
        """The scalable target's desired count after this minute's alarm evaluations. Not ``active``
        (the component is ``Updating``): the alarms are evaluated but nothing scales; the alarm
        invokes the policy again next minute."""
        self.high.evaluate(minute)
        self.low.evaluate(minute)
        while self._loads and self._loads[0][0] <= minute:
            self._latest = self._loads.popleft()[1]
            self._window.append(self._latest)
        if not active:
            return desired
        if self.high.state == "ALARM":
            wanted = min(max(math.ceil(self._latest / self.target - EPS), low), high)
            cooling = (
                self.last_out is not None and (minute - self.last_out) * 60 < self.out_cooldown
            )
            if wanted > desired and (not cooling or wanted > self.last_out_to):
                self.last_out, self.last_out_to = minute, wanted
                return wanted
        if self.low.state == "ALARM" and not self.disable_scale_in:
            wanted = min(
                max(math.ceil(max(self._window, default=0.0) / self.target - EPS), low), high
            )
            cooled = self.last_in is None or (minute - self.last_in) * 60 >= self.in_cooldown
            protected = self.last_out is not None and minute - self.last_out < self.protection
            if wanted < desired and cooled and not protected:
                self.last_in = minute
                return wanted
        return min(max(desired, low), high)


def tracker(
    config: SimConfig, out_cooldown: int, in_cooldown: int, *, disable_scale_in: bool = False
) -> TargetTracker:
    """The target-tracking policy the config describes (its metric, target, datapoints and delay)."""
    tt = config.target_tracking
    per_copy: PerCopy | None = None
    if tt.metric == "concurrent_requests_per_copy":

        def per_copy(demand: float, ready: int) -> float:
            return concurrency_per_copy(demand, ready, config)

    return TargetTracker(
        config.tt_target,
        out_cooldown,
        in_cooldown,
        tt.scale_in_protection,
        config.tt_out_datapoints,
        tt.in_datapoints,
        config.tt_delay,
        disable_scale_in=disable_scale_in,
        per_copy=per_copy,
    )
