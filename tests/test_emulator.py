"""The local emulator's SageMaker / Application Auto Scaling extensions to moto.

Every request goes through a real botocore client (so botocore validates it against the
service model) and every response is checked against the operation's output shape.
Time is a ManualClock: no test sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.parsers
import botocore.session
import pytest
from botocore.exceptions import ClientError

from sagescale.emulator import (
    Emulator,
    ManualClock,
    RemoteControl,
    control,
    emulated_aws,
    install_extensions,
    start_server,
    uninstall_extensions,
)
from sagescale.emulator.shapes import ResponseChecker, ResponseShapeError, shape_errors

pytestmark = pytest.mark.emulator

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DELAY = timedelta(minutes=2)
IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"

# -- responses checked against their output shapes ------------------------------------------


def call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """Call ``operation`` (PascalCase) and assert its response matches the output shape."""
    model = client.meta.service_model.operation_model(operation)
    method = getattr(client, botocore.xform_name(operation))
    response: dict[str, Any] = method(**params)
    if model.output_shape is not None:
        errors = shape_errors(response, model.output_shape)
        assert not errors, f"{operation} response does not match its shape:\n" + "\n".join(errors)
    return response


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_the_shape_checker_catches_what_it_should() -> None:
    """The checker must be able to fail, or every shape assertion below is empty."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    output = model.operation_model("DescribeInferenceComponent").output_shape
    assert output is not None
    good = {
        "InferenceComponentName": "ic",
        "InferenceComponentArn": "arn:aws:sagemaker:us-east-1:123456789012:inference-component/ic",
        "EndpointName": "ep",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep",
        "CreationTime": START,
        "LastModifiedTime": START,
        "RuntimeConfig": {"DesiredCopyCount": 1, "CurrentCopyCount": 1},
        "InferenceComponentStatus": "InService",
    }
    assert shape_errors(good, output) == []
    bad = dict(
        good, InferenceComponentStatus="Sleeping", Extra=1, RuntimeConfig={"DesiredCopyCount": "1"}
    )
    del bad["EndpointArn"]
    errors = "\n".join(shape_errors(bad, output))
    for expected in (
        "EndpointArn: required",
        "Sleeping",
        "Extra: not a member",
        "expected integer",
    ):
        assert expected in errors


def test_the_wire_check_refuses_what_botocore_would_parse_quietly() -> None:
    """botocore drops ``null`` and unknown members when it parses, so the parsed check
    above could never see them: moto's ``"NextToken": null`` passed every test."""
    model = botocore.session.get_session().get_service_model("application-autoscaling")
    operation = model.operation_model("DescribeScalableTargets")
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "inference-component/ic",
        "ScalableDimension": IC_DIMENSION,
        "MinCapacity": 0,
        "MaxCapacity": 4,
        "RoleARN": "arn:aws:iam::123456789012:role/r",
        "CreationTime": 1764234000.5,
    }
    good = {"ScalableTargets": [target]}
    assert ResponseChecker.problems(operation, json.dumps(good).encode()) == []
    for bad, expected in (
        ({**good, "NextToken": None}, "$.NextToken: null"),
        ({"ScalableTargets": [{**target, "SuspendedState": None}]}, "SuspendedState: null"),
        ({"ScalableTargets": [{**target, "Extra": 1}]}, "Extra: not a member"),
        ({"ScalableTargets": [{**target, "MinCapacity": "0"}]}, "expected integer"),
        ({"ScalableTargets": [{**target, "CreationTime": "2026-11-27"}]}, "expected timestamp"),
        ({"ScalableTargets": [{**target, "MaxCapacity": True}]}, "expected integer"),
    ):
        problems = "\n".join(ResponseChecker.problems(operation, json.dumps(bad).encode()))
        assert expected in problems, (bad, problems)
    # Parsing the same bad body raises nothing: botocore's parser is the lenient part.
    parser = botocore.parsers.create_parser("json")
    body = json.dumps({**good, "NextToken": None}).encode()
    parsed = parser.parse({"body": body, "headers": {}, "status_code": 200}, operation.output_shape)
    assert "NextToken" not in parsed


