"""SageMaker hosting pieces moto 5.2 lacks, added to its backend and response classes.

* Inference components: Create/Describe/List/Update/UpdateRuntimeConfig/Delete, tags.
* Endpoint lifecycle: ``Creating``/``Updating``/``Deleting`` that last
  :attr:`~sagescale.emulator.control.Emulator.update_delay`; writes against an endpoint
  in progress fail like AWS's; ``UpdateEndpoint``; ``DeleteEndpoint`` refuses while
  inference components are attached.
* Production variants keep ``ManagedInstanceScaling`` and ``RoutingConfig``; every
  instance type in botocore's model is accepted.

Transitions are completed lazily: every SageMaker request first completes whatever is
due at the emulator clock (:func:`settle_backend`). Request and response shapes follow
botocore's ``sagemaker`` model; moto serialises responses through that model too.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from moto.core.resource_tagging import TaggedResource
from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import (
    Cluster,
    FakeEndpoint,
    FakeEndpointConfig,
    FakeSagemakerNotebookInstance,
    Model,
    ModelPackage,
    SageMakerModelBackend,
    sagemaker_backends,
)
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter
from moto.utilities.paginator import paginate

from . import capacity
from ._patching import PatchSet
from ._service_model import enum_values
from .control import control

SERVICE = "sagemaker"

ENDPOINT_IN_PROGRESS = frozenset(
    {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}
)
"""Endpoint statuses in which AWS answers writes with "Cannot update in-progress endpoint"."""

INFERENCE_COMPONENT_IN_PROGRESS = frozenset({"Creating", "Updating", "Deleting"})

Change = Literal["create", "update", "delete"]
_TRANSITIONAL_STATUS: dict[Change, str] = {
    "create": "Creating",
    "update": "Updating",
    "delete": "Deleting",
}

_PAGINATION = {
    "list_inference_components": {
        "input_token": "next_token",
        "limit_key": "max_results",
        "limit_default": 10,  # AWS's documented default
        "unique_attribute": "arn",
    }
}

_STORE_ATTR = "inference_components"
_ENDPOINT_CHANGES_ATTR = "endpoint_changes"
_PLACEMENTS_ATTR = "sagescale_placements"


# -- time ------------------------------------------------------------------------------


def _now() -> datetime:
    """The emulator clock as moto stores times: naive UTC."""
    return control.now().replace(tzinfo=None)


def _naive_utc(value: Any) -> datetime | None:
    """A request timestamp (datetime or epoch seconds) as naive UTC, like moto's times."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    if not isinstance(value, datetime):
        raise ValidationError(f"Invalid timestamp: {value!r}")
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


# -- the model ---------------------------------------------------------------------------


@dataclass
class PendingChange:
    """A create, update or delete that completes at ``done_at`` (naive UTC)."""

    kind: Change
    done_at: datetime
    previous_desired_copy_count: int | None = None
    specification: dict[str, Any] | None = None
    specifications: list[dict[str, Any]] | None = None


@dataclass
class EndpointChange:
    """An endpoint create, update or delete that completes at ``done_at`` (naive UTC)."""

    kind: Change
    done_at: datetime
    endpoint_config_name: str | None = None
    production_variants: list[dict[str, Any]] | None = None
    data_capture_config: dict[str, Any] | None = None


@dataclass
class FakeInferenceComponent:
    """One inference component, as ``DescribeInferenceComponent`` reports it."""

    name: str
    arn: str
    endpoint_name: str
    endpoint_arn: str
    variant_name: str
    specification: dict[str, Any] | None
    specifications: list[dict[str, Any]] | None
    desired_copy_count: int | None
    creation_time: datetime
    current_copy_count: int | None = None
    status: str = "Creating"
    failure_reason: str | None = None
    last_deployment_config: dict[str, Any] | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    pending: PendingChange | None = None
    last_modified_time: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.last_modified_time = self.creation_time
        if self.desired_copy_count is not None and self.current_copy_count is None:
            self.current_copy_count = 0

    def describe(self) -> dict[str, Any]:
        """The ``DescribeInferenceComponentOutput``."""
        out: dict[str, Any] = {
            "InferenceComponentName": self.name,
            "InferenceComponentArn": self.arn,
            "EndpointName": self.endpoint_name,
            "EndpointArn": self.endpoint_arn,
            "VariantName": self.variant_name,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "InferenceComponentStatus": self.status,
        }
        if self.failure_reason is not None:
            out["FailureReason"] = self.failure_reason
        if self.specification is not None:
            out["Specification"] = specification_summary(self.specification, self.creation_time)
        if self.specifications is not None:
            out["Specifications"] = [
                specification_summary(spec, self.creation_time) for spec in self.specifications
            ]
        if self.desired_copy_count is not None:
            out["RuntimeConfig"] = {
                "DesiredCopyCount": self.desired_copy_count,
                "CurrentCopyCount": self.current_copy_count or 0,
            }
        if self.last_deployment_config is not None:
            out["LastDeploymentConfig"] = self.last_deployment_config
        return out

    def summary(self) -> dict[str, Any]:
        """The ``InferenceComponentSummary`` used by ``ListInferenceComponents``."""
        return {
            "CreationTime": self.creation_time,
            "InferenceComponentArn": self.arn,
            "InferenceComponentName": self.name,
            "EndpointArn": self.endpoint_arn,
            "EndpointName": self.endpoint_name,
            "VariantName": self.variant_name,
            "InferenceComponentStatus": self.status,
            "LastModifiedTime": self.last_modified_time,
        }

    def base_component_names(self) -> set[str]:
        """Names of the base components this one (an adapter) is attached to."""
        specs = [self.specification] if self.specification else []
        specs += self.specifications or []
        return {s["BaseInferenceComponentName"] for s in specs if "BaseInferenceComponentName" in s}


