"""Savings that AWS bills: 0 copies on an endpoint whose instances cannot follow them is a warning
(``instances-kept``) with the instances still billed, their price and the fix, notified once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.instances import Instances, instances_kept
from tests.emulated import NY, Env, build_env

NIGHT = datetime(2026, 11, 24, 21, 0, tzinfo=NY)  # Tuesday 21:00: the idle window, min 0


def unmanage_endpoint(sm: Any, endpoint: str) -> None:
    """The endpoint as the LLM Engineer's Handbook deploys it: no ManagedInstanceScaling."""
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint)
    variant = {
        k: v
        for k, v in config["ProductionVariants"][0].items()
        if k in ("VariantName", "InstanceType", "InitialInstanceCount", "RoutingConfig")
    }
    sm.create_endpoint_config(
        EndpointConfigName=f"{endpoint}-plain",
        ExecutionRoleArn=config["ExecutionRoleArn"],
        ProductionVariants=[variant],
    )
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-plain")


def unmanage(env: Env) -> None:
    unmanage_endpoint(env.clients.sagemaker, "llm-ic-endpoint")


@pytest.fixture
def night_env(tmp_path: Path, aws_env: None) -> Any:
    from handlers.runtime import reset_runtime
    from sagescale.emulator import emulated_aws

    with emulated_aws() as emulator:
        from core.aws.clients import AwsClients

        env = build_env(tmp_path, AwsClients(), emulator)
        env.clock.set(NIGHT - timedelta(hours=2))
        env.invoke()
        yield env
    reset_runtime()


def test_zero_copies_on_an_unmanaged_endpoint_warn_once_with_the_cost_and_the_fix(
    night_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = night_env
    unmanage(env)
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        env.runtime, "notify", lambda subject, message: sent.append((subject, message))
    )
    env.clock.set(NIGHT)
    out = env.invoke()["targets"]["llm"]
    assert out["to"] == 0
    (warning,) = out["warnings"]
    assert warning["code"] == "instances-kept"
    assert (
        "1 ml.g5.12xlarge instance(s) of endpoint llm-ic-endpoint keep billing ($7.09/h)"
        in warning["message"]
    )
    assert "ManagedInstanceScaling is not enabled" in warning["message"]
    assert (
        "aws sagemaker create-endpoint-config" in warning["message"]
        and "update-endpoint --endpoint-name llm-ic-endpoint" in warning["message"]
    )
    assert [s for s, _ in sent] == ["sagescale: llm: instances-kept"]
    env.clock.advance(timedelta(minutes=5))
    again = env.invoke()["targets"]["llm"]
    assert again["warnings"][0]["code"] == "instances-kept"
    assert len(sent) == 1  # notified once while it holds
    assert env.runtime.store.get("llm").warned == ("instances-kept",)


def test_a_managed_endpoint_that_can_release_its_instances_does_not_warn(night_env: Env) -> None:
    night_env.clock.set(NIGHT)
    out = night_env.invoke()["targets"]["llm"]
    assert out["to"] == 0 and "warnings" not in out


def test_status_shows_the_instances_their_cost_and_the_warning(
    night_env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sagescale.cli import main

    unmanage(night_env)
    night_env.clock.set(NIGHT)
    night_env.invoke()
    policy = tmp_path / "policy.yaml"
    table = night_env.runtime.settings.state_table
    capsys.readouterr()  # the function's own log lines
    assert (
        main(
            [
                "status",
                "--policy",
                str(policy),
                "--table",
                table,
                "--at",
                NIGHT.isoformat(),
                "--json",
            ]
        )
        == 0
    )
    (target,) = json.loads(capsys.readouterr().out)["targets"]
    assert target["instances"] == {
        "current": 1,
        "min": 1,
        "max": 1,
        "managed": False,
        "instance_type": "ml.g5.12xlarge",
    }
    assert target["cost_per_hour_usd"] == pytest.approx(7.09)
    assert [w["code"] for w in target["warnings"]] == ["instances-kept"]
    assert (
        main(["status", "--policy", str(policy), "--table", table, "--at", NIGHT.isoformat()]) == 0
    )
    text = capsys.readouterr().out
    assert (
        "instances 1 x ml.g5.12xlarge, $7.09/h, not managed" in text
        and "WARNING instances-kept" in text
    )


@pytest.mark.parametrize(
    ("managed", "minimum", "copies", "warns"),
    [(False, 1, 0, True), (True, 1, 0, True), (True, 0, 0, False), (False, 1, 2, False)],
)
def test_instances_follow_to_zero_only_with_managed_scaling_down_to_zero(
    managed: bool, minimum: int, copies: int, warns: bool
) -> None:
    found = Instances("ep", "AllTraffic", "ml.g5.2xlarge", 1, managed, minimum, 4)
    assert (instances_kept(found, copies) is not None) == warns
