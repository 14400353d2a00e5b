"""One reconcile run: converge every policy target towards its effective bounds.

Takes the policy, an aware ``now``, the scaling adapter and the state store; the
handler and the CLI pass them in. An error in one target does not stop the others.
A steady-state run makes read calls only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from core.aws.burst import BurstAlarms
from core.aws.peaks import PeakReader
from core.aws.scaling import ScalingAdapter
from core.aws.state import LockTimeout, StateConflict, StateStore
from core.aws.wake import WakeAlarms
from core.bounds import effective_bounds, target_schedule
from core.decide import QUIET_MINUTES, Decision, Observed, choose_mode, decide, releasable
from core.events import EventError
from core.instances import Instances, TargetWarning, instances_kept, superseded
from core.policy import HOME, Place, Policy, Target
from core.state import TargetState
from core.timewindows import require_aware

log = logging.getLogger("sagescale.reconcile")


@dataclass(frozen=True)
class TargetOutcome:
    """A decision and what became of it: applied, deferred, unchanged, dry-run, parked or error;
    with the warnings that hold after it (``fresh``: those not notified before)."""

    decision: Decision | None
    outcome: str
    message: str = ""
    warnings: tuple[TargetWarning, ...] = ()
    fresh: tuple[TargetWarning, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out = self.decision.as_dict() if self.decision is not None else {}
        out["outcome"] = self.outcome
        if self.message:
            out["message"] = self.message
        if self.warnings:
            out["warnings"] = [w.as_dict() for w in self.warnings]
        return out


@dataclass(frozen=True)
class ReconcileResult:
    at: datetime
    dry_run: bool
    outcomes: dict[str, TargetOutcome] = field(default_factory=dict)
    wake: dict[str, str] = field(default_factory=dict)
    burst: dict[str, str] = field(default_factory=dict)
    place: Place = HOME

    def at_place(self, place: Place) -> ReconcileResult:
        """This result, saying which account-region it is of."""
        return replace(self, place=place)

    @property
    def errors(self) -> list[str]:
        # a dry run decides an error too (a resource that does not exist): it is no less an error
        failed = [
            name
            for name, o in self.outcomes.items()
            if o.outcome == "error" or (o.decision is not None and o.decision.action == "error")
        ]
        for alarms in (self.wake, self.burst):
            failed += [
                name for name, w in alarms.items() if w.startswith("error") and name not in failed
            ]
        return failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "dry_run": self.dry_run,
            "targets": {name: o.as_dict() for name, o in self.outcomes.items()},
            "wake_alarms": self.wake,
            "burst_alarms": self.burst,
            **(
                {}
                if self.place.is_home
                else {"account": self.place.account, "region": self.place.region}
            ),
            "errors": self.errors,
        }


def run_reconcile(
    policy: Policy,
    now: datetime,
    adapter: ScalingAdapter,
    store: StateStore,
    *,
    targets: list[str] | None = None,
    dry_run: bool = False,
    trigger: str = "schedule",
    wake: WakeAlarms | None = None,
    burst: BurstAlarms | None = None,
    peaks: PeakReader | None = None,
) -> ReconcileResult:
    """Decide and (unless ``dry_run``) apply for ``targets`` (default: all of the policy's).

    With ``wake``, also keep the wake-from-zero alarms (and step policies) of targets
    with ``wake: true`` in place; with ``burst``, the burst alarms of targets with a burst
    rule. With ``peaks``, headroom sized by the recent peak reads it (once per target and run).
    Parking is the park function's (``core.aws.parking``).
    """
    require_aware(now, "now")
    names = list(policy.targets) if targets is None else targets
    for name in names:
        if name not in policy.targets:
            raise EventError(
                f"unknown target {name!r} (targets in the policy: {', '.join(sorted(policy.targets)) or 'none'})"
            )
    result = ReconcileResult(now, dry_run)
    resolved, unresolved = adapter.resolve({n: policy.targets[n] for n in names})
    policy = policy.with_targets(resolved)  # selectors resolved afresh on every run
    selected = {n: resolved[n] for n in names if n in resolved}
    states = store.load(list(selected))
    scalable = adapter.scalable_targets(selected)
    hosts: dict[str, Instances | None] = {}  # each endpoint's instances, read once per run
    for name in names:
        target = selected.get(name)
        if target is None:
            result.outcomes[name] = TargetOutcome(None, "error", unresolved[name])
            continue
        try:
            peak = _peak(policy, name, now, peaks)
            outcome = _reconcile_one(
                policy,
                name,
                now,
                adapter,
                store,
                states[name],
                scalable.get(target.resource),
                dry_run,
                trigger,
                peak,
                peaks,
            )
            outcome = _warn(name, outcome, adapter, store, states[name], hosts, dry_run)
        except (ClientError, BotoCoreError, LockTimeout, StateConflict) as exc:
            log.exception("target %s failed", name)
            outcome = TargetOutcome(None, "error", f"{type(exc).__name__}: {exc}")
        result.outcomes[name] = outcome
    if wake is not None and not dry_run:
        # no wake alarm or step policy for a component that does not exist (or was not read)
        present = {
            n: t
            for n, t in selected.items()
            if (d := result.outcomes[n].decision) is not None and d.observed.exists
        }
        modes = {
            n: choose_mode(t, Observed(True, scalable=scalable.get(t.resource)))
            for n, t in present.items()
        }
        try:
            result.wake.update(wake.ensure(present, modes))
        except (ClientError, BotoCoreError) as exc:
            log.exception("wake alarms")
            result.wake.update(
                {n: f"error: {type(exc).__name__}: {exc}" for n, t in present.items() if t.wake}
            )
    if burst is not None and not dry_run:
        present = {
            n: t
            for n, t in selected.items()
            if (d := result.outcomes[n].decision) is not None and d.observed.exists
        }
        try:
            result.burst.update(burst.ensure(present))
        except (ClientError, BotoCoreError) as exc:
            log.exception("burst alarms")
            result.burst.update(
                {
                    n: f"error: {type(exc).__name__}: {exc}"
                    for n, t in present.items()
                    if t.burst is not None
                }
            )
    return result


def _warn(
    name: str,
    outcome: TargetOutcome,
    adapter: ScalingAdapter,
    store: StateStore,
    state: TargetState,
    hosts: dict[str, Instances | None],
    dry_run: bool,
) -> TargetOutcome:
    """The outcome with what would stop it from saving money: 0 copies on instances that cannot
    follow (``instances-kept``). A warning is recorded once while it holds, so that it is notified once."""
    decision = outcome.decision
    if decision is None or decision.observed.host is None:
        return outcome
    copies = (
        decision.count
        if decision.action in ("set_count", "defer") and decision.count is not None
        else (decision.observed.desired or 0)
    )
    warnings: list[TargetWarning] = []
    if copies == 0:
        kept = instances_kept(adapter.instances(decision.observed.host, hosts), copies)
        if kept is not None:
            warnings.append(kept)
    older = adapter.superseded.get(name)
    if older:
        warnings.append(superseded(decision.observed.host[0], older))
    codes = tuple(w.code for w in warnings)
    fresh = tuple(w for w in warnings if w.code not in state.warned)
    if codes != state.warned and not dry_run:
        store.update(name, lambda s: None if s.warned == codes else replace(s, warned=codes))
    return replace(outcome, warnings=tuple(warnings), fresh=fresh)


def _peak(policy: Policy, name: str, now: datetime, peaks: PeakReader | None) -> float | None:
    """The busiest minute of recent demand, if a headroom window of the target is sized by it."""
    days = target_schedule(policy, name).reads_peak
    if not days or peaks is None:
        return None
    return peaks.peak(policy.targets[name], days, now)


def _reconcile_one(
    policy: Policy,
    name: str,
    now: datetime,
    adapter: ScalingAdapter,
    store: StateStore,
    state: TargetState,
    scalable: Any,
    dry_run: bool,
    trigger: str,
    peak: float | None = None,
    demand: PeakReader | None = None,
) -> TargetOutcome:
    decision, fresh = _evaluate(policy, name, now, adapter, state, scalable, peak, demand)
    if dry_run:
        return TargetOutcome(decision, "dry-run")
    if policy.targets[name].park and state.parked is not None:
        return TargetOutcome(
            decision,
            "parked",
            f"parked by the park function since {state.parked.get('at')}; it brings the endpoint back",
        )
    if decision.writes:
        # decide again under the target's lock, on fresh state, so that a concurrent
        # alarm step cannot be lost or pushed past max
        with store.lock(name):
            state = store.get(name)
            decision, fresh = _evaluate(policy, name, now, adapter, state, scalable, peak, demand)
            return _act(
                name,
                policy.targets[name],
                decision,
                fresh,
                state.resource,
                now,
                adapter,
                store,
                trigger,
            )
    return _act(
        name, policy.targets[name], decision, fresh, state.resource, now, adapter, store, trigger
    )


def _evaluate(
    policy: Policy,
    name: str,
    now: datetime,
    adapter: ScalingAdapter,
    state: TargetState,
    scalable: Any,
    peak: float | None = None,
    demand: PeakReader | None = None,
) -> tuple[Decision, TargetState]:
    """The decision, and the state it was made on: the target's state as it applies to the
    resource there now (a replaced component starts without the old one's surges and deferrals).
    With ``demand``, a target that could be released reads whether it had requests lately."""
    target = policy.targets[name]
    observed = adapter.observe(target, scalable)
    state = state.for_resource(observed.identity)
    live_surges = tuple(s for s in state.surges if s.until > now)
    override = state.override if state.override is not None and state.override.until > now else None
    bounds = effective_bounds(policy, name, now, surges=live_surges, override=override, peak=peak)
    quiet = (
        demand is not None
        and releasable(target, bounds, observed)
        and demand.quiet(target, QUIET_MINUTES, now)
    )
    return decide(
        name, target, bounds, observed, state.applied_min, state.step_pending(now), quiet=quiet
    ), state


def _act(
    name: str,
    target: Target,
    decision: Decision,
    state: TargetState,
    stored_resource: str | None,
    now: datetime,
    adapter: ScalingAdapter,
    store: StateStore,
    trigger: str,
) -> TargetOutcome:
    bounds = decision.bounds
    identity = decision.observed.identity
    if decision.action == "error":
        return TargetOutcome(decision, "error", "; ".join(decision.notes))
    if decision.action == "defer":
        _record_pending(store, state, decision, now, trigger)
        return TargetOutcome(decision, "deferred", "; ".join(decision.notes))
    if decision.action == "none":
        if (
            state.pending is not None
            or state.applied_min != bounds.min
            or state.resource != stored_resource
            or state.pending_step is not None
        ):
            store.update(
                name,
                lambda s: replace(
                    s.for_resource(identity),
                    pending=None,
                    applied_min=bounds.min,
                    pending_step=None,
                ),
                known=state,
            )
        return TargetOutcome(decision, "unchanged")
    applied = adapter.apply(target, decision)
    if applied.outcome == "deferred":
        _record_pending(store, state, decision, now, trigger)
        return TargetOutcome(decision, "deferred", applied.message)
    doc = decision.change_doc(now, trigger)
    store.update(
        name,
        lambda s: replace(
            s.for_resource(identity),
            last_action=doc,
            pending=None,
            applied_min=bounds.min,
            pending_step=None,
        ),
        known=state,
    )
    return TargetOutcome(decision, "applied")


def _record_pending(
    store: StateStore, state: TargetState, decision: Decision, now: datetime, trigger: str
) -> None:
    doc = decision.change_doc(now, trigger)

    def change(s: TargetState) -> TargetState | None:
        s = s.for_resource(decision.observed.identity)
        same = s.pending is not None and {k: v for k, v in s.pending.items() if k != "at"} == {
            k: v for k, v in doc.items() if k != "at"
        }
        return None if same else replace(s, pending=doc)

    store.update(state.name, change, known=state)
