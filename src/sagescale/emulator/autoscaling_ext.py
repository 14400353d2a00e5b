"""Application Auto Scaling for SageMaker, as AWS behaves and moto 5.2.5 does not.

* Every namespace and scalable dimension in botocore's model is accepted: moto validates
  against two hand-written enums that lack, among others,
  ``sagemaker:inference-component:DesiredCopyCount``. (moto's resource id parser already
  reads ``inference-component/<name>`` as resource type ``inference-component``.)
* ``RegisterScalableTarget`` refuses a SageMaker component or variant that does not exist
  (moto checks only ECS services), and moves an active (``InService``) resource's capacity
  into ``[MinCapacity, MaxCapacity]`` with the same SageMaker write the resource's owner
  would make, so it goes through ``Updating`` like any other change.
* A target-tracking policy on a SageMaker target creates its two CloudWatch alarms,
  ``TargetTracking-<resource id>-AlarmHigh-<uuid>`` and ``...-AlarmLow-<uuid>`` (the names
  AWS gives them), returned in ``PutScalingPolicy``'s ``Alarms``; replacing or deleting the
  policy, or deregistering its target, deletes them. (moto does this for DynamoDB and ECS.)
* ``PutScalingPolicy`` needs a registered scalable target (``ObjectNotFoundException``).
* ``RoleARN`` defaults to the service-linked role; deregistering deletes the target's
  policies.
* Responses leave out members that have no value (moto sends ``"NextToken": null`` and
  ``"SuspendedState": null``); ``SuspendedState`` is reported in full, all ``false`` unless
  set, as AWS does; ``DescribeScalableTargets`` pages correctly past its second page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

import moto.applicationautoscaling.models as aas_models
import moto.applicationautoscaling.responses as aas_responses
from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.core.exceptions import JsonRESTError
from moto.moto_api._internal import mock_random
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends
from moto.utilities.utils import get_partition

from . import sagemaker_ext
from ._patching import PatchSet
from ._service_model import enum_values
from .control import control

SERVICE = "application-autoscaling"
IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


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


# -- the SageMaker resource behind a scalable target --------------------------------------


@dataclass(frozen=True)
class SageMakerResource:
    """What a SageMaker ``ResourceId`` names: a component, or an endpoint's variant."""

    kind: Literal["inference-component", "variant"]
    name: str
    variant: str | None = None

    @classmethod
    def parse(cls, resource_id: str) -> SageMakerResource | None:
        """``inference-component/<ic>`` or ``endpoint/<ep>/variant/<v>``; else ``None``."""
        parts = resource_id.split("/")
        if len(parts) == 2 and parts[0] == "inference-component" and parts[1]:
            return cls("inference-component", parts[1])
        if len(parts) == 4 and parts[0] == "endpoint" and parts[2] == "variant":
            return cls("variant", parts[1], parts[3])
        return None


def _sagemaker_backend(backend: aas_models.ApplicationAutoscalingBackend) -> SageMakerModelBackend:
    sagemaker: SageMakerModelBackend = sagemaker_backends[backend.account_id][backend.region_name]
    sagemaker_ext.settle_backend(sagemaker)
    return sagemaker


def check_resource_exists(
    backend: aas_models.ApplicationAutoscalingBackend, namespace: str, resource_id: str
) -> None:
    """Refuse a scalable target whose SageMaker resource does not exist.

    AWS answers with a ``ValidationException``; the message wording is the emulator's
    (modelled on moto's own for ECS services), as AWS's exact text is not documented.
    """
    resource = SageMakerResource.parse(resource_id) if namespace == "sagemaker" else None
    if resource is None:
        return
    sagemaker = _sagemaker_backend(backend)
    if resource.kind == "inference-component":
        if resource.name not in sagemaker_ext.inference_components(sagemaker):
            raise AWSValidationException(
                f"SageMaker inference component doesn't exist: {resource_id}"
            )
        return
    endpoint = sagemaker.endpoints.get(resource.name)
    variants = [] if endpoint is None else [v["VariantName"] for v in endpoint.production_variants]
    if resource.variant not in variants:
        raise AWSValidationException(f"SageMaker endpoint variant doesn't exist: {resource_id}")


