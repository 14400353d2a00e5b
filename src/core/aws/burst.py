"""The burst rule's CloudWatch metric-math alarm (``sagescale-burst-<stack>-<target>``).

Its one returned expression is the copies demand needs beyond those serving, per minute:

- inference component: ``(Invocations + NoCapacityInvocationFailures) / per_copy - Invocations /
  InvocationsPerCopy``, all ``AWS/SageMaker`` by ``InferenceComponentName`` (Sum over 60 s);
- real-time variant: ``Invocations / per_copy - Invocations / InvocationsPerInstance`` by
  ``EndpointName`` and ``VariantName``.

Missing metrics count as 0 (``FILL``), so a component at zero copies measures its rejections alone.
It alarms on one datapoint ``>= 1`` and has no action: EventBridge routes its state change to the
alarm function, which scales and then re-arms it (``SetAlarmState`` to OK), so that a burst that
outgrows the order fires again at the next evaluation. Reconcile keeps it in place; a run that
finds it as it should be only reads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from core.alarms import burst_alarm_name
from core.aws.scaling import component_name
from core.aws.wake import alarms_named, keep_alarm
from core.policy import Target

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

log = logging.getLogger("sagescale.burst")

REARM_REASON = "sagescale: scaled for the burst; re-armed so that a burst still outgrowing the copies fires again"


def _metric(
    metric_id: str, name: str, dimensions: list[dict[str, str]], period: int
) -> dict[str, Any]:
    return {
        "Id": metric_id,
        "MetricStat": {
            "Metric": {"Namespace": "AWS/SageMaker", "MetricName": name, "Dimensions": dimensions},
            "Period": period,
            "Stat": "Sum",
        },
        "ReturnData": False,
    }


def excess_metrics(target: Target, per_copy: float, period: int = 60) -> list[dict[str, Any]]:
    """``Metrics`` of a metric-math alarm whose one returned expression is the copies the target's
    demand needs beyond those serving, per ``period`` seconds, at ``per_copy`` requests a copy."""
    if target.resource_kind == "inference_component":
        dims = [{"Name": "InferenceComponentName", "Value": component_name(target)}]
        metrics = [
            _metric("inv", "Invocations", dims, period),
            _metric("rejected", "NoCapacityInvocationFailures", dims, period),
            _metric("per", "InvocationsPerCopy", dims, period),
        ]
        demand = "FILL(inv, 0) + FILL(rejected, 0)"
    else:
        dims = [
            {"Name": "EndpointName", "Value": target.endpoint or ""},
            {"Name": "VariantName", "Value": target.variant_name},
        ]
        metrics = [
            _metric("inv", "Invocations", dims, period),
            _metric("per", "InvocationsPerInstance", dims, period),
        ]
        demand = "FILL(inv, 0)"
    serving = "IF(FILL(per, 0) > 0, FILL(inv, 0) / FILL(per, 1), 0)"
    metrics.append(
        {
            "Id": "excess",
            "Expression": f"({demand}) / {per_copy:g} - {serving}",
            "Label": "copies needed beyond those serving",
            "ReturnData": True,
        }
    )
    return metrics


def burst_alarm_definition(name: str, target: Target, stack: str = "") -> dict[str, Any]:
    """``put_metric_alarm`` arguments of the burst alarm of target ``name`` (which has ``burst``)."""
    if target.burst is None:
        raise ValueError(f"target {name} has no burst rule")
    per_copy = f"{target.burst.per_copy:g}"
    metrics = excess_metrics(target, target.burst.per_copy)
    return {
        "AlarmName": burst_alarm_name(name, stack),
        "AlarmDescription": f"sagescale: {target.resource} needs at least one copy more than serves (demand / {per_copy} per copy)",
        "Metrics": metrics,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "ActionsEnabled": True,
        "AlarmActions": [],
    }


_COMPARED = (
    "Metrics",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
)


def _same(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(existing.get(k) == wanted[k] for k in _COMPARED) and not existing.get("AlarmActions")


class BurstAlarms:
    """Creates or repairs the burst alarms, reads only when all is in place, and re-arms them."""

    def __init__(self, cloudwatch: CloudWatchClient, stack: str = "") -> None:
        self.cloudwatch = cloudwatch
        self.stack = stack

    def ensure(self, targets: Mapping[str, Target]) -> dict[str, str]:
        """For every target with a burst rule: ``ok``, ``created`` or ``updated``."""
        wanted = {n: t for n, t in targets.items() if t.burst is not None}
        if not wanted:
            return {}
        existing = alarms_named(self.cloudwatch, [burst_alarm_name(n, self.stack) for n in wanted])
        out: dict[str, str] = {}
        for name, target in wanted.items():
            definition = burst_alarm_definition(name, target, self.stack)
            out[name] = keep_alarm(
                self.cloudwatch, existing.get(definition["AlarmName"]), definition, _same
            )
        return out

    def rearm(self, alarm: str) -> None:
        """Set a burst alarm back to OK: CloudWatch fires it again next minute if the burst goes on.

        An alarm deleted meanwhile (its endpoint parked or deleted) is only logged."""
        try:
            self.cloudwatch.set_alarm_state(
                AlarmName=alarm, StateValue="OK", StateReason=REARM_REASON
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFound":
                raise
            log.warning("burst alarm %s is gone; nothing to re-arm", alarm)
