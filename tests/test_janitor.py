"""The janitor on the emulator: a fleet of endpoints, the ladder over days, snapshot and restore,
safe manual delete. A wrongful deletion is the worst thing the product can do."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from core.aws.clients import AwsClients
from core.aws.fleet import FleetReader
from core.aws.janitor import JanitorActions, run_janitor
from core.aws.snapshot import Clients, capture, restore, teardown
from core.aws.state import StateStore
from core.policy import Policy, loads_policy
from sagescale.cli import main
from sagescale.emulator import ManualClock, emulated_aws
from sagescale.seed import seed_target
from sagescale.stack import Stack, default_template
from tests.emulated import CallCounter

CREATED = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # idle_for 1440: idle since 2026-11-23 12:00
POLICY = """
version: 1
timezone: America/New_York
targets:
  managed:
    endpoint: managed-ep
    min: 1
    max: 2
janitor:
  idle_for: 1440
  grace: 2880
  protect: {"sagescale:keep": "true"}
  dry_run: false
"""
FLEET_TARGETS = """
version: 1
targets:
  idle-old: {endpoint: idle-old, min: 1, max: 1}
  idle-young: {endpoint: idle-young, min: 1, max: 1}
  busy: {endpoint: busy, min: 1, max: 1}
  busy-blue: {endpoint: busy-blue, variant: blue, min: 1, max: 1}
  protected: {endpoint: protected, min: 1, max: 1}
  expired-ttl: {endpoint: expired-ttl, min: 1, max: 1}
  managed: {endpoint: managed-ep, min: 1, max: 1}
  ic-idle: {inference_component: ic-idle, min: 1, max: 2}
  ic-busy: {inference_component: ic-busy, min: 1, max: 2}
