"""AWS adapter for scaling: read targets and their scalable targets, write counts or bounds.

Reads are batched (Application Auto Scaling takes 50 resource ids a call). A write
against a resource in progress is a deferral, not a failure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from core.aws.paging import pages
from core.decide import Decision, Observed, ScalableBounds
from core.instances import Instances
from core.policy import Target

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_sagemaker import SageMakerClient

log = logging.getLogger("sagescale.scaling")

IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
_IN_PROGRESS = ("in-progress", "in progress", "is in the process of")


_SDK_TIMESTAMP = re.compile(r"-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}(?=-|$)")


def model_family(name: str) -> str:
    """A name without the sagemaker SDK's timestamp (``-2026-12-01-09-30-00-000``, at the end or
    before a suffix): the models of one deployment's successive redeploys share it."""
    return _SDK_TIMESTAMP.sub("", name)


def newest(components: list[Mapping[str, Any]]) -> tuple[str, list[str], list[str]]:
    """The component to manage (the newest ``InService`` by ``CreationTime``, else the newest), the
    older ones, newest first, and, when two newest were created at the same instant, both."""

    def created(c: Mapping[str, Any]) -> Any:
        return c.get("CreationTime")

    serving = [
        c for c in components if c.get("InferenceComponentStatus") == "InService"
    ] or components
    latest = max(created(c) for c in serving)
    top = sorted(c["InferenceComponentName"] for c in serving if created(c) == latest)
    if len(top) > 1:
        return top[0], [], top
    chosen = top[0]
    older = [
        c["InferenceComponentName"]
        for c in sorted(components, key=created, reverse=True)
        if created(c) < latest
    ]  # a newer one still Creating is not
    return chosen, older, []


def component_name(target: Target) -> str:
    """The name of a target's inference component; its selector must have been resolved."""
    if target.component is None:
        raise ValueError(
            f"{target.resource}: resolve the component selector first (ScalingAdapter.resolve)"
        )
    return target.component


def scalable_dimension(target: Target) -> str:
    return IC_DIMENSION if target.inference_component is not None else VARIANT_DIMENSION


@dataclass(frozen=True)
class ApplyResult:
    outcome: Literal["applied", "deferred"]
    message: str = ""


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_not_found(exc: ClientError) -> bool:
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return _error_code(exc) in ("ValidationException", "ResourceNotFound") and (
        "could not find" in message or "not found" in message
    )


def is_in_progress(exc: ClientError) -> bool:
    """A write refused because the resource (or its scalable target) is being changed right now."""
    if _error_code(exc) == "ConcurrentUpdateException":  # Application Auto Scaling
        return True
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return _error_code(exc) == "ValidationException" and any(
        words in message for words in _IN_PROGRESS
    )


