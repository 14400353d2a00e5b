"""Metrics of the functions, in CloudWatch embedded metric format (Powertools Metrics)."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "sagescale"

metrics = Metrics(namespace=NAMESPACE, service="sagescale")


def count(name: str, value: int = 1) -> None:
    """Add to a function-wide counter (flushed at the end of the invocation)."""
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def capacity(target: str, value: int) -> None:
    """``DesiredCapacity`` of one target, with the target as a dimension (one EMF record now)."""
    with single_metric(name="DesiredCapacity", unit=MetricUnit.Count, value=value, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="Target", value=target)
