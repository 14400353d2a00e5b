"""Janitor function: hourly (or by hand), find forgotten endpoints, mark, notify, delete safely."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.aws.janitor import run_janitor
from core.events import parse_janitor_event
from handlers.observe import metrics, traced
from handlers.publish import publish
from handlers.runtime import get_runtime

logger = Logger(service="sagescale")

SAFETY_MARGIN_MS = 60_000  # stop waiting on deletions a minute before the function's timeout


@traced
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_janitor_event(event)
    runtime = get_runtime()
    actions = None
    if not (request.dry_run or runtime.policy.janitor.dry_run or runtime.settings.paused):
        actions = runtime.janitor_actions(deadline=lambda: context.get_remaining_time_in_millis() < SAFETY_MARGIN_MS)
    result = run_janitor(runtime.policy, runtime.clock(), runtime.fleet, actions, endpoint=request.endpoint)
    return publish(result, runtime)