def specification_summary(spec: dict[str, Any], resolved_at: datetime) -> dict[str, Any]:
    """``InferenceComponentSpecification`` → ``InferenceComponentSpecificationSummary``.

    The two differ only in the container: the summary reports the image as a
    ``DeployedImage`` (specified, resolved digest, resolution time).
    """
    summary = copy.deepcopy(spec)
    container = summary.pop("Container", None)
    if container is not None:
        container_summary = {
            key: container[key]
            for key in ("ArtifactUrl", "Environment", "ContainerMetricsConfig")
            if key in container
        }
        image = container.get("Image")
        if image is not None:
            container_summary["DeployedImage"] = {
                "SpecifiedImage": image,
                "ResolvedImage": _resolved_image(image),
                "ResolutionTime": resolved_at,
            }
        summary["Container"] = container_summary
    return summary


def _resolved_image(image: str) -> str:
    if "@" in image:
        return image
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    resolved = f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"
    return resolved if len(resolved) <= 255 else image


# -- per-backend state -------------------------------------------------------------------


def inference_components(backend: SageMakerModelBackend) -> dict[str, FakeInferenceComponent]:
    """The inference components of one account and region (created on first use).

    Kept in the backend's ``__dict__`` so that moto's own reset clears it.
    """
    store: dict[str, FakeInferenceComponent] = backend.__dict__.setdefault(_STORE_ATTR, {})
    return store


def endpoint_placements(backend: SageMakerModelBackend) -> dict[str, capacity.Placement]:
    """Copies on instances per endpoint, kept while :attr:`Emulator.startup` is set."""
    if not hasattr(backend, _PLACEMENTS_ATTR):
        setattr(backend, _PLACEMENTS_ATTR, {})
    placements: dict[str, capacity.Placement] = getattr(backend, _PLACEMENTS_ATTR)
    return placements


def _placement(
    backend: SageMakerModelBackend, component: FakeInferenceComponent
) -> capacity.Placement:
    """The placement of the component's endpoint; made on first use from what is there (the
    variant's instances, every component's serving copies on them, all up)."""
    placements = endpoint_placements(backend)
    placement = placements.get(component.endpoint_name)
    if placement is not None:
        return placement
    endpoint = _get_endpoint(backend, component.endpoint_name)
    variant = next(
        v for v in endpoint.production_variants if v["VariantName"] == component.variant_name
    )
    config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    configured = next(
        (
            v
            for v in (config.production_variants if config else [])
            if v["VariantName"] == component.variant_name
        ),
        {},
    )
    placement = capacity.variant_placement({**configured, **variant})
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    for _ in range(placement.min_instances if placement.managed else placement.max_instances):
        placement.new_instance(long_ago)
    adopt = capacity.StartupModel(timedelta(0), timedelta(0))
    for other in inference_components(backend).values():
        if other.endpoint_name != component.endpoint_name:
            continue
        placement.needs[other.name] = capacity.needs_of(other.specification)
        for _ in range(other.current_copy_count or 0):
            if placement.add(other.name, long_ago, adopt) is None and placement.unplaced.get(
                other.name
            ):
                placement.unplaced[other.name] -= (
                    1  # already serving: a copy is never taken away by adoption
                )
                instance = placement.new_instance(long_ago)
                instance.copies.append((other.name, long_ago))
    placements[component.endpoint_name] = placement
    return placement


def adopt_placements(backend: SageMakerModelBackend) -> None:
    """Place every component's serving copies on instances now (when :attr:`Emulator.startup` is
    turned on with components in place), so that they count as instances from here."""
    settle_backend(backend)
    for component in list(inference_components(backend).values()):
        _placement(backend, component)
    settle_backend(backend)


def endpoint_changes(backend: SageMakerModelBackend) -> dict[str, EndpointChange]:
    """Endpoint changes in progress, by endpoint name."""
    store: dict[str, EndpointChange] = backend.__dict__.setdefault(_ENDPOINT_CHANGES_ATTR, {})
    return store


def _all_backends() -> Iterator[SageMakerModelBackend]:
    for regions in list(sagemaker_backends.values()):
        yield from list(regions.values())


def settle_backend(backend: SageMakerModelBackend, *, force: bool = False) -> None:
    """Complete every change due at the emulator clock (all of them with ``force``)."""
    now = _now()
    components = inference_components(backend)
    placements = endpoint_placements(backend)
    model = startup_model()
    for name, component in list(components.items()):
        pending = component.pending
        placement = placements.get(component.endpoint_name)
        if placement is not None and component.desired_copy_count is not None:
            component.current_copy_count = placement.serving(name, now.replace(tzinfo=UTC))
        if pending is None or (pending.done_at > now and not force):
            continue
        if pending.kind == "delete":
            del components[name]
            if placement is not None:
                placement.drop(name, now.replace(tzinfo=UTC))
            continue
        _complete_inference_component_change(component, pending, placement is not None)
    if model is not None:
        _settle_placements(backend, placements, now.replace(tzinfo=UTC), model)

    changes = endpoint_changes(backend)
    for name, change in list(changes.items()):
        if change.done_at > now and not force:
            continue
        del changes[name]
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            continue
        if change.kind == "delete":
            del backend.endpoints[name]
            endpoint_placements(backend).pop(name, None)
            continue
        _complete_endpoint_change(endpoint, change)
        if (
            change.endpoint_config_name is not None
        ):  # a new config: new instances, placed afresh from what serves
            endpoint_placements(backend).pop(name, None)


def _settle_placements(
    backend: SageMakerModelBackend,
    placements: dict[str, capacity.Placement],
    now: datetime,
    model: capacity.StartupModel,
) -> None:
    """Release idle instances; ``DescribeEndpoint`` reports the instances each variant has."""
    for endpoint_name, placement in placements.items():
        placement.settle(now, model)
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is not None:
            for variant in endpoint.production_variants:
                variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"] = len(
                    placement.instances
                )


def _complete_inference_component_change(
    component: FakeInferenceComponent, pending: PendingChange, placed: bool = False
) -> None:
    component.pending = None
    if pending.specification is not None:
        component.specification = pending.specification
        component.specifications = None
    if pending.specifications is not None:
        component.specifications = pending.specifications
        component.specification = None
    if component.desired_copy_count is not None and not placed:
        component.current_copy_count = component.desired_copy_count
    component.status = "InService"
    component.failure_reason = None
    component.last_modified_time = pending.done_at


