"""Organisation-wide reconcile: the tick enqueues one work item per account-region, and the
reconcile function, as the work queue's worker, reconciles each in its own account through the
member role (Powertools batch utility: a failing account-region is retried alone)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from core.aws.accounts import Accounts
from core.aws.clients import AwsClients
from core.aws.state import StateStore
from core.policy import Place, loads_policy
from handlers import reconcile
from handlers.runtime import Runtime, reset_runtime
from handlers.settings import Settings
from sagescale.emulator import ManualClock, control, emulated_aws
from sagescale.seed import seed_target
from sagescale.stack import ACCOUNT, NAME_PREFIX, REGION, Stack, default_template
from tests.emulated import CallCounter, context

PROD = "111111111111"
POLICY = f"""
version: 1
timezone: UTC
accounts:
  prod: {{role: "arn:aws:iam::{PROD}:role/sagescale-member", regions: [eu-west-1, us-east-1], external_id: sagescale-prod}}
  ghost: {{role: "arn:aws:iam::333333333333:role/sagescale-member", regions: [us-east-1]}}
targets:
  llm: {{inference_component: llm-ic, min: 1, max: 4}}
  llm-eu: {{inference_component: llm-ic, min: 2, max: 4, account: prod, region: eu-west-1}}
  llm-us: {{inference_component: llm-us-ic, min: 1, max: 4, account: prod, region: us-east-1}}
