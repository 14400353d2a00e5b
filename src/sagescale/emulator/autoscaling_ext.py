"""Application Auto Scaling: accept every namespace and scalable dimension AWS accepts.

moto validates ``ServiceNamespace`` and ``ScalableDimension`` against two hand-written
enums that lack, among others, ``sagemaker:inference-component:DesiredCopyCount``. We
swap both enums for ones that add the values listed in botocore's model. moto's resource
id parser already reads ``inference-component/<name>`` as resource type
``inference-component``, which is what the dimension names, so nothing else changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum

import moto.applicationautoscaling.models as aas_models
import moto.applicationautoscaling.responses as aas_responses

from ._patching import PatchSet
from ._service_model import enum_values

SERVICE = "application-autoscaling"


def extended_enum(original: type[Enum], values: Iterable[str]) -> type[Enum]:
    """A copy of string enum ``original`` with ``values`` added as members."""
    members: dict[str, str] = {member.name: str(member.value) for member in original}
    known = set(members.values())
    for value in values:
        if value in known:
            continue
        name = re.sub(r"[^A-Za-z0-9]+", "_", value).strip("_").upper()
        while name in members:
            name += "_"
        members[name] = value
        known.add(value)
    extended = Enum(original.__name__, members)  # type: ignore[misc]
    extended.__module__ = original.__module__
    extended.__qualname__ = original.__qualname__
    return extended


def install(patches: PatchSet) -> None:
    """Replace moto's namespace and dimension enums with botocore-complete ones."""
    dimensions = extended_enum(
        aas_models.ScalableDimensionValueSet, enum_values(SERVICE, "ScalableDimension")
    )
    namespaces = extended_enum(
        aas_models.ServiceNamespaceValueSet, enum_values(SERVICE, "ServiceNamespace")
    )
    for module in (aas_models, aas_responses):
        patches.set(module, "ScalableDimensionValueSet", dimensions)
        patches.set(module, "ServiceNamespaceValueSet", namespaces)
