"""What to do with one target, given its effective bounds and what AWS reports. Pure.

Level-triggered: the decision depends only on the desired state (bounds) and the
observed state, so a missed run is repaired by the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from core.bounds import Bounds
from core.policy import Target
from core.state import PendingStep

QUIET_MINUTES = 15
"""Minutes without a request after which a target whose minimum is 0 is released to 0 copies."""

TRANSITIONAL = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
FAILED = frozenset({"Failed", "UpdateRollbackFailed", "OutOfService"})

Action = Literal["none", "set_bounds", "set_count", "defer", "error"]


@dataclass(frozen=True)
class ScalableBounds:
    """A registered Application Auto Scaling target's limits."""

    min: int
    max: int


@dataclass(frozen=True)
class Observed:
    """What AWS reports about a target's resource."""

    exists: bool
    status: str | None = None
    failure_reason: str | None = None
    desired: int | None = None
    current: int | None = None
    scalable: ScalableBounds | None = None
    identity: str | None = (
        None  # the resource's ARN and creation time: a replaced resource has another
    )
    host: tuple[str, str] | None = None  # an inference component's endpoint and variant


@dataclass(frozen=True)
class Decision:
    """One target's decision for one run: what to write (if anything) and why."""

    target: str
    resource: str
    mode: Literal["bounds", "direct"]
    action: Action
    bounds: Bounds
    observed: Observed
    count: int | None = None
    scalable: ScalableBounds | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def writes(self) -> bool:
        return self.action in ("set_bounds", "set_count")

    def change_doc(self, now: datetime, trigger: str) -> dict[str, Any]:
        """The state table's record of this decision's write (or deferred write): from/to as a
        count in direct mode, as min/max in bounds mode."""
        before: Any = self.observed.desired
        after: Any = self.count
        if (
            self.mode == "bounds" and self.action != "set_count"
        ):  # a release writes the count in bounds mode too
            prev = self.observed.scalable
            before = {"min": prev.min, "max": prev.max} if prev else None
            after = {"min": self.scalable.min, "max": self.scalable.max} if self.scalable else None
        action = (
            self.action
            if self.action in ("set_count", "set_bounds", "none")
            else ("set_bounds" if self.mode == "bounds" else "set_count")
        )
        return {
            "at": now.isoformat(),
            "action": action,
            "from": before,
            "to": after,
            "reasons": list(self.bounds.reasons),
            "trigger": trigger,
        }

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "resource": self.resource,
            "mode": self.mode,
            "action": self.action,
            "min": self.bounds.min,
            "max": self.bounds.max,
            "reasons": list(self.bounds.reasons),
            "status": self.observed.status,
            "desired": self.observed.desired,
            "current": self.observed.current,
        }
        if self.count is not None:
            out["to"] = self.count
        if self.scalable is not None:
            out["to_bounds"] = {"min": self.scalable.min, "max": self.scalable.max}
        if self.observed.scalable is not None:
            out["from_bounds"] = {
                "min": self.observed.scalable.min,
                "max": self.observed.scalable.max,
            }
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def choose_mode(target: Target, observed: Observed) -> Literal["bounds", "direct"]:
    """``auto`` is bounds mode when a scalable target is registered, else direct."""
    if target.mode == "auto":
        return "bounds" if observed.scalable is not None else "direct"
    return target.mode


