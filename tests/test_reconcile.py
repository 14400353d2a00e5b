"""The reconcile function end to end: the real handler, through botocore, on the emulator
(in-process and over HTTP), with the clock injected."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.aws.clients import AwsClients
from handlers import reconcile
from handlers.runtime import reset_runtime
from handlers.settings import Settings
from sagescale.emulator import emulated_aws
from sagescale.replay import LambdaContext, load_event, patched_environ
from sagescale.stack import Stack, default_template
from tests.conftest import EVENTS
from tests.emulated import NY, POLICY, Env, build_env


def test_direct_mode_writes_the_copy_count(any_env: Env) -> None:
    env = any_env
    env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))  # Black Friday floor, 2 h lead
    env.counter.reset()
    out = env.invoke()["targets"]["llm"]
    assert (out["mode"], out["outcome"], out["to"]) == ("direct", "applied", 6)
    # the SageMaker write, and the state record inside the target's lock (put + release)
    assert env.counter.writes == Counter(
        {"UpdateInferenceComponentRuntimeConfig": 1, "PutItem": 2, "UpdateItem": 1}
    )
    assert env.copies()[1] == 6


def test_bounds_mode_writes_only_min_and_max(any_env: Env) -> None:
    env = any_env
    env.register(1, 4)
    env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))
    env.counter.reset()
    out = env.invoke()["targets"]["llm"]
    assert (out["mode"], out["outcome"], out["to_bounds"]) == (
        "bounds",
        "applied",
        {"min": 6, "max": 8},
    )
    assert "UpdateInferenceComponentRuntimeConfig" not in env.counter.calls
    assert env.counter.writes["RegisterScalableTarget"] == 1
    assert env.scalable() == (6, 8)
    # The controller wrote no count; Application Auto Scaling moved it into the new range.
    assert env.copies()[1] == 6


def test_second_run_makes_zero_writes(any_env: Env) -> None:
    env = any_env
    env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))
    env.invoke()
    env.clock.advance(timedelta(minutes=5))
    env.counter.reset()
    out = env.invoke()["targets"]["llm"]
    assert out["outcome"] == "unchanged"
    assert env.counter.writes == Counter(), env.counter.calls
    assert env.counter.calls  # it did read


def test_updating_target_is_deferred_then_converged(env: Env) -> None:
    env.emulator.update_delay = timedelta(minutes=10)
    env.clock.set(datetime(2026, 11, 24, 12, 0, tzinfo=NY))
    env.clients.sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="llm-ic", DesiredRuntimeConfig={"CopyCount": 2}
    )
    assert env.copies()[0] == "Updating"
    env.clock.set(datetime(2026, 11, 24, 12, 5, tzinfo=NY))
    env.runtime.store.set_override(
        "llm",
        __import__("core.bounds", fromlist=["Override"]).Override(
            5, env.clock() + timedelta(hours=2), "test"
        ),
    )
    env.counter.reset()
    out = env.invoke()["targets"]["llm"]
    assert out["outcome"] == "deferred" and out["to"] == 5
    assert "UpdateInferenceComponentRuntimeConfig" not in env.counter.calls
    pending = env.runtime.store.get("llm").pending
    assert pending is not None and pending["to"] == 5
    env.clock.advance(timedelta(minutes=5))  # the update finished at 12:10
    out = env.invoke()["targets"]["llm"]
    assert out["outcome"] == "applied" and out["to"] == 5
    assert env.runtime.store.get("llm").pending is None


def test_in_progress_error_is_a_deferral(env: Env) -> None:
    """The resource turned Updating between our read and our write: AWS refuses, we defer."""
    env.emulator.update_delay = timedelta(minutes=10)
    real_describe = env.clients.sagemaker.describe_inference_component
    reads = []

    def stale_describe(**kwargs: Any) -> Any:
        result = real_describe(**kwargs)
        reads.append(result)
        if len(reads) == 2:  # the read under the lock, just before the write
            env.clients.sagemaker.update_inference_component_runtime_config(
                InferenceComponentName="llm-ic", DesiredRuntimeConfig={"CopyCount": 1}
            )
        return result

    env.clients.sagemaker.describe_inference_component = stale_describe  # type: ignore[method-assign]
    env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))
    out = env.invoke()["targets"]["llm"]
    assert out["outcome"] == "deferred"
    assert "in-progress" in out["message"].lower() or "updating" in out["message"].lower()


def test_failed_target_is_reported(env: Env) -> None:
    env.emulator.fail_inference_component("llm-ic", "CUDA out of memory while loading the model")
    env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))
    env.counter.reset()
    result = env.invoke()
    out = result["targets"]["llm"]
    assert out["outcome"] == "error" and "CUDA out of memory" in out["message"]
    assert result["errors"] == ["llm"]
    assert not env.counter.writes


def test_missing_resource_does_not_stop_other_targets(tmp_path: Path, aws_env: None) -> None:
    text = POLICY + "  ghost:\n    inference_component: no-such-ic\n    min: 1\n    max: 2\n"
    with emulated_aws() as emulator:
        env = build_env(tmp_path, AwsClients(), emulator, text)
        env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))
        result = env.invoke()
        assert result["targets"]["ghost"]["outcome"] == "error"
        assert result["targets"]["llm"]["outcome"] == "applied"
    reset_runtime()


def test_idle_window_releases_what_the_floor_held(env: Env) -> None:
    """Direct mode: when the minimum drops, the count drops by as much (never below the new min)."""
    env.clock.set(datetime(2026, 11, 27, 12, 0, tzinfo=NY))
    assert env.invoke()["targets"]["llm"]["to"] == 6
    env.clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=NY))  # Monday noon: min 1
    assert env.invoke()["targets"]["llm"]["to"] == 1
    env.clock.set(datetime(2026, 11, 30, 20, 0, tzinfo=NY))  # idle: min 0
    out = env.invoke()["targets"]["llm"]
    assert (out["to"], out["reasons"]) == (0, ["idle:Mon-Fri 20:00-07:00"])
    assert env.copies()[1] == 0


def test_dry_run_writes_nothing(env: Env) -> None:
    env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))
    env.counter.reset()
    out = env.invoke(load_event(EVENTS / "reconcile-dry-run.json"))
    assert out["dry_run"] is True and out["targets"]["llm"]["outcome"] == "dry-run"
    assert out["targets"]["llm"]["action"] == "set_count"
    assert not env.counter.writes
    assert env.copies()[1] == 1


def test_manual_one_target_event(env: Env) -> None:
    env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))
    out = env.invoke(load_event(EVENTS / "reconcile-target.json"))
    assert list(out["targets"]) == ["llm"] and out["targets"]["llm"]["outcome"] == "applied"


def test_scheduler_tick_event(env: Env) -> None:
    env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))
    out = env.invoke(load_event(EVENTS / "reconcile-tick.json"))
    assert out["targets"]["llm"]["to"] == 6


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"target": "nope"}, "unknown target 'nope'"),
        ({"dry_run": "perhaps"}, "dry_run"),
        ({"colour": "red"}, "colour"),
        ([], "JSON object"),
    ],
)
def test_bad_events_fail_the_invocation(env: Env, event: Any, words: str) -> None:
    env.counter.reset()
    with pytest.raises(ValueError, match=words):
        reconcile.handler(event, LambdaContext("reconcile", 256, 120))
    assert not env.counter.writes


def test_every_event_file_parses() -> None:
    from aws_lambda_powertools.utilities.parser.models import SqsModel

    from core.events import parse_reconcile_event, parse_work_item

    files = sorted(EVENTS.glob("reconcile-*.json"))
    assert [p.name for p in files] == [
        "reconcile-dry-run.json",
        "reconcile-target.json",
        "reconcile-tick.json",
        "reconcile-work.json",
    ]
    for path in files[:3]:
        parse_reconcile_event(load_event(path))
    for path in sorted(
        EVENTS.glob("*-work.json")
    ):  # a work-queue batch: Lambda's SQS event (Powertools' model of it), work items inside
        batch = SqsModel.model_validate(load_event(path))
        assert [parse_work_item(r.body).action for r in batch.Records] == [path.name.split("-")[0]]


def test_handler_writes_structured_decision_logs(env: Env) -> None:
    import io
    import logging

    env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))
    reconcile.logger.setLevel("INFO")
    handler = reconcile.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    sink = io.StringIO()
    old = handler.setStream(sink)
    try:
        env.invoke()
    finally:
        handler.setStream(old)
    records = [json.loads(line) for line in sink.getvalue().splitlines()]
    decision = next(r for r in records if r.get("message") == "decision")
    assert decision["decision"]["target"] == "llm" and decision["decision"]["outcome"] == "applied"
    assert decision["function_request_id"]


def test_settings_name_the_missing_variable() -> None:
    from handlers.settings import SettingsError

    with pytest.raises(SettingsError, match="SAGESCALE_STATE_TABLE"):
        Settings.from_env({})
    with pytest.raises(SettingsError, match="SAGESCALE_POLICY_FILE"):
        Settings.from_env({"SAGESCALE_STATE_TABLE": "t"})
    with pytest.raises(SettingsError, match="no file at"):
        Settings.from_env({"SAGESCALE_STATE_TABLE": "t", "SAGESCALE_POLICY_FILE": "nope.yaml"})
    shipped = Settings.from_env(
        {"SAGESCALE_STATE_TABLE": "t", "SAGESCALE_POLICY_FILE": "policy/policy.yaml"}
    )
    assert shipped.policy_file is not None and shipped.policy_file.is_file()


def test_template_environment_is_what_replay_uses(aws_env: None) -> None:
    spec = Stack(default_template()).function("ReconcileFunction")
    assert spec.handler == "handlers.reconcile.handler"
    assert spec.environment["SAGESCALE_STATE_TABLE"] == "sagescale-StateTable"
    assert spec.environment["SAGESCALE_POLICY_FILE"] == "policy/policy.yaml"
    with patched_environ({**spec.environment}):
        assert Settings.from_env().state_table == "sagescale-StateTable"


def test_state_write_conflict_is_retried_on_fresh_state(env: Env) -> None:
    """A writer holding a stale version loses the conditional write, re-reads, and keeps both changes."""
    from dataclasses import replace

    from core.state import TargetState

    store = env.runtime.store
    stale = store.get("llm")
    store.update("llm", lambda s: replace(s, cooldowns={"out": "2026-11-24T12:00:00+00:00"}))
    env.counter.reset()
    result = store.update("llm", lambda s: replace(s, applied_min=3), known=stale)
    assert env.counter.calls["PutItem"] == 2  # the stale attempt failed its condition
    assert result.version == 2
    fresh: TargetState = store.get("llm")
    assert fresh.applied_min == 3 and fresh.cooldowns == {"out": "2026-11-24T12:00:00+00:00"}


def test_lock_acquire_retried_after_a_lost_response_does_not_deadlock(env: Env) -> None:
    """Regression: an acquire applied by DynamoDB whose response was lost, then retried by
    botocore, failed its own condition and waited for its own lease (30 s, then failed)."""
    from botocore.awsrequest import AWSResponse

    class Body:
        def stream(self, **_: Any) -> Any:
            yield b'{"__type": "InternalServerError", "message": "the response was lost"}'

    lost: list[str] = []

    def lose_first_put(request: Any, **_: Any) -> AWSResponse | None:
        # in-process, moto's own stub still applies the request: the write lands, the answer is a 500
        if not lost:
            lost.append("PutItem")
            return AWSResponse(
                request.url, 500, {"Content-Type": "application/x-amz-json-1.0"}, Body()
            )
        return None

    env.clients.dynamodb.meta.events.register_first("before-send.dynamodb.PutItem", lose_first_put)
    with env.runtime.store.lock("llm", wait_seconds=2) as owner:
        assert owner
    assert lost == ["PutItem"]
    item = env.clients.dynamodb.get_item(
        TableName=env.runtime.store.table, Key={"pk": {"S": "target#llm"}, "sk": {"S": "lock"}}
    )["Item"]
    assert item["lease_until"]["N"] == "0"  # released


def test_direct_mode_refuses_to_fight_a_scalable_target(env: Env) -> None:
    """Regression: mode direct wrote copy counts behind Application Auto Scaling's back."""
    from core.policy import loads_policy

    env.register(1, 4)
    env.runtime.policy = loads_policy(
        POLICY.replace("    min: 1\n", "    mode: direct\n    min: 1\n", 1)
    )
    env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))
    env.counter.reset()
    out = env.invoke()["targets"]["llm"]
    assert out["outcome"] == "error" and "fight Application Auto Scaling" in out["message"]
    assert "UpdateInferenceComponentRuntimeConfig" not in env.counter.calls


