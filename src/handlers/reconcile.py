"""Reconcile function: the scheduler's tick or a manual run converges every target."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.events import parse_reconcile_event
from core.reconcile import run_reconcile
from handlers.observe import capacity, count, metrics, traced
from handlers.runtime import get_runtime

logger = Logger(service="sagescale")


@traced
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_reconcile_event(event)
    runtime = get_runtime()
    targets = [request.target] if request.target else None
    result = run_reconcile(
        runtime.policy,
        runtime.clock(),
        runtime.scaling,
        runtime.store,
        targets=targets,
        dry_run=request.dry_run,
        trigger=f"{request.source}:{context.aws_request_id}",
        wake=runtime.wake_alarms,
    )
    count("ScalingActions", sum(o.outcome == "applied" for o in result.outcomes.values()))
    runtime.notify_actions(
        [f"{n}: {o.decision.resource} -> {o.decision.count if o.decision.count is not None else o.decision.scalable} ({', '.join(o.decision.bounds.reasons)})"
         for n, o in result.outcomes.items() if o.outcome == "applied" and o.decision is not None]
    )
    count("Deferred", sum(o.outcome == "deferred" for o in result.outcomes.values()))
    count("ReconcileErrors", len(result.errors))
    for name, outcome in result.outcomes.items():
        decision = outcome.decision
        if decision is not None and not result.dry_run:
            wanted = decision.count if decision.count is not None else decision.observed.desired
            if wanted is not None:
                capacity(name, wanted)
    for outcome in result.outcomes.values():
        record = outcome.as_dict()
        if outcome.outcome == "error":
            logger.error("decision", extra={"decision": record})
        elif outcome.decision is not None and outcome.decision.observed.failure_reason:
            logger.warning("decision: the last update of this resource failed", extra={"decision": record})
        else:
            logger.info("decision", extra={"decision": record})
    return result.as_dict()