def _complete_endpoint_change(endpoint: FakeEndpoint, change: EndpointChange) -> None:
    if change.endpoint_config_name is not None:
        endpoint.endpoint_config_name = change.endpoint_config_name
    if change.production_variants is not None:
        endpoint.production_variants = change.production_variants
    if change.kind == "update":
        # None (no capture) is left out of DescribeEndpoint, as AWS does.
        endpoint.data_capture_config = change.data_capture_config  # type: ignore[assignment]
    for variant in endpoint.production_variants:
        for current, desired in (
            ("CurrentInstanceCount", "DesiredInstanceCount"),
            ("CurrentWeight", "DesiredWeight"),
            ("CurrentServerlessConfig", "DesiredServerlessConfig"),
        ):
            if desired in variant:
                variant[current] = copy.deepcopy(variant[desired])
    endpoint.endpoint_status = "InService"
    endpoint.failure_reason = None
    endpoint.last_modified_time = change.done_at


def settle_all(*, force: bool = False) -> None:
    """:func:`settle_backend` for every account and region in use."""
    for backend in _all_backends():
        settle_backend(backend, force=force)


def clear_extension_state() -> None:
    """Finish endpoint changes in flight and forget every inference component."""
    for backend in _all_backends():
        settle_backend(backend, force=True)
        inference_components(backend).clear()
        endpoint_placements(backend).clear()


def _schedule(component: FakeInferenceComponent, pending: PendingChange) -> None:
    component.pending = pending
    component.status = _TRANSITIONAL_STATUS[pending.kind]
    component.last_modified_time = _now()


def _schedule_endpoint(
    backend: SageMakerModelBackend, endpoint: FakeEndpoint, change: EndpointChange
) -> None:
    endpoint_changes(backend)[endpoint.endpoint_name] = change
    endpoint.endpoint_status = _TRANSITIONAL_STATUS[change.kind]
    endpoint.last_modified_time = _now()


def startup_model() -> capacity.StartupModel:
    """How copies and instances start: :attr:`Emulator.startup`, else every start and release
    takes the update delay (copies serve when the change completes, as before placement)."""
    model: capacity.StartupModel | None = control.startup
    if model is not None:
        return model
    delay = control.update_delay
    return capacity.StartupModel(
        copy_start=delay, instance_start=delay, scale_in=delay, instance_release=timedelta(0)
    )


def _done_at() -> datetime:
    return _now() + control.update_delay


# -- lookups and checks ------------------------------------------------------------------


def _component_arn(backend: SageMakerModelBackend, name: str) -> str:
    return arn_formatter("inference-component", name, backend.account_id, backend.region_name)


def get_inference_component(backend: SageMakerModelBackend, name: str) -> FakeInferenceComponent:
    """The component called ``name``, or AWS's "Could not find" ``ValidationException``."""
    component = inference_components(backend).get(name)
    if component is None:
        arn = _component_arn(backend, name)
        raise ValidationError(f'Could not find inference component "{arn}".')
    return component


def _get_endpoint(backend: SageMakerModelBackend, name: str) -> FakeEndpoint:
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(name, backend.account_id, backend.region_name)
        raise ValidationError(f'Could not find endpoint "{arn}".')
    return endpoint


def _check_endpoint_writable(endpoint: FakeEndpoint) -> None:
    if endpoint.endpoint_status in ENDPOINT_IN_PROGRESS:
        raise ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".')
    if endpoint.endpoint_status == "Failed":
        raise ValidationError(
            f'Cannot update endpoint "{endpoint.arn}" because it is in Failed status; '
            "delete it and create it again."
        )


def _check_component_writable(component: FakeInferenceComponent) -> None:
    if component.status in INFERENCE_COMPONENT_IN_PROGRESS:
        raise ValidationError(
            f'Cannot update in-progress inference component "{component.arn}" '
            f"(status {component.status})."
        )


def _check_specifications(
    backend: SageMakerModelBackend,
    specification: dict[str, Any] | None,
    specifications: list[dict[str, Any]] | None,
    *,
    required: bool,
) -> None:
    if specification is not None and specifications is not None:
        raise ValidationError("Specify either Specification or Specifications, not both.")
    specs = [specification] if specification is not None else list(specifications or [])
    if required and not specs:
        raise ValidationError("Either Specification or Specifications must be provided.")
    components = inference_components(backend)
    for spec in specs:
        model_name = spec.get("ModelName")
        if model_name is not None and model_name not in backend._models:
            arn = arn_formatter("model", model_name, backend.account_id, backend.region_name)
            raise ValidationError(f'Could not find model "{arn}".')
        base = spec.get("BaseInferenceComponentName")
        if base is not None and base not in components:
            raise ValidationError(
                f'Could not find inference component "{_component_arn(backend, base)}".'
            )


# -- inference component operations --------------------------------------------------------


