"""Fault injection through botocore event hooks: throttle a share of AWS calls, deterministically.

JSON and query services get the throttling error AWS sends (400, ``ThrottlingException`` /
``Throttling``); CloudWatch, which speaks CBOR here, gets a transient connection error. Both
are retried by botocore. Retry back-off sleeps are recorded, not slept (see ``no_backoff``).
"""

from __future__ import annotations

import random
import types
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError

# standard retries, as many attempts as production: the adaptive mode's client-side rate
# limiter would make the tests wait in real time
TEST_RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


class Throttler:
    """Answers a share ``rate`` of requests with a throttling error (seeded, so repeatable)."""

    def __init__(self, rate: float, seed: int = 7, only: set[str] | None = None) -> None:
        self.rate = rate
        self.rng = random.Random(seed)
        self.only = only
        self.injected: Counter[str] = Counter()
        self.passed: Counter[str] = Counter()

    def attach(self, *clients: Any) -> Throttler:
        for client in clients:
            client.meta.events.register_first("before-send", self)  # before moto's own stub answers
        return self

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        operation = str(kwargs.get("event_name", "")).rsplit(".", 1)[-1]
        if (self.only is not None and operation not in self.only) or self.rng.random() >= self.rate:
            self.passed[operation] += 1
            return None
        self.injected[operation] += 1
        content_type = request.headers.get("Content-Type", b"")
        content_type = (
            content_type.decode() if isinstance(content_type, bytes) else str(content_type)
        )
        if "cbor" in content_type or "smithy-protocol" in {k.lower() for k in request.headers}:
            raise ConnectionClosedError(endpoint_url=request.url)
        if "json" in content_type:
            body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
            headers = {"Content-Type": content_type, "x-amzn-ErrorType": "ThrottlingException"}
        else:
            body = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>"
            headers = {"Content-Type": "text/xml"}
        return AWSResponse(request.url, 400, headers, _Body(body))


@contextmanager
def no_backoff() -> Iterator[list[float]]:
    """Record botocore's retry back-off instead of sleeping it; yields the delays."""
    import time

    import botocore.endpoint

    slept: list[float] = []
    fake = types.SimpleNamespace(
        **{name: getattr(time, name) for name in dir(time) if not name.startswith("_")}
    )
    fake.sleep = slept.append
    original = botocore.endpoint.time
    botocore.endpoint.time = fake  # type: ignore[assignment]
    try:
        yield slept
    finally:
        botocore.endpoint.time = original
