"""Alarm-driven scaling (DESIGN.md section 4): rules, cooldowns, surge floors, wake from zero.

On a matching state change a rule ``{alarm, change}`` moves the target:
- direct mode: the count moves by ``change``, clamped to the effective bounds of the instant;
- bounds mode: a positive change sets a surge floor ``current + change`` for ``hold``
  minutes (the scalable target's minimum follows); a negative change ends the active
  surge floors above ``current + change``. Scaling in below the floors is Application
  Auto Scaling's business.
A wake alarm (``sagescale-wake-<stack>-<target>``) sets at least 1 at once, whatever the cooldown.
A burst alarm (``sagescale-burst-<stack>-<target>``) fires when demand needs at least one copy
more than serves; it goes at once, whatever the cooldown, to the serving copies plus the
excess its datapoint names (times ``panic`` when demand is twice what serves), and is re-armed.
Cooldowns (``cooldown.out`` / ``cooldown.in``, seconds) are per direction and kept in the
state table. Each state change acts once per target: its key is recorded with the step.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from core.bounds import Bounds, Surge, effective_bounds
from core.decide import FAILED, TRANSITIONAL, Decision, Observed, ScalableBounds, choose_mode
from core.events import AlarmRecord
from core.policy import BURST_ALARM_PREFIX, WAKE_ALARM_PREFIX, Policy, Target
from core.state import TargetState

log = logging.getLogger("sagescale.alarms")

WAKE_PREFIX = WAKE_ALARM_PREFIX
BURST_PREFIX = BURST_ALARM_PREFIX
WAKE_HOLD_MINUTES = 30


def wake_prefix(stack: str = "") -> str:
    """What the names of one stack's wake alarms (and step policies) begin with: the stack's name
    is in them, so two stacks in one account (dev and prod) never share one."""
    return f"{WAKE_PREFIX}{stack}-" if stack else WAKE_PREFIX


def wake_alarm_name(target: str, stack: str = "") -> str:
    """The CloudWatch alarm that wakes ``target`` of stack ``stack`` from zero on its first rejected request."""
    return f"{wake_prefix(stack)}{target}"


def burst_prefix(stack: str = "") -> str:
    """What the names of one stack's burst alarms begin with."""
    return f"{BURST_PREFIX}{stack}-" if stack else BURST_PREFIX


def burst_alarm_name(target: str, stack: str = "") -> str:
    """The CloudWatch metric-math alarm that fires when ``target``'s demand outgrows its serving copies."""
    return f"{burst_prefix(stack)}{target}"


@dataclass(frozen=True)
class AlarmMatch:
    """A target that an alarm state change moves, and how."""

    target: str
    change: int
    hold: int
    wake: bool = False
    burst: bool = False  # change: the copies demand needs beyond those serving

    @property
    def urgent(self) -> bool:
        """A wake or a burst: it goes at once, whatever the cooldown, and starts none."""
        return self.wake or self.burst

    @property
    def direction(self) -> Literal["out", "in"]:
        return "out" if self.change > 0 else "in"


def _names_alarm(rule_alarm: str, record: AlarmRecord, home: tuple[str, str] | None) -> bool:
    """Whether a rule's ``alarm`` (a name, or a full ARN) names the alarm of ``record``.

    A plain name means the account and region ``home`` names: the target's own (the controller's,
    or its member account's); an alarm of that name from elsewhere, say on a shared bus or topic,
    is not it. A record that does
    not say where it comes from matches by name (hand-made events); every AWS shape says.
    """
    if rule_alarm.startswith("arn:"):
        if record.arn is not None:
            return record.arn == rule_alarm
        parts = rule_alarm.split(":", 6)
        return record.alarm == parts[6] and (record.region, record.account) == (parts[3], parts[4])
    if rule_alarm != record.alarm:
        return False
    if home is None:
        return True
    account, region = home
    return (record.account is None or record.account == account) and (
        record.region is None or record.region == region
    )


