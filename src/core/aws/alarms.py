"""The alarm function's run: apply one alarm state change to the targets it moves, under their locks.

The rules themselves (matching, cooldowns, surge floors, wake) are pure and live in
``core.alarms``; this module reads the target, calls ``decide_alarm``, writes the step
and records it once. Throttling and server errors fail the invocation so Lambda retries it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from core.alarms import AlarmMatch, AlarmOutcome, decide_alarm, match_alarm
from core.aws.scaling import ScalingAdapter
from core.aws.state import LockTimeout, StateConflict, StateStore
from core.events import AlarmRecord
from core.policy import Policy, Target
from core.state import TargetState

log = logging.getLogger("sagescale.alarms")


def _retryable(exc: Exception) -> bool:
    if not isinstance(exc, ClientError):
        return True  # connection trouble
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return status >= 500 or "Throttl" in code or code in ("TooManyRequestsException", "RequestLimitExceeded", "ServiceUnavailable", "InternalFailure")


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
) -> list[AlarmOutcome]:
    """Apply one alarm state change to every target it moves; raises ``TargetBusy`` if one was in progress.

    ``home`` is the function's ``(account, region)``: plain alarm names match only alarms from there;
    ``stack`` its stack, whose wake alarms alone wake its targets. With ``dry_run`` (the pause
    switch) each step is decided and reported, and nothing is written.
    ``now`` may be a clock: it is then read once the target's lock is held, so that a change that
    waited for the lock is judged (cooldowns, surge expiry) at the instant it acts, not before.
    """
    clock: Callable[[], datetime] = now if callable(now) else (lambda: now)
    outcomes: list[AlarmOutcome] = []
    busy: list[str] = []
    matches = match_alarm(policy, record, home, stack)
    if not matches:
        where = f" from account {record.account} region {record.region}" if record.account or record.region else ""
        log.info("alarm %s (%s)%s matches no rule of the policy; ignored", record.alarm, record.state, where)
    for match in matches:
        target = policy.targets[match.target]
        try:
            with store.lock(match.target):
                outcome = _apply_one(policy, match, target, record, clock(), adapter, store, dry_run)
        except (LockTimeout, StateConflict) as exc:  # busy: the retried invocation applies it
            outcome = AlarmOutcome(match.target, "deferred", match.change, match.wake, note=str(exc))
        except (ClientError, BotoCoreError) as exc:
            log.exception("alarm %s on target %s failed", record.alarm, match.target)
            # throttling and server errors: fail the invocation so Lambda retries it (a recorded
            # "error" would be kept as done by idempotency, and a wake alarm never fires twice)
            state = "deferred" if _retryable(exc) else "error"
            outcome = AlarmOutcome(match.target, state, match.change, match.wake, note=f"{type(exc).__name__}: {exc}")
        if outcome.outcome == "deferred":
            busy.append(match.target)
        outcomes.append(outcome)
    if busy:
        raise TargetBusy(f"alarm {record.alarm}: {', '.join(busy)} in progress; the invocation is retried")
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
        return AlarmOutcome(match.target, "error", match.change, match.wake, note=unresolved[match.target])
    target = resolved[match.target]
    policy = policy.with_targets(resolved)
    stored = store.get(match.target)
    scalable = adapter.scalable_targets({match.target: target}).get(target.resource)
    observed = adapter.observe(target, scalable)
    state = stored.for_resource(observed.identity)  # a replaced component starts without the old one's surges and cooldowns
    step = decide_alarm(policy, match, record, observed, state, now)
    keeps_surge = step.outcome == "unchanged" and step.surges is not None and step.surges != state.surges
    if (step.outcome != "apply" and not keeps_surge) or step.decision is None:
        return AlarmOutcome(match.target, step.outcome, match.change, match.wake, step.decision, step.note)
    if dry_run:
        return AlarmOutcome(match.target, "dry-run", match.change, match.wake, step.decision, "paused: decided, nothing written")
    if step.outcome == "apply":
        applied = adapter.apply(target, step.decision)
        if applied.outcome == "deferred":
            return AlarmOutcome(match.target, "deferred", match.change, match.wake, step.decision, applied.message)
    decision = step.decision
    change = decision.change_doc(now, f"alarm:{record.key}")
    step_doc = {"key": record.key, "alarm": record.alarm, "state": record.state, "change": match.change, "wake": match.wake, "from": change["from"], "to": change["to"], "at": now.isoformat()}

    def record_step(s: TargetState) -> TargetState | None:
        if s.applied(record.key):  # a retried write whose first attempt landed
            return None
        s = s.for_resource(observed.identity)
        cooldowns = dict(s.cooldowns)
        if not match.wake:
            cooldowns[match.direction] = now.isoformat()
        return replace(
            s,
            steps=(*s.steps, step_doc),
            cooldowns=cooldowns,
            surges=step.surges if step.surges is not None else s.surges,
            last_action=change,
        )

    store.update(match.target, record_step, known=state)
    if keeps_surge:
        return AlarmOutcome(match.target, "surge-recorded", match.change, match.wake, decision, step.note)
    return AlarmOutcome(match.target, "applied", match.change, match.wake, decision)
