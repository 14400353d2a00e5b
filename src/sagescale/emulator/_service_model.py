"""Enumerations and shapes read from botocore's service models.

Every list of allowed values the emulator checks against (instance types, scalable
dimensions, statuses) comes from here, so it follows the installed botocore instead
of a copy that goes stale.
"""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.model import ServiceModel


@cache
def service_model(service: str) -> ServiceModel:
    """The botocore service model of ``service`` (e.g. ``"sagemaker"``)."""
    return botocore.session.get_session().get_service_model(service)


@cache
def enum_values(service: str, shape_name: str) -> tuple[str, ...]:
    """The enum values of the string shape ``shape_name`` in ``service``'s model."""
    shape = service_model(service).shape_for(shape_name)
    values: list[str] = list(getattr(shape, "enum", None) or [])
    if not values:
        raise LookupError(f"{service} shape {shape_name!r} has no enum")
    return tuple(values)
