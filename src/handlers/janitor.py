"""Janitor function: hourly (or by hand), find forgotten endpoints, mark, notify, delete safely.

With member accounts named in ``janitor.accounts`` the tick fans out: it enqueues one work item
per account-region, and this function, as its queue's worker, sweeps one account-region per
message through the member janitor role (a failing one is retried alone).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.aws.fanout import enqueue, janitor_items, place_of
from core.aws.janitor import run_janitor
from core.events import parse_janitor_event, parse_work_item
from core.policy import HOME, Place
from handlers.observe import metrics, traced
from handlers.publish import FanOut, publish
from handlers.runtime import Runtime, get_runtime

logger = Logger(service="sagescale")

SAFETY_MARGIN_MS = 60_000  # stop waiting on deletions a minute before the function's timeout


def _sweep(
    runtime: Runtime,
    place: Place,
    context: LambdaContext,
    *,
    dry_run: bool,
    endpoint: str | None = None,
) -> dict[str, Any]:
    policy = runtime.policy
    actions = None
    if not (dry_run or policy.janitor.dry_run or runtime.settings.paused):
        actions = runtime.janitor_actions(
            deadline=lambda: context.get_remaining_time_in_millis() < SAFETY_MARGIN_MS, place=place
        )
    result = run_janitor(
        policy.at_place(place), runtime.clock(), runtime.fleet_at(place), actions, endpoint=endpoint
    )
    return publish(result, runtime)


@traced
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime = get_runtime()
    if isinstance(event, dict) and isinstance(
        event.get("Records"), list
    ):  # the janitor queue's batch

        def work(record: SQSRecord) -> dict[str, Any]:
            item = parse_work_item(record.body)
            place = place_of(item)
            logger.append_keys(
                account=item.account or "home", region=item.region or runtime.settings.region
            )
            if place not in runtime.policy.janitor_places():
                logger.warning(
                    "stale work item: janitor.accounts no longer names this account-region",
                    extra={"tick": item.tick},
                )
                return {"stale": True}
            return _sweep(runtime, place, context, dry_run=item.dry_run)

        processor = BatchProcessor(event_type=EventType.SQS)
        return dict(
            process_partial_response(
                event=event, record_handler=work, processor=processor, context=context
            )
        )
    request = parse_janitor_event(event)
    places = runtime.policy.janitor_places()
    if request.endpoint is not None or places == [HOME]:
        return _sweep(runtime, HOME, context, dry_run=request.dry_run, endpoint=request.endpoint)
    items = janitor_items(runtime.policy, runtime.clock(), dry_run=request.dry_run)
    if runtime.settings.work_queue_url is None:  # no queue (a local run): every account-region here
        return {
            "places": [
                _sweep(runtime, place_of(i), context, dry_run=request.dry_run) for i in items
            ]
        }
    sent = enqueue(runtime.clients.client("sqs"), runtime.settings.work_queue_url, items)
    return publish(FanOut(runtime.clock(), [place_of(i) for i in items], sent), runtime)