def test_handler_emits_metrics_in_embedded_metric_format(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))
    env.invoke()
    records = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    named = {
        m["Name"]: r for r in records for d in r["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]
    }
    assert (
        named["ScalingActions"]["ScalingActions"] == [1.0]
        or named["ScalingActions"]["ScalingActions"] == 1.0
    )
    capacity = named["DesiredCapacity"]
    assert capacity["Target"] == "llm" and capacity["DesiredCapacity"] in (6, 6.0, [6.0])
    assert all(r["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "sagescale" for r in records)


def test_scaling_actions_are_notified_when_the_stack_asks(env: Env) -> None:
    from dataclasses import replace

    topic = env.clients.sns.create_topic(Name="actions")["TopicArn"]
    env.clients.sns.meta.events.register("before-call.*.*", env.counter)
    env.clock.set(datetime(2026, 11, 26, 22, 0, tzinfo=NY))
    env.runtime.settings = replace(env.runtime.settings, topic_arn=topic)  # notify_actions off
    env.counter.reset()
    env.invoke()
    assert "Publish" not in env.counter.calls
    env.runtime.settings = replace(env.runtime.settings, topic_arn=topic, notify_actions=True)
    env.clock.set(datetime(2026, 11, 28, 1, 0, tzinfo=NY))  # the floor ends: 6 -> 1
    env.counter.reset()
    env.invoke()
    assert env.counter.calls["Publish"] == 1


def test_notify_setting_is_validated() -> None:
    from handlers.settings import SettingsError

    base = {"SAGESCALE_STATE_TABLE": "t", "SAGESCALE_POLICY_FILE": "policy/policy.yaml"}
    assert Settings.from_env({**base, "SAGESCALE_NOTIFY_ACTIONS": "true"}).notify_actions is True
    with pytest.raises(SettingsError, match="SAGESCALE_NOTIFY_ACTIONS"):
        Settings.from_env({**base, "SAGESCALE_NOTIFY_ACTIONS": "yes please"})