"""
WITH_GHOSTED = POLICY.replace(
    "  llm-us: {",
    "  ghosted: {inference_component: g-ic, min: 1, max: 2, account: ghost}\n  llm-us: {",
)  # a target in the role-less account
TICK = {"source": "sagescale.schedule", "action": "reconcile"}
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@dataclass
class Org:
    clients: AwsClients
    runtime: Runtime
    queue: str
    members: dict[Place, AwsClients]

    def copies(self, place: Place, component: str) -> int:
        ic = self.members[place].sagemaker.describe_inference_component(
            InferenceComponentName=component
        )
        return int(ic["RuntimeConfig"]["DesiredCopyCount"])

    def batch(self) -> dict[str, Any]:
        """The work queue's messages, as Lambda's SQS trigger delivers them."""
        sqs = self.clients.client("sqs")
        messages = sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:work",
                    "awsRegion": REGION,
                }
                for m in messages
            ]
        }


@pytest.fixture
def org(aws_env: None) -> Iterator[Org]:
    clock = ManualClock(NOON)
    with emulated_aws(clock=clock):
        clients = AwsClients()
        names = Stack(default_template()).create_resources(clients)
        control.create_member_role(
            PROD, "sagescale-member", trusted_account=ACCOUNT, external_id="sagescale-prod"
        )
        policy = loads_policy(POLICY)
        seed_target(clients.sagemaker, policy.targets["llm"], copies=1)
        accounts = Accounts(clients, policy.accounts)
        members = {
            Place(): clients,
            Place("prod", "eu-west-1"): accounts.clients(Place("prod", "eu-west-1")),
            Place("prod", "us-east-1"): accounts.clients(Place("prod", "us-east-1")),
        }
        seed_target(
            members[Place("prod", "eu-west-1")].sagemaker, policy.targets["llm-eu"], copies=0
        )
        seed_target(
            members[Place("prod", "us-east-1")].sagemaker, policy.targets["llm-us"], copies=3
        )
        settings = Settings(
            names["StateTable"],
            None,
            None,
            None,
            account_id=ACCOUNT,
            region=REGION,
            stack_name=NAME_PREFIX,
            work_queue_url=names["WorkQueue"],
        )
        runtime = Runtime(settings, clients, clock=clock)
        runtime.policy = policy
        reset_runtime(runtime)
        yield Org(clients, runtime, names["WorkQueue"], members)
    reset_runtime()


def _without_ghost(org: Org) -> None:
    org.runtime.policy = loads_policy(
        POLICY.replace(
            '  ghost: {role: "arn:aws:iam::333333333333:role/sagescale-member", regions: [us-east-1]}\n',
            "",
        )
    )


def test_the_tick_enqueues_one_item_per_account_region_and_the_worker_reconciles_each_there(
    org: Org,
) -> None:
    _without_ghost(org)
    out = reconcile.handler(TICK, context("reconcile"))
    assert out["enqueued"] == 3 and out["places"] == ["home", "prod/eu-west-1", "prod/us-east-1"]
    batch = org.batch()
    bodies = [json.loads(r["body"]) for r in batch["Records"]]
    assert sorted((b["account"], b["region"]) for b in bodies) == [
        ("", ""),
        ("prod", "eu-west-1"),
        ("prod", "us-east-1"),
    ]
    done = reconcile.handler(batch, context("reconcile"))
    assert done == {"batchItemFailures": []}
    assert (
        org.copies(Place("prod", "eu-west-1"), "llm-ic") == 2
    )  # min 2 there, in the member account
    assert org.copies(Place("prod", "us-east-1"), "llm-us-ic") == 3  # within [1, 4]: unchanged
    assert org.copies(Place(), "llm-ic") == 1
    keys = {
        i["pk"]["S"] for i in org.clients.dynamodb.scan(TableName=org.runtime.store.table)["Items"]
    }
    assert (
        f"target#{PROD}/eu-west-1/llm-eu" in keys and "target#llm" in keys
    )  # state keys carry account and region


def test_a_run_that_finds_nothing_to_change_makes_no_write_in_any_account(org: Org) -> None:
    _without_ghost(org)
    reconcile.handler(TICK, context("reconcile"))
    reconcile.handler(org.batch(), context("reconcile"))
    used = [
        org.runtime.accounts.clients(p) for p in org.members
    ]  # the clients the worker uses, kept between invocations
    counter = CallCounter().attach(
        *(c.sagemaker for c in used), *(c.autoscaling for c in used), *(c.cloudwatch for c in used)
    )
    reconcile.handler(TICK, context("reconcile"))
    assert reconcile.handler(org.batch(), context("reconcile")) == {"batchItemFailures": []}
    assert counter.writes == {}, counter.writes
    assert counter.calls  # it did read


def test_an_account_whose_role_cannot_be_assumed_fails_alone(org: Org) -> None:
    org.runtime.policy = loads_policy(WITH_GHOSTED)
    reconcile.handler(TICK, context("reconcile"))
    batch = org.batch()
    ghost = [
        r["messageId"] for r in batch["Records"] if json.loads(r["body"])["account"] == "ghost"
    ]
    done = reconcile.handler(batch, context("reconcile"))
    assert done == {"batchItemFailures": [{"itemIdentifier": ghost[0]}]}
    assert org.copies(Place("prod", "eu-west-1"), "llm-ic") == 2  # the others went on


def test_a_work_item_for_an_account_the_policy_no_longer_names_is_done_not_retried(
    org: Org,
) -> None:
    org.runtime.policy = loads_policy(WITH_GHOSTED)
    reconcile.handler(TICK, context("reconcile"))
    batch = org.batch()
    assert "ghost" in {json.loads(r["body"])["account"] for r in batch["Records"]}
    _without_ghost(org)  # the policy changed between the tick and the worker
    assert reconcile.handler(batch, context("reconcile")) == {"batchItemFailures": []}
    assert org.copies(Place("prod", "eu-west-1"), "llm-ic") == 2


def test_without_a_queue_the_tick_reconciles_every_account_region_itself(org: Org) -> None:
    _without_ghost(org)
    reset_runtime(
        runtime := Runtime(
            replace(org.runtime.settings, work_queue_url=None), org.clients, clock=org.runtime.clock
        )
    )
    runtime.policy = org.runtime.policy
    out = reconcile.handler(TICK, context("reconcile"))
    assert [p.get("account", "home") for p in out["places"]] == ["home", "prod", "prod"]
    assert org.copies(Place("prod", "eu-west-1"), "llm-ic") == 2
    org.runtime.policy = runtime.policy = loads_policy(WITH_GHOSTED)
    org.members[Place("prod", "eu-west-1")].sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="llm-ic", DesiredRuntimeConfig={"CopyCount": 1}
    )
    org.runtime.clock.advance(timedelta(minutes=10))
    with pytest.raises(
        reconcile.AccountUnreached, match="1 account-region"
    ):  # the ghost account: its role does not exist
        reconcile.handler(TICK, context("reconcile"))
    assert (
        org.copies(Place("prod", "eu-west-1"), "llm-ic") == 2
    )  # the others were reconciled all the same


def test_a_manual_run_of_one_target_acts_where_it_lives(org: Org) -> None:
    _without_ghost(org)
    out = reconcile.handler({"target": "llm-eu"}, context("reconcile"))
    assert (out["account"], out["region"], list(out["targets"])) == (
        "prod",
        "eu-west-1",
        ["llm-eu"],
    )
    assert org.copies(Place("prod", "eu-west-1"), "llm-ic") == 2


ALARM_POLICY = f"""
version: 1
timezone: UTC
accounts:
  prod: {{role: "arn:aws:iam::{PROD}:role/sagescale-member", regions: [eu-west-1, us-east-1], external_id: sagescale-prod}}
