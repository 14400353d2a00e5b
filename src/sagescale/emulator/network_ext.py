"""What a network, a rate limit and a fault add to every emulated request: latency, throttling, errors.

- ``control.latency`` adds that much time to every request, whatever the service (the
  organisation benchmark's 50 ms per AWS call); it is spent outside the emulator's lock, so
  concurrent callers overlap as they would against AWS.
- ``control.rate_limits`` (``{"sagemaker:DescribeInferenceComponent": 20.0}``: requests per
  second) refuses a request above its operation's rate in one account and region with
  ``ThrottlingException``, as AWS's API throttling does; botocore's retries then back off. A token
  bucket of one second's burst, on the real clock (rates are about wall time, not the emulated clock).
- ``control.faults`` (:meth:`Emulator.add_fault`) answers chosen calls of an operation with an AWS
  error: after ``after`` calls go through, the next ``times`` fail (``dynamodb:PutItem`` with
  ``ProvisionedThroughputExceededException``: the write lands nowhere). The HTTP status is the one
  the service's model gives the error, else 400.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse

from ._patching import PatchSet
from .control import control


class Throttled(ServiceException):
    code = "ThrottlingException"
    message = "Rate exceeded"


class _Buckets:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[
            tuple[str, str, str], tuple[float, float]
        ] = {}  # (operation, account, region) -> (tokens, at)
        self.throttled = 0

    def take(self, key: tuple[str, str, str], rate: float) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, at = self._state.get(key, (rate, now))
            tokens = min(rate, tokens + (now - at) * rate)
            if tokens < 1:
                self._state[key] = (tokens, now)
                self.throttled += 1
                return False
            self._state[key] = (tokens - 1, now)
            return True

    def clear(self) -> None:
        with self._lock:
            self._state.clear()
            self.throttled = 0


buckets = _Buckets()


def _wrap_dispatch(original: Callable[..., Any]) -> Callable[..., Any]:
    def _dispatch(
        self: BaseResponse, request: Any, full_url: str | None = None, headers: Any = None
    ) -> Any:
        delay = control.latency.total_seconds()
        if delay > 0:
            time.sleep(delay)
        if control.rate_limits or control.faults:
            self.setup_class(request, full_url, headers)
            operation = f"{self.service_name}:{self._get_action()}"
            fault = control.take_fault(operation) if control.faults else None
            if fault is not None:
                injected = type(
                    "InjectedFault",
                    (ServiceException,),
                    {"code": fault.error, "message": fault.message},
                )
                return self.serialized(ActionResult(injected()))
            rate = control.rate_limits.get(operation)
            if rate is not None and not buckets.take(
                (operation, self.current_account, self.region), rate
            ):
                return self.serialized(ActionResult(Throttled()))
        return original(self, request, full_url, headers)

    return _dispatch


def install(patches: PatchSet) -> None:
    patches.set(
        BaseResponse, "_dispatch", _wrap_dispatch(BaseResponse._dispatch)
    )  # every service's requests pass here
