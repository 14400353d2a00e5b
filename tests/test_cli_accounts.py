"""The CLI across member accounts: --account/--region where a command acts on AWS, checked
against the policy, acting through the member role."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.aws.accounts import Accounts
from core.aws.clients import AwsClients
from core.policy import Place, loads_policy
from sagescale.cli import main
from sagescale.emulator import control, emulated_aws
from sagescale.seed import seed_target
from sagescale.stack import ACCOUNT, Stack, default_template

PROD = "111111111111"
POLICY = f"""
version: 1
timezone: UTC
accounts:
  prod: {{role: "arn:aws:iam::{PROD}:role/sagescale-member", regions: [eu-west-1, us-east-1]}}
  dev: {{role: "arn:aws:iam::222222222222:role/sagescale-member", regions: [us-east-1]}}
targets:
  llm: {{inference_component: llm-ic, min: 1, max: 4}}
  eu: {{inference_component: eu-ic, min: 2, max: 4, account: prod, region: eu-west-1}}
"""


@pytest.fixture
def org(
    tmp_path: Path, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, AwsClients]]:
    with emulated_aws():
        clients = AwsClients()
        names = Stack(default_template()).create_resources(clients)
        monkeypatch.setenv("SAGESCALE_STATE_TABLE", names["StateTable"])
        control.create_member_role(PROD, "sagescale-member", trusted_account=ACCOUNT)
        control.create_member_role(PROD, "sagescale-member-janitor", trusted_account=ACCOUNT)
        policy = loads_policy(POLICY)
        seed_target(clients.sagemaker, policy.targets["llm"], copies=1)
        eu = Accounts(clients, policy.accounts).clients(Place("prod", "eu-west-1"))
        seed_target(eu.sagemaker, policy.targets["eu"], copies=2)
        path = tmp_path / "policy.yaml"
        path.write_text(POLICY, encoding="utf-8")
        yield path, eu


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_narrows_to_an_account_region_and_says_where_each_target_lives(
    org: tuple[Path, AwsClients], capsys: pytest.CaptureFixture[str]
) -> None:
    policy, _ = org
    code, out, _ = run(capsys, "plan", str(policy), "--at", "2026-11-24T12:00:00Z", "--json")
    assert code == 0 and [
        (r["target"], r.get("account"), r.get("region")) for r in json.loads(out)
    ] == [("llm", None, None), ("eu", "prod", "eu-west-1")]
    code, out, _ = run(
        capsys,
        "plan",
        str(policy),
        "--at",
        "2026-11-24T12:00:00Z",
        "--account",
        "prod",
        "--region",
        "eu-west-1",
        "--json",
    )
    assert code == 0 and [r["target"] for r in json.loads(out)] == ["eu"]
    code, out, _ = run(
        capsys,
        "calendar",
        str(policy),
        "--from",
        "2026-11-24",
        "--to",
        "2026-11-24",
        "--account",
        "prod",
        "--region",
        "eu-west-1",
        "--json",
    )
    assert code == 0 and {r["target"] for r in json.loads(out)} == {"eu"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--region", "eu-west-1"], "--region needs --account"),
        (
            ["--account", "qa"],
            "--account 'qa' is not under accounts: in the policy (accounts: dev, prod)",
        ),
        (
            ["--account", "prod"],
            "--account prod has several regions (eu-west-1, us-east-1): give --region",
        ),
        (
            ["--account", "dev", "--region", "eu-west-1"],
            "--region 'eu-west-1' is not listed for account dev",
        ),
    ],
)
def test_a_bad_account_or_region_exits_2_naming_it(
    org: tuple[Path, AwsClients], capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    policy, _ = org
    code, _, err = run(capsys, "plan", str(policy), *args)
    assert code == 2 and words in err, err


def test_status_reads_each_target_where_it_lives(
    org: tuple[Path, AwsClients], capsys: pytest.CaptureFixture[str]
) -> None:
    policy, _ = org
    code, out, err = run(capsys, "status", "--policy", str(policy), "--json")
    assert code == 0, err
    targets = {t["target"]: t for t in json.loads(out)["targets"]}
    assert (targets["eu"]["desired"], targets["llm"]["desired"]) == (2, 1)


def test_override_and_wake_act_on_the_state_of_the_targets_place(
    org: tuple[Path, AwsClients], capsys: pytest.CaptureFixture[str]
) -> None:
    policy, _ = org
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    code, _out, err = run(
        capsys, "override", "eu", "--policy", str(policy), "--min", "3", "--until", until, "--json"
    )
    assert code == 0, err
    items = AwsClients().dynamodb.scan(TableName=os.environ["SAGESCALE_STATE_TABLE"])["Items"]
    assert f"target#{PROD}/eu-west-1/eu" in {i["pk"]["S"] for i in items}
    code, _, err = run(
        capsys,
        "override",
        "eu",
        "--policy",
        str(policy),
        "--min",
        "3",
        "--until",
        until,
        "--account",
        "dev",
    )
    assert code == 2 and "target eu lives in prod/eu-west-1" in err


def _profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, account: str) -> None:
    """An AWS profile ``name`` holding an operator's own credentials in ``account`` (an admin role there)."""
    arn = control.create_member_role(account, "operator-admin", trusted_account=ACCOUNT)
    found = (
        AwsClients()
        .client("sts")
        .assume_role(RoleArn=arn, RoleSessionName="operator")["Credentials"]
    )
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[{name}]\naws_access_key_id = {found['AccessKeyId']}\naws_secret_access_key = {found['SecretAccessKey']}\naws_session_token = {found['SessionToken']}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))


