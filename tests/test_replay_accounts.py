"""`replay` and `local` with several accounts: member roles made as member-role.yaml makes them,
targets seeded where they live, and a tick's work items delivered to the worker the way
Lambda's SQS trigger delivers them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from core.aws.accounts import Accounts
from core.aws.clients import AwsClients
from core.policy import Place, loads_policy
from sagescale.cli import main
from sagescale.emulator import start_server
from sagescale.replay import sqs_event
from sagescale.seed import seed_policy, seed_target
from sagescale.stack import ACCOUNT, Stack, default_template
from tests.conftest import EVENTS
from tests.emulated import LOCAL_ENV, SCRIPT, local_process

ORG = """
version: 1
timezone: UTC
accounts:
  prod: {role: "arn:aws:iam::111111111111:role/sagescale-member", regions: [us-east-1, eu-west-1], external_id: sagescale-prod}
  dev: {role: "arn:aws:iam::222222222222:role/sagescale-member", regions: [us-east-1]}
targets:
  llm: {inference_component: llm-ic, min: 1, max: 4}
  llm-eu: {inference_component: llm-eu-ic, account: prod, region: eu-west-1, min: 2, max: 4}
  llm-us: {inference_component: llm-us-ic, account: prod, region: us-east-1, min: 1, max: 4}
  llm-dev: {inference_component: llm-dev-ic, account: dev, min: 1, max: 2}
janitor:
  accounts: [prod]
