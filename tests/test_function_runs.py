"""Each function end to end through its real handler, as deployed: the policy read from the SSM
parameter, notifications on, the janitor applying, parking a weekend. These runs are also what
``tests/test_iam.py`` judges the roles against (every path a role's actions exist for)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.aws.clients import AwsClients
from core.policy import loads_policy
from handlers import alarm, janitor, park, reconcile, unpark
from handlers.runtime import Runtime, reset_runtime
from handlers.settings import Settings
from sagescale.emulator import ManualClock, emulated_aws
from sagescale.samples import alarm_sample
from sagescale.seed import seed_target
from sagescale.stack import ACCOUNT, NAME_PREFIX, REGION, Stack, default_template
from tests.conftest import EVENTS
from tests.emulated import context

PARAMETER = "/sagescale/policy"
POLICY = """
version: 1
timezone: UTC
targets:
  llm:
    inference_component: llm-ic
    min: 1
    max: 8
    alarms: [{alarm: llm-latency-high, change: 2}]
    wake: true
    burst: {per_copy: 1300}
    headroom: [{days: Mon-Sun, of_peak: {fraction: 0.5, per_copy: 1300}}]
  web:
    endpoint: web-ep
    park: true
    min: 1
    max: 3
    idle: [{days: Sat-Sun}]
janitor:
  idle_for: 1440
  grace: 60
  dry_run: false
