"""A local AWS for sagescale: moto 5.2 plus the SageMaker hosting parts moto lacks.

What it adds to moto
====================

* **Inference components**: ``Create``/``Describe``/``List`` (every filter, sorting,
  paging)/``Update``/``UpdateRuntimeConfig``/``DeleteInferenceComponent`` and tags, with
  ``RuntimeConfig.DesiredCopyCount``/``CurrentCopyCount`` as AWS reports them.
* **Lifecycle states**: endpoints and components stay ``Creating``/``Updating``/
  ``Deleting`` for :attr:`Emulator.update_delay` of *emulator* time; a write against one in
  progress fails with AWS's ``ValidationException`` ("Cannot update in-progress
  endpoint"); failures and rollbacks are injected on demand. Nothing runs in the
  background: a status moves when a request arrives after the clock has moved.
* **Instance types and variants**: every instance type in botocore's model, and
  ``ManagedInstanceScaling``/``RoutingConfig`` on variants.
* **Application Auto Scaling for SageMaker**: the
  ``sagemaker:inference-component:DesiredCopyCount`` dimension; registering a target for a
  component or variant that does not exist is refused; ``MinCapacity``/``MaxCapacity``
  are enforced on the resource (through its normal ``Updating``); target-tracking
  policies create and delete their ``TargetTracking-<resource>-AlarmHigh/AlarmLow-<uuid>``
  CloudWatch alarms; deregistering deletes a target's policies; ``PutScalingPolicy``
  needs a registered target.
* **Responses as AWS sends them**: no ``null`` members, nothing the output shape lacks.
  :mod:`sagescale.emulator.shapes` checks raw responses against botocore's output shapes;
  the test suite runs every scenario with that check on.

In-process
==========

::

    from datetime import UTC, datetime, timedelta
    import boto3
    from sagescale.emulator import ManualClock, mock

    clock = ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    with mock(update_delay=timedelta(minutes=2), clock=clock) as emulator:
        sm = boto3.client("sagemaker", region_name="us-east-1")
        ...                                   # create an endpoint and a component: Creating
        clock.advance(timedelta(minutes=2))   # ... now InService
        emulator.fail_inference_component("ic", "out of capacity")

``mock`` is ``moto.mock_aws()`` with the extensions installed and the control object
(:data:`control`) reset on entry and exit. ``emulated_aws`` is the same function.

Over HTTP
=========

``sagescale local`` (or :func:`start_server` in this process) serves every moto service
plus the extensions on one port; point any SDK at it with ``AWS_ENDPOINT_URL`` or
``endpoint_url``. Another process drives the clock, the delay and failures with
:class:`RemoteControl`::

    from sagescale.emulator import RemoteControl, start_server

    with start_server() as server:            # port 0: a free port
        remote = RemoteControl(server.url)
        remote.set_time(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
        remote.set_update_delay(timedelta(minutes=2))
        ...                                   # boto3.client(..., endpoint_url=server.url)
        remote.advance(timedelta(minutes=2))

Importing this package imports neither moto nor boto3; they load when first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from ._install import install_extensions, uninstall_extensions
from .control import Clock, Emulator, ManualClock, control

if TYPE_CHECKING:
    from .server import RemoteControl, RunningServer

__all__ = [
    "Clock",
    "Emulator",
    "ManualClock",
    "RemoteControl",
    "RunningServer",
    "control",
    "emulated_aws",
    "install_extensions",
    "mock",
    "start_server",
    "uninstall_extensions",
]


@contextmanager
def mock(
    *, update_delay: timedelta = timedelta(0), clock: Clock | None = None
) -> Iterator[Emulator]:
    """Install the extensions, enter ``moto.mock_aws()`` and yield :data:`control`.

    The control object starts from a clean state (``update_delay``, ``clock`` or the
    system clock, no inference components) and is reset again on exit.
    """
    from moto import mock_aws

    emulator = install_extensions()
    emulator.reset()
    emulator.update_delay = update_delay
    if clock is not None:
        emulator.set_clock(clock)
    try:
        with mock_aws():
            yield emulator
    finally:
        emulator.reset()


emulated_aws = mock
"""The former name of :func:`mock`, kept for existing callers."""


def start_server(port: int = 0, host: str = "127.0.0.1") -> RunningServer:
    """Start the emulator as an HTTP server in a background thread of this process.

    Returns a :class:`~sagescale.emulator.server.RunningServer` (``.url``, ``.stop()``,
    usable as a context manager). ``port=0`` picks a free port.
    """
    from .server import start_server as _start_server

    return _start_server(port=port, host=host)


def __getattr__(name: str) -> object:
    if name in {"RemoteControl", "RunningServer"}:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
