"""Local AWS emulator: moto plus the SageMaker hosting parts moto lacks.

moto 5.2 has no inference components, rejects current GPU instance types, refuses the
``sagemaker:inference-component:DesiredCopyCount`` scalable dimension and puts endpoints
in service instantly. :func:`install_extensions` patches moto (reversibly, idempotently)
so the controller can be exercised end to end, in-process::

    from datetime import timedelta
    from sagescale.emulator import ManualClock, emulated_aws

    with emulated_aws() as emulator:
        emulator.update_delay = timedelta(minutes=2)
        emulator.set_clock(clock := ManualClock(start))
        ...  # boto3 clients work as usual; statuses move when the clock does

or over HTTP (``start_server``), in this process, with the same control object.

Importing this package imports neither moto nor boto3; they load when first used.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from .control import Clock, Emulator, ManualClock, control

if TYPE_CHECKING:
    from ._patching import PatchSet
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
    "start_server",
    "uninstall_extensions",
]

_install_lock = threading.Lock()
_patches: PatchSet | None = None


def install_extensions() -> Emulator:
    """Patch moto with the SageMaker and Application Auto Scaling extensions.

    Idempotent and safe to call from several threads; returns :data:`control`.
    """
    global _patches
    with _install_lock:
        if _patches is None:
            from . import autoscaling_ext, sagemaker_ext
            from ._patching import PatchSet

            patches = PatchSet()
            try:
                sagemaker_ext.install(patches)
                autoscaling_ext.install(patches)
            except BaseException:
                patches.undo()
                raise
            _patches = patches
    return control


def uninstall_extensions() -> None:
    """Undo :func:`install_extensions`, restoring moto's original behaviour."""
    global _patches
    with _install_lock:
        if _patches is not None:
            _patches.undo()
            _patches = None


@contextmanager
def emulated_aws(
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