def create_inference_component(
    backend: SageMakerModelBackend,
    inference_component_name: str,
    endpoint_name: str,
    variant_name: str | None = None,
    specification: dict[str, Any] | None = None,
    specifications: list[dict[str, Any]] | None = None,
    runtime_config: dict[str, Any] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> FakeInferenceComponent:
    """``CreateInferenceComponent``: ``Creating`` for the update delay, then ``InService``."""
    settle_backend(backend)
    components = inference_components(backend)
    arn = _component_arn(backend, inference_component_name)
    if inference_component_name in components:
        raise ValidationError(f'Cannot create already existing inference component "{arn}".')
    endpoint = _get_endpoint(backend, endpoint_name)
    if endpoint.endpoint_status in {"Deleting", "Failed"}:
        raise ValidationError(
            f'Cannot create inference component "{arn}" on endpoint "{endpoint.arn}" '
            f"in status {endpoint.endpoint_status}."
        )
    variant_names = [variant["VariantName"] for variant in endpoint.production_variants]
    if variant_name is None:
        if not variant_names:
            raise ValidationError(f'Endpoint "{endpoint.arn}" has no production variant.')
        variant_name = variant_names[0]
    elif variant_name not in variant_names:
        raise ValidationError(
            f'The variant name "{variant_name}" is not present within endpoint "{endpoint.arn}".'
        )
    _check_specifications(backend, specification, specifications, required=True)
    component = FakeInferenceComponent(
        name=inference_component_name,
        arn=arn,
        endpoint_name=endpoint.endpoint_name,
        endpoint_arn=endpoint.arn,
        variant_name=variant_name,
        specification=copy.deepcopy(specification),
        specifications=copy.deepcopy(specifications),
        desired_copy_count=None if runtime_config is None else int(runtime_config["CopyCount"]),
        creation_time=_now(),
        tags=list(tags or []),
    )
    components[inference_component_name] = component
    done_at = _done_at()
    if (
        component.desired_copy_count
    ):  # the copies are placed on the endpoint's instances as they start
        done_at = max(
            done_at,
            _place_copies(backend, component, 0, component.desired_copy_count, startup_model()),
        )
    _schedule(component, PendingChange("create", done_at))
    settle_backend(backend)
    return component


def describe_inference_component(
    backend: SageMakerModelBackend, inference_component_name: str
) -> dict[str, Any]:
    """``DescribeInferenceComponent``."""
    settle_backend(backend)
    return get_inference_component(backend, inference_component_name).describe()


@paginate(pagination_model=_PAGINATION)
def list_inference_components(
    backend: SageMakerModelBackend,
    sort_by: str | None = None,
    sort_order: str | None = None,
    name_contains: str | None = None,
    creation_time_before: datetime | None = None,
    creation_time_after: datetime | None = None,
    last_modified_time_before: datetime | None = None,
    last_modified_time_after: datetime | None = None,
    status_equals: str | None = None,
    endpoint_name_equals: str | None = None,
    variant_name_equals: str | None = None,
) -> list[FakeInferenceComponent]:
    """``ListInferenceComponents`` with every filter; paginated by moto's paginator."""
    settle_backend(backend)
    checks: list[Callable[[FakeInferenceComponent], bool]] = []
    if name_contains:
        checks.append(lambda c: name_contains in c.name)
    if status_equals:
        checks.append(lambda c: c.status == status_equals)
    if endpoint_name_equals:
        checks.append(lambda c: c.endpoint_name == endpoint_name_equals)
    if variant_name_equals:
        checks.append(lambda c: c.variant_name == variant_name_equals)
    created_before = _naive_utc(creation_time_before)
    created_after = _naive_utc(creation_time_after)
    modified_before = _naive_utc(last_modified_time_before)
    modified_after = _naive_utc(last_modified_time_after)
    if created_before is not None:
        checks.append(lambda c: c.creation_time < created_before)
    if created_after is not None:
        checks.append(lambda c: c.creation_time > created_after)
    if modified_before is not None:
        checks.append(lambda c: c.last_modified_time < modified_before)
    if modified_after is not None:
        checks.append(lambda c: c.last_modified_time > modified_after)
    components = [
        c for c in inference_components(backend).values() if all(check(c) for check in checks)
    ]
    sort_keys: dict[str, Callable[[FakeInferenceComponent], Any]] = {
        "Name": lambda c: c.name,
        "Status": lambda c: (c.status, c.name),
        "CreationTime": lambda c: (c.creation_time, c.name),
    }
    key = sort_keys.get(sort_by or "CreationTime", sort_keys["CreationTime"])
    return sorted(components, key=key, reverse=(sort_order or "Descending") == "Descending")


def update_inference_component(
    backend: SageMakerModelBackend,
    inference_component_name: str,
    specification: dict[str, Any] | None = None,
    specifications: list[dict[str, Any]] | None = None,
    runtime_config: dict[str, Any] | None = None,
    deployment_config: dict[str, Any] | None = None,
) -> FakeInferenceComponent:
    """``UpdateInferenceComponent``: ``Updating`` for the update delay, then applied."""
    settle_backend(backend)
    component = get_inference_component(backend, inference_component_name)
    if specification is None and specifications is None and runtime_config is None:
        raise ValidationError(
            "UpdateInferenceComponent needs a Specification, Specifications or RuntimeConfig."
        )
    _check_component_writable(component)
    _check_specifications(backend, specification, specifications, required=False)
    if deployment_config is not None:
        component.last_deployment_config = copy.deepcopy(deployment_config)
    _start_update(
        component,
        None if runtime_config is None else int(runtime_config["CopyCount"]),
        specification=copy.deepcopy(specification),
        specifications=copy.deepcopy(specifications),
        backend=backend,
    )
    settle_backend(backend)
    return component


def update_inference_component_runtime_config(
    backend: SageMakerModelBackend,
    inference_component_name: str,
    desired_runtime_config: dict[str, Any],
) -> FakeInferenceComponent:
    """``UpdateInferenceComponentRuntimeConfig``: a copy-count change."""
    settle_backend(backend)
    component = get_inference_component(backend, inference_component_name)
    _check_component_writable(component)
    _start_update(component, int(desired_runtime_config["CopyCount"]), backend=backend)
    settle_backend(backend)
    return component


def _place_copies(
    backend: SageMakerModelBackend,
    component: FakeInferenceComponent,
    before: int,
    after: int,
    model: capacity.StartupModel,
    specification: dict[str, Any] | None = None,
) -> datetime:
    """Add or remove copies on the endpoint's instances; when the change completes (naive UTC)."""
    placement = _placement(backend, component)
    if specification is not None:  # the new copies have the new specification's needs
        placement.needs[component.name] = capacity.needs_of(specification)
    placement.needs.setdefault(component.name, capacity.needs_of(component.specification))
    now = _now().replace(tzinfo=UTC)
    done = now
    for _ in range(after - before):
        ready = placement.add(component.name, now, model)
        if ready is not None:
            done = max(done, ready)
    if after < before:
        for _ in range(before - after):
            placement.remove(component.name, now)
        done = now + model.scale_in
    return done.replace(tzinfo=None)


def _start_update(
    component: FakeInferenceComponent,
    copy_count: int | None,
    *,
    specification: dict[str, Any] | None = None,
    specifications: list[dict[str, Any]] | None = None,
    backend: SageMakerModelBackend | None = None,
) -> None:
    previous = component.desired_copy_count
    done_at = _done_at()
    if copy_count is not None and backend is not None:
        done_at = max(
            done_at,
            _place_copies(
                backend, component, previous or 0, copy_count, startup_model(), specification
            ),
        )
    if copy_count is not None:
        component.desired_copy_count = copy_count
        if component.current_copy_count is None:
            component.current_copy_count = 0
    _schedule(
        component,
        PendingChange(
            "update",
            done_at,
            previous_desired_copy_count=previous,
            specification=specification,
            specifications=specifications,
        ),
    )


def delete_inference_component(
    backend: SageMakerModelBackend, inference_component_name: str
) -> None:
    """``DeleteInferenceComponent``: ``Deleting`` for the update delay, then gone."""
    settle_backend(backend)
    component = get_inference_component(backend, inference_component_name)
    if component.status == "Deleting":
        raise ValidationError(
            f'Inference component "{component.arn}" is already being deleted (DELETE_IN_PROGRESS).'
        )
    if component.status in INFERENCE_COMPONENT_IN_PROGRESS:
        raise ValidationError(
            f'Cannot delete in-progress inference component "{component.arn}" '
            f"(status {component.status})."
        )
    adapters = sorted(
        other.name
        for other in inference_components(backend).values()
        if component.name in other.base_component_names()
    )
    if adapters:
        raise ValidationError(
            f'Inference component "{component.arn}" is a base inference component for one or '
            f"more associated adapter inference components: {', '.join(adapters)}."
        )
    _schedule(component, PendingChange("delete", _done_at()))
    settle_backend(backend)


# -- endpoint operations (replacing or wrapping moto's) ------------------------------------


def create_endpoint(
    self: SageMakerModelBackend,
    endpoint_name: str,
    endpoint_config_name: str,
    tags: list[dict[str, str]] | None = None,
) -> FakeEndpoint:
    """``CreateEndpoint``: refuses an existing name; ``Creating`` for the update delay."""
    settle_backend(self)
    if endpoint_name in self.endpoints:
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(f'Cannot create already existing endpoint "{arn}".')
    config = self.endpoint_configs.get(endpoint_config_name)
    if config is None:
        arn = FakeEndpointConfig.arn_formatter(
            endpoint_config_name, self.account_id, self.region_name
        )
        raise ValidationError(f'Could not find endpoint configuration "{arn}".')
    endpoint = FakeEndpoint(  # type: ignore[abstract]  # moto's CloudFormationModel
        account_id=self.account_id,
        region_name=self.region_name,
        endpoint_name=endpoint_name,
        endpoint_config_name=endpoint_config_name,
        production_variants=config.production_variants,
        data_capture_config=data_capture_summary(config.data_capture_config),
        tags=tags or [],
    )
    endpoint.creation_time = endpoint.last_modified_time = _now()
    self.endpoints[endpoint_name] = endpoint
    _schedule_endpoint(self, endpoint, EndpointChange("create", _done_at()))
    settle_backend(self)
    return endpoint


def _endpoint_config_response_object(self: FakeEndpointConfig) -> dict[str, Any]:
    """moto's ``DescribeEndpointConfig`` output without its empty ``DataCaptureConfig``."""
    response = {
        key: value
        for key, value in self.gen_response_object().items()
        if value is not None and value != [None]
    }
    if not response.get("DataCaptureConfig"):
        response.pop("DataCaptureConfig", None)
    return response


def _wrap_model_response_object(
    original: Callable[[Model], dict[str, Any]],
) -> Callable[[Model], dict[str, Any]]:
    def response_object(self: Model) -> dict[str, Any]:
        """moto's ``DescribeModel`` output without its empty ``VpcConfig``: AWS leaves the
        member out when the model has no VPC (``Subnets`` and ``SecurityGroupIds`` are
        required inside it)."""
        response = original(self)
        if not response.get("VpcConfig"):
            response.pop("VpcConfig", None)
        return response

    return response_object


def _handle_list_models(self: SageMakerResponse) -> ActionResult:
    """``ListModels`` lists ``ModelSummary`` items (moto listed whole descriptions)."""
    models = self.sagemaker_backend.list_models()
    summaries = [
        {"ModelName": m.model_name, "ModelArn": m.arn, "CreationTime": m.creation_time}
        for m in models
    ]
    return ActionResult({"Models": summaries})


def update_endpoint_weights_and_capacities(
    self: SageMakerModelBackend,
    endpoint_name: str,
    desired_weights_and_capacities: list[dict[str, Any]],
) -> str:
    """``UpdateEndpointWeightsAndCapacities``: desired now, current when the update ends."""
    settle_backend(self)
    endpoint = _get_endpoint(self, endpoint_name)
    _check_endpoint_writable(endpoint)
    variants = {variant["VariantName"]: variant for variant in endpoint.production_variants}
    seen: set[str] = set()
    for request in desired_weights_and_capacities:
        name = request["VariantName"]
        if name in seen:
            raise ValidationError(f'The variant name "{name}" was non-unique within the request.')
        if name not in variants:
            raise ValidationError(
                f'The variant name(s) "{name}" is/are not present within endpoint configuration '
                f'"{endpoint.endpoint_config_name}".'
            )
        seen.add(name)
    for request in desired_weights_and_capacities:
        variant = variants[request["VariantName"]]
        if request.get("DesiredWeight") is not None:
            variant["DesiredWeight"] = float(request["DesiredWeight"])
        if request.get("DesiredInstanceCount") is not None:
            variant["DesiredInstanceCount"] = int(request["DesiredInstanceCount"])
    _schedule_endpoint(self, endpoint, EndpointChange("update", _done_at()))
    settle_backend(self)
    return endpoint.arn


def update_endpoint(
    self: SageMakerModelBackend,
    endpoint_name: str,
    endpoint_config_name: str,
    retain_all_variant_properties: bool = False,
    exclude_retained_variant_properties: list[dict[str, str]] | None = None,
    deployment_config: dict[str, Any] | None = None,
    retain_deployment_config: bool = False,
) -> str:
    """``UpdateEndpoint``: switch to another endpoint config after the update delay."""
    settle_backend(self)
    endpoint = _get_endpoint(self, endpoint_name)
    config = self.endpoint_configs.get(endpoint_config_name)
    if config is None:
        arn = FakeEndpointConfig.arn_formatter(
            endpoint_config_name, self.account_id, self.region_name
        )
        raise ValidationError(f'Could not find endpoint configuration "{arn}".')
    _check_endpoint_writable(endpoint)
    new_variants = endpoint._process_production_variants(config.production_variants)
    if retain_all_variant_properties:
        excluded = {p["VariantPropertyType"] for p in exclude_retained_variant_properties or []}
        old = {variant["VariantName"]: variant for variant in endpoint.production_variants}
        for variant in new_variants:
            previous = old.get(variant["VariantName"])
            if previous is None:
                continue
            for prop, keys in (
                ("DesiredInstanceCount", ("DesiredInstanceCount", "CurrentInstanceCount")),
                ("DesiredWeight", ("DesiredWeight", "CurrentWeight")),
            ):
                if prop not in excluded:
                    for key in keys:
                        if key in previous:
                            variant[key] = previous[key]
    # moto's FakeEndpoint reports every attribute it has; this one becomes
    # DescribeEndpoint's LastDeploymentConfig.
    if deployment_config is not None:
        setattr(endpoint, "last_deployment_config", copy.deepcopy(deployment_config))  # noqa: B010
    elif not retain_deployment_config:
        setattr(endpoint, "last_deployment_config", None)  # noqa: B010
    _schedule_endpoint(
        self,
        endpoint,
        EndpointChange(
            "update",
            _done_at(),
            endpoint_config_name=endpoint_config_name,
            production_variants=new_variants,
            data_capture_config=data_capture_summary(config.data_capture_config),
        ),
    )
    settle_backend(self)
    return endpoint.arn


def delete_endpoint(self: SageMakerModelBackend, endpoint_name: str) -> None:
    """``DeleteEndpoint``: refused while in progress or while components are attached."""
    settle_backend(self)
    endpoint = _get_endpoint(self, endpoint_name)
    if endpoint.endpoint_status in ENDPOINT_IN_PROGRESS:
        raise ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".')
    attached = sorted(
        c.name for c in inference_components(self).values() if c.endpoint_name == endpoint_name
    )
    if attached:
        raise ValidationError(
            f'Endpoint "{endpoint.arn}" has inference components attached '
            f"({', '.join(attached)}); delete them before deleting the endpoint."
        )
    _schedule_endpoint(self, endpoint, EndpointChange("delete", _done_at()))
    settle_backend(self)


def data_capture_summary(config: dict[str, Any] | None) -> Any:
    """Endpoint-config ``DataCaptureConfig`` → ``DataCaptureConfigSummary`` (or ``None``).

    moto reports the config's dict as is, ``{}`` when capture is off, which misses the
    summary's required members; AWS omits the member instead.
    """
    if not config or "DestinationS3Uri" not in config:
        return None
    enabled = bool(config.get("EnableCapture", True))
    return {
        "EnableCapture": enabled,
        "CaptureStatus": "Started" if enabled else "Stopped",
        "CurrentSamplingPercentage": config.get("InitialSamplingPercentage", 0),
        "DestinationS3Uri": config["DestinationS3Uri"],
        "KmsKeyId": config.get("KmsKeyId", ""),
    }


def validate_production_variants(
    self: SageMakerModelBackend, production_variants: list[dict[str, Any]]
) -> None:
    """Variants without ``ModelName`` belong to an inference-component endpoint."""
    for variant in production_variants:
        model_name = variant.get("ModelName")
        if model_name is None:
            continue
        if "ManagedInstanceScaling" in variant:
            raise ValidationError(
                "ManagedInstanceScaling is only supported for inference component endpoints."
            )
        if model_name not in self._models:
            arn = arn_formatter("model", model_name, self.account_id, self.region_name)
            raise ValidationError(f"Could not find model '{arn}'.")


_VARIANT_SETTINGS_KEPT = ("ManagedInstanceScaling", "RoutingConfig")


def process_production_variants(
    self: FakeEndpoint, production_variants: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Endpoint-config variants → ``ProductionVariantSummary`` (counts, weights, scaling)."""
    summaries = []
    for variant in production_variants:
        summary: dict[str, Any] = {"VariantName": variant["VariantName"]}
        count = variant.get("InitialInstanceCount")
        if count is not None:
            summary["CurrentInstanceCount"] = summary["DesiredInstanceCount"] = count
        weight = float(variant.get("InitialVariantWeight", 1.0))
        summary["CurrentWeight"] = summary["DesiredWeight"] = weight
        serverless = variant.get("ServerlessConfig")
        if serverless is not None:
            summary["CurrentServerlessConfig"] = copy.deepcopy(serverless)
            summary["DesiredServerlessConfig"] = copy.deepcopy(serverless)
        for key in _VARIANT_SETTINGS_KEPT:
            if key in variant:
                summary[key] = copy.deepcopy(variant[key])
        summaries.append(summary)
    return summaries


# -- instance types from botocore ----------------------------------------------------------


def _instance_type_error(value: str, attribute: str, allowed: tuple[str, ...]) -> ValidationError:
    return ValidationError(
        f"Value '{value}' at '{attribute}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(allowed)}]"
    )


def _instance_type_method(shape: str, attribute: str) -> Callable[[Any, str], None]:
    def validate(self: Any, instance_type: str) -> None:
        allowed = enum_values(SERVICE, shape)
        if instance_type not in allowed:
            raise _instance_type_error(instance_type, attribute, allowed)

    return validate


def _instance_types_check(shape: str, attribute: str) -> Callable[[list[str]], None]:
    def validate(instance_types: list[str]) -> None:
        allowed = enum_values(SERVICE, shape)
        for instance_type in instance_types:
            if instance_type not in allowed:
                raise _instance_type_error(instance_type, attribute, allowed)

    return validate


# -- tagging ---------------------------------------------------------------------------------


def _wrap_get_resource_from_arn(original: Callable[..., Any]) -> Callable[..., Any]:
    def _get_resource_from_arn(self: SageMakerModelBackend, arn: str) -> Any:
        resource_type, _, name = arn.split(":")[-1].partition("/")
        if resource_type == "inference-component":
            settle_backend(self)
            return get_inference_component(self, name)
        return original(self, arn)

    return _get_resource_from_arn


def _wrap_iter_tagged_resources(
    original: Callable[[SageMakerModelBackend], Iterator[TaggedResource]],
) -> Callable[[SageMakerModelBackend], Iterator[TaggedResource]]:
    def iter_tagged_resources(self: SageMakerModelBackend) -> Iterator[TaggedResource]:
        yield from original(self)
        for component in inference_components(self).values():
            yield TaggedResource(
                arn=component.arn,
                tags={tag["Key"]: tag["Value"] for tag in component.tags},
                resource_type="sagemaker:inference-component",
            )

    return iter_tagged_resources


# -- response handlers (one per API action) -----------------------------------------------


def _handle_create_inference_component(self: SageMakerResponse) -> ActionResult:
    component = create_inference_component(
        self.sagemaker_backend,
        inference_component_name=self._get_param("InferenceComponentName"),
        endpoint_name=self._get_param("EndpointName"),
        variant_name=self._get_param("VariantName"),
        specification=self._get_param("Specification"),
        specifications=self._get_param("Specifications"),
        runtime_config=self._get_param("RuntimeConfig"),
        tags=self._get_param("Tags"),
    )
    return ActionResult({"InferenceComponentArn": component.arn})


def _handle_describe_inference_component(self: SageMakerResponse) -> ActionResult:
    return ActionResult(
        describe_inference_component(
            self.sagemaker_backend, self._get_param("InferenceComponentName")
        )
    )


def _handle_list_inference_components(self: SageMakerResponse) -> ActionResult:
    components, next_token = list_inference_components(
        self.sagemaker_backend,
        sort_by=self._get_param("SortBy"),
        sort_order=self._get_param("SortOrder"),
        name_contains=self._get_param("NameContains"),
        creation_time_before=self._get_param("CreationTimeBefore"),
        creation_time_after=self._get_param("CreationTimeAfter"),
        last_modified_time_before=self._get_param("LastModifiedTimeBefore"),
        last_modified_time_after=self._get_param("LastModifiedTimeAfter"),
        status_equals=self._get_param("StatusEquals"),
        endpoint_name_equals=self._get_param("EndpointNameEquals"),
        variant_name_equals=self._get_param("VariantNameEquals"),
        max_results=self._get_param("MaxResults"),
        next_token=self._get_param("NextToken"),
    )
    result: dict[str, Any] = {"InferenceComponents": [c.summary() for c in components]}
    if next_token is not None:
        result["NextToken"] = next_token
    return ActionResult(result)


def _handle_update_inference_component(self: SageMakerResponse) -> ActionResult:
    component = update_inference_component(
        self.sagemaker_backend,
        inference_component_name=self._get_param("InferenceComponentName"),
        specification=self._get_param("Specification"),
        specifications=self._get_param("Specifications"),
        runtime_config=self._get_param("RuntimeConfig"),
        deployment_config=self._get_param("DeploymentConfig"),
    )
    return ActionResult({"InferenceComponentArn": component.arn})


def _handle_update_inference_component_runtime_config(self: SageMakerResponse) -> ActionResult:
    component = update_inference_component_runtime_config(
        self.sagemaker_backend,
        inference_component_name=self._get_param("InferenceComponentName"),
        desired_runtime_config=self._get_param("DesiredRuntimeConfig"),
    )
    return ActionResult({"InferenceComponentArn": component.arn})


def _handle_delete_inference_component(self: SageMakerResponse) -> ActionResult:
    delete_inference_component(self.sagemaker_backend, self._get_param("InferenceComponentName"))
    return EmptyResult()


def _handle_update_endpoint(self: SageMakerResponse) -> ActionResult:
    arn = update_endpoint(
        self.sagemaker_backend,
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        retain_all_variant_properties=bool(self._get_param("RetainAllVariantProperties")),
        exclude_retained_variant_properties=self._get_param("ExcludeRetainedVariantProperties"),
        deployment_config=self._get_param("DeploymentConfig"),
        retain_deployment_config=bool(self._get_param("RetainDeploymentConfig")),
    )
    return ActionResult({"EndpointArn": arn})


_ENDPOINT_CONFIG_SETTINGS = {
    "execution_role_arn": "ExecutionRoleArn",
    "vpc_config": "VpcConfig",
    "enable_network_isolation": "EnableNetworkIsolation",
    "shadow_production_variants": "ShadowProductionVariants",
}


def _wrap_create_endpoint_config_handler(
    original: Callable[[SageMakerResponse], ActionResult],
) -> Callable[[SageMakerResponse], ActionResult]:
    def create_endpoint_config(self: SageMakerResponse) -> ActionResult:
        result = original(self)
        config = self.sagemaker_backend.endpoint_configs[self._get_param("EndpointConfigName")]
        for attribute, param in _ENDPOINT_CONFIG_SETTINGS.items():
            value = self._get_param(param)
            if value is not None:
                setattr(config, attribute, value)
        return result

    return create_endpoint_config


def _wrap_call_action(original: Callable[[SageMakerResponse], Any]) -> Callable[..., Any]:
    def call_action(self: SageMakerResponse) -> Any:
        with control.lock:
            settle_backend(self.sagemaker_backend)
            return original(self)

    return call_action


# -- installation ----------------------------------------------------------------------------


def _failing_target(kind: str, name: str, region: str | None, account_id: str | None) -> Any:
    matches: list[tuple[SageMakerModelBackend, Any]] = []
    for backend in _all_backends():
        if region is not None and backend.region_name != region:
            continue
        if account_id is not None and backend.account_id != account_id:
            continue
        settle_backend(backend)
        found = (
            inference_components(backend).get(name)
            if kind == "inference component"
            else backend.endpoints.get(name)
        )
        if found is not None:
            matches.append((backend, found))
    if not matches:
        raise LookupError(f"no {kind} named {name!r}")
    if len(matches) > 1:
        raise LookupError(f"{kind} {name!r} exists in several places; pass region/account_id")
    return matches[0]


def fail_inference_component(
    name: str,
    reason: str,
    *,
    rollback: bool = False,
    region: str | None = None,
    account_id: str | None = None,
) -> None:
    """See :meth:`sagescale.emulator.control.Emulator.fail_inference_component`."""
    _, component = _failing_target("inference component", name, region, account_id)
    assert isinstance(component, FakeInferenceComponent)
    pending = component.pending
    component.pending = None
    if rollback:
        if pending is not None and pending.kind == "update":
            component.desired_copy_count = pending.previous_desired_copy_count
        component.status = "InService"
    else:
        component.status = "Failed"
    component.failure_reason = reason
    component.last_modified_time = _now()


def fail_endpoint(
    name: str,
    reason: str,
    *,
    rollback: bool = False,
    region: str | None = None,
    account_id: str | None = None,
) -> None:
    """See :meth:`sagescale.emulator.control.Emulator.fail_endpoint`."""
    backend, endpoint = _failing_target("endpoint", name, region, account_id)
    assert isinstance(endpoint, FakeEndpoint)
    endpoint_changes(backend).pop(name, None)
    if rollback:
        for variant in endpoint.production_variants:
            for current, desired in (
                ("CurrentInstanceCount", "DesiredInstanceCount"),
                ("CurrentWeight", "DesiredWeight"),
                ("CurrentServerlessConfig", "DesiredServerlessConfig"),
            ):
                if current in variant:
                    variant[desired] = copy.deepcopy(variant[current])
        endpoint.endpoint_status = "InService"
    else:
        endpoint.endpoint_status = "Failed"
    endpoint.failure_reason = reason  # type: ignore[assignment]  # moto types it as None
    endpoint.last_modified_time = _now()


class SageMakerState:
    """The :class:`~sagescale.emulator.control.ExtensionState` of this extension."""

    fail_inference_component = staticmethod(fail_inference_component)
    fail_endpoint = staticmethod(fail_endpoint)

    def settle(self) -> None:
        settle_all()

    def clear(self) -> None:
        clear_extension_state()


BACKEND_METHODS: dict[str, Callable[..., Any]] = {
    "create_inference_component": create_inference_component,
    "describe_inference_component": describe_inference_component,
    "list_inference_components": list_inference_components,
    "update_inference_component": update_inference_component,
    "update_inference_component_runtime_config": update_inference_component_runtime_config,
    "delete_inference_component": delete_inference_component,
    "update_endpoint": update_endpoint,
    "update_endpoint_weights_and_capacities": update_endpoint_weights_and_capacities,
    "create_endpoint": create_endpoint,
    "delete_endpoint": delete_endpoint,
    "validate_production_variants": validate_production_variants,
}

RESPONSE_METHODS: dict[str, Callable[[SageMakerResponse], ActionResult]] = {
    "create_inference_component": _handle_create_inference_component,
    "describe_inference_component": _handle_describe_inference_component,
    "list_inference_components": _handle_list_inference_components,
    "update_inference_component": _handle_update_inference_component,
    "update_inference_component_runtime_config": (
        _handle_update_inference_component_runtime_config
    ),
    "delete_inference_component": _handle_delete_inference_component,
    "update_endpoint": _handle_update_endpoint,
    "list_models": _handle_list_models,
}


def install(patches: PatchSet) -> None:
    """Patch moto's SageMaker backend, models and response handler."""
    patches.set(control, "extension", SageMakerState())
    for name, function in BACKEND_METHODS.items():
        patches.set(SageMakerModelBackend, name, function)
    patches.set(FakeEndpointConfig, "response_object", property(_endpoint_config_response_object))
    model_response = vars(Model)["response_object"].fget
    patches.set(Model, "response_object", property(_wrap_model_response_object(model_response)))
    patches.set(
        SageMakerModelBackend,
        "_get_resource_from_arn",
        _wrap_get_resource_from_arn(SageMakerModelBackend._get_resource_from_arn),
    )
    patches.set(
        SageMakerModelBackend,
        "iter_tagged_resources",
        _wrap_iter_tagged_resources(SageMakerModelBackend.iter_tagged_resources),
    )
    patches.set(FakeEndpoint, "_process_production_variants", process_production_variants)

    patches.set(
        FakeEndpointConfig,
        "validate_instance_type",
        _instance_type_method("ProductionVariantInstanceType", "instanceType"),
    )
    patches.set(
        FakeSagemakerNotebookInstance,
        "validate_instance_type",
        _instance_type_method("InstanceType", "instanceType"),
    )
    patches.set(
        Cluster,
        "valid_cluster_node_instance_types",
        _instance_type_method("ClusterInstanceType", "InstanceType"),
    )
    patches.set(
        ModelPackage,
        "validate_supported_transform_instance_types",
        staticmethod(
            _instance_types_check("TransformInstanceType", "SupportedTransformInstanceTypes")
        ),
    )
    patches.set(
        ModelPackage,
        "validate_supported_realtime_inference_instance_types",
        staticmethod(
            _instance_types_check(
                "ProductionVariantInstanceType", "SupportedRealtimeInferenceInstanceTypes"
            )
        ),
    )

    for name, handler in RESPONSE_METHODS.items():
        patches.set(SageMakerResponse, name, handler)
    patches.set(
        SageMakerResponse,
        "create_endpoint_config",
        _wrap_create_endpoint_config_handler(SageMakerResponse.create_endpoint_config),
    )
    patches.set(SageMakerResponse, "call_action", _wrap_call_action(SageMakerResponse.call_action))
