"""Endpoint variants as targets: a real-time variant (instances, never 0 unless parked) and an
async variant (0 at idle, woken by HasBacklogWithoutCapacity), through the real handlers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.aws.clients import AwsClients
from handlers.runtime import reset_runtime
from sagescale.emulator import emulated_aws
from sagescale.samples import alarm_sample
from tests.emulated import Env, build_env

POLICY = """
version: 1
timezone: UTC
targets:
  llm:
    endpoint: rt-ep
    min: 1
    max: 4
    idle: [{days: Sat-Sun}]
    cooldown: {out: 0, in: 0}
    alarms:
      - {alarm: rt-latency-high, change: 2}
  batch:
    endpoint: async-ep
    kind: async
    min: 1
    max: 3
    idle: [{days: Sat-Sun}]
    wake: true
"""
FRIDAY = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def venv_env(tmp_path: Path, aws_env: None) -> Iterator[Env]:
    from core.policy import loads_policy
    from sagescale.seed import seed_target

    with emulated_aws() as emulator:
        env = build_env(tmp_path, AwsClients(), emulator, POLICY)
        seed_target(env.clients.sagemaker, loads_policy(POLICY).targets["batch"], copies=1)
        env.clock.set(FRIDAY)
        yield env
    reset_runtime()


def instances(env: Env, endpoint: str) -> int:
    (variant,) = env.clients.sagemaker.describe_endpoint(EndpointName=endpoint)[
        "ProductionVariants"
    ]
    return int(variant["CurrentInstanceCount"])


def test_realtime_variant_alarm_adds_instances(venv_env: Env) -> None:
    out = venv_env.alarm(
        alarm_sample(
            "alarm-eventbridge-alarm.json",
            alarm="rt-latency-high",
            at="2026-11-27T12:00:00.000+0000",
        )
    )
    (step,) = out["alarms"][0]["targets"]
    assert (step["target"], step["outcome"], step["to"]) == ("llm", "applied", 3)
    assert instances(venv_env, "rt-ep") == 3


def test_idle_weekend_holds_a_realtime_variant_at_one_and_takes_async_to_zero(
    venv_env: Env,
) -> None:
    venv_env.alarm(
        alarm_sample(
            "alarm-eventbridge-alarm.json",
            alarm="rt-latency-high",
            at="2026-11-27T12:00:00.000+0000",
        )
    )
    venv_env.invoke()  # Friday: records the applied minimum
    venv_env.clock.set(SATURDAY)
    targets: dict[str, Any] = venv_env.invoke()["targets"]
    # a real-time variant that is not parked has minimum 1 in an idle window: nothing drops, and
    # the instances an alarm added stay until a scale-in rule removes them
    assert (targets["llm"]["min"], targets["llm"]["outcome"]) == (1, "unchanged")
    assert (targets["batch"]["min"], targets["batch"]["to"]) == (0, 0)
    assert instances(venv_env, "rt-ep") == 3 and instances(venv_env, "async-ep") == 0


def test_async_wake_alarm_watches_the_backlog(venv_env: Env) -> None:
    venv_env.invoke()
    (alarm,) = venv_env.clients.cloudwatch.describe_alarms(
        AlarmNames=["sagescale-wake-sagescale-batch"]
    )["MetricAlarms"]
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Dimensions"]) == (
        "HasBacklogWithoutCapacity",
        "Maximum",
        [{"Name": "EndpointName", "Value": "async-ep"}],
    )
    assert (
        alarm["ComparisonOperator"],
        alarm["Threshold"],
        alarm["EvaluationPeriods"],
        alarm["DatapointsToAlarm"],
    ) == ("GreaterThanOrEqualToThreshold", 1.0, 1, 1)
    venv_env.clock.set(SATURDAY)
    venv_env.invoke()
    assert instances(venv_env, "async-ep") == 0
    venv_env.clock.advance(timedelta(minutes=3))
    out = venv_env.alarm(
        alarm_sample(
            "alarm-wake.json",
            alarm="sagescale-wake-sagescale-batch",
            at="2026-11-28T12:03:00.000+0000",
        )
    )
    assert out["alarms"][0]["targets"][0]["to"] == 1
    assert instances(venv_env, "async-ep") == 1
