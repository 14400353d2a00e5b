"""Headroom sized by the recent peak (``headroom[].of_peak``): a share of the copies the busiest
minute of the last days needed, read by reconcile from CloudWatch and modelled by the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.aws.clients import AwsClients
from core.bounds import effective_bounds
from core.policy import PolicyError, loads_policy
from sagescale.emulator import emulated_aws
from tests.emulated import NY, Env, build_env

POLICY = """
version: 1
timezone: America/New_York
targets:
  llm:
    inference_component: llm-ic
    min: 1
    max: 8
    headroom:
      - {days: Mon-Fri, from: "09:00", to: "18:00", of_peak: {fraction: 0.5, per_copy: 1300, days: 7}}
"""
TUESDAY_NOON = datetime(2026, 11, 24, 12, 0, tzinfo=NY)


def test_a_share_of_the_peak_adds_the_copies_it_needs_in_its_window() -> None:
    policy = loads_policy(POLICY)
    assert (
        effective_bounds(policy, "llm", TUESDAY_NOON, peak=5200.0).min == 1 + 2
    )  # half of 4 copies
    assert effective_bounds(policy, "llm", TUESDAY_NOON, peak=5201.0).min == 1 + 3
    assert (
        effective_bounds(policy, "llm", TUESDAY_NOON, peak=None).min == 1
    )  # unknown peak: nothing added
    assert (
        effective_bounds(policy, "llm", TUESDAY_NOON.replace(hour=20), peak=5200.0).min == 1
    )  # outside the window
    assert effective_bounds(policy, "llm", TUESDAY_NOON, peak=50_000.0).min == 8  # max caps it
    assert (
        "headroom:Mon-Fri 09:00-18:00 +2"
        in effective_bounds(policy, "llm", TUESDAY_NOON, peak=5200.0).reasons
    )


def test_a_headroom_window_has_copies_or_a_share_of_the_peak() -> None:
    with pytest.raises(PolicyError, match="exactly one of copies or of_peak"):
        loads_policy(
            POLICY.replace(
                "of_peak: {fraction: 0.5, per_copy: 1300, days: 7}",
                "copies: 2, of_peak: {fraction: 0.5, per_copy: 1300}",
            )
        )
    with pytest.raises(PolicyError, match="exactly one of copies or of_peak"):
        loads_policy(POLICY.replace(", of_peak: {fraction: 0.5, per_copy: 1300, days: 7}", ""))
    with pytest.raises(PolicyError, match=r"of_peak\.days"):
        loads_policy(POLICY.replace("days: 7}", "days: 30}"))


@pytest.fixture
def penv(tmp_path: Path, aws_env: None) -> Iterator[Env]:
    from handlers.runtime import reset_runtime

    with emulated_aws() as emulator:
        env = build_env(tmp_path, AwsClients(), emulator, POLICY)
        env.clock.set(TUESDAY_NOON)
        yield env
    reset_runtime()


def _demand(env: Env, metric: str, value: float, ago: timedelta) -> None:
    at = env.clock().astimezone(UTC) - ago
    env.clients.cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "InferenceComponentName", "Value": "llm-ic"}],
                "Value": value,
                "Timestamp": at,
            },
        ],
    )


def test_reconcile_reads_the_peak_and_holds_the_share_of_it(penv: Env) -> None:
    """Yesterday's busiest minute: 3,900 invocations and 1,300 rejected (5,200 demand, 4 copies);
    half of it is held ready from 09:00 on working days."""
    _demand(penv, "Invocations", 3900.0, timedelta(days=1))
    _demand(penv, "NoCapacityInvocationFailures", 1300.0, timedelta(days=1))
    _demand(penv, "Invocations", 800.0, timedelta(days=3))
    _demand(penv, "Invocations", 9000.0, timedelta(days=9))  # older than the 7 days read
    out = penv.invoke()
    llm = out["targets"]["llm"]
    assert llm["min"] == 3 and llm["to"] == 3, llm
    assert any(r.startswith("headroom:") and r.endswith("+2") for r in llm["reasons"])


def test_without_datapoints_the_window_adds_nothing(penv: Env) -> None:
    llm = penv.invoke()["targets"]["llm"]
    assert llm["min"] == 1 and not any(r.startswith("headroom:") for r in llm["reasons"])


def test_the_simulator_sizes_the_headroom_from_the_demand_it_has_seen() -> None:
    from core.sim.config import SimConfig
    from core.sim.run import simulate

    policy = loads_policy(POLICY.replace("timezone: America/New_York", "timezone: UTC"))
    monday = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    day = [0.0] * 1440
    day[10 * 60] = 5200.0  # Monday 10:00: the busiest minute
    demand = day + [100.0] * 1440  # Tuesday: a quiet day
    sim = simulate(policy, "llm", monday, demand, SimConfig(), strategies=["policy"])
    floor = sim.strategies["policy"].floor
    assert floor[8 * 60] == 1  # Monday before the window: no headroom
    assert floor[9 * 60 + 30] == 1  # in the window, before the peak: none seen yet
    assert (
        floor[1440 + 12 * 60] == 3
    )  # Tuesday noon: half of Monday's peak (4 copies) on top of min 1
    assert floor[1440 + 20 * 60] == 1  # after the window
