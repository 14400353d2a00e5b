"""Targets that follow real deployments: a component selected by its endpoint (the sagemaker SDK
names components with a timestamp, new on every deploy), and state that belongs to the resource."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.aws.clients import AwsClients
from core.policy import PolicyError, loads_policy
from sagescale.emulator import emulated_aws
from sagescale.samples import alarm_sample
from tests.conftest import EVENTS
from tests.emulated import NY, Env, build_env

SELECTOR_POLICY = """
version: 1
timezone: America/New_York
targets:
  llm:
    inference_component: {endpoint: llm-endpoint}
    min: 1
    max: 8
    cooldown: {out: 60, in: 300}
    alarms: [{alarm: llm-latency-high, change: 2}]
    wake: true
"""
FIRST = "llm-2026-11-24-12-00-00-000"  # the name seed_target gives a selected component
TUESDAY_NOON = datetime(2026, 11, 24, 12, 0, tzinfo=NY)


@pytest.fixture
def senv(tmp_path: Path, aws_env: None) -> Iterator[Env]:
    from handlers.runtime import reset_runtime

    with emulated_aws() as emulator:
        env = build_env(tmp_path, AwsClients(), emulator, SELECTOR_POLICY)
        env.clock.set(TUESDAY_NOON)
        yield env
    reset_runtime()


def redeploy(
    env: Env,
    name: str,
    *,
    delete: str | None = FIRST,
    model: str = "llm-2026-11-24-12-00-00-000-model",
) -> None:
    """What the SDK does on a redeploy: a new component under a new name, the old one deleted."""
    sm = env.clients.sagemaker
    if model not in {m["ModelName"] for m in sm.list_models()["Models"]}:
        sm.create_model(
            ModelName=model,
            ExecutionRoleArn="arn:aws:iam::123456789012:role/sagescale-emulated-sagemaker",
            PrimaryContainer={"Image": "example.com/llm:1"},
        )
    sm.create_inference_component(
        InferenceComponentName=name,
        EndpointName="llm-endpoint",
        VariantName="AllTraffic",
        Specification={
            "ModelName": model,
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1,
                "MinMemoryRequiredInMb": 1024,
            },
        },
        RuntimeConfig={"CopyCount": 1},
    )
    if delete is not None:
        sm.delete_inference_component(InferenceComponentName=delete)


def wake_dimension(env: Env) -> str:
    (alarm,) = env.clients.cloudwatch.describe_alarms(AlarmNames=["sagescale-wake-sagescale-llm"])[
        "MetricAlarms"
    ]
    return str(alarm["Dimensions"][0]["Value"])


def test_a_selected_component_is_resolved_and_followed_across_a_redeploy(senv: Env) -> None:
    """A policy naming the SDK's timestamped component stopped working at the next deploy; a
    selector by endpoint is resolved afresh on every run, so the new component is managed at once."""
    first = senv.invoke()["targets"]["llm"]
    assert first["resource"] == f"inference-component/{FIRST}" and first["outcome"] != "error"
    assert wake_dimension(senv) == FIRST
    redeploy(senv, "llm-2026-12-01-09-30-00-000")
    senv.clock.advance(timedelta(minutes=5))
    second = senv.invoke()["targets"]["llm"]
    assert (
        second["resource"] == "inference-component/llm-2026-12-01-09-30-00-000"
        and second["outcome"] != "error"
    ), second
    assert (
        wake_dimension(senv) == "llm-2026-12-01-09-30-00-000"
    )  # the wake alarm follows the component


def test_an_sdk_redeploy_that_leaves_the_old_component_is_followed_and_the_old_one_reported(
    senv: Env,
) -> None:
    """Regression: the SDK adds a timestamped component on each redeploy and leaves the old one;
    the selector then failed ("several components; add model: NAME") and nothing was scaled."""
    senv.invoke()
    senv.clock.advance(timedelta(days=7))
    redeploy(
        senv, "llm-2026-12-01-09-30-00-000", delete=None, model="llm-2026-12-01-09-30-00-000-model"
    )
    senv.clock.advance(timedelta(minutes=5))
    out = senv.invoke()["targets"]["llm"]
    assert (
        out["resource"] == "inference-component/llm-2026-12-01-09-30-00-000"
        and out["outcome"] != "error"
    ), out
    (warning,) = out["warnings"]
    assert warning["code"] == "superseded" and FIRST in warning["message"]
    assert (
        f"aws sagemaker delete-inference-component --inference-component-name {FIRST}"
        in warning["message"]
    )
    assert (
        wake_dimension(senv) == "llm-2026-12-01-09-30-00-000"
    )  # the wake alarm follows the newest
    assert senv.runtime.store.get("llm").warned == ("superseded",)
    # a model name written before the redeploy still selects the family (the SDK timestamps model names too)
    senv.runtime.policy = loads_policy(
        SELECTOR_POLICY.replace(
            "{endpoint: llm-endpoint}",
            "{endpoint: llm-endpoint, model: llm-2026-11-24-12-00-00-000-model}",
        )
    )
    again = senv.invoke()["targets"]["llm"]
    assert again["resource"] == "inference-component/llm-2026-12-01-09-30-00-000"


def test_a_model_chooses_among_components_of_different_models(senv: Env) -> None:
    senv.clock.advance(timedelta(minutes=5))
    redeploy(senv, "other-2026-11-24", delete=None, model="other-model")
    senv.runtime.policy = loads_policy(
        SELECTOR_POLICY.replace(
            "{endpoint: llm-endpoint}", f"{{endpoint: llm-endpoint, model: {FIRST}-model}}"
        )
    )
    chosen = senv.invoke()["targets"]["llm"]
    assert chosen["resource"] == f"inference-component/{FIRST}" and "warnings" not in chosen
    senv.runtime.policy = loads_policy(
        SELECTOR_POLICY.replace(
            "{endpoint: llm-endpoint}", "{endpoint: llm-endpoint, model: other-model}"
        )
    )
    chosen = senv.invoke()["targets"]["llm"]
    assert (
        chosen["resource"] == "inference-component/other-2026-11-24"
        and chosen["outcome"] != "error"
    )


def test_components_created_at_the_same_instant_are_an_error_whose_fix_works(senv: Env) -> None:
    from core.aws.scaling import newest

    at = datetime(2026, 11, 24, tzinfo=NY)
    both = [
        {"InferenceComponentName": n, "CreationTime": at, "InferenceComponentStatus": "InService"}
        for n in ("b-ic", "a-ic")
    ]
    assert newest(both) == ("a-ic", [], ["a-ic", "b-ic"])
    later = [
        *both,
        {
            "InferenceComponentName": "c-ic",
            "CreationTime": at + timedelta(minutes=1),
            "InferenceComponentStatus": "Creating",
        },
    ]
    assert newest(later) == (
        "a-ic",
        [],
        ["a-ic", "b-ic"],
    )  # a newer one still Creating is not managed yet


def test_an_endpoint_without_components_is_reported(senv: Env) -> None:
    senv.clients.sagemaker.delete_inference_component(InferenceComponentName=FIRST)
    senv.clock.advance(timedelta(minutes=5))
    out: dict[str, Any] = senv.invoke()
    assert out["targets"]["llm"]["outcome"] == "error"
    assert out["targets"]["llm"]["message"] == "no inference component on endpoint llm-endpoint"
    assert out["errors"] == ["llm"]


def test_cooldown_of_a_replaced_component_does_not_carry_over(senv: Env) -> None:
    """State belonged to the target's name: a cooldown (or surge, or deferral) of the component a
    redeploy replaced blocked the new component's first alarm."""
    senv.invoke()
    first = senv.alarm(
        alarm_sample(
            "alarm-eventbridge-alarm.json", events=EVENTS, at="2026-11-24T17:00:00.000+0000"
        )
    )
    assert first["alarms"][0]["targets"][0]["outcome"] == "applied"
    redeploy(senv, "llm-2026-11-24-12-00-30-000")
    senv.clock.advance(timedelta(seconds=30))  # inside the old component's 60 s scale-out cooldown
    second = senv.alarm(
        alarm_sample(
            "alarm-eventbridge-alarm.json", events=EVENTS, at="2026-11-24T17:00:30.000+0000"
        )
    )
    (step,) = second["alarms"][0]["targets"]
    assert step["outcome"] == "applied", step
    state = senv.runtime.store.get("llm")
    assert state.resource is not None and "llm-2026-11-24-12-00-30-000" in state.resource


