"""Application Auto Scaling: accept every namespace and scalable dimension AWS accepts.

moto validates ``ServiceNamespace`` and ``ScalableDimension`` against two hand-written
enums that lack, among others, ``sagemaker:inference-component:DesiredCopyCount``. We
swap both enums for ones that add the values listed in botocore's model. moto's resource
id parser already reads ``inference-component/<name>`` as resource type
``inference-component``, which is what the dimension names, so nothing else changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

import moto.applicationautoscaling.models as aas_models
import moto.applicationautoscaling.responses as aas_responses
from moto.utilities.utils import get_partition

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


_SERVICE_LINKED_ROLES = {
    "sagemaker": (
        "sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    ),
}


def service_linked_role_arn(account_id: str, region: str, namespace: str) -> str | None:
    """The role AWS records when ``RegisterScalableTarget`` is called without ``RoleARN``."""
    role = _SERVICE_LINKED_ROLES.get(namespace)
    if role is None:
        return None
    return f"arn:{get_partition(region)}:iam::{account_id}:role/aws-service-role/{role}"


def _wrap_register_scalable_target(original: Callable[..., Any]) -> Callable[..., Any]:
    def register_scalable_target(
        self: aas_models.ApplicationAutoscalingBackend,
        namespace: str,
        r_id: str,
        dimension: str,
        min_capacity: int | None,
        max_capacity: int | None,
        role_arn: str | None,
        suspended_state: Any,
    ) -> aas_models.FakeScalableTarget:
        """Default ``RoleARN`` to the service-linked role, as AWS does (it is required
        in ``DescribeScalableTargets`` output)."""
        if role_arn is None and not self._scalable_target_exists(r_id, dimension):
            role_arn = service_linked_role_arn(self.account_id, self.region_name, namespace)
        target: aas_models.FakeScalableTarget = original(
            self,
            namespace,
            r_id,
            dimension,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            role_arn=role_arn,
            suspended_state=suspended_state,
        )
        return target

    return register_scalable_target


def _wrap_deregister_scalable_target(original: Callable[..., Any]) -> Callable[..., Any]:
    def deregister_scalable_target(self: Any, namespace: str, r_id: str, dimension: str) -> None:
        """As AWS does: deregistering a scalable target deletes its scaling policies too."""
        original(self, namespace, r_id, dimension)
        prefix = f"{namespace}\t{r_id}\t{dimension}\t"
        for key in [k for k in self.policies if k.startswith(prefix)]:
            del self.policies[key]

    return deregister_scalable_target


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
    backend = aas_models.ApplicationAutoscalingBackend
    patches.set(
        backend,
        "register_scalable_target",
        _wrap_register_scalable_target(backend.register_scalable_target),
    )
    patches.set(
        backend,
        "deregister_scalable_target",
        _wrap_deregister_scalable_target(backend.deregister_scalable_target),
    )
