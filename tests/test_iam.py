"""The functions' IAM, read from the template as CloudFormation receives it (expanded by the SAM
translator), against the AWS calls their code made while the rest of the suite drove them
(``tests/aws_calls.py``). Runs last (see ``conftest.py``).

- every call a function made is allowed by one of its role's statements;
- every action a role allows was made by its function somewhere in the suite, or is one that AWS
  checks on the function's behalf (``DEPENDENT``, each with its reason), or is made on a path
  the suite does not drive through the handler (``RARE``, each with where it is reached).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
from functools import cache
from typing import Any

import pytest

from sagescale.stack import Stack, default_template
from tests import aws_calls
from tests.aws_calls import RECORDED

# Calls a function makes only on a path the suite does not provoke through its handler, with where.
RARE = {
    (
        "ParkFunction",
        "dynamodb:GetItem",
    ): "StateStore.update re-reads the target's state after a conflicting write",
}
# Actions a role needs although its code never calls them: AWS checks them as the caller.
DEPENDENT = {
    "iam:CreateServiceLinkedRole": "RegisterScalableTarget creates Application Auto Scaling's SageMaker role on first use in an account",
    "cloudwatch:PutMetricAlarm": "PutScalingPolicy (target tracking) creates its alarms as the caller",
    "cloudwatch:DeleteAlarms": "DeleteScalingPolicy / DeregisterScalableTarget delete target-tracking alarms as the caller",
    "cloudwatch:DescribeAlarms": "Application Auto Scaling reads its target-tracking alarms as the caller",
    "sagemaker:UpdateEndpointWeightsAndCapacities": "RegisterScalableTarget on a variant updates the endpoint as the caller",
    "sagemaker:AddTags": "CreateEndpoint with Tags needs AddTags (tag on create)",
}


@cache
def expanded() -> dict[str, Any]:
    """template.yaml through the SAM translator, as `sam deploy` sends it to CloudFormation."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    doc = yaml_parse(default_template().read_text(encoding="utf-8"))
    doc = copy.deepcopy(doc)
    doc["Globals"]["Function"]["CodeUri"] = "s3://bucket/code.zip"  # `sam package` writes this

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    old = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = old or "us-east-1"
    try:
        out: dict[str, Any] = transform(doc, {}, NoManagedPolicies())
    finally:
        if old is None:
            os.environ.pop("AWS_DEFAULT_REGION")
    return out


def role_statements(function_id: str) -> list[dict[str, Any]]:
    resources = expanded()["Resources"]
    role_ref = resources[function_id]["Properties"]["Role"]
    role = resources[role_ref["Fn::GetAtt"][0]]["Properties"]
    out: list[dict[str, Any]] = []
    for policy in role.get("Policies", []):
        document = policy["PolicyDocument"]
        if (
            isinstance(document, dict) and "Fn::If" in document
        ):  # conditional policies: both branches count
            documents = [
                d for d in document["Fn::If"][1:] if isinstance(d, dict) and "Statement" in d
            ]
        else:
            documents = [document]
        for d in documents:
            out.extend(d["Statement"])
    return out


def _actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def allowed(function_id: str) -> set[str]:
    return {
        a for st in role_statements(function_id) if st["Effect"] == "Allow" for a in _actions(st)
    }