def decide(
    name: str,
    target: Target,
    bounds: Bounds,
    observed: Observed,
    previous_min: int | None = None,
    step: PendingStep | None = None,
    *,
    quiet: bool = False,
) -> Decision:
    """The action that converges ``target`` towards ``bounds``.

    ``previous_min`` is the minimum applied by the last run. In direct mode, when the
    minimum drops (a floor ends, an idle window starts) the count comes down by the
    same amount, never below the new minimum: the controller releases what its own
    minimum held, and keeps capacity that alarms added on top. ``step`` is an alarm step
    the resource could not take when it came: in direct mode the count moves by it too.
    In bounds mode a count outside the scalable target's limits (Application Auto Scaling
    does not move a resource that was not active when its limits changed) is brought in by
    registering the limits again.

    ``quiet``: the target has had no request for ``QUIET_MINUTES``. When nothing holds it up
    (its minimum is 0) its copies are released: an idle endpoint publishes no datapoints, so
    neither target tracking's scale-in alarm nor a rule on invocations ever fires, and the
    copies a spike left would bill until morning. In bounds mode too this writes the count
    (within the scalable target's limits): Application Auto Scaling cannot act without data,
    so nothing undoes it, and the next request wakes the target as from any zero.
    """
    mode = choose_mode(target, observed)

    def make(
        action: Action,
        *notes: str,
        count: int | None = None,
        scalable: ScalableBounds | None = None,
    ) -> Decision:
        return Decision(
            name, target.resource, mode, action, bounds, observed, count, scalable, tuple(notes)
        )

    if not observed.exists:
        return make("error", f"{target.resource} does not exist")
    status = observed.status or ""
    if status in FAILED:
        return make(
            "error",
            f"{target.resource} is {status}: {observed.failure_reason or 'no reason given'}",
        )
    notes: list[str] = []
    if observed.failure_reason:
        notes.append(f"last update failed: {observed.failure_reason}")

    if mode == "direct" and observed.scalable is not None:
        return make(
            "error",
            *notes,
            f"mode direct, but {target.resource} has a scalable target: writing its count would fight Application Auto Scaling (use mode auto or bounds)",
        )

    wanted = _wanted(target, bounds, observed, mode, previous_min, step)
    if (
        quiet
        and releasable(target, bounds, observed)
        and (wanted is None or wanted.action == "set_bounds" or (wanted.count or 0) > 0)
    ):
        notes.append(f"released: no request for {QUIET_MINUTES} minutes")
        if wanted is None or wanted.action != "set_bounds":
            wanted = _Change("set_count", count=0)
    if wanted is None:
        return make("none", *notes)
    if status in TRANSITIONAL:
        notes.append(f"{target.resource} is {status}; a later run applies the change")
        return make("defer", *notes, count=wanted.count, scalable=wanted.scalable)
    return make(wanted.action, *notes, count=wanted.count, scalable=wanted.scalable)


def releasable(target: Target, bounds: Bounds, observed: Observed) -> bool:
    """Whether the target's copies may be released when it gets no requests: an inference
    component whose effective minimum is 0 (an idle window, or ``min: 0``, with no floor,
    surge or override holding it) and that holds copies."""
    return (
        target.resource_kind == "inference_component"
        and bounds.min == 0
        and (observed.desired or 0) > 0
    )


@dataclass(frozen=True)
class _Change:
    action: Action
    count: int | None = None
    scalable: ScalableBounds | None = None


def _wanted(
    target: Target,
    bounds: Bounds,
    observed: Observed,
    mode: str,
    previous_min: int | None,
    step: PendingStep | None = None,
) -> _Change | None:
    """The write that would converge the target, or ``None`` if it is converged."""
    if mode == "bounds":
        floor = max(bounds.min, 1) if target.is_realtime else bounds.min
        wanted = ScalableBounds(floor, bounds.max)
        outside = observed.desired is not None and not wanted.min <= observed.desired <= wanted.max
        return (
            None
            if observed.scalable == wanted and not outside
            else _Change("set_bounds", scalable=wanted)
        )
    current = observed.desired if observed.desired is not None else 0
    # a real-time variant holds at least 1 until the park function has parked it
    low = max(bounds.min, 1) if target.is_realtime else bounds.min
    count = current
    if previous_min is not None and low < previous_min:
        count = max(low, current - (previous_min - low))
    if step is not None:
        count = step.applied_to(count)
    count = min(max(count, low), bounds.max)
    return None if count == current else _Change("set_count", count=count)
