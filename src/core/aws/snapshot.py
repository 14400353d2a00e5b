"""Snapshot, teardown and restore of an endpoint: one module for parking and the janitor.

A snapshot holds what it takes to bring an endpoint back: its endpoint config, its models,
its tags, every inference component's specification, copy count and tags, the scalable
targets and scaling policies of its components and variants, and sagescale's own alarms.

Teardown follows the only order AWS accepts, and every step treats "already gone" as done,
so an interrupted teardown resumes where it stopped: own alarms -> deregister scalable
targets -> delete inference components and wait until gone -> delete the endpoint ->
(optionally) the endpoint config and models.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from core.aws.paging import pages
from core.aws.scaling import IC_DIMENSION, VARIANT_DIMENSION
from core.janitor import JANITOR_TAG
from core.policy import BURST_ALARM_PREFIX, WAKE_ALARM_PREFIX

SNAPSHOT_VERSION = 1
_CONFIG_READ_ONLY = ("EndpointConfigArn", "CreationTime", "ResponseMetadata")


class SnapshotError(RuntimeError):
    """A snapshot could not be taken or used; nothing was deleted."""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")).lower()


def is_gone(exc: ClientError) -> bool:
    """The resource does not exist (any of the ways the services say so)."""
    words = ("could not find", "not found", "does not exist", "no scalable target found")
    return _code(exc) in (
        "ResourceNotFound",
        "ResourceNotFoundException",
        "ObjectNotFoundException",
    ) or (_code(exc) == "ValidationException" and any(w in _message(exc) for w in words))


@dataclass
class Clients:
    """The clients a snapshot needs (any object with these attributes will do)."""

    sagemaker: Any
    autoscaling: Any
    cloudwatch: Any


def _create_spec(described: dict[str, Any]) -> dict[str, Any]:
    """CreateInferenceComponent's ``Specification`` from DescribeInferenceComponent's."""
    spec: dict[str, Any] = {}
    for key in (
        "ModelName",
        "StartupParameters",
        "ComputeResourceRequirements",
        "BaseInferenceComponentName",
    ):
        if described.get(key) is not None:
            spec[key] = described[key]
    container = described.get("Container")
    if container:
        out: dict[str, Any] = {}
        image = container.get("DeployedImage", {}).get("SpecifiedImage") or container.get("Image")
        if image:
            out["Image"] = image
        for key in ("ArtifactUrl", "Environment"):
            if container.get(key):
                out[key] = container[key]
        if out:
            spec["Container"] = out
    return spec


def capture(endpoint: str, clients: Clients, now: datetime) -> dict[str, Any]:
    """Everything needed to recreate ``endpoint``; raises ``SnapshotError`` if it cannot be read."""
    sm = clients.sagemaker
    try:
        ep = sm.describe_endpoint(EndpointName=endpoint)
        config = {
            k: v
            for k, v in sm.describe_endpoint_config(
                EndpointConfigName=ep["EndpointConfigName"]
            ).items()
            if k not in _CONFIG_READ_ONLY
        }
        tags = _user_tags(pages(sm.list_tags, "Tags", ResourceArn=ep["EndpointArn"]))
        components = []
        for summary in pages(
            sm.list_inference_components, "InferenceComponents", EndpointNameEquals=endpoint
        ):
            ic = sm.describe_inference_component(
                InferenceComponentName=summary["InferenceComponentName"]
            )
            components.append(
                {
                    "name": ic["InferenceComponentName"],
                    "variant": ic["VariantName"],
                    "specification": _create_spec(ic.get("Specification", {})),
                    "copies": ic.get("RuntimeConfig", {}).get("DesiredCopyCount", 1),
                    "tags": _user_tags(
                        pages(sm.list_tags, "Tags", ResourceArn=ic["InferenceComponentArn"])
                    ),
                }
            )
    except ClientError as exc:
        raise SnapshotError(f"cannot snapshot {endpoint}: {exc}") from exc
    resources = [(f"inference-component/{c['name']}", IC_DIMENSION) for c in components]
    resources += [
        (f"endpoint/{endpoint}/variant/{v['VariantName']}", VARIANT_DIMENSION)
        for v in config.get("ProductionVariants", [])
    ]
    scaling = _capture_scaling(clients.autoscaling, resources)
    names = {c["name"] for c in components}
    alarms = [
        {k: a[k] for k in _ALARM_FIELDS if a.get(k) not in (None, [])}
        for prefix in (WAKE_ALARM_PREFIX, BURST_ALARM_PREFIX)
        for a in pages(clients.cloudwatch.describe_alarms, "MetricAlarms", AlarmNamePrefix=prefix)
        if any(value in names | {endpoint} for value in _dimension_values(a))
    ]
    snapshot = {
        "version": SNAPSHOT_VERSION,
        "endpoint": endpoint,
        "endpoint_arn": ep["EndpointArn"],
        "taken_at": now.isoformat(),
        "endpoint_config": config,
        "tags": [t for t in tags if t["Key"] != JANITOR_TAG],
        "inference_components": components,
        "scalable_targets": scaling,
        "alarms": alarms,
    }
    snapshot["models"] = [_capture_model(sm, name) for name in snapshot_models(snapshot)]
    return snapshot


def _user_tags(tags: list[dict[str, str]]) -> list[dict[str, str]]:
    """Tags a create call may pass back: not AWS's own (``aws:`` keys are reserved)."""
    return [t for t in tags if not t["Key"].lower().startswith("aws:") and t["Key"] != JANITOR_TAG]