"""
FRIDAY = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TICK = {"source": "sagescale.schedule", "action": "reconcile"}


@dataclass
class Deployed:
    clients: AwsClients
    clock: ManualClock
    settings: Settings

    def cold_start(self) -> None:
        """A new execution environment: settings and policy read afresh (from SSM)."""
        reset_runtime(Runtime(self.settings, self.clients, clock=self.clock))

    def exists(self, endpoint: str) -> bool:
        return any(
            e["EndpointName"] == endpoint
            for e in self.clients.sagemaker.list_endpoints()["Endpoints"]
        )


@pytest.fixture
def deployed(aws_env: None) -> Iterator[Deployed]:
    clock = ManualClock(FRIDAY - timedelta(days=7))
    with emulated_aws(clock=clock):
        clients = AwsClients()
        names = Stack(default_template()).create_resources(clients)
        clients.client("ssm").put_parameter(Name=PARAMETER, Type="String", Value=POLICY)
        policy = loads_policy(POLICY)
        seed_target(clients.sagemaker, policy.targets["llm"], copies=1)
        seed_target(clients.sagemaker, policy.targets["web"], copies=1)
        sm = clients.sagemaker
        web = sm.describe_endpoint(EndpointName="web-ep")["EndpointArn"]
        sm.add_tags(
            ResourceArn=web,
            Tags=[
                {"Key": "sagescale:park", "Value": "true"},
                {"Key": "sagescale:keep", "Value": "true"},
            ],
        )
        clients.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId="endpoint/web-ep/variant/AllTraffic",
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            MinCapacity=1,
            MaxCapacity=3,
        )
        clients.autoscaling.put_scaling_policy(
            PolicyName="web-invocations",
            ServiceNamespace="sagemaker",
            ResourceId="endpoint/web-ep/variant/AllTraffic",
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 100.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
            },
        )
        # an endpoint the janitor marked once, since claimed by a policy target: it is unmarked
        sm.add_tags(
            ResourceArn=web,
            Tags=[{"Key": "sagescale:janitor", "Value": "delete@2026-11-20T00:00:00Z"}],
        )
        # a forgotten test endpoint with an inference component under Application Auto Scaling
        forgotten = loads_policy(
            "version: 1\ntargets:\n  t: {inference_component: forgotten-ic, min: 1, max: 2}\n"
        ).targets["t"]
        seed_target(sm, forgotten, copies=1)
        clients.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId="inference-component/forgotten-ic",
            ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
            MinCapacity=1,
            MaxCapacity=2,
        )
        # it served a little, a week ago: the janitor reads that metric and sees nothing since
        clients.cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "InferenceComponentName", "Value": "forgotten-ic"}],
                    "Value": 3.0,
                    "Timestamp": FRIDAY - timedelta(days=6),
                },
            ],
        )
        settings = Settings(
            names["StateTable"],
            None,
            PARAMETER,
            names["NotificationTopic"],
            notify_actions=True,
            account_id=ACCOUNT,
            region=REGION,
            stack_name=NAME_PREFIX,
        )
        deployed = Deployed(clients, clock, settings)
        deployed.cold_start()
        clock.set(FRIDAY)
        yield deployed
    reset_runtime()


def test_reconcile_and_alarm_read_the_policy_from_ssm_and_notify(deployed: Deployed) -> None:
    out: dict[str, Any] = reconcile.handler(TICK, context("reconcile"))
    assert out["errors"] == []
    assert out["wake_alarms"]["llm"].startswith(("created", "ok", "kept")), out["wake_alarms"]
    deployed.cold_start()
    result = alarm.handler(
        alarm_sample(
            "alarm-eventbridge-alarm.json", events=EVENTS, at="2026-11-27T12:00:30.000+0000"
        ),
        context("alarm"),
    )
    assert [t["outcome"] for t in result["alarms"][0]["targets"]] == ["applied"]
    ic = deployed.clients.sagemaker.describe_inference_component(InferenceComponentName="llm-ic")
    assert ic["RuntimeConfig"]["DesiredCopyCount"] == 3


def test_a_burst_alarm_is_kept_by_reconcile_and_re_armed_by_the_alarm_function(
    deployed: Deployed,
) -> None:
    out: dict[str, Any] = reconcile.handler(TICK, context("reconcile"))
    assert out["burst_alarms"] == {"llm": "created"}, out
    name = "sagescale-burst-sagescale-llm"
    cw = deployed.clients.cloudwatch
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="burst")
    result = alarm.handler(
        alarm_sample("alarm-burst.json", events=EVENTS, at="2026-11-27T12:00:30.000+0000"),
        context("alarm"),
    )
    assert [(t["outcome"], t["to"]) for t in result["alarms"][0]["targets"]] == [("applied", 5)]
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "OK"


def test_the_janitor_marks_then_deletes_a_forgotten_endpoint_and_keeps_a_protected_one(
    deployed: Deployed,
) -> None:
    first: dict[str, Any] = janitor.handler(
        {"source": "sagescale.schedule", "action": "janitor"}, context("janitor")
    )
    verdicts = {v["endpoint"]: v for v in first["endpoints"]}
    assert verdicts["forgotten-ic-endpoint"]["action"] == "mark"
    assert (verdicts["web-ep"]["action"], verdicts["web-ep"].get("done")) == (
        "unmark",
        "unmarked",
    )  # protected, and managed by a target
    deployed.clock.set(FRIDAY + timedelta(hours=2))
    second: dict[str, Any] = janitor.handler(
        {"source": "sagescale.schedule", "action": "janitor"}, context("janitor")
    )
    done = {v["endpoint"]: v.get("done", "") for v in second["endpoints"]}
    assert done["forgotten-ic-endpoint"].startswith("deleted"), done
    assert not deployed.exists("forgotten-ic-endpoint")
    assert deployed.exists("web-ep")


def test_the_park_function_parks_a_weekend_and_the_unpark_function_brings_the_endpoint_back(
    deployed: Deployed,
) -> None:
    """ParkFunction could tag any endpoint sagescale:park=true and then delete it. Now it deletes
    only, and a second function, which deletes nothing, recreates; neither brings the other's step."""
    tick = {"source": "sagescale.schedule", "action": "park"}
    untick = {"source": "sagescale.schedule", "action": "unpark"}
    deployed.clock.set(datetime(2026, 11, 28, 0, 5, tzinfo=UTC))
    assert (
        unpark.handler(untick, context("unpark"))["targets"]["web"]["outcome"] == "running"
    )  # not its job
    assert deployed.exists("web-ep")
    deployed.cold_start()  # another function: its own execution environment
    assert park.handler(tick, context("park"))["targets"]["web"]["outcome"] == "parked"
    assert not deployed.exists("web-ep")
    deployed.clock.set(datetime(2026, 11, 30, 0, 5, tzinfo=UTC))
    assert (
        park.handler(tick, context("park"))["targets"]["web"]["outcome"] == "still-parked"
    )  # not its job
    assert not deployed.exists("web-ep")
    assert unpark.handler(untick, context("unpark"))["targets"]["web"]["outcome"] == "unparking"
    deployed.clock.set(datetime(2026, 11, 30, 0, 30, tzinfo=UTC))
    assert unpark.handler(untick, context("unpark"))["targets"]["web"]["outcome"] == "unparked"
    assert deployed.exists("web-ep")


