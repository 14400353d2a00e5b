"""Reconcile function: the scheduler's tick or a manual run converges every target.

With member accounts the tick fans out: it enqueues one work item per account-region, and this
function, as the work queue's worker, reconciles one account-region per message (Powertools'
batch utility: a failing account-region is retried alone, the others are done).
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

from core.aws.accounts import AccountError
from core.aws.fanout import enqueue, place_of, reconcile_place, still_listed, work_items
from core.events import EventError, parse_reconcile_event, parse_work_item
from core.policy import HOME, Place
from handlers.observe import metrics, traced
from handlers.publish import FanOut, publish
from handlers.runtime import Runtime, get_runtime

logger = Logger(service="sagescale")


def _work(record: SQSRecord) -> dict[str, Any]:
    """One account-region: raises (and so is retried alone) if its member role cannot be assumed."""
    item = parse_work_item(record.body)
    runtime = get_runtime()
    place = place_of(item)
    logger.append_keys(
        account=item.account or "home", region=item.region or runtime.settings.region
    )
    if not still_listed(runtime.policy, place):
        logger.warning(
            "stale work item: the policy no longer names this account-region",
            extra={"tick": item.tick},
        )
        return {"stale": True}
    result = reconcile_place(
        runtime.policy,
        place,
        runtime.clock(),
        runtime.accounts,
        runtime.store,
        stack=runtime.settings.stack_name,
        dry_run=item.dry_run or runtime.settings.paused,
        trigger=f"queue:{record.message_id}",
    )
    return publish(result, runtime)


def _tick(runtime: Runtime, event: dict[str, Any], request_id: str) -> dict[str, Any]:
    request = parse_reconcile_event(event)
    policy, now = runtime.policy, runtime.clock()
    dry_run = request.dry_run or runtime.settings.paused
    trigger = f"{request.source}:{request_id}"

    def run(place: Place, targets: list[str] | None = None) -> dict[str, Any]:
        result = reconcile_place(
            policy,
            place,
            now,
            runtime.accounts,
            runtime.store,
            stack=runtime.settings.stack_name,
            dry_run=dry_run,
            trigger=trigger,
            targets=targets,
        )
        return publish(result, runtime)

    if request.target is not None:
        if request.target not in policy.targets:
            raise EventError(
                f"unknown target {request.target!r} (targets in the policy: {', '.join(sorted(policy.targets)) or 'none'})"
            )
        return run(policy.place(request.target), [request.target])
    if all(p.is_home for p in policy.places()):  # the controller's own account and region only
        return run(HOME)
    items = work_items(policy, now, dry_run=dry_run)
    if (
        runtime.settings.work_queue_url is None
    ):  # no queue (a local run): every account-region here, one after another
        logger.warning(
            "no work queue configured: reconciling %d account-regions in this invocation",
            len(items),
        )
        done: list[dict[str, Any]] = []
        unreached: list[str] = []
        for item in items:  # one account-region that cannot be reached does not stop the others
            try:
                done.append(run(place_of(item)))
            except AccountError as exc:
                logger.error(
                    "account-region not reached",
                    extra={"account": item.account, "region": item.region, "error": str(exc)},
                )
                unreached.append(str(exc))
        if unreached:  # the invocation fails, so the scheduler's retry and dead-letter queue see it; the rest is done
            raise AccountUnreached(
                f"{len(unreached)} account-region(s) not reached: " + "; ".join(unreached)
            )
        return {"places": done}
    sent = enqueue(runtime.clients.client("sqs"), runtime.settings.work_queue_url, items)
    return publish(FanOut(now, [place_of(i) for i in items], sent), runtime)


class AccountUnreached(RuntimeError):
    """A local (queueless) tick reconciled what it could reach; these it could not."""


@traced
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and isinstance(event.get("Records"), list):  # the work queue's batch
        processor = BatchProcessor(
            event_type=EventType.SQS
        )  # per invocation: it keeps the batch's results
        response: dict[str, Any] = dict(
            process_partial_response(
                event=event, record_handler=_work, processor=processor, context=context
            )
        )
        return response
    return _tick(get_runtime(), event, context.aws_request_id)