_MODEL_FIELDS = (
    "ModelName",
    "PrimaryContainer",
    "Containers",
    "InferenceExecutionConfig",
    "ExecutionRoleArn",
    "VpcConfig",
    "EnableNetworkIsolation",
)


def _capture_model(sagemaker: Any, name: str) -> dict[str, Any]:
    try:
        model = sagemaker.describe_model(ModelName=name)
    except ClientError as exc:
        raise SnapshotError(f"cannot snapshot model {name}: {exc}") from exc
    return {k: model[k] for k in _MODEL_FIELDS if model.get(k) not in (None, [], {})}


_ALARM_FIELDS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "Dimensions",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "Metrics",
)


def _dimension_values(alarm: Mapping[str, Any]) -> set[str]:
    """The dimension values an alarm watches: its own, or its metric-math alarm's metrics'."""
    dims = list(alarm.get("Dimensions", []))
    for metric in alarm.get("Metrics", []):
        dims += metric.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
    return {d["Value"] for d in dims}


def _capture_scaling(autoscaling: Any, resources: list[tuple[str, str]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not resources:
        return out
    wanted = dict(resources)
    ids = sorted(wanted)
    for i in range(0, len(ids), 50):
        for st in pages(
            autoscaling.describe_scalable_targets,
            "ScalableTargets",
            ServiceNamespace="sagemaker",
            ResourceIds=ids[i : i + 50],
        ):
            if wanted.get(st["ResourceId"]) != st["ScalableDimension"]:
                continue
            policies = pages(
                autoscaling.describe_scaling_policies,
                "ScalingPolicies",
                ServiceNamespace="sagemaker",
                ResourceId=st["ResourceId"],
                ScalableDimension=st["ScalableDimension"],
            )
            out.append(
                {
                    "resource_id": st["ResourceId"],
                    "dimension": st["ScalableDimension"],
                    "min": st["MinCapacity"],
                    "max": st["MaxCapacity"],
                    "policies": [
                        {
                            k: p[k]
                            for k in (
                                "PolicyName",
                                "PolicyType",
                                "StepScalingPolicyConfiguration",
                                "TargetTrackingScalingPolicyConfiguration",
                            )
                            if k in p
                        }
                        for p in policies
                    ],
                }
            )
    return out


# ---------------------------------------------------------------------------
# teardown


@dataclass
class Teardown:
    """What a teardown did, step by step, and whether it finished."""

    endpoint: str
    steps: list[str] = field(default_factory=list)
    finished: bool = False
    waiting_on: list[str] = field(default_factory=list)


def _ignore_gone(call: Callable[[], Any]) -> bool:
    """Run ``call``; ``False`` if the resource was already gone."""
    try:
        call()
    except ClientError as exc:
        if is_gone(exc):
            return False
        raise
    return True


def teardown(
    snapshot: dict[str, Any],
    clients: Clients,
    *,
    with_config_and_models: bool = False,
    deadline: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = 5.0,
) -> Teardown:
    """Delete the endpoint of ``snapshot`` in AWS's order; resumable. Stops early (unfinished) at ``deadline``."""
    endpoint = snapshot["endpoint"]
    sm, aas, cw = clients.sagemaker, clients.autoscaling, clients.cloudwatch
    done = Teardown(endpoint)
    alarm_names = [a["AlarmName"] for a in snapshot["alarms"]]
    if alarm_names and _ignore_gone(
        lambda: cw.delete_alarms(AlarmNames=alarm_names)
    ):  # resumed: they may be gone
        done.steps.append(f"deleted alarms {', '.join(alarm_names)}")
    for st in snapshot["scalable_targets"]:
        if _ignore_gone(
            partial(
                aas.deregister_scalable_target,
                ServiceNamespace="sagemaker",
                ResourceId=st["resource_id"],
                ScalableDimension=st["dimension"],
            )
        ):
            done.steps.append(f"deregistered scalable target {st['resource_id']}")
    components = [c["name"] for c in snapshot["inference_components"]]
    current = {
        c["InferenceComponentName"]
        for c in pages(
            sm.list_inference_components, "InferenceComponents", EndpointNameEquals=endpoint
        )
    }
    if current - set(components):
        raise SnapshotError(
            f"{endpoint} hosts {', '.join(sorted(current - set(components)))}, which the snapshot does not hold: take a new one"
        )
    # adapters (a BaseInferenceComponentName) go before their base
    components.sort(
        key=lambda n: (
            not any(
                c["name"] == n and c["specification"].get("BaseInferenceComponentName")
                for c in snapshot["inference_components"]
            )
        )
    )
    done.waiting_on = _delete_components(sm, components, done.steps, deadline, sleep, poll_seconds)
    if done.waiting_on:
        return done
    if _ignore_gone(lambda: sm.delete_endpoint(EndpointName=endpoint)):
        done.steps.append(f"deleted endpoint {endpoint}")
    if with_config_and_models:
        _delete_config_and_models(sm, snapshot, done.steps)
    done.finished = True
    return done


def _delete_components(
    sm: Any,
    components: list[str],
    steps: list[str],
    deadline: Callable[[], bool],
    sleep: Callable[[float], None],
    poll_seconds: float,
) -> list[str]:
    """Delete the inference components and wait until they are gone; returns those still there at ``deadline``."""
    for name in components:
        try:
            if _ignore_gone(partial(sm.delete_inference_component, InferenceComponentName=name)):
                steps.append(f"deleting inference component {name}")
        except ClientError as exc:  # already being deleted: wait for it like the others
            if "delete_in_progress" not in _message(
                exc
            ) and "already being deleted" not in _message(exc):
                raise
    remaining = list(components)
    while remaining:
        remaining = [
            n
            for n in remaining
            if _exists(partial(sm.describe_inference_component, InferenceComponentName=n))
        ]
        if not remaining:
            break
        if deadline():
            return remaining
        sleep(poll_seconds)
    if components:
        steps.append(f"inference components gone: {', '.join(components)}")
    return []


def _delete_config_and_models(sm: Any, snapshot: dict[str, Any], steps: list[str]) -> None:
    config = snapshot["endpoint_config"]
    if _ignore_gone(
        partial(sm.delete_endpoint_config, EndpointConfigName=config["EndpointConfigName"])
    ):
        steps.append(f"deleted endpoint config {config['EndpointConfigName']}")
    for model in snapshot_models(snapshot):
        if _ignore_gone(partial(sm.delete_model, ModelName=model)):
            steps.append(f"deleted model {model}")


def snapshot_models(snapshot: dict[str, Any]) -> list[str]:
    """Models the endpoint uses: its variants' and its inference components'."""
    names = [
        v["ModelName"]
        for v in snapshot["endpoint_config"].get("ProductionVariants", [])
        if v.get("ModelName")
    ]
    names += [
        c["specification"]["ModelName"]
        for c in snapshot["inference_components"]
        if c["specification"].get("ModelName")
    ]
    return list(dict.fromkeys(names))


def _exists(describe: Callable[[], Any]) -> bool:
    try:
        describe()
    except ClientError as exc:
        if is_gone(exc):
            return False
        raise
    return True


def leftovers(
    snapshot: dict[str, Any], clients: Clients, *, with_config_and_models: bool
) -> list[str]:
    """What of the endpoint is still there after a teardown (what should be gone)."""
    sm, aas, cw = clients.sagemaker, clients.autoscaling, clients.cloudwatch
    endpoint = snapshot["endpoint"]
    left: list[str] = []
    if _exists(lambda: sm.describe_endpoint(EndpointName=endpoint)):
        left.append(f"endpoint {endpoint}")
    left += [
        f"inference component {c['InferenceComponentName']}"
        for c in pages(
            sm.list_inference_components, "InferenceComponents", EndpointNameEquals=endpoint
        )
    ]
    ids = [st["resource_id"] for st in snapshot["scalable_targets"]]
    ids += [f"inference-component/{c['name']}" for c in snapshot["inference_components"]]
    if ids:
        for st in pages(
            aas.describe_scalable_targets,
            "ScalableTargets",
            ServiceNamespace="sagemaker",
            ResourceIds=sorted(set(ids))[:50],
        ):
            left.append(f"scalable target {st['ResourceId']}")
        for rid in sorted(set(ids)):
            left += [
                f"scaling policy {p['PolicyName']} on {rid}"
                for p in pages(
                    aas.describe_scaling_policies,
                    "ScalingPolicies",
                    ServiceNamespace="sagemaker",
                    ResourceId=rid,
                )
            ]
    names = [a["AlarmName"] for a in snapshot["alarms"]]
    if names:
        left += [
            f"alarm {a['AlarmName']}"
            for a in cw.describe_alarms(AlarmNames=names).get("MetricAlarms", [])
        ]
    if with_config_and_models:
        config_name = snapshot["endpoint_config"]["EndpointConfigName"]
        if _exists(lambda: sm.describe_endpoint_config(EndpointConfigName=config_name)):
            left.append(f"endpoint config {config_name}")
        left += [
            f"model {m}"
            for m in snapshot_models(snapshot)
            if _exists(partial(sm.describe_model, ModelName=m))
        ]
    return left


# ---------------------------------------------------------------------------
# restore


def restore(
    snapshot: dict[str, Any],
    clients: Clients,
    *,
    wait: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = 15.0,
    timeout_seconds: float = 3600.0,
) -> list[str]:
    """Recreate the endpoint of ``snapshot``: models and config (if gone), endpoint, components, tags,
    then its scaling and alarms. With ``wait=False`` (an endpoint without inference components
    only) it returns once the endpoint is being created; ``restore_scaling`` finishes the job
    when it is InService."""
    sm = clients.sagemaker
    endpoint = snapshot["endpoint"]
    config = snapshot["endpoint_config"]
    steps: list[str] = []
    for model in snapshot.get("models", []):
        if not _exists(partial(sm.describe_model, ModelName=model["ModelName"])):
            sm.create_model(**model)
            steps.append(f"created model {model['ModelName']}")
    if not _exists(
        lambda: sm.describe_endpoint_config(EndpointConfigName=config["EndpointConfigName"])
    ):
        sm.create_endpoint_config(**config)
        steps.append(f"created endpoint config {config['EndpointConfigName']}")
    if _exists(lambda: sm.describe_endpoint(EndpointName=endpoint)):
        raise SnapshotError(
            f"endpoint {endpoint} exists; restore recreates only a deleted endpoint"
        )
    kwargs: dict[str, Any] = {
        "EndpointName": endpoint,
        "EndpointConfigName": config["EndpointConfigName"],
    }
    if snapshot["tags"]:
        kwargs["Tags"] = snapshot["tags"]
    sm.create_endpoint(**kwargs)
    steps.append(f"created endpoint {endpoint}")
    if not wait:
        if snapshot["inference_components"]:
            raise SnapshotError(f"{endpoint} hosts inference components: restore it with wait=True")
        return steps
    _wait(
        lambda: sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"],
        endpoint,
        sleep,
        poll_seconds,
        timeout_seconds,
    )
    for ic in sorted(
        snapshot["inference_components"],
        key=lambda c: bool(c["specification"].get("BaseInferenceComponentName")),
    ):
        create: dict[str, Any] = {
            "InferenceComponentName": ic["name"],
            "EndpointName": endpoint,
            "VariantName": ic["variant"],
            "Specification": ic["specification"],
            "RuntimeConfig": {"CopyCount": ic["copies"]},
        }
        if ic["tags"]:
            create["Tags"] = ic["tags"]
        sm.create_inference_component(**create)
        steps.append(f"created inference component {ic['name']} ({ic['copies']} copies)")
    for ic in snapshot["inference_components"]:
        _wait(partial(_ic_status, sm, ic["name"]), ic["name"], sleep, poll_seconds, timeout_seconds)
    return steps + restore_scaling(snapshot, clients)


def restore_scaling(snapshot: dict[str, Any], clients: Clients) -> list[str]:
    """Register the snapshot's scalable targets, put their policies, and its alarms (pointed at the new policies)."""
    aas, cw = clients.autoscaling, clients.cloudwatch
    steps: list[str] = []
    policy_arns: dict[str, str] = {}
    for st in snapshot["scalable_targets"]:
        aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=st["resource_id"],
            ScalableDimension=st["dimension"],
            MinCapacity=st["min"],
            MaxCapacity=st["max"],
        )
        steps.append(f"registered scalable target {st['resource_id']} ({st['min']}..{st['max']})")
        for policy in st["policies"]:
            arn = aas.put_scaling_policy(
                ServiceNamespace="sagemaker",
                ResourceId=st["resource_id"],
                ScalableDimension=st["dimension"],
                **policy,
            )["PolicyARN"]
            policy_arns[policy["PolicyName"]] = arn
            steps.append(f"put scaling policy {policy['PolicyName']}")
    for alarm in snapshot["alarms"]:
        definition = dict(alarm)
        definition["AlarmActions"] = [_remap(a, policy_arns) for a in alarm.get("AlarmActions", [])]
        cw.put_metric_alarm(**definition)
        steps.append(f"put alarm {alarm['AlarmName']}")
    return steps


def _ic_status(sagemaker: Any, name: str) -> str:
    return str(
        sagemaker.describe_inference_component(InferenceComponentName=name)[
            "InferenceComponentStatus"
        ]
    )


def _remap(action: str, policy_arns: dict[str, str]) -> str:
    """A scaling-policy action ARN of the old policy -> the recreated policy's ARN (matched by name)."""
    for name, arn in policy_arns.items():
        if action.endswith(f":policyName/{name}"):
            return arn
    return action


def _wait(
    status: Callable[[], str],
    what: str,
    sleep: Callable[[float], None],
    poll: float,
    timeout: float,
) -> None:
    waited = 0.0
    while True:
        current = status()
        if current == "InService":
            return
        if current in ("Failed", "OutOfService"):
            raise SnapshotError(f"{what} is {current} while restoring")
        if waited >= timeout:
            raise SnapshotError(f"{what} still {current} after {timeout:.0f} s")
        sleep(poll)
        waited += poll