def enforce_capacity_range(
    backend: aas_models.ApplicationAutoscalingBackend, target: aas_models.FakeScalableTarget
) -> None:
    """Move an active resource's capacity into the target's range, as AWS does.

    ``RegisterScalableTarget``: "If the specified resource is not active in the target
    service, this operation does not change the resource's current capacity. Otherwise, it
    changes the resource's current capacity to a value that is inside of this range."
    """
    resource = SageMakerResource.parse(target.resource_id)
    if target.service_namespace != "sagemaker" or resource is None:
        return
    sagemaker = _sagemaker_backend(backend)
    if resource.kind == "inference-component":
        if target.scalable_dimension != IC_DIMENSION:
            return
        component = sagemaker_ext.inference_components(sagemaker).get(resource.name)
        if component is None or component.status != "InService":
            return
        current = component.desired_copy_count
        wanted = _clamp(current, target)
        if current is not None and wanted != current:
            sagemaker_ext.update_inference_component_runtime_config(
                sagemaker, resource.name, {"CopyCount": wanted}
            )
        return
    if target.scalable_dimension != VARIANT_DIMENSION:
        return
    endpoint = sagemaker.endpoints.get(resource.name)
    if endpoint is None or endpoint.endpoint_status != "InService":
        return
    variant = next(v for v in endpoint.production_variants if v["VariantName"] == resource.variant)
    current = variant.get("DesiredInstanceCount")
    wanted = _clamp(current, target)
    if current is not None and wanted != current:
        sagemaker_ext.update_endpoint_weights_and_capacities(
            sagemaker,
            resource.name,
            [{"VariantName": resource.variant, "DesiredInstanceCount": wanted}],
        )


def _clamp(value: int | None, target: aas_models.FakeScalableTarget) -> int | None:
    if value is None:
        return None
    if target.min_capacity is not None:
        value = max(value, int(target.min_capacity))
    if target.max_capacity is not None:
        value = min(value, int(target.max_capacity))
    return value


# -- target-tracking alarms ------------------------------------------------------------------

_PREDEFINED_METRICS: dict[str, tuple[str, str]] = {
    # predefined metric type: (AWS/SageMaker metric, statistic)
    "SageMakerVariantInvocationsPerInstance": ("InvocationsPerInstance", "Sum"),
    "SageMakerInferenceComponentInvocationsPerCopy": ("InvocationsPerCopy", "Sum"),
    "SageMakerVariantConcurrentRequestsPerModelHighResolution": (
        "ConcurrentRequestsPerModel",
        "Maximum",
    ),
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": (
        "ConcurrentRequestsPerCopy",
        "Maximum",
    ),
    "SageMakerVariantProvisionedConcurrencyUtilization": (
        "ServerlessProvisionedConcurrencyUtilization",
        "Average",
    ),
}


@dataclass(frozen=True)
class TrackedMetric:
    namespace: str
    name: str
    statistic: str
    dimensions: list[dict[str, str]]
    unit: str | None = None


def tracked_metric(resource: SageMakerResource, config: dict[str, Any]) -> TrackedMetric:
    """The metric a SageMaker target-tracking configuration keeps at its target value."""
    predefined = config.get("PredefinedMetricSpecification")
    if predefined is not None:
        kind = predefined["PredefinedMetricType"]
        name, statistic = _PREDEFINED_METRICS.get(kind, (kind, "Average"))
        if resource.kind == "inference-component":
            dimensions = [{"Name": "InferenceComponentName", "Value": resource.name}]
        else:
            dimensions = [
                {"Name": "EndpointName", "Value": resource.name},
                {"Name": "VariantName", "Value": str(resource.variant)},
            ]
        return TrackedMetric("AWS/SageMaker", name, statistic, dimensions)
    custom = config.get("CustomizedMetricSpecification") or {}
    if "MetricName" not in custom:
        # Metric math: alarm on the first metric it reads (an approximation).
        stat = next(q["MetricStat"] for q in custom.get("Metrics", []) if "MetricStat" in q)
        custom = {**stat["Metric"], "Statistic": stat["Stat"], "Unit": stat.get("Unit")}
    return TrackedMetric(
        custom["Namespace"],
        custom["MetricName"],
        custom.get("Statistic", "Average"),
        list(custom.get("Dimensions", [])),
        custom.get("Unit"),
    )


