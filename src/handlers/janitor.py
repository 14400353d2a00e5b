"""Janitor function: hourly (or by hand), find forgotten endpoints, mark, notify, delete safely."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.events import parse_janitor_event
from core.janitor import JanitorActions, run_janitor, summarize
from handlers.observe import count, metrics, traced
from handlers.runtime import get_runtime

logger = Logger(service="sagescale")

SAFETY_MARGIN_MS = 60_000  # stop waiting on deletions a minute before the function's timeout


@traced
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_janitor_event(event)
    runtime = get_runtime()
    policy = runtime.policy
    dry_run = request.dry_run or policy.janitor.dry_run
    actions = None
    if not dry_run:
        actions = JanitorActions(
            runtime.snapshot_clients, runtime.store, runtime.notify,
            deadline=lambda: context.get_remaining_time_in_millis() < SAFETY_MARGIN_MS,
        )
    result = run_janitor(policy, runtime.clock(), runtime.fleet, actions, endpoint=request.endpoint)
    for verdict in result.verdicts:
        logger.info("janitor verdict", extra={"verdict": verdict.as_dict(), "done": result.done.get(verdict.endpoint)})
    logger.info("janitor summary", extra={"summary": summarize(result.verdicts), "dry_run": dry_run})
    count("JanitorMarked", sum(d.startswith("marked") for d in result.done.values()))
    count("JanitorDeleted", sum(d.startswith("deleted") for d in result.done.values()))
    count("JanitorErrors", sum(d.startswith("error") for d in result.done.values()))
    return result.as_dict()