class ScalingAdapter:
    """Reads and writes the capacity of policy targets through SageMaker and Application Auto Scaling."""

    def __init__(
        self, sagemaker: SageMakerClient, autoscaling: ApplicationAutoScalingClient
    ) -> None:
        self.sagemaker = sagemaker
        self.autoscaling = autoscaling
        self.superseded: dict[str, list[str]] = {}
        """Per target resolved by its selector: the older components the newest supersedes."""

    # -- reads ---------------------------------------------------------------

    def scalable_targets(self, targets: Mapping[str, Target]) -> dict[str, ScalableBounds]:
        """Registered scalable targets by resource id (``inference-component/X``, ``endpoint/E/variant/V``)."""
        wanted = {t.resource: scalable_dimension(t) for t in targets.values()}
        ids = sorted(wanted)
        found: dict[str, ScalableBounds] = {}
        for i in range(0, len(ids), 50):
            for st in pages(
                self.autoscaling.describe_scalable_targets,
                "ScalableTargets",
                ServiceNamespace="sagemaker",
                ResourceIds=ids[i : i + 50],
            ):
                if wanted.get(st["ResourceId"]) == st["ScalableDimension"]:
                    found[st["ResourceId"]] = ScalableBounds(st["MinCapacity"], st["MaxCapacity"])
        return found

    def observe(self, target: Target, scalable: ScalableBounds | None) -> Observed:
        """The resource's status and counts as SageMaker reports them."""
        try:
            if target.resource_kind == "inference_component":
                ic = self.sagemaker.describe_inference_component(
                    InferenceComponentName=component_name(target)
                )
                runtime = ic.get("RuntimeConfig", {})
                return Observed(
                    exists=True,
                    status=ic.get("InferenceComponentStatus"),
                    failure_reason=ic.get("FailureReason"),
                    desired=runtime.get("DesiredCopyCount"),
                    current=runtime.get("CurrentCopyCount"),
                    scalable=scalable,
                    identity=f"{ic.get('InferenceComponentArn')}@{ic['CreationTime'].isoformat() if ic.get('CreationTime') else ''}",
                    host=(str(ic.get("EndpointName", "")), str(ic.get("VariantName", ""))),
                )
            ep = self.sagemaker.describe_endpoint(EndpointName=target.endpoint or "")
        except ClientError as exc:
            if _is_not_found(exc):
                return Observed(exists=False, scalable=scalable)
            raise
        variant = next(
            (
                v
                for v in ep.get("ProductionVariants", [])
                if v.get("VariantName") == target.variant_name
            ),
            None,
        )
        if variant is None:
            return Observed(exists=False, status=ep.get("EndpointStatus"), scalable=scalable)
        return Observed(
            exists=True,
            status=ep.get("EndpointStatus"),
            failure_reason=ep.get("FailureReason"),
            desired=variant.get("DesiredInstanceCount", variant.get("CurrentInstanceCount")),
            current=variant.get("CurrentInstanceCount"),
            scalable=scalable,
        )

    def instances(
        self, host: tuple[str, str], cache: dict[str, Instances | None] | None = None
    ) -> Instances | None:
        """The instances of an inference component's endpoint variant (``host``): their count,
        managed instance scaling and type; read once per endpoint into ``cache``. ``None`` when
        they cannot be read (logged: a warning is not worth failing a run)."""
        endpoint, variant = host
        if cache is not None and endpoint in cache:
            return cache[endpoint]
        found: Instances | None = None
        try:
            ep = self.sagemaker.describe_endpoint(EndpointName=endpoint)
            summary = next(
                (v for v in ep.get("ProductionVariants", []) if v.get("VariantName") == variant),
                None,
            )
            if summary is not None:
                config = self.sagemaker.describe_endpoint_config(
                    EndpointConfigName=ep["EndpointConfigName"]
                )
                spec: Mapping[str, Any] = next(
                    (
                        v
                        for v in config.get("ProductionVariants", [])
                        if v.get("VariantName") == variant
                    ),
                    {},
                )
                managed = (
                    summary.get("ManagedInstanceScaling")
                    or spec.get("ManagedInstanceScaling")
                    or {}
                )
                current = int(
                    summary.get("CurrentInstanceCount", spec.get("InitialInstanceCount", 0)) or 0
                )
                enabled = managed.get("Status") == "ENABLED"
                found = Instances(
                    endpoint,
                    variant,
                    spec.get("InstanceType"),
                    current,
                    enabled,
                    int(managed.get("MinInstanceCount", current)) if enabled else current,
                    int(managed.get("MaxInstanceCount", current)) if enabled else current,
                    config.get("ExecutionRoleArn"),
                )
        except (ClientError, BotoCoreError) as exc:
            log.warning("cannot read the instances of endpoint %s: %s", endpoint, exc)
        if cache is not None:
            cache[endpoint] = found
        return found

    def resolve(self, targets: Mapping[str, Target]) -> tuple[dict[str, Target], dict[str, str]]:
        """Targets with their component selectors resolved afresh (the others as they are), and
        the targets that could not be resolved with the reason.

        The sagemaker SDK adds a new, timestamped component on every redeploy and leaves the old
        one. Of the components a selector finds (those of its ``model``'s family, or all of them
        without ``model``) the newest ``InService`` one by ``CreationTime`` is managed (the newest
        of all while none is); the others are *superseded* (:attr:`superseded`): left alone,
        never scaled up, reported."""
        resolved: dict[str, Target] = {}
        problems: dict[str, str] = {}
        for name, target in targets.items():
            selector = target.selector
            self.superseded.pop(name, None)
            if selector is None:
                resolved[name] = target
                continue
            components = [
                c
                for c in pages(
                    self.sagemaker.list_inference_components,
                    "InferenceComponents",
                    EndpointNameEquals=selector.endpoint,
                )
                if c.get("InferenceComponentStatus") != "Deleting"
            ]
            if selector.model is not None:
                family = model_family(selector.model)
                components = [
                    c
                    for c in components
                    if model_family(
                        str(
                            self.sagemaker.describe_inference_component(
                                InferenceComponentName=c["InferenceComponentName"]
                            )
                            .get("Specification", {})
                            .get("ModelName", "")
                        )
                    )
                    == family
                ]
            of_model = f" of model {selector.model}" if selector.model else ""
            if not components:
                problems[name] = f"no inference component{of_model} on endpoint {selector.endpoint}"
                continue
            chosen, older, tie = newest(components)
            if tie:
                problems[name] = (
                    f"endpoint {selector.endpoint} hosts inference components{of_model} created at the same time: {', '.join(tie)}; "
                    f"name the one to manage: inference_component: {tie[0]}"
                )
                continue
            resolved[name] = target.resolved(chosen)
            if older:
                self.superseded[name] = older
        return resolved, problems

    # -- writes --------------------------------------------------------------

    def apply(self, target: Target, decision: Decision) -> ApplyResult:
        """Carry out a ``set_count`` or ``set_bounds`` decision; in-progress refusals are deferrals."""
        try:
            if decision.action == "set_bounds" and decision.scalable is not None:
                self.autoscaling.register_scalable_target(
                    ServiceNamespace="sagemaker",
                    ResourceId=target.resource,
                    ScalableDimension=scalable_dimension(target),  # type: ignore[arg-type]
                    MinCapacity=decision.scalable.min,
                    MaxCapacity=decision.scalable.max,
                )
            elif decision.action == "set_count" and decision.count is not None:
                self.set_count(target, decision.count)
            else:
                raise ValueError(f"nothing to apply for action {decision.action}")
        except ClientError as exc:
            if is_in_progress(exc):
                return ApplyResult(
                    "deferred", str(exc.response.get("Error", {}).get("Message", ""))
                )
            raise
        return ApplyResult("applied")

    def set_count(self, target: Target, count: int) -> None:
        if target.resource_kind == "inference_component":
            self.sagemaker.update_inference_component_runtime_config(
                InferenceComponentName=component_name(target),
                DesiredRuntimeConfig={"CopyCount": count},
            )
        else:
            self.sagemaker.update_endpoint_weights_and_capacities(
                EndpointName=target.endpoint or "",
                DesiredWeightsAndCapacities=[
                    {"VariantName": target.variant_name, "DesiredInstanceCount": count}
                ],
            )