def test_the_response_checker_fails_the_call(emulator: Emulator) -> None:
    """The hook runs on real clients and fails the call itself, not only the test."""
    checker = ResponseChecker(services={"application-autoscaling"})
    session = boto3.session.Session(region_name=REGION)
    aas: Any = session.client("application-autoscaling")
    aas.meta.events.register("before-parse.*.*", checker)
    aas.describe_scalable_targets(ServiceNamespace="sagemaker")
    assert checker.checked == ["application-autoscaling.DescribeScalableTargets"]
    assert checker.errors == []

    def with_null(response_dict: dict[str, Any], **_: Any) -> None:
        response_dict["body"] = response_dict["body"][:-1] + b', "NextToken": null}'

    aas.meta.events.register_first("before-parse.*.*", with_null)
    with pytest.raises(ResponseShapeError, match="NextToken: null"):
        aas.describe_scalable_targets(ServiceNamespace="sagemaker")
    assert len(checker.errors) == 1


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def emulator(clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with emulated_aws(clock=clock) as em:
        yield em


@pytest.fixture
def sm(emulator: Emulator) -> Any:
    return boto3.client("sagemaker", region_name=REGION)


def make_ic_endpoint(
    sm: Any,
    name: str = "ep",
    *,
    instance_type: str = "ml.g6e.2xlarge",
    variants: tuple[str, ...] = ("AllTraffic",),
    min_instances: int = 0,
) -> None:
    """An inference-component endpoint (variants without ModelName) and a model."""
    existing = {m["ModelName"] for m in sm.list_models()["Models"]}
    if "llm" not in existing:
        sm.create_model(ModelName="llm", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    call(
        sm,
        "CreateEndpointConfig",
        EndpointConfigName=f"{name}-config",
        ExecutionRoleArn=ROLE,
        ProductionVariants=[
            {
                "VariantName": variant,
                "InstanceType": instance_type,
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": min_instances,
                    "MaxInstanceCount": 4,
                },
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
            for variant in variants
        ],
    )
    call(sm, "CreateEndpoint", EndpointName=name, EndpointConfigName=f"{name}-config")


SPEC = {
    "ModelName": "llm",
    "StartupParameters": {"ModelDataDownloadTimeoutInSeconds": 600},
    "ComputeResourceRequirements": {
        "NumberOfAcceleratorDevicesRequired": 1,
        "NumberOfCpuCoresRequired": 2,
        "MinMemoryRequiredInMb": 8192,
    },
}


def make_ic(sm: Any, name: str = "ic", endpoint: str = "ep", copies: int = 1, **extra: Any) -> str:
    response = call(
        sm,
        "CreateInferenceComponent",
        InferenceComponentName=name,
        EndpointName=endpoint,
        Specification=SPEC,
        RuntimeConfig={"CopyCount": copies},
        **extra,
    )
    arn: str = response["InferenceComponentArn"]
    return arn


def describe_ic(sm: Any, name: str = "ic") -> dict[str, Any]:
    return call(sm, "DescribeInferenceComponent", InferenceComponentName=name)


def describe_ep(sm: Any, name: str = "ep") -> dict[str, Any]:
    return call(sm, "DescribeEndpoint", EndpointName=name)


# -- inference components -------------------------------------------------------------------------


def test_inference_component_lifecycle_without_delay(sm: Any) -> None:
    make_ic_endpoint(sm)
    arn = make_ic(sm, copies=2, VariantName="AllTraffic", Tags=[{"Key": "team", "Value": "ml"}])
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:inference-component/ic"

    ic = describe_ic(sm)
    assert ic["InferenceComponentStatus"] == "InService"
    assert ic["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
    assert ic["EndpointName"] == "ep" and ic["VariantName"] == "AllTraffic"
    assert ic["Specification"]["ModelName"] == "llm"
    assert ic["Specification"]["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] == 8192
    assert ic["CreationTime"] == START

    call(
        sm,
        "UpdateInferenceComponentRuntimeConfig",
        InferenceComponentName="ic",
        DesiredRuntimeConfig={"CopyCount": 0},
    )
    assert describe_ic(sm)["RuntimeConfig"] == {"DesiredCopyCount": 0, "CurrentCopyCount": 0}

    container_spec = {
        "Container": {
            "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/llm:2",
            "Environment": {"A": "1"},
        },
        "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 4096},
    }
    call(
        sm,
        "UpdateInferenceComponent",
        InferenceComponentName="ic",
        Specification=container_spec,
        RuntimeConfig={"CopyCount": 3},
        DeploymentConfig={
            "RollingUpdatePolicy": {
                "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
                "WaitIntervalInSeconds": 60,
            }
        },
    )
    ic = describe_ic(sm)
    assert ic["RuntimeConfig"] == {"DesiredCopyCount": 3, "CurrentCopyCount": 3}
    deployed = ic["Specification"]["Container"]["DeployedImage"]
    assert deployed["SpecifiedImage"].endswith("llm:2") and "@sha256:" in deployed["ResolvedImage"]
    assert ic["Specification"]["Container"]["Environment"] == {"A": "1"}
    assert ic["LastDeploymentConfig"]["RollingUpdatePolicy"]["WaitIntervalInSeconds"] == 60

    call(sm, "DeleteInferenceComponent", InferenceComponentName="ic")
    with pytest.raises(ClientError) as excinfo:
        describe_ic(sm)
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert message.startswith("Could not find inference component")
    assert call(sm, "ListInferenceComponents")["InferenceComponents"] == []


def test_inference_component_create_validations(sm: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        make_ic(sm, endpoint="missing")
    assert error_of(excinfo) == (
        "ValidationException",
        'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/missing".',
    )
    make_ic_endpoint(sm)
    make_ic(sm)
    with pytest.raises(ClientError) as excinfo:
        make_ic(sm)
    assert "already existing inference component" in error_of(excinfo)[1]
    with pytest.raises(ClientError) as excinfo:
        make_ic(sm, name="other", VariantName="Nope")
    assert "Nope" in error_of(excinfo)[1]
    with pytest.raises(ClientError) as excinfo:
        call(
            sm,
            "CreateInferenceComponent",
            InferenceComponentName="other",
            EndpointName="ep",
            Specification=dict(SPEC, ModelName="ghost"),
            RuntimeConfig={"CopyCount": 1},
        )
    assert error_of(excinfo)[1].startswith("Could not find model")
    with pytest.raises(ClientError) as excinfo:
        call(sm, "UpdateInferenceComponent", InferenceComponentName="ic")
    assert error_of(excinfo)[0] == "ValidationException"


def test_inference_component_transitions_follow_the_clock(
    sm: Any, emulator: Emulator, clock: ManualClock
) -> None:
    make_ic_endpoint(sm)
    emulator.update_delay = DELAY
    make_ic(sm, copies=2)
    ic = describe_ic(sm)
    assert ic["InferenceComponentStatus"] == "Creating"
    assert ic["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 0}
    clock.advance(DELAY - timedelta(seconds=1))
    assert describe_ic(sm)["InferenceComponentStatus"] == "Creating"
    clock.advance(timedelta(seconds=1))
    ic = describe_ic(sm)
    assert ic["InferenceComponentStatus"] == "InService"
    assert ic["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
    assert ic["LastModifiedTime"] == START + DELAY

    call(
        sm,
        "UpdateInferenceComponentRuntimeConfig",
        InferenceComponentName="ic",
        DesiredRuntimeConfig={"CopyCount": 5},
    )
    ic = describe_ic(sm)
    assert ic["InferenceComponentStatus"] == "Updating"
    assert ic["RuntimeConfig"] == {"DesiredCopyCount": 5, "CurrentCopyCount": 2}

    # Every write during Updating is refused, as AWS does.
    for operation, params in (
        ("UpdateInferenceComponentRuntimeConfig", {"DesiredRuntimeConfig": {"CopyCount": 1}}),
        ("UpdateInferenceComponent", {"RuntimeConfig": {"CopyCount": 1}}),
        ("DeleteInferenceComponent", {}),
    ):
        with pytest.raises(ClientError) as excinfo:
            call(sm, operation, InferenceComponentName="ic", **params)
        code, message = error_of(excinfo)
        assert code == "ValidationException" and "in-progress" in message, operation

    clock.advance(DELAY)
    ic = describe_ic(sm)
    assert ic["InferenceComponentStatus"] == "InService"
    # one 1-GPU copy per ml.g6e.2xlarge, MaxInstanceCount 4: the fifth copy has nowhere to go
    assert ic["RuntimeConfig"] == {"DesiredCopyCount": 5, "CurrentCopyCount": 4}
    assert describe_ep(sm)["ProductionVariants"][0]["CurrentInstanceCount"] == 4

    call(sm, "DeleteInferenceComponent", InferenceComponentName="ic")
    assert describe_ic(sm)["InferenceComponentStatus"] == "Deleting"
    with pytest.raises(ClientError) as excinfo:
        call(sm, "DeleteInferenceComponent", InferenceComponentName="ic")
    assert "DELETE_IN_PROGRESS" in error_of(excinfo)[1]
    # The endpoint still hosts a (deleting) component: it cannot go yet.
    with pytest.raises(ClientError) as excinfo:
        call(sm, "DeleteEndpoint", EndpointName="ep")
    assert "inference components attached" in error_of(excinfo)[1]
    clock.advance(DELAY)
    with pytest.raises(ClientError) as excinfo:
        describe_ic(sm)
    assert error_of(excinfo)[1].startswith("Could not find inference component")


def test_list_inference_components_filters_sorting_and_pages(sm: Any, clock: ManualClock) -> None:
    make_ic_endpoint(sm, "ep-a", variants=("blue", "green"))
    make_ic_endpoint(sm, "ep-b")
    layout = [
        ("chat-small", "ep-a", "blue"),
        ("chat-large", "ep-a", "green"),
        ("embed", "ep-a", "blue"),
        ("rerank", "ep-b", "AllTraffic"),
        ("vision", "ep-b", "AllTraffic"),
    ]
    for minute, (name, endpoint, variant) in enumerate(layout):
        clock.set(START + timedelta(minutes=minute))
        make_ic(sm, name=name, endpoint=endpoint, VariantName=variant)
    clock.set(START + timedelta(minutes=10))
    call(
        sm,
        "UpdateInferenceComponentRuntimeConfig",
        InferenceComponentName="embed",
        DesiredRuntimeConfig={"CopyCount": 2},
    )
    control.fail_inference_component("vision", "out of capacity")

    def names(**params: Any) -> list[str]:
        response = call(sm, "ListInferenceComponents", **params)
        return [c["InferenceComponentName"] for c in response["InferenceComponents"]]

    newest_first = ["vision", "rerank", "embed", "chat-large", "chat-small"]
    assert names() == newest_first  # default: CreationTime, Descending
    assert names(SortOrder="Ascending") == newest_first[::-1]
    assert names(SortBy="Name", SortOrder="Ascending") == sorted(newest_first)
    assert names(SortBy="Name") == sorted(newest_first, reverse=True)
    assert names(SortBy="Status", SortOrder="Ascending")[0] == "vision"  # Failed < InService
    assert names(EndpointNameEquals="ep-b") == ["vision", "rerank"]
    assert names(VariantNameEquals="blue") == ["embed", "chat-small"]
    assert names(EndpointNameEquals="ep-a", VariantNameEquals="green") == ["chat-large"]
    assert names(StatusEquals="Failed") == ["vision"]
    assert names(StatusEquals="InService") == ["rerank", "embed", "chat-large", "chat-small"]
    assert names(NameContains="chat") == ["chat-large", "chat-small"]
    assert names(CreationTimeBefore=START + timedelta(minutes=2)) == ["chat-large", "chat-small"]
    assert names(CreationTimeAfter=START + timedelta(minutes=2)) == ["vision", "rerank"]
    assert names(LastModifiedTimeAfter=START + timedelta(minutes=9)) == ["vision", "embed"]
    assert names(LastModifiedTimeBefore=START + timedelta(minutes=1)) == ["chat-small"]

    first = call(sm, "ListInferenceComponents", MaxResults=2, SortBy="Name", SortOrder="Ascending")
    assert [c["InferenceComponentName"] for c in first["InferenceComponents"]] == [
        "chat-large",
        "chat-small",
    ]
    assert "NextToken" in first
    collected: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"MaxResults": 2, "SortBy": "Name", "SortOrder": "Ascending"}
        if token:
            params["NextToken"] = token
        page = call(sm, "ListInferenceComponents", **params)
        assert len(page["InferenceComponents"]) <= 2
        collected += [c["InferenceComponentName"] for c in page["InferenceComponents"]]
        token = page.get("NextToken")
        if token is None:
            break
    assert collected == sorted(newest_first)

    paginator = sm.get_paginator("list_inference_components")
    pages = list(paginator.paginate(EndpointNameEquals="ep-a", PaginationConfig={"PageSize": 1}))
    assert len(pages) == 3
    assert sum(len(p["InferenceComponents"]) for p in pages) == 3
    default_page = call(sm, "ListInferenceComponents")
    assert "NextToken" not in default_page  # five components fit the default page of ten


def test_inference_component_tags(sm: Any) -> None:
    make_ic_endpoint(sm)
    arn = make_ic(sm, Tags=[{"Key": "team", "Value": "ml"}])
    call(sm, "AddTags", ResourceArn=arn, Tags=[{"Key": "sagescale:keep", "Value": "true"}])
    tags = call(sm, "ListTags", ResourceArn=arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "ml", "sagescale:keep": "true"}
    call(sm, "DeleteTags", ResourceArn=arn, TagKeys=["team"])
    assert call(sm, "ListTags", ResourceArn=arn)["Tags"] == [
        {"Key": "sagescale:keep", "Value": "true"}
    ]
    tagging = boto3.client("resourcegroupstaggingapi", region_name=REGION)
    found = tagging.get_resources(TagFilters=[{"Key": "sagescale:keep"}])
    assert arn in [r["ResourceARN"] for r in found["ResourceTagMappingList"]]


def test_failed_inference_component(sm: Any, emulator: Emulator, clock: ManualClock) -> None:
    make_ic_endpoint(sm)
    make_ic(sm, copies=2)
    emulator.update_delay = DELAY
    call(
        sm,
        "UpdateInferenceComponentRuntimeConfig",
        InferenceComponentName="ic",
        DesiredRuntimeConfig={"CopyCount": 4},
    )
    emulator.fail_inference_component("ic", "rolled back: health check failed", rollback=True)
    ic = describe_ic(sm)
    assert ic["InferenceComponentStatus"] == "InService"
    assert ic["FailureReason"] == "rolled back: health check failed"
    assert ic["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}

    emulator.fail_inference_component("ic", "insufficient capacity")
    ic = describe_ic(sm)
    assert ic["InferenceComponentStatus"] == "Failed"
    assert ic["FailureReason"] == "insufficient capacity"
    clock.advance(DELAY * 3)  # a failure is final: time does not heal it
    assert describe_ic(sm)["InferenceComponentStatus"] == "Failed"
    with pytest.raises(LookupError):
        emulator.fail_inference_component("ghost", "x")


# -- endpoints ---------------------------------------------------------------------------------


def make_model_endpoint(sm: Any, name: str = "rt", count: int = 1) -> None:
    sm.create_model(
        ModelName=f"{name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"}
    )
    call(
        sm,
        "CreateEndpointConfig",
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InstanceType": "ml.g5.xlarge",
                "InitialInstanceCount": count,
            }
        ],
    )
    call(sm, "CreateEndpoint", EndpointName=name, EndpointConfigName=f"{name}-config")


def test_endpoint_create_update_and_delete_follow_the_clock(
    sm: Any, emulator: Emulator, clock: ManualClock
) -> None:
    emulator.update_delay = DELAY
    make_model_endpoint(sm, count=1)
    endpoint = describe_ep(sm, "rt")
    assert endpoint["EndpointStatus"] == "Creating"
    assert endpoint["CreationTime"] == START

    def update(count: int) -> None:
        call(
            sm,
            "UpdateEndpointWeightsAndCapacities",
            EndpointName="rt",
            DesiredWeightsAndCapacities=[
                {"VariantName": "AllTraffic", "DesiredInstanceCount": count}
            ],
        )

    with pytest.raises(ClientError) as excinfo:
        update(2)
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert (
        'Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/rt"'
        in message
    )

    clock.advance(DELAY)
    assert describe_ep(sm, "rt")["EndpointStatus"] == "InService"
    update(3)
    endpoint = describe_ep(sm, "rt")
    variant = endpoint["ProductionVariants"][0]
    assert endpoint["EndpointStatus"] == "Updating"
    assert (variant["DesiredInstanceCount"], variant["CurrentInstanceCount"]) == (3, 1)
    assert variant["CurrentWeight"] == variant["DesiredWeight"] == 1.0
    with pytest.raises(ClientError) as excinfo:
        update(4)
    assert "Cannot update in-progress endpoint" in error_of(excinfo)[1]
    with pytest.raises(ClientError) as excinfo:
        call(sm, "DeleteEndpoint", EndpointName="rt")
    assert "Cannot update in-progress endpoint" in error_of(excinfo)[1]
    statuses = {
        e["EndpointName"]: e["EndpointStatus"] for e in call(sm, "ListEndpoints")["Endpoints"]
    }
    assert statuses == {"rt": "Updating"}

    clock.advance(DELAY)
    endpoint = describe_ep(sm, "rt")
    variant = endpoint["ProductionVariants"][0]
    assert endpoint["EndpointStatus"] == "InService"
    assert (variant["DesiredInstanceCount"], variant["CurrentInstanceCount"]) == (3, 3)
    assert endpoint["LastModifiedTime"] == START + 2 * DELAY

    call(sm, "DeleteEndpoint", EndpointName="rt")
    assert describe_ep(sm, "rt")["EndpointStatus"] == "Deleting"
    with pytest.raises(ClientError) as excinfo:
        call(sm, "CreateEndpoint", EndpointName="rt", EndpointConfigName="rt-config")
    assert "already existing endpoint" in error_of(excinfo)[1]
    clock.advance(DELAY)
    with pytest.raises(ClientError) as excinfo:
        describe_ep(sm, "rt")
    assert error_of(excinfo)[1].startswith("Could not find endpoint")


def test_update_endpoint_switches_config_after_the_delay(
    sm: Any, emulator: Emulator, clock: ManualClock
) -> None:
    make_model_endpoint(sm, count=2)
    call(
        sm,
        "CreateEndpointConfig",
        EndpointConfigName="rt-config-2",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "rt-model",
                "InstanceType": "ml.p5.48xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    emulator.update_delay = DELAY
    call(
        sm,
        "UpdateEndpoint",
        EndpointName="rt",
        EndpointConfigName="rt-config-2",
        RetainAllVariantProperties=True,
    )
    endpoint = describe_ep(sm, "rt")
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("Updating", "rt-config")
    clock.advance(DELAY)
    endpoint = describe_ep(sm, "rt")
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == (
        "InService",
        "rt-config-2",
    )
    assert endpoint["ProductionVariants"][0]["CurrentInstanceCount"] == 2  # retained

    with pytest.raises(ClientError) as excinfo:
        call(sm, "UpdateEndpoint", EndpointName="rt", EndpointConfigName="nope")
    assert error_of(excinfo)[1].startswith("Could not find endpoint configuration")


def test_failed_endpoint_update_rolls_back_with_a_failure_reason(
    sm: Any, emulator: Emulator, clock: ManualClock
) -> None:
    make_model_endpoint(sm, count=1)
    emulator.update_delay = DELAY
    call(
        sm,
        "UpdateEndpointWeightsAndCapacities",
        EndpointName="rt",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 4}],
    )
    emulator.fail_endpoint("rt", "Insufficient capacity for ml.g5.xlarge", rollback=True)
    endpoint = describe_ep(sm, "rt")
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["FailureReason"] == "Insufficient capacity for ml.g5.xlarge"
    variant = endpoint["ProductionVariants"][0]
    assert (variant["DesiredInstanceCount"], variant["CurrentInstanceCount"]) == (1, 1)
    clock.advance(DELAY)
    assert describe_ep(sm, "rt")["ProductionVariants"][0]["CurrentInstanceCount"] == 1

    emulator.fail_endpoint("rt", "container crashed")
    endpoint = describe_ep(sm, "rt")
    assert (endpoint["EndpointStatus"], endpoint["FailureReason"]) == (
        "Failed",
        "container crashed",
    )
    with pytest.raises(ClientError) as excinfo:
        call(
            sm,
            "UpdateEndpointWeightsAndCapacities",
            EndpointName="rt",
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}],
        )
    assert error_of(excinfo)[0] == "ValidationException"
    call(sm, "DeleteEndpoint", EndpointName="rt")  # a failed endpoint can still be deleted


def test_delete_endpoint_with_inference_components_is_refused(sm: Any) -> None:
    make_ic_endpoint(sm)
    make_ic(sm)
    with pytest.raises(ClientError) as excinfo:
        call(sm, "DeleteEndpoint", EndpointName="ep")
    code, message = error_of(excinfo)
    assert code == "ValidationException" and "ic" in message
    call(sm, "DeleteInferenceComponent", InferenceComponentName="ic")
    call(sm, "DeleteEndpoint", EndpointName="ep")
    assert call(sm, "ListEndpoints")["Endpoints"] == []


def test_managed_instance_scaling_and_routing_round_trip(sm: Any) -> None:
    make_ic_endpoint(sm, min_instances=0)
    variant = call(sm, "DescribeEndpointConfig", EndpointConfigName="ep-config")[
        "ProductionVariants"
    ][0]
    assert variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 0,
        "MaxInstanceCount": 4,
    }
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert "ModelName" not in variant
    config = call(sm, "DescribeEndpointConfig", EndpointConfigName="ep-config")
    assert config["ExecutionRoleArn"] == ROLE
    summary = describe_ep(sm)["ProductionVariants"][0]
    assert summary["ManagedInstanceScaling"]["MinInstanceCount"] == 0
    assert summary["RoutingConfig"]["RoutingStrategy"] == "LEAST_OUTSTANDING_REQUESTS"