def test_delete_and_restore_in_a_member_account_need_the_operators_own_credentials_there(
    org: tuple[Path, AwsClients],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """sagescale's member roles cannot delete an unmarked endpoint nor create one (tests/test_iam.py):
    a person does, with a profile of that account, checked to be it."""
    policy, eu = org
    where = ["--account", "prod", "--region", "eu-west-1", "--policy", str(policy)]
    code, _out, err = run(capsys, "delete", "eu-ic-endpoint", "--yes", "--force", *where)
    assert code == 2 and "give --member-profile PROFILE" in err
    _profile(tmp_path, monkeypatch, "dev-admin", "222222222222")
    code, _out, err = run(
        capsys,
        "delete",
        "eu-ic-endpoint",
        "--yes",
        "--force",
        *where,
        "--member-profile",
        "dev-admin",
    )
    assert (
        code == 2
        and "--member-profile dev-admin is account 222222222222, not prod (111111111111)" in err
    )
    assert [e["EndpointName"] for e in eu.sagemaker.list_endpoints()["Endpoints"]] == [
        "eu-ic-endpoint"
    ]  # refused: nothing deleted
    _profile(tmp_path, monkeypatch, "prod-admin", PROD)
    where += ["--member-profile", "prod-admin"]
    code, _out, err = run(
        capsys,
        "delete",
        "eu-ic-endpoint",
        "--yes",
        "--force",
        "--snapshot-dir",
        str(tmp_path / "snaps"),
        "--json",
        *where,
    )
    assert code == 0, err
    assert eu.sagemaker.list_endpoints()["Endpoints"] == []
    assert [e["EndpointName"] for e in AwsClients().sagemaker.list_endpoints()["Endpoints"]] == [
        "llm-ic-endpoint"
    ]  # the controller's own is untouched
    code, _out, err = run(capsys, "restore", "eu-ic-endpoint", *where, "--json")
    assert code == 0, err
    assert [e["EndpointName"] for e in eu.sagemaker.list_endpoints()["Endpoints"]] == [
        "eu-ic-endpoint"
    ]


def test_the_janitor_sweeps_the_account_region_it_is_given(
    org: tuple[Path, AwsClients], capsys: pytest.CaptureFixture[str]
) -> None:
    policy, eu = org
    forgotten = loads_policy(
        "version: 1\ntargets:\n  f: {endpoint: forgotten, min: 1, max: 1}\n"
    ).targets["f"]
    seed_target(eu.sagemaker, forgotten)
    code, out, err = run(
        capsys,
        "janitor",
        "--policy",
        str(policy),
        "--account",
        "prod",
        "--region",
        "eu-west-1",
        "--at",
        (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        "--json",
    )
    assert code == 0, err
    verdicts = {v["endpoint"]: v["action"] for v in json.loads(out)["endpoints"]}
    assert verdicts == {
        "forgotten": "mark",
        "eu-ic-endpoint": "keep",
    }  # eu's is managed by a target there


@pytest.mark.parametrize(
    "command", [["delete", "llm-ic-endpoint", "--yes"], ["restore", "llm-ic-endpoint"]]
)
def test_a_member_profile_without_a_member_account_exits_2(
    org: tuple[Path, AwsClients], capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    policy, _ = org
    code, _, err = run(capsys, *command, "--policy", str(policy), "--member-profile", "prod-admin")
    assert code == 2 and "--member-profile needs --account" in err
    assert [e["EndpointName"] for e in AwsClients().sagemaker.list_endpoints()["Endpoints"]] == [
        "llm-ic-endpoint"
    ]
