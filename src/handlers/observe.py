"""Metrics of the functions, in CloudWatch embedded metric format (Powertools Metrics)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    with single_metric(
        name="DesiredCapacity", unit=MetricUnit.Count, value=value, namespace=NAMESPACE
    ) as metric:
        metric.add_dimension(name="Target", value=target)


Handler = Callable[[Any, Any], Any]


def traced(handler: Handler) -> Handler:
    """Powertools Tracer around ``handler`` when the stack enables it (``PowertoolsTracer``).

    The Tracer (aws-xray-sdk) costs about 0.2 s of cold start and about 40 MB of package (it
    brings its own botocore), so it is not in the package by default and is imported on the
    first invocation only if enabled; without it the functions still have Lambda's own X-Ray
    segments (``Tracing: Active``).
    """
    chosen: list[Handler] = []

    def run(event: Any, context: Any) -> Any:
        if not chosen:
            from handlers.runtime import get_runtime

            if get_runtime().settings.tracer:
                try:
                    from aws_lambda_powertools import Tracer

                    chosen.append(Tracer(service="sagescale").capture_lambda_handler(handler))
                except ImportError as exc:  # aws-xray-sdk is not in the package by default
                    import logging

                    logging.getLogger("sagescale").warning(
                        "PowertoolsTracer is on but %s; add aws-xray-sdk to src/requirements.txt "
                        "or use the Powertools Lambda layer. Running without it.",
                        exc,
                    )
                    chosen.append(handler)
            else:
                chosen.append(handler)
        return chosen[0](event, context)

    run.__wrapped__ = handler  # type: ignore[attr-defined]
    return run