def _sagemaker_alarms(policy: aas_models.FakeApplicationAutoscalingPolicy) -> list[Any]:
    """AlarmHigh (3 of 3 one-minute periods above the target) and AlarmLow (15 of 15
    below 90 % of it), as target tracking creates them."""
    from moto.cloudwatch.models import cloudwatch_backends

    resource = SageMakerResource.parse(policy.resource_id)
    config = policy.target_tracking_scaling_policy_configuration
    if resource is None or not config:
        return []
    metric = tracked_metric(resource, config)
    target = float(config["TargetValue"])
    cloudwatch = cloudwatch_backends[policy.account_id][policy.region_name]
    action = f"{policy.policy_arn}:createdBy/{mock_random.uuid4()}"
    alarms = []
    for suffix, operator, periods, threshold in (
        ("AlarmHigh", "GreaterThanThreshold", 3, target),
        ("AlarmLow", "LessThanThreshold", 15, target * 0.9),
    ):
        alarms.append(
            cloudwatch.put_metric_alarm(
                name=f"TargetTracking-{policy.resource_id}-{suffix}-{mock_random.uuid4()}",
                namespace=metric.namespace,
                metric_name=metric.name,
                metric_data_queries=[],
                comparison_operator=operator,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                period=60,
                threshold=threshold,
                statistic=metric.statistic,
                unit=metric.unit,
                description=(f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}."),
                dimensions=metric.dimensions,
                alarm_actions=[action],
            )
        )
    return alarms


def _wrap_create_alarms(original: Callable[..., None]) -> Callable[..., None]:
    def create_alarms(self: aas_models.FakeApplicationAutoscalingPolicy) -> None:
        original(self)
        if self.policy_type == "TargetTrackingScaling" and self.service_namespace == "sagemaker":
            self.alarms.extend(_sagemaker_alarms(self))

    return create_alarms


def _delete_policy_alarms(policy: aas_models.FakeApplicationAutoscalingPolicy) -> None:
    policy.delete_alarms(policy.account_id, policy.region_name)


# -- patched backend methods ------------------------------------------------------------------


class ObjectNotFoundException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ObjectNotFoundException", message)