def test_managed_instance_scaling_needs_an_inference_component_endpoint(sm: Any) -> None:
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    with pytest.raises(ClientError) as excinfo:
        sm.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "InstanceType": "ml.g5.xlarge",
                    "InitialInstanceCount": 1,
                    "ManagedInstanceScaling": {
                        "Status": "ENABLED",
                        "MinInstanceCount": 0,
                        "MaxInstanceCount": 2,
                    },
                }
            ],
        )
    assert "only supported for inference component endpoints" in error_of(excinfo)[1]


CURRENT_INSTANCE_TYPES = [
    "ml.g5.xlarge",
    "ml.g5.48xlarge",
    "ml.g6.xlarge",
    "ml.g6e.12xlarge",
    "ml.p4d.24xlarge",
    "ml.p4de.24xlarge",
    "ml.p5.48xlarge",
    "ml.p5e.48xlarge",
    "ml.inf2.xlarge",
    "ml.trn1.2xlarge",
]


def test_current_instance_types_are_accepted(sm: Any) -> None:
    for index, instance_type in enumerate(CURRENT_INSTANCE_TYPES):
        endpoint = f"ep{index}"
        make_ic_endpoint(sm, endpoint, instance_type=instance_type)
        config = call(sm, "DescribeEndpointConfig", EndpointConfigName=f"{endpoint}-config")
        assert config["ProductionVariants"][0]["InstanceType"] == instance_type
        make_ic(sm, f"ic{index}", endpoint=endpoint)
        assert describe_ic(sm, f"ic{index}")["InferenceComponentStatus"] == "InService"


