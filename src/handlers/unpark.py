"""Unpark function: brings parked endpoints back when their idle window ends (recreate from the
snapshot, then restore scaling once InService). It deletes nothing; parking is ``handlers.park``'s."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.aws.parking import run_parking
from core.events import parse_reconcile_event
from handlers.observe import metrics, traced
from handlers.publish import publish
from handlers.runtime import get_runtime

logger = Logger(service="sagescale")


@traced
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_reconcile_event(event)  # same shape as reconcile's: a tick, or {"target": NAME}
    runtime = get_runtime()
    result = run_parking(
        runtime.policy, runtime.clock(), runtime.parking, targets=[request.target] if request.target else None, dry_run=request.dry_run,
        phases=frozenset({"unpark"}),
    )
    return publish(result, runtime)