"""
WRITES = {
    "AddTags",
    "DeleteTags",
    "DeleteEndpoint",
    "DeleteInferenceComponent",
    "DeleteEndpointConfig",
    "DeleteModel",
    "DeregisterScalableTarget",
    "DeleteAlarms",
    "Publish",
    "PutItem",
    "UpdateItem",
}


@dataclass
class Fleet:
    clients: AwsClients
    clock: ManualClock
    policy: Policy
    store: StateStore
    counter: CallCounter
    topic: str
    queue: str

    @property
    def snapshot_clients(self) -> Clients:
        return Clients(self.clients.sagemaker, self.clients.autoscaling, self.clients.cloudwatch)

    def reader(self) -> FleetReader:
        return FleetReader(
            self.clients.sagemaker,
            self.clients.client("resourcegroupstaggingapi"),
            self.clients.cloudwatch,
        )

    def run(
        self, now: datetime, *, apply: bool = True, endpoint: str | None = None
    ) -> dict[str, tuple[str, str]]:
        actions = None
        if apply:
            actions = JanitorActions(
                self.snapshot_clients, self.store, self.notify, sleep=lambda _s: None
            )
        result = run_janitor(self.policy, now, self.reader(), actions, endpoint=endpoint)
        return {v.endpoint: (v.action, result.done.get(v.endpoint, "")) for v in result.verdicts}

    def notify(self, subject: str, message: str) -> None:
        self.clients.sns.publish(TopicArn=self.topic, Subject=subject, Message=message)

    def notifications(self) -> list[str]:
        sqs = self.clients.client("sqs")
        out = []
        while True:
            msgs = sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"])["Message"])
                sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    def tags(self, endpoint: str) -> dict[str, str]:
        arn = self.clients.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
        return {
            t["Key"]: t["Value"] for t in self.clients.sagemaker.list_tags(ResourceArn=arn)["Tags"]
        }

    def tag(self, endpoint: str, key: str, value: str) -> None:
        arn = self.clients.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
        self.clients.sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": key, "Value": value}])

    def invocations(
        self,
        at: datetime,
        *,
        endpoint: str | None = None,
        variant: str = "AllTraffic",
        ic: str | None = None,
    ) -> None:
        dims = (
            [{"Name": "InferenceComponentName", "Value": ic}]
            if ic
            else [
                {"Name": "EndpointName", "Value": endpoint},
                {"Name": "VariantName", "Value": variant},
            ]
        )
        self.clients.cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {"MetricName": "Invocations", "Dimensions": dims, "Value": 12.0, "Timestamp": at}
            ],
        )

    def exists(self, endpoint: str) -> bool:
        try:
            self.clients.sagemaker.describe_endpoint(EndpointName=endpoint)
        except ClientError:
            return False
        return True


@pytest.fixture
def fleet(aws_env: None) -> Iterator[Fleet]:
    clock = ManualClock(CREATED)
    with emulated_aws(clock=clock):
        clients = AwsClients()
        names = Stack(default_template()).create_resources(clients)
        targets = loads_policy(FLEET_TARGETS).targets
        for name, target in targets.items():
            if name == "idle-young":
                clock.set(datetime(2026, 11, 23, 18, 0, tzinfo=UTC))
            seed_target(clients.sagemaker, target)
            clock.set(CREATED)
        store = StateStore(names["StateTable"], clients.dynamodb)
        sqs = clients.client("sqs")
        queue = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        clients.sns.subscribe(
            TopicArn=names["NotificationTopic"], Protocol="sqs", Endpoint=queue_arn
        )
        counter = CallCounter().attach(
            clients.sagemaker,
            clients.autoscaling,
            clients.cloudwatch,
            clients.dynamodb,
            clients.sns,
        )
        f = Fleet(
            clients, clock, loads_policy(POLICY), store, counter, names["NotificationTopic"], queue
        )
        f.tag("protected", "sagescale:keep", "true")
        f.tag("expired-ttl", "sagescale:expires-at", "2026-11-24T00:00:00Z")
        f.invocations(NOW - timedelta(hours=1), endpoint="busy")
        f.invocations(NOW - timedelta(hours=3), endpoint="busy-blue", variant="blue")
        f.invocations(NOW - timedelta(hours=2), ic="ic-busy")
        clock.set(NOW)
        yield f


EXPECTED_FIRST_PASS = {
    "idle-old": "mark",
    "idle-young": "keep",
    "busy": "keep",
    "busy-blue": "keep",
    "protected": "keep",
    "expired-ttl": "mark",
    "managed-ep": "keep",
    "ic-idle-endpoint": "mark",
    "ic-busy-endpoint": "keep",
}


def test_first_pass_marks_exactly_the_forgotten(fleet: Fleet) -> None:
    verdicts = fleet.run(NOW)
    assert {name: action for name, (action, _) in verdicts.items()} == EXPECTED_FIRST_PASS
    due = "delete@2026-11-26T12:00:00Z"
    for name, action in EXPECTED_FIRST_PASS.items():
        assert (fleet.tags(name).get("sagescale:janitor") == due) == (action == "mark"), name
    notes = fleet.notifications()
    assert len(notes) == 3
    idle_note = next(n for n in notes if "idle-old" in n)
    assert (
        "no invocations for 1440 minutes" in idle_note and "2026-11-26T12:00:00+00:00" in idle_note
    )
    assert "sagescale:keep=true" in idle_note and "sagescale restore idle-old" in idle_note


def test_dry_run_changes_nothing(fleet: Fleet) -> None:
    fleet.counter.reset()
    verdicts = fleet.run(NOW, apply=False)
    assert verdicts["idle-old"] == ("mark", "")
    assert not (set(fleet.counter.calls) & WRITES), fleet.counter.calls
    assert "sagescale:janitor" not in fleet.tags("idle-old")


def test_ladder_over_days(fleet: Fleet) -> None:
    fleet.run(NOW)
    fleet.invocations(NOW + timedelta(hours=20), ic="ic-idle")  # the IC endpoint is used again
    day1 = fleet.run(NOW + timedelta(days=1))
    assert day1["idle-old"] == ("wait", "")
    assert day1["ic-idle-endpoint"] == ("unmark", "unmarked")
    assert "sagescale:janitor" not in fleet.tags("ic-idle-endpoint")
    fleet.clock.set(NOW + timedelta(days=2, minutes=5))
    day2 = fleet.run(NOW + timedelta(days=2, minutes=5))
    assert day2["idle-old"][0] == "delete" and day2["idle-old"][1].startswith("deleted")
    assert day2["expired-ttl"][0] == "delete" and day2["expired-ttl"][1].startswith("deleted")
    assert {n for n in EXPECTED_FIRST_PASS if fleet.exists(n)} == set(EXPECTED_FIRST_PASS) - {
        "idle-old",
        "expired-ttl",
    }
    assert fleet.store.snapshot("idle-old") is not None


def test_protect_tag_added_during_grace_unmarks(fleet: Fleet) -> None:
    fleet.run(NOW)
    fleet.tag("idle-old", "sagescale:keep", "true")
    later = fleet.run(NOW + timedelta(days=3))
    assert later["idle-old"] == ("unmark", "unmarked")
    assert fleet.exists("idle-old")


def test_delete_rechecks_the_endpoint_just_before(fleet: Fleet) -> None:
    """Traffic arriving after the pass began still saves the endpoint: the delete step reads it again."""
    fleet.run(NOW)
    reader = fleet.reader()
    original_read_one = reader.read_one

    def read_one(
        policy: Policy, name: str, now: datetime
    ) -> Any:  # the fresh read just before deleting
        fleet.invocations(now - timedelta(minutes=1), endpoint=name)
        return original_read_one(policy, name, now)

    reader.read_one = read_one  # type: ignore[method-assign]
    actions = JanitorActions(
        fleet.snapshot_clients, fleet.store, fleet.notify, sleep=lambda _s: None
    )
    result = run_janitor(
        fleet.policy, NOW + timedelta(days=2, minutes=5), reader, actions, endpoint="idle-old"
    )
    assert result.done["idle-old"].startswith("not deleted")
    assert fleet.exists("idle-old")


def test_unreadable_tags_fail_closed(fleet: Fleet) -> None:
    fleet.run(NOW)
    reader = fleet.reader()

    def denied(**_: Any) -> Any:
        raise ClientError(
            {
                "Error": {
                    "Code": "AccessDeniedException",
                    "Message": "not authorized to perform tag:GetResources",
                }
            },
            "GetResources",
        )

    reader.tagging.get_resources = denied
    fleet.counter.reset()
    actions = JanitorActions(
        fleet.snapshot_clients, fleet.store, fleet.notify, sleep=lambda _s: None
    )
    result = run_janitor(fleet.policy, NOW + timedelta(days=5), reader, actions)
    assert {v.action for v in result.verdicts} == {"skip"}
    assert not (set(fleet.counter.calls) & WRITES)
    assert fleet.exists("idle-old")


def test_managed_endpoints_are_collected_only_when_allowed(fleet: Fleet) -> None:
    fleet.policy = loads_policy(
        POLICY.replace("dry_run: false", "dry_run: false\n  include_managed: true")
    )
    assert fleet.run(NOW)["managed-ep"][0] == "mark"


def _ic_endpoint_with_scaling(fleet: Fleet) -> None:
    fleet.clients.autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/ic-idle",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        MinCapacity=0,
        MaxCapacity=4,
    )
    from core.aws.wake import WakeAlarms

    target = loads_policy(
        "version: 1\ntargets:\n  ic-idle: {inference_component: ic-idle, min: 1, max: 4, wake: true}\n"
    ).targets
    WakeAlarms(fleet.clients.cloudwatch, fleet.clients.autoscaling).ensure(
        target, {"ic-idle": "bounds"}
    )
    arn = fleet.clients.sagemaker.describe_endpoint(EndpointName="ic-idle-endpoint")["EndpointArn"]
    fleet.clients.sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "search"}])


def test_ic_endpoint_deletion_order_and_snapshot_first(fleet: Fleet) -> None:
    _ic_endpoint_with_scaling(fleet)
    fleet.run(NOW)
    order: list[str] = []

    def record(model: Any, **_: Any) -> None:
        if model.name in (
            "PutItem",
            "DeleteAlarms",
            "DeregisterScalableTarget",
            "DeleteInferenceComponent",
            "DeleteEndpoint",
        ):
            order.append(model.name)

    for client in (
        fleet.clients.sagemaker,
        fleet.clients.autoscaling,
        fleet.clients.cloudwatch,
        fleet.clients.dynamodb,
    ):
        client.meta.events.register("before-call.*.*", record)
    done = fleet.run(NOW + timedelta(days=2, minutes=5), endpoint="ic-idle-endpoint")
    assert done["ic-idle-endpoint"][1].startswith("deleted"), done
    first = {name: order.index(name) for name in reversed(order)}
    assert (
        first["PutItem"]
        < first["DeleteAlarms"]
        < first["DeregisterScalableTarget"]
        < first["DeleteInferenceComponent"]
        < first["DeleteEndpoint"]
    )
    snapshot = fleet.store.snapshot("ic-idle-endpoint")
    assert snapshot is not None and [c["name"] for c in snapshot["inference_components"]] == [
        "ic-idle"
    ]


def test_the_janitor_marks_components_just_before_deleting_them(fleet: Fleet) -> None:
    """The janitor's role could delete any inference component in the account. It may now delete
    only components that carry its mark, and it marks an endpoint's components, after the
    snapshot, just before deleting them; the snapshot keeps no mark to restore."""
    _ic_endpoint_with_scaling(fleet)
    fleet.run(NOW)
    order: list[tuple[str, str]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "AddTags" and ":inference-component/" in params["ResourceArn"]:
            order.append(
                ("tag", params["Tags"][0]["Key"] + "=" + params["Tags"][0]["Value"].split("@")[0])
            )
        elif model.name == "DeleteInferenceComponent":
            order.append(("delete", params["InferenceComponentName"]))

    fleet.clients.sagemaker.meta.events.register(
        "before-parameter-build.sagemaker.*", record
    )  # the call's own parameters
    done = fleet.run(NOW + timedelta(days=2, minutes=5), endpoint="ic-idle-endpoint")
    assert done["ic-idle-endpoint"][1].startswith("deleted"), done
    assert order == [("tag", "sagescale:janitor=delete"), ("delete", "ic-idle")]
    snapshot = fleet.store.snapshot("ic-idle-endpoint")
    assert snapshot is not None
    assert all(
        t["Key"] != "sagescale:janitor" for c in snapshot["inference_components"] for t in c["tags"]
    )


def describe_all(fleet: Fleet, endpoint: str) -> dict[str, Any]:
    sm = fleet.clients.sagemaker
    ep = sm.describe_endpoint(EndpointName=endpoint)
    config = sm.describe_endpoint_config(EndpointConfigName=ep["EndpointConfigName"])
    ics = []
    for summary in sm.list_inference_components(EndpointNameEquals=endpoint)["InferenceComponents"]:
        ic = sm.describe_inference_component(
            InferenceComponentName=summary["InferenceComponentName"]
        )
        spec = ic["Specification"]
        ics.append(
            (
                ic["InferenceComponentName"],
                ic["VariantName"],
                spec.get("ModelName"),
                spec.get("ComputeResourceRequirements"),
                ic["RuntimeConfig"]["DesiredCopyCount"],
            )
        )
    targets = fleet.clients.autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"inference-component/{n}" for n, *_ in ics]
    )["ScalableTargets"]
    policies = fleet.clients.autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")[
        "ScalingPolicies"
    ]
    alarms = fleet.clients.cloudwatch.describe_alarms(AlarmNamePrefix="sagescale-wake-")[
        "MetricAlarms"
    ]
    return {
        "config": {
            k: v for k, v in config.items() if k not in ("ResponseMetadata", "CreationTime")
        },
        "tags": sorted(
            (t["Key"], t["Value"])
            for t in sm.list_tags(ResourceArn=ep["EndpointArn"])["Tags"]
            if t["Key"] != "sagescale:janitor"
        ),
        "ics": ics,
        "scalable": sorted((t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets),
        "policies": sorted((p["PolicyName"], p["PolicyType"]) for p in policies),
        "alarms": sorted(
            (a["AlarmName"], a["MetricName"], a["Threshold"], len(a["AlarmActions"]))
            for a in alarms
        ),
    }


def test_restore_brings_back_an_equal_endpoint(fleet: Fleet) -> None:
    _ic_endpoint_with_scaling(fleet)
    fleet.clients.sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="ic-idle", DesiredRuntimeConfig={"CopyCount": 2}
    )
    before = describe_all(fleet, "ic-idle-endpoint")
    snapshot = capture("ic-idle-endpoint", fleet.snapshot_clients, NOW)
    assert teardown(snapshot, fleet.snapshot_clients, sleep=lambda _s: None).finished
    assert not fleet.exists("ic-idle-endpoint")
    restore(snapshot, fleet.snapshot_clients, sleep=lambda _s: None)
    assert describe_all(fleet, "ic-idle-endpoint") == before


def test_interrupted_teardown_resumes_with_the_same_snapshot(fleet: Fleet) -> None:
    """Regression guard: a deletion that ran out of time is finished by the next run, snapshot intact."""
    _ic_endpoint_with_scaling(fleet)
    fleet.run(NOW)
    control = __import__("sagescale.emulator", fromlist=["control"]).control
    control.update_delay = timedelta(minutes=10)  # the IC takes 10 minutes to delete
    fleet.clock.set(NOW + timedelta(days=2, minutes=5))
    actions = JanitorActions(
        fleet.snapshot_clients,
        fleet.store,
        fleet.notify,
        deadline=lambda: True,
        sleep=lambda _s: None,
    )
    first = run_janitor(
        fleet.policy,
        NOW + timedelta(days=2, minutes=5),
        fleet.reader(),
        actions,
        endpoint="ic-idle-endpoint",
    )
    assert first.done["ic-idle-endpoint"].startswith("deleting: waiting for ic-idle")
    key = fleet.store.record("janitor", "ic-idle-endpoint")["snapshot"]  # type: ignore[index]
    fleet.clock.advance(timedelta(minutes=15))
    second = fleet.run(NOW + timedelta(days=2, minutes=20), endpoint="ic-idle-endpoint")
    assert second["ic-idle-endpoint"][1] == f"deleted (snapshot {key})"
    snapshot = fleet.store.snapshot("ic-idle-endpoint", key)
    assert snapshot is not None and snapshot["inference_components"][0]["copies"] == 1
    assert snapshot["scalable_targets"][0]["resource_id"] == "inference-component/ic-idle"
    fleet.clock.advance(timedelta(minutes=10))  # the endpoint's own deletion takes 10 minutes too
    assert not fleet.exists("ic-idle-endpoint")


# --- the command line -----------------------------------------------------------------------


def write_policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def test_janitor_cli_time_travel(
    fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ladder over days: --apply acts at the real time; --now looks ahead and never acts."""
    real_now = datetime.now(UTC)
    fleet.clock.set(real_now - timedelta(days=3))
    seed_target(
        fleet.clients.sagemaker,
        loads_policy("version: 1\ntargets:\n  t: {endpoint: old-test, min: 1, max: 1}\n").targets[
            "t"
        ],
    )
    fleet.clock.set(real_now)
    policy = str(write_policy(tmp_path))

    def verdict(*extra: str) -> str:
        assert (
            main(
                [
                    "janitor",
                    "--policy",
                    policy,
                    "--endpoint",
                    "old-test",
                    "--table",
                    "sagescale-StateTable",
                    "--json",
                    *extra,
                ]
            )
            == 0
        )
        (entry,) = json.loads(capsys.readouterr().out)["endpoints"]
        return str(entry["action"])

    assert verdict("--apply") == "mark"
    assert "sagescale:janitor" in fleet.tags("old-test")
    ahead = [verdict("--now", (real_now + timedelta(days=d)).isoformat()) for d in (1, 3)]
    assert ahead == ["wait", "delete"]
    assert fleet.exists("old-test")  # a what-if deletes nothing
    assert main(["janitor", "--policy", policy, "--apply", "--now", real_now.isoformat()]) == 2
    assert "never acts" in capsys.readouterr().err
    dry = tmp_path / "dry.yaml"
    dry.write_text(POLICY.replace("dry_run: false", "dry_run: true"))
    assert main(["janitor", "--policy", str(dry), "--now", NOW.isoformat()]) == 0
    report = capsys.readouterr().out
    assert "dry run" in report and "VERDICT" in report and "idle-young" in report