def wake_copies(target: Target, record: AlarmRecord) -> int:
    """The copies a wake orders: with ``wake: {per_copy: N}`` what the rejected requests of the
    alarm's datapoint need (``NoCapacityInvocationFailures`` per minute / N), at least 1 and at
    most the target's max; else 1."""
    sizing = target.wake
    if isinstance(sizing, bool) or record.value is None or record.value <= 0:
        return 1
    return max(1, min(target.max, math.ceil(record.value / sizing.per_copy - 1e-9)))


def origin(policy: Policy, name: str, home: tuple[str, str] | None) -> tuple[str, str] | None:
    """The ``(account id, region)`` target ``name`` lives in: its member account's, or ``home``."""
    place = policy.place(name)
    if place.is_home:
        return home
    return (policy.accounts[place.account].account_id, place.region)


def match_alarm(
    policy: Policy, record: AlarmRecord, home: tuple[str, str] | None = None, stack: str = ""
) -> list[AlarmMatch]:
    """Every (target, rule) the state change triggers; empty for an alarm the policy does not know.

    ``home`` is the controller's ``(account, region)``. A rule that names an alarm without an ARN,
    and a wake or burst alarm, accept only alarms from where their target lives: ``home``, or the
    target's member account and region. ``stack`` is the controller's stack: only its own wake
    and burst alarms move its targets.
    """
    matches: list[AlarmMatch] = []
    prefix = wake_prefix(stack)
    if record.alarm.startswith(prefix) and record.state == "ALARM":
        name = record.alarm.removeprefix(prefix)
        target = policy.targets.get(name)
        if (
            target is not None
            and target.wake
            and _names_alarm(record.alarm, record, origin(policy, name, home))
        ):
            matches.append(
                AlarmMatch(name, wake_copies(target, record), WAKE_HOLD_MINUTES, wake=True)
            )
    prefix = burst_prefix(stack)
    if record.alarm.startswith(prefix) and record.state == "ALARM":
        name = record.alarm.removeprefix(prefix)
        target = policy.targets.get(name)
        if (
            target is not None
            and target.burst is not None
            and _names_alarm(record.alarm, record, origin(policy, name, home))
        ):
            excess = 1 if record.value is None else max(1, math.ceil(record.value - 1e-9))
            matches.append(AlarmMatch(name, excess, target.burst.hold, burst=True))
    for name, target in policy.targets.items():
        for rule in target.alarms:
            if rule.state == record.state and _names_alarm(
                rule.alarm, record, origin(policy, name, home)
            ):
                matches.append(AlarmMatch(name, rule.change, rule.hold))
    return matches


@dataclass(frozen=True)
class AlarmStep:
    """What an alarm does to one target: a decision to apply, or why it does nothing."""

    decision: Decision | None
    outcome: Literal["apply", "blocked", "unchanged", "deferred", "error", "duplicate"]
    note: str = ""
    surges: tuple[Surge, ...] | None = None


def cooldown_until(
    target: Target, state: TargetState, direction: Literal["out", "in"]
) -> datetime | None:
    """When the cooldown after the last alarm-driven change in ``direction`` ends, if one was made."""
    last = state.cooldowns.get(direction)
    if last is None:
        return None
    seconds = target.cooldown.out if direction == "out" else target.cooldown.in_
    return datetime.fromisoformat(last) + timedelta(seconds=seconds)