def _allows(patterns: set[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


FUNCTIONS = Stack(default_template()).function_ids()


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_every_call_a_function_made_is_allowed(function_id: str) -> None:
    made = RECORDED.get(function_id, set())
    if not made:
        pytest.skip(f"no call of {function_id} was recorded: run the whole suite")
    missing = sorted(a for a in made if not _allows(allowed(function_id), a))
    assert missing == [], f"{function_id} calls these without permission: {missing}"


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_every_allowed_action_is_used_or_checked_by_aws(function_id: str) -> None:
    if not aws_calls.WHOLE_SUITE:
        pytest.skip("an unused grant shows only when the whole suite has driven every path")
    made = RECORDED.get(function_id, set())
    if os.environ.get("SAGESCALE_DUMP_CALLS"):
        with open(os.environ["SAGESCALE_DUMP_CALLS"], "a", encoding="utf-8") as stream:
            stream.write(json.dumps({function_id: sorted(made)}) + "\n")
    unused = sorted(
        a
        for a in allowed(function_id)
        if a not in made
        and a not in DEPENDENT
        and (function_id, a) not in RARE
        and not a.startswith(("logs:", "xray:", "sqs:"))
    )
    assert unused == [], f"{function_id} is allowed actions its code never makes: {unused}"


# -- member-role.yaml: the role each member account gives the controller ----------------------


@cache
def member_template() -> dict[str, Any]:
    import yaml

    from sagescale.stack import _CfnLoader

    loaded: dict[str, Any] = yaml.load(
        (default_template().parent / "member-role.yaml").read_text(encoding="utf-8"),
        Loader=_CfnLoader,
    )
    return loaded


# the same code paths as the controller's own janitor, driven there (test_function_runs): unmarking, reading invocations
MEMBER_RARE = {
    ("MemberJanitorRole", "sagemaker:DeleteTags"),
    ("MemberJanitorRole", "cloudwatch:GetMetricData"),
}
MEMBER_ROLES = {
    "MemberRole": aws_calls.MEMBER_ROLE,
    "MemberJanitorRole": aws_calls.MEMBER_JANITOR_ROLE,
}
MEMBER_ROLE_USERS = {
    "MemberRole": {"ReconcileFunctionRole", "AlarmFunctionRole"},
    "MemberJanitorRole": {"JanitorFunctionRole"},
}


def member_statements(role: str) -> list[dict[str, Any]]:
    properties = member_template()["Resources"][role]["Properties"]
    return [st for policy in properties["Policies"] for st in policy["PolicyDocument"]["Statement"]]


def member_allowed(role: str) -> set[str]:
    return {a for st in member_statements(role) if st["Effect"] == "Allow" for a in _actions(st)}


@pytest.mark.parametrize("role", sorted(MEMBER_ROLES))
def test_every_call_made_in_a_member_account_is_allowed_by_its_member_role(role: str) -> None:
    made = RECORDED.get(MEMBER_ROLES[role], set())
    if not made:
        pytest.skip("no call in a member account was recorded: run the whole suite")
    missing = sorted(a for a in made if not _allows(member_allowed(role), a))
    assert missing == [], f"calls in member accounts {role} does not allow: {missing}"


@pytest.mark.parametrize("role", sorted(MEMBER_ROLES))
def test_every_action_a_member_role_allows_is_used_or_checked_by_aws(role: str) -> None:
    if not aws_calls.WHOLE_SUITE:
        pytest.skip("an unused grant shows only when the whole suite has driven every path")
    made = RECORDED.get(MEMBER_ROLES[role], set())
    unused = sorted(
        a
        for a in member_allowed(role)
        if a not in made and a not in DEPENDENT and (role, a) not in MEMBER_RARE
    )
    assert unused == [], f"{role} allows actions the controller never makes there: {unused}"


@pytest.mark.parametrize("role", sorted(MEMBER_ROLES))
def test_the_member_roles_trust_only_the_controller_stacks_roles(role: str) -> None:
    trust, operators = member_template()["Resources"][role]["Properties"][
        "AssumeRolePolicyDocument"
    ]["Statement"]
    assert operators["Fn::If"][0] == "HasOperators" and operators["Fn::If"][1]["Principal"] == {
        "AWS": {"Ref": "OperatorRoleArns"}
    }  # only the roles named
    assert trust["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${ControllerAccountId}:root"}
    }
    pattern = trust["Condition"]["ArnLike"]["aws:PrincipalArn"]["Fn::Sub"]
    assert (
        pattern.startswith("arn:${AWS::Partition}:iam::${ControllerAccountId}:role/")
        and pattern.count("*") == 1
        and pattern.endswith("/*")
    )
    # which of the controller's roles (as `sam deploy` makes them, with their paths) the trust lets in
    trusted = set()
    for logical, resource in expanded()["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            path = resource["Properties"].get("Path", "/")
            path = path["Fn::Sub"] if isinstance(path, dict) else path
            arn = f"arn:${{AWS::Partition}}:iam::${{ControllerAccountId}}:role{path.replace('${AWS::StackName}', '${ControllerStackName}')}{logical}-ABC123"
            if fnmatch.fnmatchcase(arn, pattern):
                trusted.add(logical)
    assert (
        trusted == MEMBER_ROLE_USERS[role]
    )  # the functions that act there, not park, unpark or another stack's
    resources = [
        r
        for st in member_statements(role)
        for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])
    ]
    assert all(
        r == "*" or "${AWS::AccountId}" in r["Fn::Sub"] for r in resources
    )  # this account's resources only


def test_only_the_janitor_role_deletes_and_only_what_carries_its_mark() -> None:
    assert not any(
        a.startswith(("sagemaker:Delete", "sagemaker:Create", "iam:Pass"))
        for a in member_allowed("MemberRole")
    )
    deletes = [
        st
        for st in member_statements("MemberJanitorRole")
        if st["Effect"] == "Allow"
        and any(
            a.startswith("sagemaker:Delete") and a != "sagemaker:DeleteTags" for a in _actions(st)
        )
    ]
    assert deletes and all(
        st["Condition"]["StringLike"] == {"aws:ResourceTag/sagescale:janitor": "delete@*"}
        for st in deletes
    )
    (deny,) = [st for st in member_statements("MemberJanitorRole") if st["Effect"] == "Deny"]
    assert deny["Condition"] == {
        "StringEqualsIgnoreCase": {"aws:ResourceTag/sagescale:keep": "true"}
    }


@pytest.mark.parametrize(
    ("prefix", "forwarded"),
    [
        ("", {"sagescale-wake-sagescale-prod-llm", "sagescale-burst-sagescale-prod-llm"}),
        (
            "llm-",
            {
                "sagescale-wake-sagescale-prod-llm",
                "sagescale-burst-sagescale-prod-llm",
                "llm-latency-high",
            },
        ),
    ],
)
def test_the_member_rule_forwards_sagescales_alarms_and_those_its_prefix_names(
    prefix: str, forwarded: set[str]
) -> None:
    """member-role.yaml's rule, resolved with its parameters and matched the way EventBridge
    matches (moto's pattern engine): the controller stack's wake and burst alarms always; the
    account's own alarms only with ForwardAlarmPrefix; another stack's never."""
    from moto.events.models import EventPattern

    from sagescale.samples import alarm_sample
    from sagescale.stack import Stack
    from tests.conftest import EVENTS

    stack = Stack(default_template().parent / "member-role.yaml")
    stack.parameters.update({"ControllerStackName": "sagescale-prod", "ForwardAlarmPrefix": prefix})
    pattern = EventPattern.load(
        json.dumps(stack.resolve(stack.resources["AlarmForwardRule"]["Properties"]["EventPattern"]))
    )
    names = [
        "sagescale-wake-sagescale-prod-llm",
        "sagescale-burst-sagescale-prod-llm",
        "sagescale-wake-sagescale-dev-llm",
        "llm-latency-high",
        "db-cpu-high",
    ]
    matched = {
        n
        for n in names
        if pattern.matches_event(
            alarm_sample(
                "alarm-eventbridge-alarm.json",
                events=EVENTS,
                alarm=n,
                at="2026-11-24T12:00:30.000+0000",
            )
        )
    }
    assert matched == forwarded