def _wrap_put_scaling_policy(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_scaling_policy(
        self: aas_models.ApplicationAutoscalingBackend,
        policy_name: str,
        service_namespace: str,
        resource_id: str,
        scalable_dimension: str,
        policy_body: dict[str, Any],
        policy_type: str | None,
    ) -> aas_models.FakeApplicationAutoscalingPolicy:
        """Needs a registered target; a replaced policy's alarms go with it."""
        if not self._scalable_target_exists(resource_id, scalable_dimension):
            raise ObjectNotFoundException(
                f"No scalable target registered for service namespace: {service_namespace}, "
                f"resource ID: {resource_id}, scalable dimension: {scalable_dimension}"
            )
        key = aas_models.FakeApplicationAutoscalingPolicy.formulate_key(
            service_namespace, resource_id, scalable_dimension, policy_name
        )
        replaced = self.policies.get(key)
        policy: aas_models.FakeApplicationAutoscalingPolicy = original(
            self,
            policy_name=policy_name,
            service_namespace=service_namespace,
            resource_id=resource_id,
            scalable_dimension=scalable_dimension,
            policy_body=policy_body,
            policy_type=policy_type,
        )
        if replaced is not None:
            _delete_policy_alarms(replaced)
        return policy

    return put_scaling_policy


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
        """Refuse missing SageMaker resources, default ``RoleARN`` to the service-linked
        role (it is required in ``DescribeScalableTargets`` output) and bring the
        resource's capacity into the new range, as AWS does."""
        with control.lock:
            aas_models._target_params_are_valid(namespace, r_id, dimension)
            check_resource_exists(self, namespace, r_id)
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
            enforce_capacity_range(self, target)
            return target

    return register_scalable_target


def _wrap_deregister_scalable_target(original: Callable[..., Any]) -> Callable[..., Any]:
    def deregister_scalable_target(self: Any, namespace: str, r_id: str, dimension: str) -> None:
        """As AWS does: deregistering a scalable target deletes its scaling policies (and
        their alarms) too."""
        original(self, namespace, r_id, dimension)
        prefix = f"{namespace}\t{r_id}\t{dimension}\t"
        for key in [k for k in self.policies if k.startswith(prefix)]:
            _delete_policy_alarms(self.policies.pop(key))

    return deregister_scalable_target


# -- responses ------------------------------------------------------------------------------

_SUSPENDED_STATE_MEMBERS = (
    "DynamicScalingInSuspended",
    "DynamicScalingOutSuspended",
    "ScheduledScalingSuspended",
)


def omit_nulls(value: Any) -> Any:
    """``value`` without ``None`` members at any depth (AWS leaves such members out)."""
    if isinstance(value, dict):
        return {key: omit_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [omit_nulls(item) for item in value]
    return value


def _build_target(target: aas_models.FakeScalableTarget) -> dict[str, Any]:
    """``ScalableTarget`` output: no ``null`` members; ``SuspendedState`` in full."""
    suspended = dict.fromkeys(_SUSPENDED_STATE_MEMBERS, False)
    suspended.update(target.suspended_state or {})  # type: ignore[arg-type]  # moto: str
    result: dict[str, Any] = omit_nulls(
        {
            "CreationTime": target.creation_time,
            "MaxCapacity": target.max_capacity,
            "MinCapacity": target.min_capacity,
            "ResourceId": target.resource_id,
            "RoleARN": target.role_arn,
            "ScalableDimension": target.scalable_dimension,
            "ServiceNamespace": target.service_namespace,
            "ScalableTargetARN": target.arn,
            "SuspendedState": suspended,
        }
    )
    return result


def _describe_scalable_targets(self: aas_responses.ApplicationAutoScalingResponse) -> str:
    """moto's handler, with a ``NextToken`` that is the next start index (moto's repeated
    the second page forever) and left out on the last page."""
    self._validate_params()
    targets = self.applicationautoscaling_backend.describe_scalable_targets(
        self._get_param("ServiceNamespace"),
        self._get_param("ResourceIds"),
        self._get_param("ScalableDimension"),
    )
    page_size = self._get_int_param("MaxResults") or 50
    start = int(self._get_param("NextToken") or 0)
    result: dict[str, Any] = {
        "ScalableTargets": [_build_target(t) for t in targets[start : start + page_size]]
    }
    if start + page_size < len(targets):
        result["NextToken"] = str(start + page_size)
    return json.dumps(result)


def _omitting_nulls(handler: Callable[[Any], str]) -> Callable[[Any], str]:
    def without_nulls(self: Any) -> str:
        return json.dumps(omit_nulls(json.loads(handler(self))))

    return without_nulls


_RESPONSE_ACTIONS_WITH_NULLS = (
    "describe_scaling_policies",
    "put_scaling_policy",
    "register_scalable_target",
    "describe_scheduled_actions",
)


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
    patches.set(backend, "put_scaling_policy", _wrap_put_scaling_policy(backend.put_scaling_policy))
    policy = aas_models.FakeApplicationAutoscalingPolicy
    patches.set(policy, "create_alarms", _wrap_create_alarms(policy.create_alarms))

    responses = aas_responses.ApplicationAutoScalingResponse
    patches.set(aas_responses, "_build_target", _build_target)
    patches.set(responses, "describe_scalable_targets", _describe_scalable_targets)
    for action in _RESPONSE_ACTIONS_WITH_NULLS:
        patches.set(responses, action, _omitting_nulls(getattr(responses, action)))


# -- executing policies when their alarms invoke them ---------------------------------------------

_ACTIVITY_ATTR = "sagescale_scaling_activity"


@dataclass
class _Activity:
    """When a scalable target last scaled, per direction, and to what (for cooldowns)."""

    last_out: Any = None
    last_out_to: int = 0
    last_in: Any = None


def _policy_by_arn(arn: str) -> aas_models.FakeApplicationAutoscalingPolicy | None:
    parts = arn.split(":")
    if len(parts) < 6:
        return None
    backend = aas_models.applicationautoscaling_backends[parts[4]][parts[3]]
    wanted = arn.split(":createdBy/")[0]
    return next((p for p in backend.policies.values() if p.policy_arn == wanted), None)


def _activity(backend: Any, resource_id: str) -> _Activity:
    if not hasattr(backend, _ACTIVITY_ATTR):
        setattr(backend, _ACTIVITY_ATTR, {})
    store: dict[str, _Activity] = getattr(backend, _ACTIVITY_ATTR)
    return store.setdefault(resource_id, _Activity())


def invoke_policy(alarm: Any, action_arn: str, now: Any) -> str:
    """What Application Auto Scaling does when ``alarm`` invokes the policy ``action_arn`` (CloudWatch
    invokes Auto Scaling actions once a minute while the alarm stays in ALARM). Returns what happened:
    ``scaled N->M``, or why nothing did (``blocked: Updating``, ``cooldown``, ``unchanged``).

    Only inference-component targets are executed. A resource that is not ``InService`` is not
    scaled ("auto scaling is blocked while the update operation is in progress"); the next
    invocation tries again. Target tracking: AlarmHigh scales out to ``ceil(invocations / target)``
    of the alarm's latest datapoint period, AlarmLow scales in to that of the busiest of the periods
    it evaluated; cooldowns per direction, a scale-out within its cooldown only if it asks for more
    than the one that started it. Step scaling: ``ChangeInCapacity`` of the step whose interval holds
    the breach, at most once per ``Cooldown`` (capacity added in the cooldown counts toward the next).
    """
    policy = _policy_by_arn(action_arn)
    if policy is None or policy.service_namespace != "sagemaker":
        return "no such policy"
    resource = SageMakerResource.parse(policy.resource_id)
    if resource is None or resource.kind != "inference-component":
        return "not emulated"
    backend = aas_models.applicationautoscaling_backends[policy.account_id][policy.region_name]
    target = backend.targets.get(policy.scalable_dimension, {}).get(policy.resource_id)
    if target is None:
        return "no scalable target"
    sagemaker = _sagemaker_backend(backend)
    component = sagemaker_ext.inference_components(sagemaker).get(resource.name)
    if component is None:
        return "no resource"
    if component.status != "InService":
        return f"blocked: {component.status}"
    desired = int(component.desired_copy_count or 0)
    activity = _activity(backend, policy.resource_id)
    limits = (int(target.min_capacity or 0), int(target.max_capacity or 0))
    if policy.policy_type == "TargetTrackingScaling":
        wanted, why = _target_tracking(policy, resource, alarm, desired, limits, activity, now)
    elif policy.policy_type == "StepScaling":
        wanted, why = _step(policy, desired, limits, activity, now)
    else:
        return "not emulated"
    if wanted is None:
        return why
    sagemaker_ext.update_inference_component_runtime_config(
        sagemaker, resource.name, {"CopyCount": wanted}
    )
    return f"scaled {desired}->{wanted}"


def _target_tracking(
    policy: Any,
    resource: SageMakerResource,
    alarm: Any,
    desired: int,
    limits: tuple[int, int],
    activity: _Activity,
    now: Any,
) -> tuple[int | None, str]:
    import math

    from moto.cloudwatch.models import cloudwatch_backends

    from . import cloudwatch_ext

    low, high = limits
    config = policy.target_tracking_scaling_policy_configuration or {}
    goal = float(config["TargetValue"])
    cw = cloudwatch_backends[policy.account_id][policy.region_name]
    period = int(alarm.period or 60)
    starts = sorted(
        getattr(alarm, cloudwatch_ext.EVALUATED_ATTR, [])
    )  # the periods of the evaluation that invokes the policy now
    key = cloudwatch_ext.metric_key(
        "AWS/SageMaker", "Invocations", [{"Name": "InferenceComponentName", "Value": resource.name}]
    )

    def load(start: int) -> float:
        return cloudwatch_ext.statistic(cw, key, start, period, "Sum") or 0.0

    if "-AlarmHigh-" in alarm.name:
        if not starts:
            return None, "no datapoint"
        wanted = min(max(math.ceil(load(starts[-1]) / goal - 1e-9), low), high)
        cooling = activity.last_out is not None and (
            now - activity.last_out
        ).total_seconds() < float(config.get("ScaleOutCooldown", 300))
        if wanted <= desired or (cooling and wanted <= activity.last_out_to):
            return None, "cooldown" if cooling else "unchanged"
        activity.last_out, activity.last_out_to = now, wanted
        return wanted, ""
    if config.get("DisableScaleIn"):
        return None, "scale-in disabled"
    busiest = max((load(s) for s in starts), default=0.0)
    wanted = min(max(math.ceil(busiest / goal - 1e-9), low), high)
    cooled = activity.last_in is None or (now - activity.last_in).total_seconds() >= float(
        config.get("ScaleInCooldown", 300)
    )
    if wanted >= desired or not cooled:
        return None, "unchanged" if cooled else "cooldown"
    activity.last_in = now
    return wanted, ""


def _step(
    policy: Any, desired: int, limits: tuple[int, int], activity: _Activity, now: Any
) -> tuple[int | None, str]:
    config = policy.step_scaling_policy_configuration or {}
    cooldown = float(config.get("Cooldown", 300))
    if activity.last_out is not None and (now - activity.last_out).total_seconds() < cooldown:
        return None, "cooldown"
    step: dict[str, Any] = next(iter(config.get("StepAdjustments") or []), {})
    wanted = min(max(desired + int(step.get("ScalingAdjustment", 0)), limits[0]), limits[1])
    if wanted == desired:
        return None, "unchanged"
    activity.last_out, activity.last_out_to = now, wanted
    return wanted, ""