def decide_alarm(
    policy: Policy,
    match: AlarmMatch,
    record: AlarmRecord,
    observed: Observed,
    state: TargetState,
    now: datetime,
) -> AlarmStep:
    """The step ``match`` makes on its target at ``now``. Pure."""
    name, target = match.target, policy.targets[match.target]
    if state.applied(record.key):
        return AlarmStep(
            None,
            "duplicate",
            f"{record.alarm} {record.state} at {record.changed_at} already applied",
        )
    if not match.urgent:
        until = cooldown_until(target, state, match.direction)
        if until is not None and now < until:
            return AlarmStep(
                None, "blocked", f"cooldown {match.direction} until {until.isoformat()}"
            )
    if not observed.exists:
        return AlarmStep(None, "error", f"{target.resource} does not exist")
    if (observed.status or "") in FAILED:
        return AlarmStep(
            None,
            "error",
            f"{target.resource} is {observed.status}: {observed.failure_reason or 'no reason given'}",
        )

    mode = choose_mode(target, observed)
    current = observed.desired if observed.desired is not None else 0
    live = tuple(s for s in state.surges if s.until > now)
    override = state.override if state.override is not None and state.override.until > now else None
    reason = f"{'wake' if match.wake else 'burst' if match.burst else 'alarm'}:{record.alarm} {record.state}"
    needed = burst_copies(target, match, observed) if match.burst else match.change

    def decision(
        action: Literal["set_count", "set_bounds", "none"],
        bounds: Bounds,
        count: int | None = None,
        scalable: ScalableBounds | None = None,
    ) -> Decision:
        with_reason = Bounds(bounds.min, bounds.max, (reason, *bounds.reasons))
        return Decision(name, target.resource, mode, action, with_reason, observed, count, scalable)

    if mode == "direct":
        bounds = effective_bounds(policy, name, now, surges=live, override=override)
        wanted = max(current, needed) if match.urgent else current + match.change
        count = min(max(wanted, bounds.min), bounds.max)
        if count == current:
            return AlarmStep(
                decision("none", bounds),
                "unchanged",
                f"already at {current} within [{bounds.min}, {bounds.max}]",
            )
        return _ready(decision("set_count", bounds, count=count), observed, None)

    # bounds mode: move the surge floors, then the scalable target's limits follow. A surge
    # never sits below the minimum that holds without it (it would lower it); a negative
    # change ends the surges above current + change.
    if match.urgent or match.change > 0:
        base = effective_bounds(policy, name, now, surges=live, override=override)
        floor = max(current, needed) if match.urgent else current + match.change
        surges = (
            *live,
            Surge(max(floor, base.min), now + timedelta(minutes=match.hold), record.alarm),
        )
    else:
        surges = tuple(s for s in live if s.min <= current + match.change)
    bounds = effective_bounds(policy, name, now, surges=surges, override=override)
    floor_min = max(bounds.min, 1) if target.is_realtime else bounds.min
    scalable = ScalableBounds(floor_min, bounds.max)
    if scalable == observed.scalable:
        return AlarmStep(
            decision("none", bounds),
            "unchanged",
            f"scalable target already {scalable.min}..{scalable.max}",
            surges,
        )
    return _ready(decision("set_bounds", bounds, scalable=scalable), observed, surges)


def burst_copies(target: Target, match: AlarmMatch, observed: Observed) -> int:
    """The copies a burst orders: those serving plus the excess the alarm's datapoint names, times
    ``panic`` when the excess is at least what serves (demand twice the serving capacity), at most max.

    Counted from the serving copies (``CurrentCopyCount``), not the desired ones: the alarm fires
    again each minute a burst lasts, and copies still starting must not be ordered twice."""
    serving = observed.current if observed.current is not None else (observed.desired or 0)
    needed = serving + match.change
    panic = target.burst.panic if target.burst is not None else 1.0
    if panic > 1 and match.change >= max(serving, 1):
        needed = math.ceil(needed * panic - 1e-9)
    return min(needed, target.max)


def _ready(decision: Decision, observed: Observed, surges: tuple[Surge, ...] | None) -> AlarmStep:
    if (observed.status or "") in TRANSITIONAL and decision.action == "set_count":
        return AlarmStep(decision, "deferred", f"{decision.resource} is {observed.status}", surges)
    return AlarmStep(decision, "apply", "", surges)


@dataclass(frozen=True)
class AlarmOutcome:
    target: str
    outcome: str
    change: int
    wake: bool
    decision: Decision | None = None
    note: str = ""
    burst: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "outcome": self.outcome,
            "change": self.change,
            "wake": self.wake,
            "burst": self.burst,
        }
        if self.decision is not None:
            d = self.decision.as_dict()
            out.update(
                {k: d[k] for k in ("mode", "action", "min", "max", "reasons", "desired") if k in d}
            )
            if "to" in d:
                out["to"] = d["to"]
            if "to_bounds" in d:
                out["to_bounds"] = d["to_bounds"]
        if self.note:
            out["note"] = self.note
        return out
