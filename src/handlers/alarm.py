"""Alarm function: a CloudWatch alarm state change (EventBridge, Lambda alarm action or SNS)
moves the targets whose rules name the alarm. Each state change acts once."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.aws.alarms import run_alarm
from core.events import AlarmRecord, parse_alarm_event, repeated_deliveries
from handlers.observe import metrics, traced
from handlers.publish import AlarmReport, publish
from handlers.runtime import Runtime, get_runtime

logger = Logger(service="sagescale")


def _process(runtime: Runtime, record: dict[str, Any], request_id: str) -> dict[str, Any]:
    fields = {k: v for k, v in record.items() if k != "key"}
    alarm = AlarmRecord(
        **fields | {"dimensions": tuple((str(n), str(v)) for n, v in record["dimensions"])}
    )
    outcomes = run_alarm(
        runtime.policy,
        alarm,
        runtime.clock,
        runtime.scaling,
        runtime.store,
        home=runtime.settings.home,
        stack=runtime.settings.stack_name,
        dry_run=runtime.settings.paused,
        reach=runtime.reach,
    )
    return publish(AlarmReport(alarm, outcomes, request_id), runtime)


@traced
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    records = parse_alarm_event(event)  # a malformed event fails here, before any AWS call
    runtime = get_runtime()
    persistence, config = runtime.idempotency()
    config.register_lambda_context(context)

    @idempotent_function(
        data_keyword_argument="record", persistence_store=persistence, config=config
    )  # type: ignore[untyped-decorator]
    def process(record: dict[str, Any]) -> dict[str, Any]:
        return _process(runtime, record, context.aws_request_id)

    results = []
    for alarm, first in zip(records, repeated_deliveries(records), strict=True):
        logger.append_keys(alarm=alarm.alarm, alarm_state=alarm.state, alarm_key=alarm.key)
        if first is not None:  # the same state change earlier in this event: listed once
            results.append(
                {
                    "alarm": alarm.alarm,
                    "state": alarm.state,
                    "key": alarm.key,
                    "duplicate": True,
                    "duplicate_of": first,
                }
            )
            continue
        result = process(record={**asdict(alarm), "key": alarm.key})
        # a duplicate delivery gets the stored response of the invocation that acted
        duplicate = result.get("request_id") != context.aws_request_id
        if duplicate:
            logger.info(
                "duplicate delivery: already handled",
                extra={"handled_by": result.get("request_id")},
            )
        results.append({**result, "duplicate": duplicate})
    return {"alarms": results}