"""
GHOST = '  ghost: {role: "arn:aws:iam::333333333333:role/sagescale-member", regions: [us-east-1]}\n'
PLACES = [("", ""), ("dev", "us-east-1"), ("prod", "eu-west-1"), ("prod", "us-east-1")]


def _items(out: dict[str, Any], key: str = "items") -> list[tuple[str, str]]:
    return sorted((i["account"], i["region"]) for d in out["deliveries"] for i in d[key])


@pytest.fixture
def server(aws_env: None) -> Iterator[str]:
    with start_server() as running:
        running.reset()
        yield running.url
        running.reset()


def _copies(url: str, place: Place, component: str, policy_text: str = ORG) -> int:
    home = AwsClients(endpoint_url=url)
    sagemaker = (
        Accounts(home, loads_policy(policy_text).accounts, endpoint_url=url)
        .clients(place)
        .sagemaker
    )
    return int(
        sagemaker.describe_inference_component(InferenceComponentName=component)["RuntimeConfig"][
            "DesiredCopyCount"
        ]
    )


def test_populate_makes_each_member_accounts_roles_and_seeds_each_target_where_it_lives(
    server: str,
) -> None:
    clients = AwsClients(endpoint_url=server)
    made = seed_policy(clients, loads_policy(ORG), trusted_account=ACCOUNT)
    assert (
        made[:3]
        == [
            "arn:aws:iam::111111111111:role/sagescale-member",
            "arn:aws:iam::111111111111:role/sagescale-member-janitor",  # prod is swept by the janitor; dev is not
            "arn:aws:iam::222222222222:role/sagescale-member",
        ]
    )
    assert made[3:] == [
        "inference-component/llm-ic",
        "prod/eu-west-1/inference-component/llm-eu-ic",
        "prod/us-east-1/inference-component/llm-us-ic",
        "dev/us-east-1/inference-component/llm-dev-ic",
    ]
    assert _copies(server, Place("prod", "eu-west-1"), "llm-eu-ic") == 2
    assert _copies(server, Place("dev", "us-east-1"), "llm-dev-ic") == 1
    home = [
        c["InferenceComponentName"]
        for c in clients.sagemaker.list_inference_components()["InferenceComponents"]
    ]
    assert home == ["llm-ic"]  # the member targets are not in the controller's account
    sts = clients.client("sts")
    with pytest.raises(
        sts.exceptions.ClientError, match="AccessDenied"
    ):  # the external id is required, as member-role.yaml makes it
        sts.assume_role(
            RoleArn="arn:aws:iam::111111111111:role/sagescale-member", RoleSessionName="operator"
        )


def test_a_replayed_tick_is_delivered_to_the_worker_in_each_account_region(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "org.yaml"
    policy.write_text(ORG)
    parsed = loads_policy(ORG)
    seed_policy(
        AwsClients(endpoint_url=server),
        parsed.model_copy(update={"targets": {}}),
        trusted_account=ACCOUNT,
    )  # roles only
    accounts = Accounts(AwsClients(endpoint_url=server), parsed.accounts, endpoint_url=server)
    for name, copies in (("llm", 1), ("llm-eu", 0), ("llm-us", 3), ("llm-dev", 1)):
        seed_target(
            accounts.clients(parsed.place(name)).sagemaker, parsed.targets[name], copies=copies
        )

    code = main(
        [
            "replay",
            "ReconcileFunction",
            str(EVENTS / "reconcile-tick.json"),
            "--endpoint-url",
            server,
            "--policy",
            str(policy),
            "--deliver",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["result"]["enqueued"] == 4
    assert [(d["function"], d["queue"], d["messages"]) for d in out["deliveries"]] == [
        ("ReconcileFunction", "WorkQueue", 1)
    ] * 4  # BatchSize 1
    assert _items(out) == PLACES and _items(out, "failed") == []
    assert (
        _copies(server, Place("prod", "eu-west-1"), "llm-eu-ic") == 2
    )  # raised to its min, in the member account
    assert _copies(server, Place("prod", "us-east-1"), "llm-us-ic") == 3
    sqs = boto3.client("sqs", endpoint_url=server)
    queue = sqs.get_queue_url(QueueName=Stack(default_template()).physical_name("WorkQueue"))[
        "QueueUrl"
    ]
    assert (
        sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    )  # delivered ones are deleted


def test_a_member_that_cannot_be_reached_fails_its_own_message_which_stays_on_the_queue(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ORG.replace("targets:\n", GHOST + "targets:\n", 1).replace(
        "janitor:",
        "  spare: {inference_component: spare-ic, account: ghost, min: 1, max: 1}\njanitor:",
    )
    policy = tmp_path / "org.yaml"
    policy.write_text(text)
    seed_policy(
        AwsClients(endpoint_url=server), loads_policy(ORG), trusted_account=ACCOUNT
    )  # no role in the ghost account

    code = main(
        [
            "replay",
            "ReconcileFunction",
            str(EVENTS / "reconcile-tick.json"),
            "--endpoint-url",
            server,
            "--policy",
            str(policy),
            "--deliver",
        ]
    )
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert code == 1
    assert _items(out, "failed") == [("ghost", "us-east-1")]
    assert sorted(set(_items(out)) - {("ghost", "us-east-1")}) == PLACES  # the others went on
    assert (
        "ReconcileFunction: failed for ghost/us-east-1; its WorkQueue message is left on the queue"
        in captured.err
    )
    sqs = boto3.client("sqs", endpoint_url=server)
    queue = sqs.get_queue_url(QueueName=Stack(default_template()).physical_name("WorkQueue"))[
        "QueueUrl"
    ]
    left = sqs.receive_message(QueueUrl=queue, AttributeNames=["ApproximateReceiveCount"]).get(
        "Messages", []
    )
    assert [json.loads(m["Body"])["account"] for m in left] == [
        "ghost"
    ]  # nothing lost: back on the queue
    assert left[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_populate_and_deliver_on_the_embedded_emulator_sweep_every_account_region_for_the_janitor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_env: None
) -> None:
    policy = tmp_path / "org.yaml"
    policy.write_text(ORG)
    code = main(
        [
            "replay",
            "JanitorFunction",
            str(EVENTS / "janitor-tick.json"),
            "--policy",
            str(policy),
            "--populate",
            "--deliver",
        ]
    )
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert code == 0, captured.err
    assert out["result"]["places"] == [
        "home",
        "prod/us-east-1",
        "prod/eu-west-1",
    ]  # janitor.accounts: prod, in both its regions
    assert [d["messages"] for d in out["deliveries"]] == [
        1,
        1,
        1,
    ]  # the janitor queue's BatchSize is 1
    assert (
        _items(out) == [("", ""), ("prod", "eu-west-1"), ("prod", "us-east-1")]
        and _items(out, "failed") == []
    )
    assert (
        "arn:aws:iam::111111111111:role/sagescale-member-janitor" in captured.err
    )  # what --populate made


def test_populate_needs_the_policy_and_the_embedded_emulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_env: None
) -> None:
    policy = tmp_path / "org.yaml"
    policy.write_text(ORG)
    for args in (
        ["--populate"],
        ["--populate", "--policy", str(policy), "--endpoint-url", "http://127.0.0.1:9"],
    ):
        code = main(["replay", "ReconcileFunction", str(EVENTS / "reconcile-tick.json"), *args])
        assert code == 2
        assert "--populate needs --policy and the embedded emulator" in capsys.readouterr().err


def test_the_sqs_event_replay_builds_is_the_one_lambda_delivers() -> None:
    """Same keys as SAM's `sam local generate-event sqs receive-message` and the sample events."""
    sample = json.loads((EVENTS / "reconcile-work.json").read_text())["Records"][0]
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": sample["body"],
        "MD5OfBody": sample["md5OfBody"],
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1",
            "SenderId": "AROA",
            "ApproximateFirstReceiveTimestamp": "2",
        },
    }
    record = sqs_event([message], sample["eventSourceARN"])["Records"][0]
    assert set(record) == set(sample) and set(record["attributes"]) == set(sample["attributes"])
    assert record["awsRegion"] == "us-east-1" and record["eventSource"] == "aws:sqs"


def test_local_and_replay_in_two_processes_across_accounts(tmp_path: Path, aws_env: None) -> None:
    """`sagescale local --populate` makes the member roles; a second process reaches them through STS."""
    policy = tmp_path / "org.yaml"
    policy.write_text(ORG)
    with local_process(policy) as url:
        done = subprocess.run(
            [
                SCRIPT,
                "replay",
                "ReconcileFunction",
                str(EVENTS / "reconcile-tick.json"),
                "--endpoint-url",
                url,
                "--policy",
                str(policy),
                "--deliver",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env=LOCAL_ENV,
        )
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert _items(out) == PLACES and _items(out, "failed") == []
        decisions = [
            json.loads(line)
            for line in done.stderr.splitlines()
            if line.startswith("{") and '"message":"decision"' in line
        ]
        assert sorted(
            (d["account"], d["region"], d["decision"]["target"], d["decision"]["outcome"])
            for d in decisions
        ) == [
            ("dev", "us-east-1", "llm-dev", "unchanged"),
            ("home", "us-east-1", "llm", "unchanged"),
            ("prod", "eu-west-1", "llm-eu", "unchanged"),
            ("prod", "us-east-1", "llm-us", "unchanged"),
        ]  # seeded at their min, each found where it lives