def test_a_component_that_does_not_exist_gets_no_wake_alarm_or_policy(
    tmp_path: Path, aws_env: None
) -> None:
    """Reconcile created a wake alarm (and in bounds mode a step policy) for a component that did not exist."""
    from handlers.runtime import reset_runtime

    policy = (
        SELECTOR_POLICY.replace("{endpoint: llm-endpoint}", "llm-ic")
        + "  ghost:\n    inference_component: ghost-ic\n    min: 1\n    max: 2\n    wake: true\n"
    )
    with emulated_aws() as emulator:
        env = build_env(tmp_path, AwsClients(), emulator, policy)  # seeds llm-ic only
        out = env.invoke()
        assert (
            out["targets"]["ghost"]["outcome"] == "error"
            and "does not exist" in out["targets"]["ghost"]["message"]
        )
        assert "ghost" not in out["wake_alarms"] and "llm" in out["wake_alarms"]
        assert (
            env.clients.cloudwatch.describe_alarms(AlarmNames=["sagescale-wake-sagescale-ghost"])[
                "MetricAlarms"
            ]
            == []
        )
    reset_runtime()


def test_the_selector_is_validated_with_its_field_path() -> None:
    with pytest.raises(PolicyError) as info:
        loads_policy(SELECTOR_POLICY.replace("{endpoint: llm-endpoint}", "{endpoint: 'bad name'}"))
    assert info.value.problems[0][0].startswith("targets.llm.inference_component")
    with pytest.raises(PolicyError) as info:
        loads_policy(
            SELECTOR_POLICY.replace(
                "{endpoint: llm-endpoint}", "{endpoint: llm-endpoint, modle: x}"
            )
        )
    assert any("modle" in path for path, _ in info.value.problems)