def test_every_botocore_instance_type_is_accepted_and_others_are_not(sm: Any) -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    allowed: list[str] = getattr(model.shape_for("ProductionVariantInstanceType"), "enum", [])
    assert len(allowed) > 100
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    for index, instance_type in enumerate(allowed):
        sm.create_endpoint_config(
            EndpointConfigName=f"c{index}",
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "ModelName": "m",
                    "InstanceType": instance_type,
                    "InitialInstanceCount": 1,
                }
            ],
        )
    with pytest.raises(ClientError) as excinfo:
        sm.create_endpoint_config(
            EndpointConfigName="bogus",
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "ModelName": "m",
                    "InstanceType": "ml.bogus.xlarge",
                    "InitialInstanceCount": 1,
                }
            ],
        )
    assert "ml.bogus.xlarge" in error_of(excinfo)[1]


# -- Application Auto Scaling and CloudWatch ------------------------------------------------------


def test_application_auto_scaling_accepts_the_inference_component_dimension(sm: Any) -> None:
    make_ic_endpoint(sm)
    make_ic(sm)
    aas: Any = boto3.client("application-autoscaling", region_name=REGION)
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "inference-component/ic",
        "ScalableDimension": IC_DIMENSION,
    }
    call(aas, "RegisterScalableTarget", **target, MinCapacity=0, MaxCapacity=8)
    call(aas, "RegisterScalableTarget", **target, MinCapacity=2, MaxCapacity=8)  # bounds mode
    targets = call(
        aas,
        "DescribeScalableTargets",
        ServiceNamespace="sagemaker",
        ResourceIds=["inference-component/ic"],
    )
    [found] = targets["ScalableTargets"]
    assert (found["MinCapacity"], found["MaxCapacity"], found["ScalableDimension"]) == (
        2,
        8,
        IC_DIMENSION,
    )
    assert found["RoleARN"].endswith("AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint")

    call(
        aas,
        "PutScalingPolicy",
        PolicyName="copies-tracking",
        PolicyType="TargetTrackingScaling",
        **target,
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
            },
        },
    )
    call(
        aas,
        "PutScalingPolicy",
        PolicyName="wake-from-zero",
        PolicyType="StepScaling",
        **target,
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
            "Cooldown": 60,
        },
    )
    policies = call(
        aas,
        "DescribeScalingPolicies",
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/ic",
    )
    assert sorted(p["PolicyName"] for p in policies["ScalingPolicies"]) == [
        "copies-tracking",
        "wake-from-zero",
    ]
    call(aas, "DeregisterScalableTarget", **target)
    assert (
        call(aas, "DescribeScalableTargets", ServiceNamespace="sagemaker")["ScalableTargets"] == []
    )

    with pytest.raises(ClientError) as excinfo:
        aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId="inference-component/ic",
            ScalableDimension="sagemaker:inference-component:Bogus",
            MinCapacity=0,
            MaxCapacity=1,
        )
    assert error_of(excinfo)[0] == "ValidationException"