def test_a_policy_kept_in_ssm_is_read_again_when_it_changes(
    deployed: Deployed, caplog: pytest.LogCaptureFixture
) -> None:
    """A policy kept in SSM was read once per cold start: an update reached a warm function only
    when Lambda happened to recycle it. Now it is read again once Powertools' cache is older than
    SAGESCALE_POLICY_MAX_AGE; an invalid update is logged and the last valid policy stays."""
    from dataclasses import replace

    from handlers.runtime import get_runtime

    ssm = deployed.clients.client("ssm")
    assert get_runtime().policy.targets["llm"].max == 8
    ssm.put_parameter(
        Name=PARAMETER, Type="String", Overwrite=True, Value=POLICY.replace("max: 8", "max: 2")
    )
    assert get_runtime().policy.targets["llm"].max == 8  # cached for 60 s by default

    deployed.settings = replace(deployed.settings, policy_max_age=0)
    deployed.cold_start()
    assert get_runtime().policy.targets["llm"].max == 2
    ssm.put_parameter(
        Name=PARAMETER, Type="String", Overwrite=True, Value=POLICY.replace("max: 8", "max: 4")
    )
    out: dict[str, Any] = reconcile.handler(TICK, context("reconcile"))
    assert out["errors"] == [] and out["targets"]["llm"]["max"] == 4
    ssm.put_parameter(
        Name=PARAMETER, Type="String", Overwrite=True, Value=POLICY.replace("max: 8", "max: lots")
    )
    assert get_runtime().policy.targets["llm"].max == 4
    assert "the last valid one stays in force" in caplog.text


def test_settings_refuse_a_bad_policy_max_age() -> None:
    from handlers.settings import SettingsError

    env = {"SAGESCALE_STATE_TABLE": "t", "SAGESCALE_POLICY_PARAMETER": PARAMETER}
    assert Settings.from_env(env).policy_max_age == 60
    assert Settings.from_env(env | {"SAGESCALE_POLICY_MAX_AGE": "0"}).policy_max_age == 0
    with pytest.raises(SettingsError, match="SAGESCALE_POLICY_MAX_AGE"):
        Settings.from_env(env | {"SAGESCALE_POLICY_MAX_AGE": "soon"})


def test_the_pause_switch_makes_every_function_observe_and_write_nothing(
    deployed: Deployed,
) -> None:
    """For incidents: with the stack's Paused parameter every function decides and logs, and writes nothing."""
    from dataclasses import replace

    deployed.settings = replace(deployed.settings, paused=True)
    deployed.cold_start()
    sm = deployed.clients.sagemaker
    before = sm.describe_inference_component(InferenceComponentName="llm-ic")["RuntimeConfig"][
        "DesiredCopyCount"
    ]
    out: dict[str, Any] = reconcile.handler(TICK, context("reconcile"))
    assert out["dry_run"] is True and out["wake_alarms"] == {}
    step = alarm.handler(
        alarm_sample(
            "alarm-eventbridge-alarm.json", events=EVENTS, at="2026-11-27T12:00:30.000+0000"
        ),
        context("alarm"),
    )["alarms"][0]["targets"][0]
    assert step["outcome"] == "dry-run" and step["to"] == 3  # decided ...
    assert (
        sm.describe_inference_component(InferenceComponentName="llm-ic")["RuntimeConfig"][
            "DesiredCopyCount"
        ]
        == before
    )  # ... not written
    janitor.handler({"source": "sagescale.schedule", "action": "janitor"}, context("janitor"))
    forgotten = sm.describe_endpoint(EndpointName="forgotten-ic-endpoint")["EndpointArn"]
    assert all(t["Key"] != "sagescale:janitor" for t in sm.list_tags(ResourceArn=forgotten)["Tags"])
    deployed.clock.set(datetime(2026, 11, 28, 0, 5, tzinfo=UTC))
    assert (
        park.handler({"source": "sagescale.schedule", "action": "park"}, context("park"))[
            "targets"
        ]["web"]["outcome"]
        == "waiting"
    )
    assert deployed.exists("web-ep")
    assert (
        deployed.clients.cloudwatch.describe_alarms(AlarmNamePrefix="sagescale-wake-")[
            "MetricAlarms"
        ]
        == []
    )


