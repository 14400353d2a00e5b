"""Fault tolerance on the emulator: throttling, an error in one target, an interrupted janitor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.aws.clients import AwsClients
from core.aws.fleet import FleetReader
from core.aws.janitor import JanitorActions, run_janitor
from core.aws.reconcile import run_reconcile
from core.aws.scaling import ScalingAdapter
from core.aws.snapshot import Clients, leftovers
from core.aws.state import StateStore
from core.policy import loads_policy
from sagescale.emulator import ManualClock, control, start_server
from sagescale.seed import seed_target
from sagescale.stack import Stack, default_template
from tests.faults import TEST_RETRIES, Throttler, no_backoff

# Over HTTP, an injected error answers in place of the emulator: the request never reaches it,
# as with a real throttle. (In-process, moto's stub would still apply it.)

TARGETS = 12
POLICY = "version: 1\ntimezone: UTC\ntargets:\n" + "".join(
    f"  t{i}: {{inference_component: ic-{i}, min: 3, max: 5}}\n" for i in range(TARGETS)
)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def copies(clients: AwsClients, i: int) -> int:
    return int(
        clients.sagemaker.describe_inference_component(InferenceComponentName=f"ic-{i}")[
            "RuntimeConfig"
        ]["DesiredCopyCount"]
    )


def test_reconcile_converges_with_30_percent_of_calls_throttled(aws_env: None) -> None:
    policy = loads_policy(POLICY)
    with start_server() as server, no_backoff() as slept:
        server.reset()
        clients = AwsClients(endpoint_url=server.url, config=TEST_RETRIES)
        names = Stack(default_template()).create_resources(clients)
        for target in policy.targets.values():
            seed_target(clients.sagemaker, target, copies=1)
        throttle = Throttler(0.3).attach(clients.sagemaker, clients.autoscaling, clients.dynamodb)
        adapter = ScalingAdapter(clients.sagemaker, clients.autoscaling)
        store = StateStore(names["StateTable"], clients.dynamodb)
        runs = 0
        while runs < 3:
            runs += 1
            result = run_reconcile(policy, NOW + timedelta(minutes=5 * runs), adapter, store)
            if not result.errors:
                break
        injected, passed = sum(throttle.injected.values()), sum(throttle.passed.values())
        assert 0.2 < injected / (injected + passed) < 0.4, (
            throttle.injected,
            throttle.passed,
        )  # the faults happened
        assert slept, "botocore backed off"
        assert [copies(clients, i) for i in range(TARGETS)] == [3] * TARGETS
        assert runs <= 2
        final = run_reconcile(policy, NOW + timedelta(hours=1), adapter, store)
        assert {o.outcome for o in final.outcomes.values()} == {"unchanged"}


def test_an_error_in_one_target_does_not_stop_the_others(aws_env: None) -> None:
    policy = loads_policy(POLICY)
    with start_server() as server:
        server.reset()
        clients = AwsClients(endpoint_url=server.url)
        names = Stack(default_template()).create_resources(clients)
        for target in policy.targets.values():
            seed_target(clients.sagemaker, target, copies=1)

        def deny_ic_3(params: dict[str, Any], **_: Any) -> None:
            if params.get("InferenceComponentName") == "ic-3":
                from botocore.exceptions import ClientError

                raise ClientError(
                    {
                        "Error": {
                            "Code": "AccessDeniedException",
                            "Message": "not authorized on ic-3",
                        }
                    },
                    "UpdateInferenceComponentRuntimeConfig",
                )

        clients.sagemaker.meta.events.register(
            "provide-client-params.sagemaker.UpdateInferenceComponentRuntimeConfig", deny_ic_3
        )
        result = run_reconcile(
            policy,
            NOW,
            ScalingAdapter(clients.sagemaker, clients.autoscaling),
            StateStore(names["StateTable"], clients.dynamodb),
        )
        assert result.errors == ["t3"]
        assert "AccessDenied" in result.outcomes["t3"].message
        assert [copies(clients, i) for i in range(TARGETS) if i != 3] == [3] * (TARGETS - 1)


def test_throttled_janitor_deletion_resumes_to_completion_with_the_snapshot_intact(
    aws_env: None, tmp_path: Path
) -> None:
    """No retries and 30 % throttling: runs fail part-way; each resumes where the last stopped."""
    from botocore.config import Config

    clock = ManualClock(NOW - timedelta(days=5))
    policy = loads_policy("version: 1\njanitor: {idle_for: 1440, grace: 60, dry_run: false}\n")
    with start_server() as server, no_backoff():
        server.reset()
        control.set_clock(clock)
        setup = AwsClients(endpoint_url=server.url)
        names = Stack(default_template()).create_resources(setup)
        target = loads_policy(
            "version: 1\ntargets:\n  f: {inference_component: forgotten-ic, min: 1, max: 2}\n"
        ).targets["f"]
        seed_target(setup.sagemaker, target, copies=2)
        setup.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId="inference-component/forgotten-ic",
            ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
            MinCapacity=0,
            MaxCapacity=2,
        )
        clock.set(NOW)
        flaky = AwsClients(
            endpoint_url=server.url, config=Config(retries={"mode": "standard", "max_attempts": 1})
        )  # no retries: every fault bites
        throttle = Throttler(0.3, seed=3).attach(flaky.sagemaker, flaky.autoscaling, flaky.dynamodb)
        sc = Clients(flaky.sagemaker, flaky.autoscaling, flaky.cloudwatch)
        store = StateStore(names["StateTable"], flaky.dynamodb)
        reader = FleetReader(
            flaky.sagemaker, flaky.client("resourcegroupstaggingapi"), flaky.cloudwatch
        )
        actions = JanitorActions(sc, store, lambda _s, _m: None, sleep=lambda _s: None)
        outcomes: list[str] = []
        when = NOW
        for _ in range(30):
            try:
                result = run_janitor(policy, when, reader, actions)
                outcome = result.done.get(
                    "forgotten-ic-endpoint",
                    result.verdicts[0].action if result.verdicts else "gone",
                )
            except (
                Exception
            ) as exc:  # a read that ran out of retries: the run failed, as a Lambda would
                outcome = f"run failed: {type(exc).__name__}"
            outcomes.append(outcome)
            if outcome.startswith("deleted") or outcome == "gone":
                break
            when += timedelta(hours=1)
            clock.set(when)
        assert any(o.startswith("error") or o.startswith("run failed") for o in outcomes), (
            outcomes
        )  # it was interrupted
        assert outcomes[-1].startswith("deleted") or outcomes[-1] == "gone", outcomes
        assert sum(throttle.injected.values()) > 0
        clean = AwsClients(endpoint_url=server.url)
        snapshot = StateStore(names["StateTable"], clean.dynamodb).snapshot("forgotten-ic-endpoint")
        assert snapshot is not None
        assert snapshot["inference_components"][0]["copies"] == 2
        assert snapshot["scalable_targets"][0]["resource_id"] == "inference-component/forgotten-ic"
        assert (
            leftovers(
                snapshot,
                Clients(clean.sagemaker, clean.autoscaling, clean.cloudwatch),
                with_config_and_models=False,
            )
            == []
        )
        server.reset()