targets:
  eu:
    inference_component: llm-ic
    account: prod
    region: eu-west-1
    min: 1
    max: 6
    wake: true
    burst: {{per_copy: 1300}}
    headroom: [{{days: Mon-Sun, of_peak: {{fraction: 0.5, per_copy: 1300}}}}]
  us: {{inference_component: {{endpoint: llm-us-ic-endpoint}}, account: prod, region: us-east-1, min: 1, max: 4, wake: true}}
  web: {{endpoint: web-ep, account: prod, region: eu-west-1, min: 2, max: 3}}
"""


def test_member_accounts_keep_their_own_alarms_and_their_alarm_state_changes_act_there(
    org: Org,
) -> None:
    """The wake and burst alarms of a member target live in its account (member-role.yaml's rule
    sends their state changes to the controller's bus); the alarm function acts there through
    the member role and re-arms the burst alarm there. The same alarm name from the controller's
    own account moves nothing."""
    from handlers import alarm
    from sagescale.samples import alarm_sample
    from tests.conftest import EVENTS

    policy = loads_policy(ALARM_POLICY)
    eu, us = org.members[Place("prod", "eu-west-1")], org.members[Place("prod", "us-east-1")]
    seed_target(eu.sagemaker, policy.targets["web"], copies=1)
    us.autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/llm-us-ic",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        MinCapacity=0,
        MaxCapacity=4,
    )
    org.runtime.policy = policy
    reconcile.handler(TICK, context("reconcile"))
    assert reconcile.handler(org.batch(), context("reconcile")) == {"batchItemFailures": []}
    names = {
        a["AlarmName"]
        for a in eu.cloudwatch.describe_alarms(AlarmNamePrefix="sagescale-")["MetricAlarms"]
    }
    assert names == {"sagescale-wake-sagescale-eu", "sagescale-burst-sagescale-eu"}
    assert {
        a["AlarmName"]
        for a in us.cloudwatch.describe_alarms(AlarmNamePrefix="sagescale-")["MetricAlarms"]
    } == {"sagescale-wake-sagescale-us"}
    assert (
        org.clients.cloudwatch.describe_alarms(AlarmNamePrefix="sagescale-")["MetricAlarms"] == []
    )  # none in the controller's account
    assert (
        eu.sagemaker.describe_endpoint(EndpointName="web-ep")["ProductionVariants"][0][
            "DesiredInstanceCount"
        ]
        == 2
    )
    assert org.copies(Place("prod", "eu-west-1"), "llm-ic") == 1

    assert (
        us.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"][
            0
        ]["MinCapacity"]
        == 1
    )  # bounds mode there

    cold = Runtime(
        org.runtime.settings, org.clients, clock=org.runtime.clock
    )  # the alarm function: a runtime of its own
    cold.policy = policy
    reset_runtime(cold)
    burst = "sagescale-burst-sagescale-eu"
    eu.cloudwatch.set_alarm_state(AlarmName=burst, StateValue="ALARM", StateReason="burst")
    event = alarm_sample(
        "alarm-burst.json", events=EVENTS, alarm=burst, at="2026-11-24T12:00:30.000+0000"
    )
    elsewhere = json.loads(
        json.dumps(event).replace("123456789012", PROD).replace("us-east-1", "eu-west-1")
    )
    out = alarm.handler(elsewhere, context("alarm"))
    assert [(t["target"], t["outcome"], t["to"]) for t in out["alarms"][0]["targets"]] == [
        ("eu", "applied", 5)
    ]  # 1 serving + 4
    assert org.copies(Place("prod", "eu-west-1"), "llm-ic") == 5
    assert (
        eu.cloudwatch.describe_alarms(AlarmNames=[burst])["MetricAlarms"][0]["StateValue"] == "OK"
    )  # re-armed there
    home = alarm_sample(
        "alarm-burst.json", events=EVENTS, alarm=burst, at="2026-11-24T12:01:30.000+0000"
    )
    assert (
        alarm.handler(home, context("alarm"))["alarms"][0]["targets"] == []
    )  # from the wrong account: nothing


def test_the_janitor_sweeps_each_member_account_region_through_its_own_role(aws_env: None) -> None:
    """janitor.accounts: the hourly tick enqueues one sweep per account-region and the janitor
    function, as its queue's worker, marks and later deletes (snapshot first) what was forgotten
    there, through the member janitor role; the member role itself deletes nothing."""
    from handlers import janitor

    policy_text = POLICY.replace(
        '  ghost: {role: "arn:aws:iam::333333333333:role/sagescale-member", regions: [us-east-1]}\n',
        "",
    ) + ("janitor: {idle_for: 60, grace: 60, dry_run: false, accounts: [prod]}\n")
    policy = loads_policy(policy_text)
    clock = ManualClock(NOON - timedelta(days=2))
    with emulated_aws(clock=clock):
        clients = AwsClients()
        names = Stack(default_template()).create_resources(clients)
        control.create_member_role(
            PROD, "sagescale-member", trusted_account=ACCOUNT, external_id="sagescale-prod"
        )
        control.create_member_role(
            PROD, "sagescale-member-janitor", trusted_account=ACCOUNT, external_id="sagescale-prod"
        )
        reach = Accounts(clients, policy.accounts)
        eu = reach.clients(Place("prod", "eu-west-1"))
        seed_target(
            eu.sagemaker, policy.targets["llm-eu"], copies=1
        )  # managed by a target there: kept
        forgotten = loads_policy(
            "version: 1\ntargets:\n  f: {inference_component: forgotten-ic, min: 1, max: 2}\n"
        ).targets["f"]
        seed_target(eu.sagemaker, forgotten, copies=1)
        eu.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId="inference-component/forgotten-ic",
            ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
            MinCapacity=1,
            MaxCapacity=2,
        )
        clock.set(NOON)
        settings = Settings(
            names["StateTable"],
            None,
            None,
            None,
            account_id=ACCOUNT,
            region=REGION,
            stack_name=NAME_PREFIX,
            work_queue_url=names["JanitorWorkQueue"],
        )

        def sweep() -> dict[str, Any]:
            runtime = Runtime(settings, clients, clock=clock)  # each invocation a fresh environment
            runtime.policy = policy
            reset_runtime(runtime)
            tick = janitor.handler(
                {"source": "sagescale.schedule", "action": "janitor"}, context("janitor")
            )
            assert tick["places"] == ["home", "prod/eu-west-1", "prod/us-east-1"], tick
            org = Org(clients, runtime, names["JanitorWorkQueue"], {})
            return janitor.handler(org.batch(), context("janitor"))

        assert sweep() == {"batchItemFailures": []}
        arn = eu.sagemaker.describe_endpoint(EndpointName="forgotten-ic-endpoint")["EndpointArn"]
        assert any(
            t["Key"] == "sagescale:janitor" for t in eu.sagemaker.list_tags(ResourceArn=arn)["Tags"]
        )  # marked
        clock.set(NOON + timedelta(hours=2))
        assert sweep() == {"batchItemFailures": []}
        left = {e["EndpointName"] for e in eu.sagemaker.list_endpoints()["Endpoints"]}
        assert left == {"llm-ic-endpoint"}  # the forgotten one is gone, the managed one kept
        keys = {i["pk"]["S"] for i in clients.dynamodb.scan(TableName=names["StateTable"])["Items"]}
        assert f"snapshot#{PROD}/eu-west-1/forgotten-ic-endpoint" in keys, (
            keys
        )  # the snapshot says where it was taken
        assert (
            f"janitor#{PROD}/eu-west-1/forgotten-ic-endpoint" in keys
            and "janitor#forgotten-ic-endpoint" not in keys
        )  # so does its deletion record
    reset_runtime()


def test_a_deletion_in_progress_in_one_account_region_is_not_seen_in_another(aws_env: None) -> None:
    """Endpoint names repeat across accounts (StackSets, copied setups): a janitor deletion record
    is kept per account-region, so one place's half-done deletion is neither resumed nor cleared by another's."""
    policy = loads_policy(POLICY)
    with emulated_aws():
        clients = AwsClients()
        names = Stack(default_template()).create_resources(clients)
        store = StateStore(names["StateTable"], clients.dynamodb)
        eu, us = (
            store.at(policy, Place("prod", "eu-west-1")),
            store.at(policy, Place("prod", "us-east-1")),
        )
        eu.put_record(
            "janitor",
            "llm-test",
            {"snapshot": "2026-11-24T12:00:00Z", "started": "2026-11-24T12:00:00Z"},
        )
        assert (
            us.record("janitor", "llm-test") is None and store.record("janitor", "llm-test") is None
        )
        us.put_record("janitor", "llm-test", None)  # the other place finishing its own deletion
        assert eu.record("janitor", "llm-test") == {
            "snapshot": "2026-11-24T12:00:00Z",
            "started": "2026-11-24T12:00:00Z",
        }


def test_an_operators_own_alarm_in_a_member_account_moves_the_target_there_by_arn_or_by_name(
    org: Org,
) -> None:
    """A user's alarm in a member account (forwarded with member-role.yaml's ForwardAlarmPrefix)
    reaches the alarm function with its origin: a rule naming its ARN, or its plain name on a
    target of that account-region, acts there; the same name from the controller's own account does not."""
    from handlers import alarm
    from sagescale.samples import alarm_sample
    from tests.conftest import EVENTS

    arn = f"arn:aws:cloudwatch:eu-west-1:{PROD}:alarm:llm-latency-high"
    policy = loads_policy(
        POLICY.replace(
            "  llm-eu: {inference_component: llm-ic, min: 2, max: 4, account: prod, region: eu-west-1}",
            f'  llm-eu: {{inference_component: llm-ic, min: 2, max: 6, account: prod, region: eu-west-1, alarms: [{{alarm: "{arn}", change: 2}}, {{alarm: llm-queue-deep, change: 1}}]}}',
        )
    )
    org.runtime.policy = policy
    eu = Place("prod", "eu-west-1")
    org.members[eu].autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/llm-ic",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        MinCapacity=0,
        MaxCapacity=6,
    )

    def from_(account: str, region: str, name: str, at: str) -> dict[str, Any]:
        event = alarm_sample("alarm-eventbridge-alarm.json", events=EVENTS, alarm=name, at=at)
        return cast(
            dict[str, Any],
            json.loads(
                json.dumps(event).replace("123456789012", account).replace("us-east-1", region)
            ),
        )

    out = alarm.handler(
        from_(PROD, "eu-west-1", "llm-latency-high", "2026-11-24T12:00:30.000+0000"),
        context("alarm"),
    )
    assert [(t["target"], t["outcome"]) for t in out["alarms"][0]["targets"]] == [
        ("llm-eu", "applied")
    ]
    assert org.copies(eu, "llm-ic") == 2  # 0 + 2, in the member account
    org.runtime.clock.advance(timedelta(minutes=15))  # past the cooldown
    out = alarm.handler(
        from_(PROD, "eu-west-1", "llm-queue-deep", "2026-11-24T12:15:40.000+0000"), context("alarm")
    )
    assert [(t["target"], t["outcome"]) for t in out["alarms"][0]["targets"]] == [
        ("llm-eu", "applied")
    ] and org.copies(eu, "llm-ic") == 3, out
    out = alarm.handler(
        from_(ACCOUNT, "us-east-1", "llm-queue-deep", "2026-11-24T12:15:50.000+0000"),
        context("alarm"),
    )
    assert (
        out["alarms"][0]["targets"] == [] and org.copies(eu, "llm-ic") == 3
    )  # the controller's alarm of that name is not the member's


def test_the_functions_refuse_a_policy_naming_their_own_account_region_as_a_member(
    org: Org,
) -> None:
    from core.policy import PolicyError

    with pytest.raises(PolicyError, match="is the controller's own"):
        org.runtime.policy = loads_policy(
            POLICY.replace(PROD, ACCOUNT)
        )  # prod's regions include the controller's us-east-1
