"""Park function: deletes opted-in real-time endpoints (after a snapshot) in their idle windows.
The UnparkFunction (``handlers.unpark``) brings them back; the scaling functions delete nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.aws.parking import Phase, run_parking
from core.events import parse_reconcile_event
from handlers.observe import metrics, traced
from handlers.publish import publish
from handlers.runtime import get_runtime

logger = Logger(service="sagescale")

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def parking_handler(phases: frozenset[Phase]) -> Handler:
    """The handler of a function that may do ``phases`` of parking (park, or bring back)."""

    @traced
    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        request = parse_reconcile_event(
            event
        )  # same shape as reconcile's: a tick, or {"target": NAME}
        runtime = get_runtime()
        result = run_parking(
            runtime.policy,
            runtime.clock(),
            runtime.parking,
            targets=[request.target] if request.target else None,
            dry_run=request.dry_run or runtime.settings.paused,
            phases=phases,
        )
        return publish(result, runtime)

    return handler


handler = parking_handler(frozenset({"park"}))