def test_status_shows_what_the_controller_is_doing(
    deployed: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing answered "what is it doing right now?": status joins the state table and AWS after
    reconcile, an alarm, an override, a janitor mark and a park."""
    from core.bounds import Override
    from handlers.runtime import get_runtime
    from sagescale.cli import main

    reconcile.handler(TICK, context("reconcile"))
    alarm.handler(
        alarm_sample(
            "alarm-eventbridge-alarm.json", events=EVENTS, at="2026-11-27T12:00:30.000+0000"
        ),
        context("alarm"),
    )
    janitor.handler({"source": "sagescale.schedule", "action": "janitor"}, context("janitor"))
    store = get_runtime().store
    store.set_override("llm", Override(4, FRIDAY + timedelta(hours=2), "oncall", "load test"))
    deployed.clock.set(datetime(2026, 11, 28, 0, 5, tzinfo=UTC))
    park.handler({"source": "sagescale.schedule", "action": "park"}, context("park"))
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    table = deployed.settings.state_table
    capsys.readouterr()  # the functions' metric lines
    code = main(
        [
            "status",
            "--policy",
            str(policy),
            "--table",
            table,
            "--now",
            (FRIDAY + timedelta(minutes=30)).isoformat(),
            "--json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    llm = next(t for t in doc["targets"] if t["target"] == "llm")
    assert set(llm) >= {
        "target",
        "resource",
        "mode",
        "bounds",
        "desired",
        "current",
        "status",
        "last_action",
        "override",
        "surge",
        "next_change",
    }
    assert (
        llm["resource"] == "inference-component/llm-ic"
        and llm["desired"] == 3
        and llm["status"] == "InService"
    )
    assert (
        llm["override"]["min"] == 4
        and llm["bounds"]["min"] == 4
        and llm["bounds"]["reasons"][0].startswith("override:oncall")
    )
    assert llm["last_action"]["trigger"].startswith("alarm:") and llm["next_change"] is not None
    web = next(t for t in doc["targets"] if t["target"] == "web")
    assert web["parked"] is not None and "error" not in web
    marked = {m["endpoint"] for m in doc["janitor"]["marked"]}
    assert "forgotten-ic-endpoint" in marked
    assert [p["endpoint"] for p in doc["janitor"]["parked"]] == ["web-ep"]
    code = main(
        [
            "status",
            "--policy",
            str(policy),
            "--table",
            table,
            "--now",
            (FRIDAY + timedelta(minutes=30)).isoformat(),
        ]
    )
    text = capsys.readouterr().out
    assert (
        code == 0
        and "override min 4 until Fri 27 Nov 14:00 by oncall (load test)" in text
        and "forgotten-ic-endpoint: deleted after" in text
    )


def test_status_exits_1_when_a_target_is_in_error(
    deployed: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sagescale.cli import main

    policy = tmp_path / "policy.yaml"
    policy.write_text(
        POLICY.replace(
            "inference_component: llm-ic", "inference_component: {endpoint: no-such-endpoint}"
        ),
        encoding="utf-8",
    )
    code = main(
        [
            "status",
            "--policy",
            str(policy),
            "--table",
            deployed.settings.state_table,
            "--target",
            "llm",
            "--json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert (
        code == 1
        and doc["targets"][0]["error"] == "no inference component on endpoint no-such-endpoint"
    )


def test_scaling_notifications_say_what_happened_to_which_resource_and_how_to_undo_it(
    deployed: Deployed,
) -> None:
    """The notification said "sagescale: 1 scaling action(s)" and "llm: llm-latency-high ALARM,
    change +2": nothing a person on call could act on."""
    sqs, sns = deployed.clients.client("sqs"), deployed.clients.sns
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=deployed.settings.topic_arn or "", Protocol="sqs", Endpoint=arn)
    alarm.handler(
        alarm_sample(
            "alarm-eventbridge-alarm.json", events=EVENTS, at="2026-11-27T12:00:30.000+0000"
        ),
        context("alarm"),
    )
    (message,) = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    ]
    assert message["Subject"] == "sagescale: llm 1 -> 3 copies (alarm llm-latency-high ALARM)"
    body = message["Message"]
    assert (
        "llm (inference-component/llm-ic): 1 -> 3 copies" in body
        and "sagescale status --target llm" in body
        and "sagescale override llm" in body
    )