def test_delete_cli_leaves_nothing_behind(
    fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _ic_endpoint_with_scaling(fleet)
    code = main(
        [
            "delete",
            "ic-idle-endpoint",
            "--yes",
            "--snapshot-dir",
            str(tmp_path),
            "--with-config-and-models",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "nothing left behind" in out
    assert "deregistered scalable target inference-component/ic-idle" in out
    assert not fleet.exists("ic-idle-endpoint")
    (snapshot_file,) = tmp_path.glob("ic-idle-endpoint-*.json")
    assert main(["restore", "ic-idle-endpoint", "--from", str(snapshot_file)]) == 0
    assert fleet.exists("ic-idle-endpoint")


def test_delete_cli_writes_the_snapshot_for_its_owner_only(
    fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Snapshot files hold the container environment (a HUGGING_FACE_HUB_TOKEN, say) and were
    written with the umask's mode, readable by everyone on the machine; now 0600 in a 0700 folder."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        _ic_endpoint_with_scaling(fleet)
        folder = tmp_path / "snapshots"
        assert main(["delete", "ic-idle-endpoint", "--yes", "--snapshot-dir", str(folder)]) == 0
    finally:
        os.umask(old)
    (snapshot_file,) = folder.glob("ic-idle-endpoint-*.json")
    assert stat.S_IMODE(snapshot_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_delete_cli_names_what_it_could_not_delete(
    fleet: Fleet,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _ic_endpoint_with_scaling(fleet)
    from botocore.client import BaseClient

    real = BaseClient._make_api_call

    def failing(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "DeleteInferenceComponent":
            raise ClientError(
                {
                    "Error": {
                        "Code": "AccessDeniedException",
                        "Message": "not authorized to delete ic-idle",
                    }
                },
                operation,
            )
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", failing)
    code = main(["delete", "ic-idle-endpoint", "--yes", "--snapshot-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "inference component ic-idle" in err and "endpoint ic-idle-endpoint" in err


def test_delete_cli_refuses_protected_and_managed_endpoints_unless_forced(
    fleet: Fleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`delete` deleted an endpoint tagged sagescale:keep=true, and one a policy target manages,
    without a word. It refuses both unless --force, and says why."""
    assert main(["delete", "protected", "--yes", "--snapshot-dir", str(tmp_path)]) == 2
    assert "protected by tag sagescale:keep=true" in capsys.readouterr().err and fleet.exists(
        "protected"
    )
    managed = tmp_path / "managed.yaml"
    managed.write_text(
        "version: 1\ntargets:\n  search:\n    inference_component: ic-idle\n    min: 1\n    max: 2\n",
        encoding="utf-8",
    )
    assert (
        main(
            [
                "delete",
                "ic-idle-endpoint",
                "--yes",
                "--policy",
                str(managed),
                "--snapshot-dir",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "policy target search" in capsys.readouterr().err and fleet.exists("ic-idle-endpoint")
    assert main(["delete", "protected", "--yes", "--force", "--snapshot-dir", str(tmp_path)]) == 0
    assert not fleet.exists("protected")


def test_janitor_apply_without_a_topic_warns_that_nobody_is_told(
    fleet: Fleet,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SAGESCALE_TOPIC_ARN", raising=False)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    main(["janitor", "--policy", str(policy), "--apply", "--table", fleet.store.table])
    assert "no notification topic" in capsys.readouterr().err


def test_delete_cli_refuses_without_confirmation(
    fleet: Fleet,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["delete", "idle-old", "--snapshot-dir", str(tmp_path)]) == 2
    assert "without --yes" in capsys.readouterr().err
    assert fleet.exists("idle-old")
    assert main(["delete", "no-such-endpoint", "--yes"]) == 2


def test_janitor_dry_pass_reads_in_bulk(fleet: Fleet) -> None:
    reader = fleet.reader()
    tagging_calls: list[str] = []
    reader.tagging.meta.events.register(
        "before-call.*.*", lambda model, **_: tagging_calls.append(model.name)
    )
    fleet.counter.reset()
    run_janitor(fleet.policy, NOW, reader, None)
    assert fleet.counter.calls == Counter(
        {"ListEndpoints": 1, "ListInferenceComponents": 1, "ListMetrics": 1, "GetMetricData": 1}
    )
    assert tagging_calls == ["GetResources"]


# --- regressions from review: each of these deleted (or would delete) an endpoint it must keep ---


def test_incomplete_metrics_fail_closed(fleet: Fleet) -> None:
    """A GetMetricData result that is not Complete counted as zero invocations: busy endpoints were marked."""
    reader = fleet.reader()
    original = reader.cloudwatch.get_metric_data

    def partial(**kwargs: Any) -> Any:
        response = original(**kwargs)
        for result in response["MetricDataResults"]:
            result["StatusCode"] = "InternalError"
        return response

    reader.cloudwatch.get_metric_data = partial
    result = run_janitor(fleet.policy, NOW, reader, None)
    verdicts = {v.endpoint: v.action for v in result.verdicts}
    assert verdicts["busy"] == verdicts["busy-blue"] == verdicts["ic-busy-endpoint"] == "skip"


def test_traffic_vetoes_an_expired_ttl(fleet: Fleet) -> None:
    fleet.invocations(NOW - timedelta(minutes=5), endpoint="expired-ttl")
    assert fleet.run(NOW, apply=False)["expired-ttl"][0] == "keep"


@pytest.mark.parametrize("value", ["True", "TRUE", " true "])
def test_protect_tag_values_match_whatever_the_case(fleet: Fleet, value: str) -> None:
    fleet.tag("idle-old", "sagescale:keep", value)
    assert fleet.run(NOW, apply=False)["idle-old"][0] == "keep"


@pytest.mark.parametrize(
    ("key", "value"),
    [("Sagescale:Keep", "true"), ("SAGESCALE:KEEP", "True"), (" sagescale:keep ", "true")],
)
def test_protect_tag_keys_match_whatever_the_case(fleet: Fleet, key: str, value: str) -> None:
    """``Sagescale:Keep=true`` did not protect: keys were compared exactly while values were not.
    One rule now: keys and values both compare without case."""
    fleet.tag("idle-old", key, value)
    assert fleet.run(NOW, apply=False)["idle-old"][0] == "keep"


def test_protected_by_is_one_rule_for_keys_and_values() -> None:
    from core.janitor import protected_by

    protect = {"sagescale:keep": "true", "Team": "Platform"}
    assert protected_by({"SAGESCALE:KEEP": " TRUE "}, protect) == ["sagescale:keep=true"]
    assert protected_by({"team": "platform"}, protect) == ["Team=Platform"]
    assert protected_by({"sagescale:keep": "false", "team": "ml"}, protect) == []


def test_delete_rereads_tags_with_list_tags_not_the_tagging_api(fleet: Fleet) -> None:
    """The tagging API is eventually consistent: a protect tag added during grace must stop the delete."""
    fleet.run(NOW)
    reader = fleet.reader()
    stale = reader.tagging.get_resources(
        ResourceTypeFilters=["sagemaker:endpoint"], ResourcesPerPage=100
    )
    fleet.tag("idle-old", "sagescale:keep", "true")
    reader.tagging.get_resources = lambda **_: stale  # has not caught up
    actions = JanitorActions(
        fleet.snapshot_clients, fleet.store, fleet.notify, sleep=lambda _s: None
    )
    result = run_janitor(
        fleet.policy, NOW + timedelta(days=2, minutes=5), reader, actions, endpoint="idle-old"
    )
    assert result.done["idle-old"].startswith("not deleted: on a fresh read the verdict is unmark")
    assert fleet.exists("idle-old")


def test_snapshot_leaves_out_aws_reserved_tags(fleet: Fleet) -> None:
    """aws: tags (e.g. aws:cloudformation:stack-name) cannot be passed to CreateEndpoint: restore failed."""
    fleet.tag("idle-old", "aws:cloudformation:stack-name", "team-stack")
    snapshot = capture("idle-old", fleet.snapshot_clients, NOW)
    assert all(not t["Key"].startswith("aws:") for t in snapshot["tags"])
    assert teardown(snapshot, fleet.snapshot_clients, sleep=lambda _s: None).finished
    restore(snapshot, fleet.snapshot_clients, sleep=lambda _s: None)
    assert fleet.exists("idle-old")


def test_teardown_refuses_components_the_snapshot_does_not_hold(fleet: Fleet) -> None:
    from core.aws.snapshot import SnapshotError

    snapshot = capture("ic-idle-endpoint", fleet.snapshot_clients, NOW)
    fleet.clients.sagemaker.create_inference_component(
        InferenceComponentName="ic-new",
        EndpointName="ic-idle-endpoint",
        VariantName="AllTraffic",
        Specification={
            "ModelName": "ic-idle-model",
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1,
                "MinMemoryRequiredInMb": 1024,
            },
        },
        RuntimeConfig={"CopyCount": 1},
    )
    with pytest.raises(SnapshotError, match="ic-new"):
        teardown(snapshot, fleet.snapshot_clients, sleep=lambda _s: None)
    assert fleet.exists("ic-idle-endpoint")


def test_the_janitor_scan_reports_progress(fleet: Fleet) -> None:
    """The janitor's scan and deletions showed no progress on a terminal."""
    seen: list[tuple[int, int]] = []
    result = run_janitor(
        fleet.policy,
        NOW,
        fleet.reader(),
        None,
        progress=lambda done, total: seen.append((done, total)),
    )
    total = len(result.verdicts)
    assert total > 1 and seen[0] == (0, total) and seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
