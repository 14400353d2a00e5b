"""Reconcile function: the scheduler's tick or a manual run converges every target."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.aws.reconcile import run_reconcile
from core.events import parse_reconcile_event
from handlers.observe import metrics, traced
from handlers.publish import publish
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
        dry_run=request.dry_run or runtime.settings.paused,
        trigger=f"{request.source}:{context.aws_request_id}",
        wake=runtime.wake_alarms,
        burst=runtime.burst_alarms,
        peaks=runtime.peaks,
    )
    return publish(result, runtime)
