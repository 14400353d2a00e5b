"""Wake from zero: the CloudWatch alarm that fires on a target's first rejected request, and,
in bounds mode, the Application Auto Scaling step policy (+1) it triggers.

- inference component: ``AWS/SageMaker`` ``NoCapacityInvocationFailures`` by ``InferenceComponentName``;
- async endpoint: ``AWS/SageMaker`` ``HasBacklogWithoutCapacity`` by ``EndpointName``.
The alarm fires on one datapoint ``>= 1`` in one minute, and missing data is not breaching.
In direct mode it has no action: EventBridge routes its state change to the alarm function.
Reconcile keeps both in place; a run that finds them as they should be only reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from core.alarms import wake_alarm_name
from core.aws.scaling import component_name, scalable_dimension
from core.policy import Target

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient


def wake_alarm_definition(
    name: str, target: Target, action_arns: list[str], stack: str = ""
) -> dict[str, Any]:
    """``put_metric_alarm`` arguments of the wake alarm of target ``name``."""
    if target.resource_kind == "inference_component":
        metric, dimensions, statistic = (
            "NoCapacityInvocationFailures",
            [{"Name": "InferenceComponentName", "Value": component_name(target)}],
            "Sum",
        )
    else:
        metric, dimensions, statistic = (
            "HasBacklogWithoutCapacity",
            [{"Name": "EndpointName", "Value": target.endpoint or ""}],
            "Maximum",
        )
    return {
        "AlarmName": wake_alarm_name(name, stack),
        "AlarmDescription": f"sagescale: wake {target.resource} from zero on the first rejected request",
        "Namespace": "AWS/SageMaker",
        "MetricName": metric,
        "Dimensions": dimensions,
        "Statistic": statistic,
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "ActionsEnabled": True,
        "AlarmActions": action_arns,
    }


def wake_step_policy(name: str, target: Target, stack: str = "") -> dict[str, Any]:
    """``put_scaling_policy`` arguments of the +1 step policy the wake alarm triggers in bounds mode."""
    return {
        "PolicyName": wake_alarm_name(name, stack),
        "ServiceNamespace": "sagemaker",
        "ResourceId": target.resource,
        "ScalableDimension": scalable_dimension(target),
        "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": {
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
            "Cooldown": 60,
            "MetricAggregationType": "Maximum",
        },
    }


_COMPARED = (
    "Namespace",
    "MetricName",
    "Statistic",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "AlarmActions",
)


def _same_alarm(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    if any(existing.get(k) != wanted[k] for k in _COMPARED):
        return False
    dims = sorted((d["Name"], d["Value"]) for d in existing.get("Dimensions", []))
    return dims == sorted((d["Name"], d["Value"]) for d in wanted["Dimensions"])


def alarms_named(cloudwatch: CloudWatchClient, names: list[str]) -> dict[str, Mapping[str, Any]]:
    """The metric alarms of these names that exist, by name (100 names a call, as AWS allows)."""
    found: dict[str, Mapping[str, Any]] = {}
    for i in range(0, len(names), 100):
        for page in cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNames=names[i : i + 100], AlarmTypes=["MetricAlarm"]
        ):
            for alarm in page.get("MetricAlarms", []):
                found[alarm["AlarmName"]] = alarm
    return found


def keep_alarm(
    cloudwatch: CloudWatchClient,
    current: Mapping[str, Any] | None,
    definition: dict[str, Any],
    same: Callable[[Mapping[str, Any], Mapping[str, Any]], bool],
) -> str:
    """Put ``definition`` unless ``current`` is already ``same``: ``ok``, ``created`` or ``updated``."""
    if current is not None and same(current, definition):
        return "ok"
    cloudwatch.put_metric_alarm(**definition)
    return "created" if current is None else "updated"


class WakeAlarms:
    """Creates or repairs wake alarms and step policies; reads only when all is in place."""

    def __init__(
        self,
        cloudwatch: CloudWatchClient,
        autoscaling: ApplicationAutoScalingClient,
        stack: str = "",
    ) -> None:
        self.cloudwatch = cloudwatch
        self.autoscaling = autoscaling
        self.stack = stack  # the names carry the stack's name: two stacks never share an alarm

    def ensure(
        self, targets: Mapping[str, Target], modes: Mapping[str, Literal["bounds", "direct"]]
    ) -> dict[str, str]:
        """For every target with ``wake: true``: ``ok``, ``created`` or ``updated``."""
        wanted = {n: t for n, t in targets.items() if t.wake}
        if not wanted:
            return {}
        existing = alarms_named(self.cloudwatch, [wake_alarm_name(n, self.stack) for n in wanted])
        bounds_targets = [n for n in wanted if modes.get(n) == "bounds"]
        policies = self._policies([wake_alarm_name(n, self.stack) for n in bounds_targets])
        out: dict[str, str] = {}
        for name, target in wanted.items():
            actions: list[str] = []
            if name in bounds_targets:
                arn = policies.get(
                    (wake_alarm_name(name, self.stack), target.resource)
                )  # a redeployed component needs its own
                if arn is None:
                    arn = self.autoscaling.put_scaling_policy(
                        **wake_step_policy(name, target, self.stack)
                    )["PolicyARN"]
                actions = [arn]
            definition = wake_alarm_definition(name, target, actions, self.stack)
            out[name] = keep_alarm(
                self.cloudwatch, existing.get(definition["AlarmName"]), definition, _same_alarm
            )
        return out

    def _policies(self, names: list[str]) -> dict[tuple[str, str], str]:
        """Step policies by (name, resource id): a name is unique per resource only."""
        found: dict[tuple[str, str], str] = {}
        for i in range(0, len(names), 50):
            for page in self.autoscaling.get_paginator("describe_scaling_policies").paginate(
                ServiceNamespace="sagemaker", PolicyNames=names[i : i + 50]
            ):
                for policy in page.get("ScalingPolicies", []):
                    found[(policy["PolicyName"], policy["ResourceId"])] = policy["PolicyARN"]
        return found
