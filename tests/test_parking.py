"""Parking a real-time variant over a weekend: snapshot and delete in the idle window, back after."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from core.aws.clients import AwsClients
from core.aws.parking import Parking, run_parking
from core.aws.reconcile import run_reconcile
from core.aws.scaling import ScalingAdapter
from core.aws.snapshot import Clients
from core.aws.state import StateStore
from core.policy import Policy, loads_policy
from sagescale.cli import main
from sagescale.emulator import ManualClock, emulated_aws
from sagescale.seed import seed_target
from sagescale.stack import Stack, default_template

POLICY = """
version: 1
timezone: UTC
targets:
  web:
    endpoint: web-ep
    park: true
    min: 1
    max: 3
    idle: [{days: Sat-Sun}]
"""
FRIDAY = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


@dataclass
class World:
    clients: AwsClients
    clock: ManualClock
    policy: Policy
    store: StateStore
    parking: Parking

    def park(self, when: datetime) -> tuple[str, str]:
        self.clock.set(when)
        return run_parking(self.policy, when, self.parking).outcomes["web"]

    def exists(self) -> bool:
        try:
            self.clients.sagemaker.describe_endpoint(EndpointName="web-ep")
        except ClientError:
            return False
        return True

    def shape(self) -> dict[str, Any]:
        sm = self.clients.sagemaker
        ep = sm.describe_endpoint(EndpointName="web-ep")
        (variant,) = ep["ProductionVariants"]
        (st,) = self.clients.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")[
            "ScalableTargets"
        ]
        return {
            "config": ep["EndpointConfigName"],
            "variant": (variant["VariantName"], variant["CurrentInstanceCount"]),
            "tags": sorted(
                (t["Key"], t["Value"]) for t in sm.list_tags(ResourceArn=ep["EndpointArn"])["Tags"]
            ),
            "scalable": (st["ResourceId"], st["MinCapacity"], st["MaxCapacity"]),
        }


@pytest.fixture
def world(aws_env: None) -> Iterator[World]:
    clock = ManualClock(FRIDAY - timedelta(days=7))
    with emulated_aws(clock=clock):
        clients = AwsClients()
        names = Stack(default_template()).create_resources(clients)
        policy = loads_policy(POLICY)
        seed_target(clients.sagemaker, policy.targets["web"], copies=2)
        arn = clients.sagemaker.describe_endpoint(EndpointName="web-ep")["EndpointArn"]
        clients.sagemaker.add_tags(
            ResourceArn=arn,
            Tags=[{"Key": "sagescale:park", "Value": "true"}, {"Key": "team", "Value": "web"}],
        )
        clients.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId="endpoint/web-ep/variant/AllTraffic",
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            MinCapacity=1,
            MaxCapacity=3,
        )
        store = StateStore(names["StateTable"], clients.dynamodb)
        yield World(
            clients,
            clock,
            policy,
            store,
            Parking(Clients(clients.sagemaker, clients.autoscaling, clients.cloudwatch), store),
        )


def test_weekend_round_trip(world: World) -> None:
    before = world.shape()
    assert world.park(FRIDAY) == ("running", "")
    outcome, message = world.park(SATURDAY)
    assert outcome == "parked" and "config and model kept" in message
    assert not world.exists()
    world.clients.sagemaker.describe_endpoint_config(EndpointConfigName=before["config"])  # kept
    world.clients.sagemaker.describe_model(ModelName="web-ep-model")  # kept
    assert world.park(SATURDAY + timedelta(hours=12))[0] == "still-parked"
    assert world.park(MONDAY)[0] == "unparking"
    assert world.exists()
    assert world.park(MONDAY + timedelta(minutes=5))[0] == "unparked"
    assert world.shape() == before
    assert world.park(MONDAY + timedelta(minutes=10)) == ("running", "")


def test_endpoint_not_opted_in_is_never_parked(world: World) -> None:
    arn = world.clients.sagemaker.describe_endpoint(EndpointName="web-ep")["EndpointArn"]
    world.clients.sagemaker.delete_tags(ResourceArn=arn, TagKeys=["sagescale:park"])
    outcome, message = world.park(SATURDAY)
    assert outcome == "refused" and "sagescale:park=true" in message
    assert world.exists()


def test_dry_run_parks_nothing(world: World) -> None:
    world.clock.set(SATURDAY)
    result = run_parking(world.policy, SATURDAY, world.parking, dry_run=True)
    assert result.outcomes["web"] == ("waiting", "dry run: would park")
    assert world.exists()


def test_reconcile_leaves_parked_targets_to_the_park_function(world: World) -> None:
    world.park(SATURDAY)
    adapter = ScalingAdapter(world.clients.sagemaker, world.clients.autoscaling)
    out = run_reconcile(world.policy, SATURDAY + timedelta(hours=1), adapter, world.store).outcomes[
        "web"
    ]
    assert out.outcome == "parked" and "parked by the park function since" in out.message


def test_a_park_target_that_is_not_parked_still_comes_down_to_one(world: World) -> None:
    """Regression: while not parked (here: not opted in), reconcile wrote nothing for a park target,
    so the scalable target kept the minimum of the day before (3) all night instead of 1."""
    arn = world.clients.sagemaker.describe_endpoint(EndpointName="web-ep")["EndpointArn"]
    world.clients.sagemaker.delete_tags(ResourceArn=arn, TagKeys=["sagescale:park"])
    world.clients.autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/web-ep/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=3,
        MaxCapacity=3,
    )
    assert world.park(SATURDAY)[0] == "refused"
    adapter = ScalingAdapter(world.clients.sagemaker, world.clients.autoscaling)
    out = run_reconcile(world.policy, SATURDAY + timedelta(hours=1), adapter, world.store).outcomes[
        "web"
    ]
    assert (out.outcome, out.decision.scalable) == (
        "applied",
        __import__("core.decide", fromlist=["ScalableBounds"]).ScalableBounds(1, 3),
    )


def test_wake_command_brings_it_back_and_holds_it_until_the_window_ends(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.park(SATURDAY)
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY)
    world.clock.set(SATURDAY + timedelta(hours=10))
    code = main(
        [
            "wake",
            "web",
            "--policy",
            str(policy_file),
            "--table",
            "sagescale-StateTable",
            "--now",
            (SATURDAY + timedelta(hours=10)).isoformat(),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "min 1 until 2026-11-30T00:00:00+00:00" in out and "web: unparking" in out
    assert world.exists()
    assert world.park(SATURDAY + timedelta(hours=11))[0] == "unparked"
    assert world.park(SATURDAY + timedelta(hours=20))[0] == "running"  # the override holds it up


def test_a_park_whose_delete_fails_is_resumed_from_its_own_snapshot(world: World) -> None:
    """Regression: the state said parked, and the scaling and alarms were gone, before DeleteEndpoint;
    when it failed the target stayed unmanaged for the idle window. Now the park records each step as
    it lands, resumes from the snapshot it took (which holds the scaling), and undoes itself if the
    window ends first."""
    from sagescale.emulator import control

    before = world.shape()
    control.add_fault("sagemaker:DeleteEndpoint", "InternalFailure", times=1)
    outcome, message = world.park(SATURDAY)
    assert outcome == "error" and "InternalFailure" in message
    assert world.exists() and (world.store.get("web").parked or {}).get("phase") == "parking"
    outcome, message = world.park(SATURDAY + timedelta(minutes=5))  # the next tick finishes it
    assert outcome == "parked" and not world.exists()
    assert world.park(MONDAY)[0] == "unparking"
    assert world.park(MONDAY + timedelta(minutes=5))[0] == "unparked"
    assert (
        world.shape() == before
    )  # the scaling the first attempt deleted came back from its snapshot


def test_a_half_done_park_is_undone_when_the_window_ends_first(world: World) -> None:
    from sagescale.emulator import control

    before = world.shape()
    control.add_fault("sagemaker:DeleteEndpoint", "InternalFailure", times=1)
    assert world.park(SATURDAY)[0] == "error"
    assert (
        world.park(MONDAY)[0] == "unparked"
    )  # the endpoint is there: its scaling is restored at once
    assert world.shape() == before and world.store.get("web").parked is None
