"""Member accounts: the emulator's AssumeRole as strict as AWS, and the controller's clients per
account-region (core.aws.accounts)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from core.aws.accounts import AccountError, Accounts
from core.aws.clients import AwsClients
from core.policy import HOME, Place, loads_policy
from sagescale.emulator import control, emulated_aws

CONTROLLER = "123456789012"
PROD = "111111111111"
POLICY = f"""
version: 1
accounts:
  prod: {{role: "arn:aws:iam::{PROD}:role/sagescale-member", regions: [us-east-1, eu-west-1], external_id: sagescale-prod}}
  ghost: {{role: "arn:aws:iam::333333333333:role/sagescale-member", regions: [us-east-1]}}
targets:
  llm: {{inference_component: llm-ic, min: 1, max: 2, account: prod, region: eu-west-1}}
"""


@pytest.fixture
def aws(aws_env: None) -> Iterator[AwsClients]:
    with emulated_aws():
        yield AwsClients()


def test_assume_role_needs_the_role_its_trust_and_its_external_id(aws: AwsClients) -> None:
    """moto lets anyone assume any ARN, existing or not: a controller that AWS would refuse
    reached the member account here."""
    sts = aws.client("sts")
    arn = f"arn:aws:iam::{PROD}:role/sagescale-member"
    with pytest.raises(ClientError, match="AccessDenied"):
        sts.assume_role(
            RoleArn=arn, RoleSessionName="sagescale", ExternalId="sagescale-prod"
        )  # no such role yet
    control.create_member_role(PROD, "sagescale-member", trusted_account="999999999999")
    with pytest.raises(ClientError, match="not authorized to perform: sts:AssumeRole"):
        sts.assume_role(RoleArn=arn, RoleSessionName="sagescale")  # it trusts another account
    control.create_member_role(
        PROD, "sagescale-strict", trusted_account=CONTROLLER, external_id="sagescale-prod"
    )
    strict = f"arn:aws:iam::{PROD}:role/sagescale-strict"
    with pytest.raises(ClientError, match="AccessDenied"):
        sts.assume_role(RoleArn=strict, RoleSessionName="sagescale", ExternalId="wrong-id")
    with pytest.raises(ClientError, match="AccessDenied"):
        sts.assume_role(RoleArn=strict, RoleSessionName="sagescale")
    credentials = sts.assume_role(
        RoleArn=strict, RoleSessionName="sagescale", ExternalId="sagescale-prod"
    )["Credentials"]
    member = boto3.client(
        "sts",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert member.get_caller_identity()["Account"] == PROD


def test_clients_per_account_region_assume_once_per_account_and_land_there(aws: AwsClients) -> None:
    control.create_member_role(
        PROD, "sagescale-member", trusted_account=CONTROLLER, external_id="sagescale-prod"
    )
    policy = loads_policy(POLICY)
    accounts = Accounts(aws, policy.accounts, session_name="sagescale-test")
    assert accounts.clients(HOME) is aws
    east, west = (
        accounts.clients(Place("prod", "us-east-1")),
        accounts.clients(Place("prod", "eu-west-1")),
    )
    assert accounts.clients(Place("prod", "eu-west-1")) is west
    assert accounts.assumed == 1  # one role session for both regions, kept for its lifetime
    west.sagemaker.create_model(
        ModelName="m",
        ExecutionRoleArn=f"arn:aws:iam::{PROD}:role/x",
        PrimaryContainer={"Image": "i"},
    )
    assert [m["ModelArn"] for m in west.sagemaker.list_models()["Models"]] == [
        f"arn:aws:sagemaker:eu-west-1:{PROD}:model/m"
    ]
    assert (
        east.sagemaker.list_models()["Models"] == [] and aws.sagemaker.list_models()["Models"] == []
    )
    with pytest.raises(AccountError, match=r"account ghost \(333333333333\): cannot assume"):
        accounts.clients(Place("ghost", "us-east-1"))


def test_the_latency_control_delays_every_request(
    aws: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sagescale.emulator import network_ext

    slept: list[float] = []
    monkeypatch.setattr(network_ext.time, "sleep", slept.append)
    control.latency = timedelta(milliseconds=50)
    try:
        aws.sagemaker.list_endpoints()
        aws.cloudwatch.describe_alarms()
    finally:
        control.latency = timedelta(0)
    assert slept == [0.05, 0.05]
    aws.sagemaker.list_endpoints()
    assert slept == [0.05, 0.05]
    with pytest.raises(ValueError, match="latency"):
        control.latency = timedelta(seconds=-1)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            ("account: prod, region: eu-west-1", "account: qa"),
            "targets.llm.account",
            "unknown account 'qa' (accounts: ghost, prod)",
        ),
        (
            ("region: eu-west-1}", "region: ap-south-1}"),
            "targets.llm.region",
            "region 'ap-south-1' is not listed for account 'prod' (its regions: us-east-1, eu-west-1)",
        ),
        ((", region: eu-west-1}", "}"), "targets.llm.region", "account 'prod' has several regions"),
        (
            ("account: prod, region: eu-west-1", "region: eu-west-1"),
            "targets.llm.region",
            "give account too",
        ),
        (("333333333333", PROD), "accounts.ghost.role", f"account {PROD} is already named 'prod'"),
        (
            ("regions: [us-east-1]}", "regions: [us-east-1, us-east-1]}"),
            "accounts.ghost.regions",
            "a region is listed twice",
        ),
        (
            ("regions: [us-east-1]}", "regions: [US-East]}"),
            "accounts.ghost.regions",
            "not an AWS region name",
        ),
        (
            (f"arn:aws:iam::{PROD}:role", "arn:aws:iam::1111:role"),
            "accounts.prod.role",
            "is not an IAM role ARN",
        ),
        (
            (
                "llm: {inference_component: llm-ic, min: 1, max: 2,",
                "llm: {endpoint: web-ep, park: true, min: 1, max: 2,",
            ),
            "targets.llm.park",
            "parking runs in the controller's own account only",
        ),
        (
            ("targets:", "janitor: {accounts: [prod, ghost, prod]}\ntargets:"),
            "janitor.accounts[2]",
            "account 'prod' is listed twice",
        ),
    ],
)
def test_account_errors_name_the_field(change: tuple[str, str], field: str, words: str) -> None:
    from core.policy import PolicyError

    with pytest.raises(PolicyError) as caught:
        loads_policy(POLICY.replace(*change))
    assert any(path == field and words in message for path, message in caught.value.problems), (
        caught.value.problems
    )


def test_the_janitor_sweeps_its_own_place_and_the_accounts_it_names() -> None:
    from core.policy import PolicyError

    policy = loads_policy(POLICY + "janitor: {accounts: [prod]}\n")
    assert policy.janitor_places() == [HOME, Place("prod", "us-east-1"), Place("prod", "eu-west-1")]
    assert loads_policy(POLICY).janitor_places() == [HOME]
    with pytest.raises(PolicyError, match=r"janitor\.accounts\[0\]"):
        loads_policy(POLICY + "janitor: {accounts: [qa]}\n")
    assert policy.places() == {Place("prod", "eu-west-1"): ["llm"]}


def test_a_rate_limit_throttles_an_operation_per_account_and_region(aws: AwsClients) -> None:
    """SageMaker throttles its APIs; the emulator did not, so a controller that would be throttled
    on AWS never was here."""
    from botocore.config import Config

    from sagescale.emulator import network_ext

    once = AwsClients(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    control.rate_limits = {"sagemaker:ListEndpoints": 2.0}
    network_ext.buckets.clear()
    try:
        once.sagemaker.list_endpoints()
        once.sagemaker.list_endpoints()
        with pytest.raises(ClientError, match="ThrottlingException"):
            once.sagemaker.list_endpoints()
        once.sagemaker.list_models()  # another operation has its own rate
        assert network_ext.buckets.throttled == 1
    finally:
        control.rate_limits = {}
        network_ext.buckets.clear()


def test_a_member_account_region_that_is_the_controllers_own_is_refused_where_the_controller_is_known() -> (
    None
):
    """The policy cannot know the controller's account; the functions can (their settings). A
    member entry for the controller's own account and region would put its targets outside what the
    home janitor keeps as managed, so the runtime refuses it, naming the field."""
    from core.policy import PolicyError

    policy = loads_policy(POLICY.replace(PROD, CONTROLLER))
    assert policy.check_home(("999999999999", "us-east-1")) is policy
    assert (
        policy.check_home((CONTROLLER, "ap-south-1")) is policy
    )  # its other regions, through the member role: fine
    with pytest.raises(PolicyError) as caught:
        policy.check_home((CONTROLLER, "eu-west-1"))
    assert (
        caught.value.problems[0][0] == "accounts.prod.regions"
        and "is the controller's own" in caught.value.problems[0][1]
    )


def test_validate_refuses_a_member_role_the_stack_may_not_assume(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: a member role named otherwise than the stack's MemberRoleName validated, then
    every AssumeRole failed in production (the functions may assume only iam::*:role/NAME)."""
    from sagescale.cli import main

    policy = tmp_path / "org.yaml"
    policy.write_text(POLICY)
    assert main(["validate", str(policy)]) == 0
    assert main(["validate", str(policy), "--member-role-name", "ml-controller"]) == 2
    err = capsys.readouterr().err
    assert (
        "accounts.prod.role: arn:aws:iam::111111111111:role/sagescale-member is not the role the stack may assume (role/ml-controller"
        in err
    )
    assert "accounts.ghost.role" in err
    policy.write_text(POLICY.replace("role/sagescale-member", "role/team/sagescale-member", 1))
    assert (
        main(["validate", str(policy)]) == 2
    )  # a path is another role: the stack's grant names role/NAME
    assert "accounts.prod.role" in capsys.readouterr().err
