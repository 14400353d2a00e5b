"""Packing model: what a copy reserves, what an instance offers, how many copies fit."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from pydantic import Field, ValidationError

from core.policy import format_location
from core.sim.base import SimConfigError, SimModel


class CopyNeeds(SimModel):
    """What one copy of the model reserves on an instance (SageMaker ``ResourceRequirements``)."""

    copies: int = Field(
        default=4,
        ge=1,
        description="Copies deployed at creation (informational: the strategies set the count).",
    )
    num_accelerators: int = Field(default=4, ge=0, description="GPUs per copy.")
    num_cpus: float = Field(default=8, gt=0, description="vCPUs per copy.")
    memory: int = Field(default=5120, gt=0, description="Memory per copy in MB.")


class InstanceSpec(SimModel):
    """An instance type's resources."""

    accelerators: int = Field(ge=0)
    vcpus: int = Field(gt=0)
    memory_mb: int = Field(gt=0)
    accelerator: str = ""


@cache
def instance_table() -> dict[str, InstanceSpec]:
    """The shipped instance specifications (``core/data/instance_types.json``)."""
    data = json.loads(
        resources.files("core").joinpath("data/instance_types.json").read_text(encoding="utf-8")
    )
    return {k: InstanceSpec.model_validate(v) for k, v in data.items() if not k.startswith("_")}


def copies_per_instance(needs: CopyNeeds, spec: InstanceSpec) -> int:
    """How many copies fit on one instance: the tightest of GPUs, vCPUs and memory."""
    fits = [spec.vcpus / needs.num_cpus, spec.memory_mb / needs.memory]
    if needs.num_accelerators > 0:
        fits.append(spec.accelerators / needs.num_accelerators)
    return math.floor(min(fits) + 1e-9)


def needs_from_sdk(requirements: Any) -> CopyNeeds:
    """Per-copy needs from a sagemaker SDK ``ResourceRequirements`` (v2 or v3), duck-typed.

    Reads its ``requests`` mapping (``copies``, ``num_accelerators``, ``num_cpus``,
    ``memory`` in MB); the SDK itself is never imported here.
    """
    requests = getattr(requirements, "requests", None)
    if not isinstance(requests, Mapping):
        raise SimConfigError("ResourceRequirements without a 'requests' mapping")
    values: dict[str, Any] = {}
    for key in ("copies", "num_accelerators", "num_cpus", "memory"):
        if requests.get(key) is not None:
            values[key] = requests[key]
    try:
        return CopyNeeds.model_validate(values)
    except ValidationError as exc:
        raise SimConfigError(
            "; ".join(
                f"{format_location(tuple(e['loc']))}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
        ) from None
