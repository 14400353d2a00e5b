"""Installing and removing the extensions on moto (the one place that knows all of them)."""

from __future__ import annotations

import threading

from ._patching import PatchSet
from .control import Emulator, control

_install_lock = threading.Lock()
_patches: PatchSet | None = None


def install_extensions() -> Emulator:
    """Patch moto with the SageMaker and Application Auto Scaling extensions.

    Idempotent and safe to call from several threads; returns :data:`control`.
    """
    global _patches
    with _install_lock:
        if _patches is None:
            from . import autoscaling_ext, cloudwatch_ext, network_ext, sagemaker_ext, sts_ext

            patches = PatchSet()
            try:
                sagemaker_ext.install(patches)
                autoscaling_ext.install(patches)
                cloudwatch_ext.install(patches)
                sts_ext.install(patches)
                network_ext.install(patches)
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
