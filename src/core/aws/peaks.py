"""The recent peak of a target's demand, for headroom sized by it (``headroom[].of_peak``).

Demand is what the burst alarm measures: ``Invocations + NoCapacityInvocationFailures`` per
minute (``AWS/SageMaker`` by ``InferenceComponentName``, Sum over 60 s; for an endpoint variant,
``Invocations`` by ``EndpointName`` and ``VariantName``), summed here minute by minute. One
``GetMetricData`` request per target, paged; no datapoints is a peak of 0.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.aws.scaling import component_name
from core.policy import Target

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient


def demand_queries(target: Target) -> list[dict[str, Any]]:
    """``MetricDataQueries``, one series per metric whose per-minute sum is the target's demand."""
    if target.resource_kind == "inference_component":
        dims = [{"Name": "InferenceComponentName", "Value": component_name(target)}]
        names = ["Invocations", "NoCapacityInvocationFailures"]
    else:
        dims = [
            {"Name": "EndpointName", "Value": target.endpoint or ""},
            {"Name": "VariantName", "Value": target.variant_name},
        ]
        names = ["Invocations"]
    return [
        {
            "Id": f"m{i}",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/SageMaker", "MetricName": name, "Dimensions": dims},
                "Period": 60,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
        for i, name in enumerate(names)
    ]


class PeakReader:
    """Reads the busiest minute of a target's demand over the last days."""

    def __init__(self, cloudwatch: CloudWatchClient) -> None:
        self.cloudwatch = cloudwatch

    def peak(self, target: Target, days: int, now: datetime) -> float:
        """The largest per-minute sum of the demand metrics (0 with no datapoints)."""
        return max(self._minutes(target, now - timedelta(days=days), now).values(), default=0.0)

    def quiet(self, target: Target, minutes: int, now: datetime) -> bool:
        """Whether the target had no request (no invocation, no rejection) in the last ``minutes``
        minutes: no datapoint, or only zeros. One ``GetMetricData`` request."""
        end = now.replace(second=0, microsecond=0)
        return not any(
            v > 0 for v in self._minutes(target, end - timedelta(minutes=minutes), end).values()
        )

    def _minutes(self, target: Target, start: datetime, end: datetime) -> dict[datetime, float]:
        """The target's demand per minute in ``[start, end)``, from its demand metrics (paged)."""
        minutes: dict[datetime, float] = defaultdict(float)
        for page in self.cloudwatch.get_paginator("get_metric_data").paginate(
            MetricDataQueries=demand_queries(target),  # type: ignore[arg-type]
            StartTime=start,
            EndTime=end,
        ):
            for result in page.get("MetricDataResults", []):
                for at, value in zip(
                    result.get("Timestamps", []), result.get("Values", []), strict=True
                ):
                    minutes[at] += value
        return minutes
