"""The emulator's control surface: its clock, its update delay and failure injection.

State transitions of emulated resources (``Creating``/``Updating``/``Deleting`` →
final state) are evaluated lazily against :meth:`Emulator.now` whenever a SageMaker
request is handled. Nothing runs in the background, so a test or a scripted demo
moves time forward by swapping the clock, never by sleeping.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

Clock = Callable[[], datetime]


class ExtensionState(Protocol):
    """What an installed extension lets the control object do to its emulated resources.

    ``sagemaker_ext`` provides one and sets it as :attr:`Emulator.extension` when it is
    installed, so this module needs to import none of the extensions.
    """

    def fail_inference_component(
        self, name: str, reason: str, *, rollback: bool, region: str | None, account_id: str | None
    ) -> None: ...

    def fail_endpoint(
        self, name: str, reason: str, *, rollback: bool, region: str | None, account_id: str | None
    ) -> None: ...

    def settle(self) -> None:
        """Complete every transition that is due at the emulator clock."""

    def clear(self) -> None:
        """Finish changes in flight and forget the extension's own resources."""


def _system_clock() -> datetime:
    return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; pass it to :meth:`Emulator.set_clock`.

    >>> clock = ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    >>> clock.advance(timedelta(minutes=2))
    datetime.datetime(2026, 11, 27, 9, 2, tzinfo=datetime.timezone.utc)
    """

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start, "start")
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (timezone-aware); returns the new time."""
        with self._lock:
            self._now = _require_aware(when, "when")
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta``; returns the new time."""
        if delta < timedelta(0):
            raise ValueError("a ManualClock does not go backwards")
        with self._lock:
            self._now = self._now + delta
            return self._now


@dataclass
class Fault:
    """An injected failure: after ``after`` calls of ``operation`` (``service:Operation``, as
    ``dynamodb:UpdateItem``) go through, the next ``times`` answer with AWS error ``error``."""

    operation: str
    error: str
    times: int = 1
    after: int = 0
    message: str = "injected by the sagescale emulator"
    seen: int = 0
    injected: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "operation": self.operation,
            "error": self.error,
            "times": self.times,
            "after": self.after,
            "message": self.message,
            "seen": self.seen,
            "injected": self.injected,
        }


class Emulator:
    """Controls the SageMaker extensions: clock, update delay and injected failures.

    One instance, :data:`control`, is shared by the in-process mock and by servers
    started with :func:`sagescale.emulator.start_server` (they run in this process).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._clock: Clock = _system_clock
        self._update_delay = timedelta(0)
        self._latency = timedelta(0)
        self.startup: Any = None
        """A ``capacity.StartupModel``: copies placed on instances with start-up times (:mod:`.capacity`); ``None``: every change
        takes :attr:`update_delay` and all copies serve when it completes."""
        self.faults: list[Fault] = []
        """Failures injected into AWS operations (:meth:`add_fault`), in the order they were added."""
        self.rate_limits: dict[str, float] = {}
        """Requests per second per ``service:Operation`` in one account and region; above it, ThrottlingException."""
        self.extension: ExtensionState | None = None
        """The installed SageMaker extension's state (``None`` until it is installed)."""

    # -- time ---------------------------------------------------------------------------

    @property
    def update_delay(self) -> timedelta:
        """How long a create, update or delete stays in its transitional status.

        Applies to inference components (``Creating``/``Updating``/``Deleting``) and
        endpoints (``Creating``/``Updating``/``Deleting``). ``timedelta(0)`` (the default)
        completes every change within the request that made it.
        """
        return self._update_delay

    @update_delay.setter
    def update_delay(self, value: timedelta) -> None:
        if not isinstance(value, timedelta):
            raise TypeError("update_delay must be a datetime.timedelta")
        if value < timedelta(0):
            raise ValueError("update_delay must not be negative")
        self._update_delay = value

    @property
    def latency(self) -> timedelta:
        """Time added to every emulated request, whatever the service (default none)."""
        return self._latency

    @latency.setter
    def latency(self, value: timedelta) -> None:
        if not isinstance(value, timedelta) or value < timedelta(0):
            raise ValueError("latency must be a non-negative datetime.timedelta")
        self._latency = value

    def create_member_role(
        self, account_id: str, name: str, trusted_account: str, *, external_id: str | None = None
    ) -> str:
        """Create role ``name`` in account ``account_id`` trusting ``trusted_account`` (optionally
        only with ``external_id``), as member-role.yaml does; its ARN."""
        from moto.iam.models import iam_backends

        statement: dict[str, object] = {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{trusted_account}:root"},
            "Action": "sts:AssumeRole",
        }
        if external_id is not None:
            statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
        role = iam_backends[account_id]["aws"].create_role(
            role_name=name,
            assume_role_policy_document=json.dumps(
                {"Version": "2012-10-17", "Statement": [statement]}
            ),
            path="/",
            permissions_boundary=None,
            description="sagescale member role (emulated)",
            tags=[],
            max_session_duration="3600",
        )
        return str(role.arn)

    def set_clock(self, clock: Clock) -> None:
        """Use ``clock`` (returning timezone-aware datetimes) as the emulator's time."""
        if not callable(clock):
            raise TypeError("clock must be a callable returning a datetime")
        _require_aware(clock(), "clock()")
        self._clock = clock

    def reset_clock(self) -> None:
        """Go back to the system clock."""
        self._clock = _system_clock

    def now(self) -> datetime:
        """The emulator's current time (timezone-aware, UTC)."""
        return _require_aware(self._clock(), "clock()").astimezone(UTC)

    # -- failures -----------------------------------------------------------------------

    def fail_inference_component(
        self,
        name: str,
        reason: str,
        *,
        rollback: bool = False,
        region: str | None = None,
        account_id: str | None = None,
    ) -> None:
        """Make inference component ``name`` report ``FailureReason`` = ``reason``.

        By default it becomes ``Failed``. With ``rollback=True`` an update in
        progress is abandoned instead: the component returns to ``InService`` with its
        previous specification and copy count, and keeps the ``FailureReason``.
        ``region``/``account_id`` narrow the search when the name exists in several.
        """
        with self._lock:
            self._installed().fail_inference_component(
                name, reason, rollback=rollback, region=region, account_id=account_id
            )

    def fail_endpoint(
        self,
        name: str,
        reason: str,
        *,
        rollback: bool = False,
        region: str | None = None,
        account_id: str | None = None,
    ) -> None:
        """Make endpoint ``name`` report ``FailureReason`` = ``reason``.

        By default it becomes ``Failed``. With ``rollback=True`` an update in progress
        is rolled back the way AWS does it: the endpoint is ``InService`` again, its
        variants keep their current counts and weights (desired reverts to current), and
        ``DescribeEndpoint`` shows the ``FailureReason``.
        """
        with self._lock:
            self._installed().fail_endpoint(
                name, reason, rollback=rollback, region=region, account_id=account_id
            )

    # -- injected faults ----------------------------------------------------------------

    def add_fault(
        self,
        operation: str,
        error: str,
        *,
        times: int = 1,
        after: int = 0,
        message: str | None = None,
    ) -> Fault:
        """Fail ``times`` calls of ``operation`` (``service:Operation``) with AWS error ``error``,
        after letting ``after`` calls through; every account and region."""
        service, _, name = operation.partition(":")
        if not service or not name:
            raise ValueError(
                f"operation must be service:Operation (like dynamodb:UpdateItem), got {operation!r}"
            )
        if times < 1 or after < 0:
            raise ValueError("times must be at least 1 and after at least 0")
        if not error:
            raise ValueError("error must name an AWS error code, like ThrottlingException")
        fault = Fault(
            operation, error, times, after, message or "injected by the sagescale emulator"
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults = []

    def take_fault(self, operation: str) -> Fault | None:
        """The fault that answers this call of ``operation``, if one does (and count the call)."""
        with self._lock:
            for fault in self.faults:
                if fault.operation.lower() != operation.lower() or fault.injected >= fault.times:
                    continue
                fault.seen += 1
                if fault.seen > fault.after:
                    fault.injected += 1
                    return fault
                return None
        return None

    # -- housekeeping -------------------------------------------------------------------

    def settle(self) -> None:
        """Complete every transition that is due at :meth:`now` (reads do this too)."""
        with self._lock:
            if self.extension is not None:
                self.extension.settle()

    def reset(self) -> None:
        """Forget extension state: system clock, zero delay, no inference components.

        Endpoints, models and everything else moto keeps are left to moto's own reset
        (``moto.mock_aws`` resets on entry and exit).
        """
        with self._lock:
            self._clock = _system_clock
            self._update_delay = timedelta(0)
            self._latency = timedelta(0)
            self.rate_limits = {}
            self.faults = []
            self.startup = None
            if self.extension is not None:
                self.extension.clear()

    def _installed(self) -> ExtensionState:
        if self.extension is None:
            raise LookupError(
                "the SageMaker extensions are not installed (sagescale.emulator.install_extensions)"
            )
        return self.extension

    @property
    def lock(self) -> threading.RLock:
        """Serialises emulated SageMaker requests and control calls."""
        return self._lock


def _require_aware(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value


control = Emulator()
"""The process-wide emulator control object."""
