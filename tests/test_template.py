"""template.yaml: least privilege for the scaling function, and what replay relies on."""

from __future__ import annotations

from typing import Any

from sagescale.stack import Stack, default_template

SCALING_FUNCTIONS = ["ReconcileFunction", "AlarmFunction"]


def statements(stack: Stack, function_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for policy in stack.resources[function_id]["Properties"].get("Policies", []):
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, (
            f"{function_id}: use explicit statements, not {policy}"
        )
        out.extend(policy["Statement"])
    return out


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def test_scaling_functions_have_no_wildcard_or_delete_actions() -> None:
    """No wildcard actions; no delete of anything but records in the function's own state table
    (Powertools Idempotency removes the record of a failed invocation so its retry can run)."""
    stack = Stack(default_template())
    for function_id in SCALING_FUNCTIONS:
        for st in statements(stack, function_id):
            for action in actions(st):
                assert "*" not in action, f"{function_id}: wildcard action {action}"
                if ":Delete" in action:
                    assert action == "dynamodb:DeleteItem", f"{function_id}: delete action {action}"
                    assert st["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}, st
    reconcile = [a for st in statements(stack, "ReconcileFunction") for a in actions(st)]
    assert not [a for a in reconcile if ":Delete" in a]


# actions that AWS offers no narrower resource for
UNSCOPED = {
    "sagemaker:ListEndpoints",
    "sagemaker:ListInferenceComponents",
    "tag:GetResources",
    "cloudwatch:ListMetrics",
    "cloudwatch:GetMetricData",
}


def test_resource_star_only_where_aws_offers_nothing_narrower() -> None:
    """Application Auto Scaling has no resource-level permissions, nor do the list calls; everything else is scoped."""
    stack = Stack(default_template())
    for function_id in stack.function_ids():
        for st in statements(stack, function_id):
            if st["Resource"] == "*":
                assert all(
                    a.startswith("application-autoscaling:") or a in UNSCOPED for a in actions(st)
                ), st


def test_janitor_deletes_only_marked_endpoints_and_scalers_delete_nothing() -> None:
    stack = Stack(default_template())
    janitor = statements(stack, "JanitorFunction")
    (delete_endpoint,) = [
        st
        for st in janitor
        if "sagemaker:DeleteEndpoint" in actions(st) and st["Effect"] == "Allow"
    ]
    assert delete_endpoint["Condition"] == {
        "StringLike": {"aws:ResourceTag/sagescale:janitor": "delete@*"}
    }
    for function_id in SCALING_FUNCTIONS:
        granted = {a for st in statements(stack, function_id) for a in actions(st)}
        assert not {a for a in granted if a.startswith("sagemaker:Delete")}, function_id


def test_every_function_has_a_dead_letter_queue_and_scheduled_retries() -> None:
    stack = Stack(default_template())
    for function_id in stack.function_ids():
        props = stack.resources[function_id]["Properties"]
        assert "DeadLetterQueue" in props, function_id
        for event in props.get("Events", {}).values():
            if event["Type"] == "ScheduleV2":
                assert (
                    event["Properties"]["DeadLetterConfig"] and event["Properties"]["RetryPolicy"]
                )
                assert event["Properties"]["ScheduleExpressionTimezone"]
                assert event["Properties"]["Input"]


def test_functions_run_python313_on_arm64() -> None:
    stack = Stack(default_template())
    globals_ = stack.doc["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13" and globals_["Architectures"] == ["arm64"]


def test_every_checkov_suppression_says_why() -> None:
    stack = Stack(default_template())
    skips = [
        (name, skip)
        for name, res in stack.resources.items()
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert skip["id"].startswith("CKV_") and len(skip.get("comment", "")) > 30, (name, skip)


def test_operational_alarms_notify_the_topic() -> None:
    stack = Stack(default_template())
    alarms = {
        n: r["Properties"]
        for n, r in stack.resources.items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    resources = {n: a for n, a in alarms.items() if isinstance(a["Dimensions"][0]["Value"], dict)}
    watched = {
        a["Dimensions"][0]["Value"].get("Ref") or a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in resources.values()
    }
    queues = {n for n, r in stack.resources.items() if r["Type"] == "AWS::SQS::Queue"}
    assert set(stack.function_ids()) | queues <= watched
    assert all(a["AlarmActions"] == [{"Ref": "NotificationTopic"}] for a in alarms.values())
    metrics = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert {
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    } <= metrics
    # a target in error does not fail the invocation (the others go on): its own metric is watched
    (errors,) = [
        a
        for a in alarms.values()
        if (a["Namespace"], a["MetricName"]) == ("sagescale", "ReconcileErrors")
    ]
    assert (
        errors["Dimensions"] == [{"Name": "service", "Value": "sagescale"}]
        and errors["Threshold"] == 1
    )


def test_recreating_a_parked_endpoint_is_conditioned_on_the_request_tags() -> None:
    """Regression: CreateEndpoint was conditioned on aws:ResourceTag, which an endpoint being
    created does not have yet: a parked endpoint could never come back."""
    unpark = statements(Stack(default_template()), "UnparkFunction")
    (create,) = [
        st for st in unpark if "sagemaker:CreateEndpoint" in actions(st) and "Condition" in st
    ]
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/sagescale:park": "true"}}
    assert "sagemaker:AddTags" in actions(create)
    park = statements(Stack(default_template()), "ParkFunction")
    (delete,) = [
        st for st in park if "sagemaker:DeleteEndpoint" in actions(st) and st["Effect"] == "Allow"
    ]
    assert delete["Condition"] == {"StringEquals": {"aws:ResourceTag/sagescale:park": "true"}}


def test_janitor_writes_only_its_own_tag() -> None:
    janitor = statements(Stack(default_template()), "JanitorFunction")
    (tagging,) = [st for st in janitor if "sagemaker:AddTags" in actions(st)]
    assert tagging["Condition"] == {
        "ForAllValues:StringEquals": {"aws:TagKeys": ["sagescale:janitor"]}
    }


def test_every_function_may_read_the_policy_parameter_named_as_a_path() -> None:
    """Only ReconcileFunction could ssm:GetParameter although all four load the policy from
    SAGESCALE_POLICY_PARAMETER; and parameter/${PolicyParameter} gave parameter//sagescale/policy."""
    stack = Stack(default_template())
    assert (
        stack.doc["Parameters"]["PolicyParameter"]["AllowedPattern"] == "^$|^(/[a-zA-Z0-9_.-]+)+$"
    )
    for function_id in stack.function_ids():
        (read,) = [st for st in statements(stack, function_id) if "ssm:GetParameter" in actions(st)]
        arn = read["Resource"]["Fn::If"][1]["Fn::Sub"]
        assert arn.endswith(":parameter${PolicyParameter}"), (function_id, arn)


def test_functions_that_register_scalable_targets_may_create_the_service_linked_role() -> None:
    """The first RegisterScalableTarget in an account creates Application Auto Scaling's role for
    SageMaker; without iam:CreateServiceLinkedRole it failed."""
    stack = Stack(default_template())
    for function_id in stack.function_ids():
        sts = statements(stack, function_id)
        if any("application-autoscaling:RegisterScalableTarget" in actions(st) for st in sts):
            (slr,) = [st for st in sts if "iam:CreateServiceLinkedRole" in actions(st)]
            assert slr["Condition"] == {
                "StringEquals": {
                    "iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"
                }
            }


def test_the_janitor_role_denies_deleting_what_carries_the_protect_tag() -> None:
    janitor = statements(Stack(default_template()), "JanitorFunction")
    (deny,) = [st for st in janitor if st["Effect"] == "Deny"]
    assert set(actions(deny)) == {"sagemaker:DeleteEndpoint", "sagemaker:DeleteInferenceComponent"}
    assert deny["Condition"] == {
        "StringEqualsIgnoreCase": {"aws:ResourceTag/sagescale:keep": "true"}
    }


def test_event_dead_letters_go_to_the_stacks_encrypted_alarmed_queues() -> None:
    """SAM generated a dead-letter queue per event source (Type: SQS): unencrypted and unwatched."""
    from tests.test_iam import expanded

    resources = expanded()["Resources"]
    queues = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    assert set(queues) == {
        "ReconcileDeadLetterQueue",
        "ParkDeadLetterQueue",
        "UnparkDeadLetterQueue",
        "JanitorDeadLetterQueue",
        "AlarmDeadLetterQueue",
        "WorkQueue",
        "JanitorWorkQueue",
    }
    assert all(q.get("SqsManagedSseEnabled") for q in queues.values())


def test_schedules_carry_the_stacks_name() -> None:
    """Two stacks in one account (dev and prod) got schedules of the same name and collided."""
    from tests.test_iam import expanded

    schedules = [
        r["Properties"]
        for r in expanded()["Resources"].values()
        if r["Type"] == "AWS::Scheduler::Schedule"
    ]
    assert len(schedules) == 4
    assert all(s["Name"]["Fn::Sub"].startswith("${AWS::StackName}-") for s in schedules)


def test_no_role_can_both_tag_an_endpoint_and_delete_it() -> None:
    """ParkFunction could add sagescale:park=true to any endpoint (the condition was on the
    request's tags) and that tag is what let it delete: it could opt any endpoint in and delete
    it. Parking and unparking are two roles now; only the janitor both tags and deletes, and it
    may write its own mark alone and delete only what carries it."""
    stack = Stack(default_template())
    for function_id in stack.function_ids():
        granted = {
            a
            for st in statements(stack, function_id)
            if st["Effect"] == "Allow"
            for a in actions(st)
        }
        if {"sagemaker:AddTags", "sagemaker:DeleteEndpoint"} <= granted:
            assert function_id == "JanitorFunction", function_id


def test_the_janitor_deletes_only_inference_components_that_carry_its_mark() -> None:
    janitor = statements(Stack(default_template()), "JanitorFunction")
    (delete,) = [
        st
        for st in janitor
        if "sagemaker:DeleteInferenceComponent" in actions(st) and st["Effect"] == "Allow"
    ]
    assert delete["Condition"] == {"StringLike": {"aws:ResourceTag/sagescale:janitor": "delete@*"}}