def test_cloudwatch_invocations_per_inference_component(emulator: Emulator) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    call(
        cloudwatch,
        "PutMetricData",
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "InferenceComponentName", "Value": "ic"}],
                "Timestamp": now - timedelta(minutes=2),
                "Value": 7.0,
                "Unit": "None",
            }
        ],
    )
    response = call(
        cloudwatch,
        "GetMetricData",
        MetricDataQueries=[
            {
                "Id": "inv",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SageMaker",
                        "MetricName": "Invocations",
                        "Dimensions": [{"Name": "InferenceComponentName", "Value": "ic"}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
    )
    [result] = response["MetricDataResults"]
    assert sum(result["Values"]) == 7.0


# -- control surface, installation, HTTP ------------------------------------------------------------


def test_clock_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        control.set_clock(lambda: datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        ManualClock(START).advance(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        control.update_delay = timedelta(seconds=-1)


def test_install_is_idempotent_and_reversible() -> None:
    from moto.sagemaker.models import SageMakerModelBackend

    install_extensions()
    install_extensions()
    assert hasattr(SageMakerModelBackend, "create_inference_component")
    try:
        uninstall_extensions()
        assert not hasattr(SageMakerModelBackend, "create_inference_component")
    finally:
        install_extensions()
    assert hasattr(SageMakerModelBackend, "create_inference_component")


def test_core_scenario_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    control.reset()
    with start_server() as server:
        assert server.url.startswith("http://127.0.0.1:") and server.port > 0
        remote = RemoteControl(server.url)
        try:
            state = remote.set_time(START)
            assert state["now"] == START.isoformat()
            remote.set_update_delay(DELAY)

            def client(service: str) -> Any:
                factory: Any = boto3.client
                return factory(
                    service,
                    region_name=REGION,
                    endpoint_url=server.url,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                )

            sm, aas = client("sagemaker"), client("application-autoscaling")
            make_ic_endpoint(sm, "http-ep")
            assert describe_ep(sm, "http-ep")["EndpointStatus"] == "Creating"
            remote.advance(DELAY)
            assert describe_ep(sm, "http-ep")["EndpointStatus"] == "InService"

            make_ic(sm, "http-ic", endpoint="http-ep", copies=1)
            assert describe_ic(sm, "http-ic")["InferenceComponentStatus"] == "Creating"
            remote.advance(DELAY)
            call(
                sm,
                "UpdateInferenceComponentRuntimeConfig",
                InferenceComponentName="http-ic",
                DesiredRuntimeConfig={"CopyCount": 3},
            )
            with pytest.raises(ClientError) as excinfo:
                call(
                    sm,
                    "UpdateInferenceComponentRuntimeConfig",
                    InferenceComponentName="http-ic",
                    DesiredRuntimeConfig={"CopyCount": 4},
                )
            assert "in-progress" in error_of(excinfo)[1]
            remote.advance(DELAY)
            assert describe_ic(sm, "http-ic")["RuntimeConfig"] == {
                "DesiredCopyCount": 3,
                "CurrentCopyCount": 3,
            }
            listed = call(sm, "ListInferenceComponents", EndpointNameEquals="http-ep")
            assert [c["InferenceComponentName"] for c in listed["InferenceComponents"]] == [
                "http-ic"
            ]

            call(
                aas,
                "RegisterScalableTarget",
                ServiceNamespace="sagemaker",
                ResourceId="inference-component/http-ic",
                ScalableDimension=IC_DIMENSION,
                MinCapacity=0,
                MaxCapacity=4,
            )
            remote.fail("inference-component", "http-ic", "boom")
            failed = describe_ic(sm, "http-ic")
            assert (failed["InferenceComponentStatus"], failed["FailureReason"]) == (
                "Failed",
                "boom",
            )
            with pytest.raises(RuntimeError, match="404"):
                remote.fail("endpoint", "ghost", "x")

            call(sm, "DeleteInferenceComponent", InferenceComponentName="http-ic")
            remote.advance(DELAY)
            call(sm, "DeleteEndpoint", EndpointName="http-ep")
            remote.advance(DELAY)
            assert call(sm, "ListEndpoints")["Endpoints"] == []
        finally:
            remote.reset()
    assert control.update_delay == timedelta(0)


def test_emulated_aws_resets_the_control_object(clock: ManualClock) -> None:
    with emulated_aws(update_delay=DELAY, clock=clock) as em:
        assert em is control
        assert em.update_delay == DELAY and em.now() == START
    assert control.update_delay == timedelta(0)
    assert abs(control.now() - datetime.now(UTC)) < timedelta(minutes=1)  # system clock again


def test_deregistering_a_scalable_target_deletes_its_policies() -> None:
    """AWS deletes a scalable target's scaling policies with it; moto 5.2.5 kept them."""
    with emulated_aws():
        sm = boto3.client("sagemaker", region_name="us-east-1")
        make_ic_endpoint(sm)
        make_ic(sm, "x")
        aas = boto3.client("application-autoscaling", region_name="us-east-1")
        target = {
            "ServiceNamespace": "sagemaker",
            "ResourceId": "inference-component/x",
            "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
        }
        aas.register_scalable_target(**target, MinCapacity=0, MaxCapacity=2)
        aas.put_scaling_policy(
            PolicyName="p",
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
            },
            **target,
        )
        aas.deregister_scalable_target(**target)
        assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []


# -- Application Auto Scaling: the resource behind a scalable target ------------------------------


@pytest.fixture
def aas(emulator: Emulator) -> Any:
    return boto3.client("application-autoscaling", region_name=REGION)


def register(
    aas: Any, resource_id: str, low: int, high: int, dimension: str = IC_DIMENSION
) -> None:
    call(
        aas,
        "RegisterScalableTarget",
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=dimension,
        MinCapacity=low,
        MaxCapacity=high,
    )


VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def test_a_scalable_target_for_a_missing_inference_component_is_refused(sm: Any, aas: Any) -> None:
    """moto 5.2.5 registered a target for any ``inference-component/<name>``, existing or not."""
    make_ic_endpoint(sm)
    with pytest.raises(ClientError) as excinfo:
        register(aas, "inference-component/ghost", 0, 4)
    code, message = error_of(excinfo)
    assert code == "ValidationException" and "inference-component/ghost" in message
    assert (
        call(aas, "DescribeScalableTargets", ServiceNamespace="sagemaker")["ScalableTargets"] == []
    )
    make_ic(sm, "ghost")
    register(aas, "inference-component/ghost", 0, 4)  # now it exists


def test_a_scalable_target_for_a_missing_variant_is_refused(sm: Any, aas: Any) -> None:
    """moto 5.2.5 checked ECS services only: any ``endpoint/<ep>/variant/<v>`` registered."""
    make_model_endpoint(sm, "rt")
    for resource_id in ("endpoint/nowhere/variant/AllTraffic", "endpoint/rt/variant/Blue"):
        with pytest.raises(ClientError) as excinfo:
            register(aas, resource_id, 1, 4, VARIANT_DIMENSION)
        code, message = error_of(excinfo)
        assert code == "ValidationException" and resource_id in message
    register(aas, "endpoint/rt/variant/AllTraffic", 1, 4, VARIANT_DIMENSION)


def test_raising_min_capacity_scales_an_inference_component_out(
    sm: Any, aas: Any, emulator: Emulator, clock: ManualClock
) -> None:
    """moto 5.2.5 stored MinCapacity/MaxCapacity and left the copy count outside them."""
    make_ic_endpoint(sm)
    make_ic(sm, copies=1)
    emulator.update_delay = DELAY
    register(aas, "inference-component/ic", 1, 8)
    assert describe_ic(sm)["InferenceComponentStatus"] == "InService"  # already inside

    register(aas, "inference-component/ic", 3, 8)
    ic = describe_ic(sm)
    assert ic["InferenceComponentStatus"] == "Updating"  # the normal transition
    assert ic["RuntimeConfig"] == {"DesiredCopyCount": 3, "CurrentCopyCount": 1}
    clock.advance(DELAY)
    assert describe_ic(sm)["RuntimeConfig"] == {"DesiredCopyCount": 3, "CurrentCopyCount": 3}

    register(aas, "inference-component/ic", 0, 2)  # lowering the maximum scales in
    assert describe_ic(sm)["RuntimeConfig"] == {
        "DesiredCopyCount": 2,
        "CurrentCopyCount": 2,
    }  # a removed copy stops serving at once
    # Not active (Updating): AWS leaves the capacity alone.
    register(aas, "inference-component/ic", 0, 1)
    assert describe_ic(sm)["RuntimeConfig"]["DesiredCopyCount"] == 2
    clock.advance(DELAY)
    assert describe_ic(sm)["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}


def test_raising_min_capacity_scales_a_variant_out(
    sm: Any, aas: Any, emulator: Emulator, clock: ManualClock
) -> None:
    """moto 5.2.5 left a variant's instance count outside its scalable target's range."""
    make_model_endpoint(sm, "rt", count=1)
    emulator.update_delay = DELAY
    clock.advance(DELAY)
    register(aas, "endpoint/rt/variant/AllTraffic", 2, 4, VARIANT_DIMENSION)
    endpoint = describe_ep(sm, "rt")
    assert endpoint["EndpointStatus"] == "Updating"
    variant = endpoint["ProductionVariants"][0]
    assert (variant["DesiredInstanceCount"], variant["CurrentInstanceCount"]) == (2, 1)
    clock.advance(DELAY)
    register(aas, "endpoint/rt/variant/AllTraffic", 1, 1, VARIANT_DIMENSION)
    clock.advance(DELAY)
    variant = describe_ep(sm, "rt")["ProductionVariants"][0]
    assert (variant["DesiredInstanceCount"], variant["CurrentInstanceCount"]) == (1, 1)


# -- Application Auto Scaling: target-tracking alarms ----------------------------------------------

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def track(aas: Any, resource_id: str, dimension: str, metric: str, value: float = 5.0) -> Any:
    return call(
        aas,
        "PutScalingPolicy",
        PolicyName="tracking",
        PolicyType="TargetTrackingScaling",
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=dimension,
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": value,
            "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
        },
    )


def alarms_named(prefix: str) -> list[dict[str, Any]]:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    found: list[dict[str, Any]] = call(cloudwatch, "DescribeAlarms", AlarmNamePrefix=prefix)[
        "MetricAlarms"
    ]
    return found


def test_target_tracking_creates_and_deletes_its_alarms(sm: Any, aas: Any) -> None:
    """moto 5.2.5 created target-tracking alarms for DynamoDB and ECS only: a SageMaker
    policy answered ``Alarms: []`` and CloudWatch had no alarm for it."""
    import re

    make_ic_endpoint(sm)
    make_ic(sm)
    resource = "inference-component/ic"
    register(aas, resource, 0, 8)
    response = track(aas, resource, IC_DIMENSION, "SageMakerInferenceComponentInvocationsPerCopy")
    names = sorted(alarm["AlarmName"] for alarm in response["Alarms"])
    assert len(names) == 2
    assert re.fullmatch(rf"TargetTracking-inference-component/ic-AlarmHigh-{UUID}", names[0])
    assert re.fullmatch(rf"TargetTracking-inference-component/ic-AlarmLow-{UUID}", names[1])
    for alarm in response["Alarms"]:
        assert (
            alarm["AlarmARN"]
            == f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{alarm['AlarmName']}"
        )
    high, low = alarms_named("TargetTracking-inference-component/ic-")
    assert (high["MetricName"], high["Namespace"], high["Dimensions"]) == (
        "InvocationsPerCopy",
        "AWS/SageMaker",
        [{"Name": "InferenceComponentName", "Value": "ic"}],
    )
    assert (high["ComparisonOperator"], high["Threshold"]) == ("GreaterThanThreshold", 5.0)
    assert low["ComparisonOperator"] == "LessThanThreshold" and low["Threshold"] < 5.0
    assert high["AlarmActions"][0].startswith(response["PolicyARN"])
    [policy] = call(aas, "DescribeScalingPolicies", ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert sorted(a["AlarmName"] for a in policy["Alarms"]) == names

    # Replacing the policy replaces its alarms; deleting it deletes them.
    replaced = track(
        aas, resource, IC_DIMENSION, "SageMakerInferenceComponentInvocationsPerCopy", 9
    )
    current = {a["AlarmName"] for a in alarms_named("TargetTracking-")}
    assert current == {a["AlarmName"] for a in replaced["Alarms"]} and len(current) == 2
    call(
        aas,
        "DeleteScalingPolicy",
        PolicyName="tracking",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=IC_DIMENSION,
    )
    assert alarms_named("TargetTracking-") == []

    # Deregistering the target deletes its policies and their alarms.
    track(aas, resource, IC_DIMENSION, "SageMakerInferenceComponentInvocationsPerCopy")
    call(
        aas,
        "DeregisterScalableTarget",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=IC_DIMENSION,
    )
    assert alarms_named("TargetTracking-") == []


def test_target_tracking_on_a_variant_names_its_alarms_after_the_variant(sm: Any, aas: Any) -> None:
    """The variant form of the same gap: no alarms for ``endpoint/<ep>/variant/<v>``."""
    make_model_endpoint(sm, "rt")
    resource = "endpoint/rt/variant/AllTraffic"
    register(aas, resource, 1, 4, VARIANT_DIMENSION)
    response = track(aas, resource, VARIANT_DIMENSION, "SageMakerVariantInvocationsPerInstance", 70)
    assert sorted(a["AlarmName"].split("-")[-6] for a in response["Alarms"]) == [
        "AlarmHigh",
        "AlarmLow",
    ]
    high = alarms_named(f"TargetTracking-{resource}-AlarmHigh-")[0]
    assert high["MetricName"] == "InvocationsPerInstance"
    assert high["Dimensions"] == [
        {"Name": "EndpointName", "Value": "rt"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]


def test_a_scaling_policy_needs_a_registered_target(sm: Any, aas: Any) -> None:
    """moto 5.2.5 accepted a policy for a target nobody had registered."""
    make_ic_endpoint(sm)
    make_ic(sm)
    with pytest.raises(ClientError) as excinfo:
        track(
            aas,
            "inference-component/ic",
            IC_DIMENSION,
            "SageMakerInferenceComponentInvocationsPerCopy",
        )
    assert error_of(excinfo) == (
        "ObjectNotFoundException",
        "No scalable target registered for service namespace: sagemaker, resource ID: "
        f"inference-component/ic, scalable dimension: {IC_DIMENSION}",
    )


def test_scalable_target_responses_leave_out_nulls_and_page_to_the_end(sm: Any, aas: Any) -> None:
    """moto 5.2.5 sent ``"NextToken": null`` and ``"SuspendedState": null`` (botocore's parser
    hid both), and its NextToken repeated the second page forever past 100 targets."""
    raw: list[dict[str, Any]] = []
    aas.meta.events.register(
        "before-parse.*.DescribeScalableTargets",
        lambda response_dict, **_: raw.append(json.loads(response_dict["body"])),
    )
    make_ic_endpoint(sm)
    names = [f"ic{index:03d}" for index in range(120)]
    for name in names:
        make_ic(sm, name)
        register(aas, f"inference-component/{name}", 0, 2)
    first = call(aas, "DescribeScalableTargets", ServiceNamespace="sagemaker", MaxResults=50)
    assert first["ScalableTargets"][0]["SuspendedState"] == {
        "DynamicScalingInSuspended": False,
        "DynamicScalingOutSuspended": False,
        "ScheduledScalingSuspended": False,
    }
    pages = list(
        aas.get_paginator("describe_scalable_targets").paginate(
            ServiceNamespace="sagemaker", PaginationConfig={"PageSize": 50, "MaxItems": 1000}
        )
    )
    assert [len(page["ScalableTargets"]) for page in pages] == [50, 50, 20]
    found = [t["ResourceId"] for page in pages for t in page["ScalableTargets"]]
    assert sorted(found) == [f"inference-component/{name}" for name in names]
    assert "NextToken" not in raw[-1] and all("NextToken" in body for body in raw[1:-1])


def test_every_operation_the_controller_uses_is_checked_on_the_wire(
    sm: Any, aas: Any, emulator: Emulator, clock: ManualClock
) -> None:
    """The suite-wide check (tests/emulated.py) sees the raw body of each of these."""
    from tests.emulated import RESPONSES

    seen_before = len(RESPONSES.checked)
    make_ic_endpoint(sm)
    make_model_endpoint(sm, "rt")
    make_ic(sm, copies=1)
    describe_ic(sm)
    describe_ep(sm)
    call(sm, "ListInferenceComponents", EndpointNameEquals="ep")
    call(sm, "ListEndpoints")
    call(sm, "DescribeEndpointConfig", EndpointConfigName="ep-config")
    call(sm, "DescribeModel", ModelName="llm")
    call(sm, "ListTags", ResourceArn=describe_ic(sm)["InferenceComponentArn"])
    call(
        sm,
        "UpdateInferenceComponentRuntimeConfig",
        InferenceComponentName="ic",
        DesiredRuntimeConfig={"CopyCount": 2},
    )
    call(
        sm, "UpdateInferenceComponent", InferenceComponentName="ic", RuntimeConfig={"CopyCount": 1}
    )
    call(
        sm,
        "UpdateEndpointWeightsAndCapacities",
        EndpointName="rt",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}],
    )
    register(aas, "inference-component/ic", 1, 4)
    call(aas, "DescribeScalableTargets", ServiceNamespace="sagemaker")
    track(
        aas, "inference-component/ic", IC_DIMENSION, "SageMakerInferenceComponentInvocationsPerCopy"
    )
    call(aas, "DescribeScalingPolicies", ServiceNamespace="sagemaker")
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "inference-component/ic",
        "ScalableDimension": IC_DIMENSION,
    }
    call(aas, "DeleteScalingPolicy", PolicyName="tracking", **target)
    call(aas, "DeregisterScalableTarget", **target)
    call(sm, "DeleteInferenceComponent", InferenceComponentName="ic")
    call(sm, "DeleteEndpoint", EndpointName="ep")
    seen = set(RESPONSES.checked[seen_before:])
    expected = {
        f"sagemaker.{op}"
        for op in (
            "CreateEndpointConfig",
            "CreateEndpoint",
            "CreateInferenceComponent",
            "DescribeInferenceComponent",
            "DescribeEndpoint",
            "DescribeEndpointConfig",
            "DescribeModel",
            "ListInferenceComponents",
            "ListEndpoints",
            "ListTags",
            "UpdateInferenceComponent",
            "UpdateInferenceComponentRuntimeConfig",
            "UpdateEndpointWeightsAndCapacities",
            "DeleteInferenceComponent",
            "DeleteEndpoint",
        )
    } | {
        f"application-autoscaling.{op}"
        for op in (
            "RegisterScalableTarget",
            "DescribeScalableTargets",
            "PutScalingPolicy",
            "DescribeScalingPolicies",
            "DeleteScalingPolicy",
            "DeregisterScalableTarget",
        )
    }
    assert expected <= seen, sorted(expected - seen)


def test_model_responses_leave_out_an_empty_vpc_config_and_list_summaries(sm: Any) -> None:
    """moto 5.2.5 sent ``"VpcConfig": {}`` (its required Subnets/SecurityGroupIds missing)
    in DescribeModel and whole model descriptions, without ModelArn, in ListModels."""
    raw: dict[str, Any] = {}
    sm.meta.events.register(
        "before-parse.*.*",
        lambda operation_model, response_dict, **_: raw.__setitem__(
            operation_model.name, json.loads(response_dict["body"])
        ),
    )
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    call(sm, "DescribeModel", ModelName="m")
    assert "VpcConfig" not in raw["DescribeModel"]
    call(sm, "ListModels")
    assert set(raw["ListModels"]["Models"][0]) == {"ModelName", "ModelArn", "CreationTime"}
