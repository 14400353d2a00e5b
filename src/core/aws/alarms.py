"""The alarm function's run: apply one alarm state change to the targets it moves, under their locks.

The rules themselves (matching, cooldowns, surge floors, wake) are pure and live in
``core.alarms``; this module reads the target, calls ``decide_alarm``, writes the step
and records it once. Throttling and server errors fail the invocation so Lambda retries it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from core.alarms import AlarmMatch, AlarmOutcome, AlarmStep, decide_alarm, match_alarm
from core.aws.accounts import AccountError
from core.aws.scaling import ScalingAdapter
from core.aws.state import LockTimeout, StateConflict, StateStore
from core.bounds import Surge
from core.decide import Decision, Observed, ScalableBounds
from core.events import AlarmRecord
from core.policy import Policy, Target
from core.state import PendingStep, TargetState

log = logging.getLogger("sagescale.alarms")


def _retryable(exc: Exception) -> bool:
    if not isinstance(exc, ClientError):
        return True  # connection trouble
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return (
        status >= 500
        or "Throttl" in code
        or code
        in (
            "TooManyRequestsException",
            "RequestLimitExceeded",
            "ServiceUnavailable",
            "InternalFailure",
        )
    )


def _waiting(
    decision: Decision, observed: Observed, match: AlarmMatch, record: AlarmRecord, now: datetime
) -> PendingStep | None:
    """A count the resource in progress could not take, recorded, not retried: reconcile applies it
    as soon as the resource can take it (a Lambda retry 1 and 3 minutes later would come before a
    new instance is up and end in the dead-letter queue)."""
    if decision.action != "set_count" or decision.count is None:
        return None
    return PendingStep(
        decision.count,
        "out" if decision.count > (observed.desired or 0) else "in",
        now + timedelta(minutes=match.hold),
        record.alarm,
    )


def _intent_doc(key: str, step: AlarmStep) -> dict[str, Any]:
    """What an alarm step is about to write, for a retry to write the same (exactly once per cause)."""
    d = step.decision
    assert d is not None
    return {
        "key": key,
        "action": d.action,
        "count": d.count,
        "scalable": {"min": d.scalable.min, "max": d.scalable.max}
        if d.scalable is not None
        else None,
        "surges": [
            {"min": x.min, "until": x.until.isoformat(), "alarm": x.alarm} for x in step.surges
        ]
        if step.surges is not None
        else None,
    }


def _intended(
    step: AlarmStep, intent: dict[str, Any], observed: Observed
) -> tuple[AlarmStep, bool]:
    """The step the first attempt decided (its write, its surges), and whether that write landed."""
    assert step.decision is not None
    scalable = (
        ScalableBounds(intent["scalable"]["min"], intent["scalable"]["max"])
        if intent.get("scalable")
        else None
    )
    surges = (
        tuple(
            Surge(x["min"], datetime.fromisoformat(x["until"]), x["alarm"])
            for x in intent["surges"]
        )
        if intent.get("surges") is not None
        else None
    )
    decision = replace(
        step.decision, action=intent["action"], count=intent.get("count"), scalable=scalable
    )
    landed = (decision.action == "set_count" and observed.desired == decision.count) or (
        decision.action == "set_bounds" and observed.scalable == scalable
    )
    return AlarmStep(decision, "apply", step.note, surges), landed


def _outcome(
    match: AlarmMatch, outcome: str, decision: Decision | None = None, note: str = ""
) -> AlarmOutcome:
    return AlarmOutcome(
        match.target, outcome, match.change, match.wake, decision, note, burst=match.burst
    )


@dataclass(frozen=True)
class Reach:
    """What acts on one target where it lives: its scaling adapter, its state, and how to re-arm
    its burst alarm (a member account's, through the member role)."""

    adapter: ScalingAdapter
    store: StateStore
    rearm: Callable[[str], None] | None = None


class TargetBusy(RuntimeError):
    """A target was in progress: the invocation fails so that Lambda retries it later."""


def run_alarm(
    policy: Policy,
    record: AlarmRecord,
    now: datetime | Callable[[], datetime],
    adapter: ScalingAdapter,
    store: StateStore,
    *,
    home: tuple[str, str] | None = None,
    stack: str = "",
    dry_run: bool = False,
    rearm: Callable[[str], None] | None = None,
    reach: Callable[[str], Reach] | None = None,
) -> list[AlarmOutcome]:
    """Apply one alarm state change to every target it moves; raises ``TargetBusy`` if one was in progress.

    ``home`` is the function's ``(account, region)``: plain alarm names match only alarms from there;
    ``stack`` its stack, whose wake alarms alone wake its targets. With ``dry_run`` (the pause
    switch) each step is decided and reported, and nothing is written.
    ``now`` may be a clock: it is then read once the target's lock is held, so that a change that
    waited for the lock is judged (cooldowns, surge expiry) at the instant it acts, not before.
    ``rearm(alarm)`` sets a burst alarm back to OK once its step is taken (not in a dry run, nor
    while its target is busy: the retried invocation does it): CloudWatch then fires it again at its next evaluation if the burst
    still outgrows the copies serving. ``reach(target)``, when given, says what acts on each target
    (a member account's adapter, state and re-arm) instead of ``adapter``, ``store`` and ``rearm``.
    """
    here = Reach(adapter, store, rearm)
    clock: Callable[[], datetime] = now if callable(now) else (lambda: now)
    outcomes: list[AlarmOutcome] = []
    busy: list[str] = []
    matches = match_alarm(policy, record, home, stack)
    if matches or match_alarm(
        policy, replace(record, state="ALARM"), home, stack
    ):  # an alarm the policy names, in any state
        later = (
            store.alarm_seen(
                f"{record.account or ''}/{record.region or ''}/{record.alarm}", record.changed_at
            )
            if not dry_run
            else None
        )
        if later is not None:  # CloudWatch changed it again since: this change no longer holds
            log.info(
                "alarm %s %s of %s is older than its change of %s already handled: ignored",
                record.alarm,
                record.state,
                record.changed_at,
                later,
            )
            return [
                _outcome(
                    m,
                    "stale",
                    note=f"{record.alarm} changed again at {later}; this {record.state} of {record.changed_at} is stale",
                )
                for m in matches
            ]
    if not matches:
        source = (
            f" from account {record.account} region {record.region}"
            if record.account or record.region
            else ""
        )
        log.info(
            "alarm %s (%s)%s matches no rule of the policy; ignored",
            record.alarm,
            record.state,
            source,
        )
    rearm_in: list[Callable[[str], None]] = []
    for match in matches:
        target = policy.targets[match.target]
        try:
            where = reach(match.target) if reach is not None else here
            with where.store.lock(match.target):
                outcome = _apply_one(
                    policy, match, target, record, clock(), where.adapter, where.store, dry_run
                )
        except (LockTimeout, StateConflict) as exc:  # busy: the retried invocation applies it
            outcome = _outcome(match, "deferred", note=str(exc))
        except (ClientError, BotoCoreError) as exc:
            log.exception("alarm %s on target %s failed", record.alarm, match.target)
            # throttling and server errors: fail the invocation so Lambda retries it (a recorded
            # "error" would be kept as done by idempotency, and a wake alarm never fires twice)
            state = "deferred" if _retryable(exc) else "error"
            outcome = _outcome(match, state, note=f"{type(exc).__name__}: {exc}")
        except AccountError as exc:  # its member role cannot be assumed now: retried
            log.error("alarm %s on target %s: %s", record.alarm, match.target, exc)
            outcome = _outcome(match, "deferred", note=str(exc))
        if outcome.outcome == "deferred":
            busy.append(match.target)
        if outcome.burst and outcome.outcome != "dry-run" and where.rearm is not None:
            # whatever became of the step (taken, waiting for the resource, busy, a repeated delivery):
            # a burst that goes on must fire again at the next evaluation
            rearm_in.append(where.rearm)
        outcomes.append(outcome)
    for arm in rearm_in[:1]:  # one alarm, one target: re-armed where it lives
        arm(record.alarm)
    if busy:
        raise TargetBusy(
            f"alarm {record.alarm}: {', '.join(busy)} in progress; the invocation is retried"
        )
    return outcomes


def _apply_one(
    policy: Policy,
    match: AlarmMatch,
    target: Target,
    record: AlarmRecord,
    now: datetime,
    adapter: ScalingAdapter,
    store: StateStore,
    dry_run: bool = False,
) -> AlarmOutcome:
    resolved, unresolved = adapter.resolve({match.target: target})
    if match.target in unresolved:
        return _outcome(match, "error", note=unresolved[match.target])
    target = resolved[match.target]
    policy = policy.with_targets(resolved)
    stored = store.get(match.target)
    scalable = adapter.scalable_targets({match.target: target}).get(target.resource)
    observed = adapter.observe(target, scalable)
    state = stored.for_resource(
        observed.identity
    )  # a replaced component starts without the old one's surges and cooldowns
    step = decide_alarm(policy, match, record, observed, state, now)
    landed = False
    if (
        state.intent is not None
        and state.intent.get("key") == record.key
        and not state.applied(record.key)
        and step.decision is not None
    ):
        # a retry of this very state change, whose first attempt recorded its write and then failed
        # (the write may have landed): make the write it decided, never current + change again
        step, landed = _intended(step, state.intent, observed)
    keeps_surge = (
        step.outcome == "unchanged" and step.surges is not None and step.surges != state.surges
    )
    waits = (
        step.outcome == "deferred" and step.decision is not None
    )  # the resource is in progress: the step waits for it
    if (step.outcome != "apply" and not keeps_surge and not waits) or step.decision is None:
        return _outcome(match, step.outcome, step.decision, step.note)
    if dry_run:
        return _outcome(match, "dry-run", step.decision, "paused: decided, nothing written")
    note = step.note
    if step.outcome == "apply" and not landed:
        state = store.update(
            match.target, lambda s: replace(s, intent=_intent_doc(record.key, step)), known=state
        )  # before the write
        applied = adapter.apply(target, step.decision)
        if applied.outcome == "deferred":
            waits, note = True, applied.message
    decision = step.decision
    pending = _waiting(decision, observed, match, record, now) if waits else None
    change = decision.change_doc(now, f"alarm:{record.key}")
    step_doc = {
        "key": record.key,
        "alarm": record.alarm,
        "state": record.state,
        "change": match.change,
        "wake": match.wake,
        "burst": match.burst,
        "from": change["from"],
        "to": change["to"],
        "at": now.isoformat(),
    }

    def record_step(s: TargetState) -> TargetState | None:
        if s.applied(record.key):  # a retried write whose first attempt landed
            return None
        s = s.for_resource(observed.identity)
        cooldowns = dict(s.cooldowns)
        if not match.urgent:
            cooldowns[match.direction] = now.isoformat()
        s = replace(
            s,
            steps=(*s.steps, step_doc),
            cooldowns=cooldowns,
            surges=step.surges if step.surges is not None else s.surges,
            last_action=s.last_action if waits else change,
            intent=None,
        )
        return s.with_step(pending, now) if pending is not None else s

    store.update(match.target, record_step, known=state)
    if waits:
        return _outcome(
            match,
            "pending",
            decision,
            f"{note}; applied by reconcile when the resource can take it"
            if note
            else "applied by reconcile when the resource can take it",
        )
    if keeps_surge:
        return _outcome(match, "surge-recorded", decision, step.note)
    return _outcome(match, "applied", decision)
