"""Alarm-driven scaling end to end: the alarm handler on the emulator, with the clock injected."""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.aws.clients import AwsClients
from core.events import EventError, parse_alarm_event
from handlers import alarm
from sagescale.emulator import emulated_aws
from sagescale.replay import load_event
from sagescale.samples import alarm_sample
from tests.alarm_shapes import mutations, shape_files
from tests.conftest import EVENTS
from tests.emulated import NY, Env, build_env, context

ALARM_POLICY = """
version: 1
timezone: America/New_York
calendars:
  retail:
    dates: [{date: 2026-11-27, name: Black Friday}]
targets:
  llm:
    inference_component: llm-ic
    min: 1
    max: 8
    cooldown: {out: 60, in: 300}
    idle: [{days: Mon-Fri, from: "20:00", to: "07:00"}]
    floors: [{calendar: retail, min: 6, lead: 120}]
    alarms:
      - {alarm: llm-latency-high, change: 2, hold: 30}
      - {alarm: llm-invocations-low, change: -1}
    wake: true
"""
TUESDAY_NOON = datetime(2026, 11, 24, 12, 0, tzinfo=NY)
SHAPES = ["alarm-eventbridge-alarm.json", "alarm-lambda-action.json", "alarm-sns-alarm.json"]
SAGEMAKER_WRITES = {
    "UpdateInferenceComponentRuntimeConfig",
    "RegisterScalableTarget",
    "UpdateEndpointWeightsAndCapacities",
}


@pytest.fixture
def aenv(tmp_path: Path, aws_env: None) -> Any:
    from handlers.runtime import reset_runtime

    with emulated_aws() as emulator:
        env = build_env(tmp_path, AwsClients(), emulator, ALARM_POLICY)
        env.clock.set(TUESDAY_NOON)
        yield env
    reset_runtime()


@pytest.fixture
def http_aenv(tmp_path: Path, aws_env: None) -> Any:
    from handlers.runtime import reset_runtime
    from sagescale.emulator import control, start_server

    with start_server() as server:
        server.reset()
        env = build_env(tmp_path, AwsClients(endpoint_url=server.url), control, ALARM_POLICY)
        env.clock.set(TUESDAY_NOON)
        yield env
        server.reset()
    reset_runtime()


def event(
    name: str, *, at: str | None = None, alarm_name: str | None = None, state: str | None = None
) -> Any:
    return alarm_sample(name, at=at, alarm=alarm_name, state=state, events=EVENTS)


def sagemaker_writes(env: Env) -> Counter[str]:
    return Counter({k: v for k, v in env.counter.calls.items() if k in SAGEMAKER_WRITES})


# --- parsing ----------------------------------------------------------------------------


def test_three_shapes_parse_to_the_same_record() -> None:
    records = [parse_alarm_event(load_event(EVENTS / name)) for name in SHAPES]
    assert all(len(r) == 1 for r in records)
    first = records[0][0]
    for (rec,) in records[1:]:
        assert (rec.alarm, rec.state, rec.previous_state, rec.changed_at, rec.key) == (
            first.alarm,
            first.state,
            first.previous_state,
            first.changed_at,
            first.key,
        )
        assert ("InferenceComponentName", "llm-ic") in rec.dimensions
    assert {r[0].shape for r in records} == {"eventbridge", "lambda-action", "sns"}
    assert (
        first.alarm == "llm-latency-high"
        and first.state == "ALARM"
        and first.previous_state == "OK"
    )


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({}, "non-empty JSON object"),
        ([], "non-empty JSON object"),
        ({"hello": 1}, "not an alarm event"),
        (
            {"detail-type": "CloudWatch Alarm State Change", "detail": {}},
            "missing field detail.alarmName",
        ),
        (
            {"detail": {"alarmName": "x", "state": {"value": "PANIC"}}, "time": "t"},
            "detail.state.value must be one of",
        ),
        (
            {"detail": {"alarmName": 7, "state": {"value": "ALARM"}}},
            "detail.alarmName must be a non-empty string",
        ),
        ({"detail": "nope"}, "detail must be an object"),
        ({"alarmData": {"alarmName": "x"}}, "missing field alarmData.state"),
        ({"Records": []}, "non-empty list"),
        (
            {"Records": [{"Sns": {"Message": "{not json"}}]},
            "Records[0].Sns.Message is not valid JSON",
        ),
        ({"Records": [{"Sns": {"Message": 5}}]}, "Records[0].Sns.Message must be a JSON string"),
        (
            {"Records": [{"Sns": {"Message": '{"AlarmName": "x", "NewStateValue": "ALARM"}'}}]},
            "missing field Trigger",
        ),
        ({"Records": [{"Sns": {"Message": "[1]"}}]}, "must be a JSON object"),
        (
            {"detail-type": "EC2 Instance State-change Notification", "detail": {}},
            "is not a CloudWatch Alarm State Change",
        ),
    ],
)
def test_malformed_events_fail_with_a_clear_error_and_no_aws_call(
    aenv: Env, bad: Any, words: str
) -> None:
    aenv.counter.reset()
    with pytest.raises(EventError) as info:
        alarm.handler(bad, context("alarm"))
    assert words in str(info.value)
    assert not aenv.counter.calls


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
# every real shape with one part given a wrong type (tests/test_alarm_events.py tries them all)
mutated_shapes = [doc for file in shape_files() for _, doc in mutations(load_event(file))]
shaped = st.one_of(
    st.sampled_from(mutated_shapes),
    st.dictionaries(
        st.sampled_from(["detail", "detail-type", "alarmData", "Records", "time", "source"]),
        json_values,
        max_size=4,
    ),
    st.builds(
        lambda d: {"detail": d},
        st.dictionaries(
            st.sampled_from(["alarmName", "state", "previousState"]), json_values, max_size=3
        ),
    ),
    st.builds(
        lambda m: {"Records": [{"Sns": {"Message": m}}]},
        st.text(max_size=40) | json_values.map(json.dumps),
    ),
    json_values,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(shaped)
def test_fuzzed_events_either_parse_or_fail_clearly(aenv: Env, bad: Any) -> None:
    """Any JSON: either a valid alarm record, or an EventError, never another exception, never a write."""
    aenv.counter.reset()
    try:
        records = parse_alarm_event(bad)
    except EventError as exc:
        assert str(exc)
        with pytest.raises(EventError):
            alarm.handler(bad, context("alarm"))
        assert not aenv.counter.calls
        return
    assert records and all(
        r.alarm and r.state in ("ALARM", "OK", "INSUFFICIENT_DATA") for r in records
    )


# --- rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_alarm_moves_target_by_its_change(aenv: Env, shape: str) -> None:
    out = aenv.alarm(load_event(EVENTS / shape))
    (step,) = out["alarms"][0]["targets"]
    assert (step["outcome"], step["mode"], step["desired"], step["to"]) == (
        "applied",
        "direct",
        1,
        3,
    )
    assert out["alarms"][0]["duplicate"] is False
    assert aenv.copies()[1] == 3


def test_duplicate_deliveries_act_once_across_shapes(aenv: Env) -> None:
    """EventBridge is at-least-once, and the same change may also arrive by SNS: one step."""
    aenv.alarm(load_event(EVENTS / "alarm-eventbridge-alarm.json"))
    aenv.counter.reset()
    aenv.alarm(load_event(EVENTS / "alarm-eventbridge-alarm.json"))
    again = aenv.alarm(load_event(EVENTS / "alarm-sns-alarm.json"))
    assert again["alarms"][0]["duplicate"] is True
    assert not sagemaker_writes(aenv)
    assert (
        again["alarms"][0]["key"]
        == "123456789012/us-east-1/llm-latency-high|ALARM|2026-11-27T14:00:12.345+0000"
    )
    assert aenv.copies()[1] == 3
    assert len(aenv.runtime.store.get("llm").steps) == 1


def test_repeated_records_within_one_sns_event_are_listed_once_and_marked(aenv: Env) -> None:
    """Regression: an SNS event carrying the same state change in two records acted once but
    answered twice "applied, not a duplicate" (the second got the first's stored response,
    same request id), so the response double-counted the change."""
    doc = load_event(EVENTS / "alarm-sns-alarm.json")
    doc["Records"] = [doc["Records"][0], copy.deepcopy(doc["Records"][0])]
    out = aenv.alarm(doc)
    first, second = out["alarms"]
    assert (first["duplicate"], first["targets"][0]["outcome"]) == (False, "applied")
    assert second == {
        "alarm": "llm-latency-high",
        "state": "ALARM",
        "key": first["key"],
        "duplicate": True,
        "duplicate_of": 0,
    }
    assert sagemaker_writes(aenv) == Counter({"UpdateInferenceComponentRuntimeConfig": 1})
    assert aenv.copies()[1] == 3
    assert len(aenv.runtime.store.get("llm").steps) == 1


def test_ok_and_unknown_alarms_change_nothing(aenv: Env) -> None:
    aenv.counter.reset()
    ok = aenv.alarm(load_event(EVENTS / "alarm-eventbridge-ok.json"))
    unknown = aenv.alarm(load_event(EVENTS / "alarm-unknown.json"))
    assert ok["alarms"][0]["targets"] == [] and unknown["alarms"][0]["targets"] == []
    assert not sagemaker_writes(aenv)
    assert aenv.copies()[1] == 1


def test_cooldown_blocks_a_second_scale_out_then_allows_it(aenv: Env) -> None:
    aenv.alarm(event("alarm-eventbridge-alarm.json", at="2026-11-24T17:00:00.000+0000"))
    aenv.clock.advance(timedelta(seconds=59))
    blocked = aenv.alarm(event("alarm-eventbridge-alarm.json", at="2026-11-24T17:00:59.000+0000"))
    (step,) = blocked["alarms"][0]["targets"]
    assert step["outcome"] == "blocked" and "cooldown out until" in step["note"]
    assert aenv.copies()[1] == 3
    aenv.clock.advance(timedelta(seconds=1))
    allowed = aenv.alarm(event("alarm-eventbridge-alarm.json", at="2026-11-24T17:01:00.000+0000"))
    assert allowed["alarms"][0]["targets"][0]["outcome"] == "applied"
    assert aenv.copies()[1] == 5


def test_scale_in_has_its_own_cooldown(aenv: Env) -> None:
    aenv.alarm(
        event("alarm-eventbridge-alarm.json", at="2026-11-24T17:00:00.000+0000")
    )  # 1 -> 3, cooldown out
    aenv.clock.advance(timedelta(seconds=5))
    low = aenv.alarm(
        event(
            "alarm-eventbridge-alarm.json",
            alarm_name="llm-invocations-low",
            at="2026-11-24T17:00:05.000+0000",
        )
    )
    assert (
        low["alarms"][0]["targets"][0]["outcome"] == "applied"
    )  # out's cooldown does not block in
    aenv.clock.advance(timedelta(seconds=100))
    again = aenv.alarm(
        event(
            "alarm-eventbridge-alarm.json",
            alarm_name="llm-invocations-low",
            at="2026-11-24T17:01:45.000+0000",
        )
    )
    assert again["alarms"][0]["targets"][0]["outcome"] == "blocked"
    assert aenv.copies()[1] == 2


def test_rule_never_exceeds_max(aenv: Env) -> None:
    aenv.clients.sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="llm-ic", DesiredRuntimeConfig={"CopyCount": 7}
    )
    out = aenv.alarm(load_event(EVENTS / "alarm-eventbridge-alarm.json"))
    assert out["alarms"][0]["targets"][0]["to"] == 8
    assert aenv.copies()[1] == 8


def test_rule_never_goes_under_an_active_floor(aenv: Env) -> None:
    aenv.clock.set(datetime(2026, 11, 27, 12, 0, tzinfo=NY))  # Black Friday: floor 6
    aenv.invoke()  # reconcile: 1 -> 6
    out = aenv.alarm(event("alarm-eventbridge-alarm.json", alarm_name="llm-invocations-low"))
    (step,) = out["alarms"][0]["targets"]
    assert step["outcome"] == "unchanged" and step["min"] == 6
    assert aenv.copies()[1] == 6


def test_wake_acts_during_cooldown(aenv: Env) -> None:
    aenv.clock.set(datetime(2026, 11, 24, 21, 0, tzinfo=NY))  # idle window: min 0
    aenv.alarm(
        event("alarm-eventbridge-alarm.json", at="2026-11-25T02:00:00.000+0000")
    )  # cooldown out starts
    aenv.clients.sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="llm-ic", DesiredRuntimeConfig={"CopyCount": 0}
    )
    aenv.clock.advance(timedelta(seconds=10))
    out = aenv.alarm(load_event(EVENTS / "alarm-wake.json"))
    (step,) = out["alarms"][0]["targets"]
    assert (step["outcome"], step["wake"], step["to"]) == ("applied", True, 1)
    assert aenv.copies()[1] == 1


def test_wake_when_already_running_changes_nothing(aenv: Env) -> None:
    out = aenv.alarm(load_event(EVENTS / "alarm-wake.json"))
    assert out["alarms"][0]["targets"][0]["outcome"] == "unchanged"


def test_bounds_mode_surge_floor_expires_after_hold(aenv: Env) -> None:
    aenv.register(1, 8)
    aenv.alarm(event("alarm-eventbridge-alarm.json", at="2026-11-24T17:00:00.000+0000"))
    assert aenv.scalable() == (3, 8)  # surge floor = current (1) + 2
    assert aenv.copies()[1] == 3  # Application Auto Scaling's doing: the new minimum
    aenv.clock.advance(timedelta(minutes=29))
    aenv.counter.reset()
    assert aenv.invoke()["targets"]["llm"]["outcome"] == "unchanged"
    assert "RegisterScalableTarget" not in aenv.counter.calls
    aenv.clock.advance(timedelta(minutes=1))
    out = aenv.invoke()["targets"]["llm"]
    assert (out["outcome"], out["to_bounds"]) == ("applied", {"min": 1, "max": 8})


def test_bounds_mode_negative_change_ends_a_surge_early(aenv: Env) -> None:
    aenv.register(1, 8)
    aenv.alarm(event("alarm-eventbridge-alarm.json", at="2026-11-24T17:00:00.000+0000"))
    aenv.clock.advance(timedelta(minutes=6))  # past the in-cooldown of the (absent) last scale-in
    out = aenv.alarm(
        event(
            "alarm-eventbridge-alarm.json",
            alarm_name="llm-invocations-low",
            at="2026-11-24T17:06:00.000+0000",
        )
    )
    assert out["alarms"][0]["targets"][0]["to_bounds"] == {
        "min": 1,
        "max": 8,
    }  # the surge (3) ended; min back to 1
    assert aenv.scalable() == (1, 8)


def test_bounds_mode_surge_never_lowers_the_minimum(aenv: Env) -> None:
    """Regression: a surge below the policy's minimum acted as a floor and lowered it."""
    aenv.register(1, 8)
    aenv.clock.set(
        datetime(2026, 11, 27, 12, 0, tzinfo=NY)
    )  # Black Friday floor 6; AAS still at 1 copy
    out = aenv.alarm(load_event(EVENTS / "alarm-eventbridge-alarm.json"))
    assert out["alarms"][0]["targets"][0]["to_bounds"]["min"] == 6  # not current (1) + 2
    aenv.clock.advance(timedelta(minutes=6))
    low = aenv.alarm(
        event(
            "alarm-eventbridge-alarm.json",
            alarm_name="llm-invocations-low",
            at="2026-11-27T17:06:00.000+0000",
        )
    )
    assert low["alarms"][0]["targets"][0].get("to_bounds", {"min": 6})["min"] == 6
    assert aenv.scalable() == (6, 8)


def test_a_stuck_lock_fails_the_invocation_for_a_retry(
    aenv: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a LockTimeout escaped as an unexpected error instead of a retryable busy target."""
    from core.aws.alarms import TargetBusy
    from core.aws.state import LockTimeout

    def stuck(*_: Any, **__: Any) -> Any:
        raise LockTimeout("target llm stayed locked for 30 s")

    monkeypatch.setattr(aenv.runtime.store, "lock", stuck)
    with pytest.raises(TargetBusy, match="llm in progress"):
        aenv.alarm(load_event(EVENTS / "alarm-eventbridge-alarm.json"))
    assert aenv.copies()[1] == 1


def test_a_step_on_a_component_in_progress_waits_for_it_and_reconcile_applies_it(aenv: Env) -> None:
    """Regression: the step failed the invocation; Lambda's retries (1 and 3 minutes later) came before
    the copies were up, and the event ended in the dead-letter queue with the step lost."""
    aenv.emulator.update_delay = timedelta(minutes=5)
    aenv.clients.sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="llm-ic", DesiredRuntimeConfig={"CopyCount": 2}
    )
    result = aenv.alarm(
        load_event(EVENTS / "alarm-eventbridge-alarm.json")
    )  # no exception: nothing to retry
    step = result["alarms"][0]["targets"][0]
    assert (step["outcome"], step["to"]) == ("pending", 4)
    assert aenv.copies()[1] == 2
    assert aenv.runtime.store.get("llm").pending_step is not None
    again = aenv.alarm(
        load_event(EVENTS / "alarm-eventbridge-alarm.json")
    )  # a repeated delivery acts once
    assert again["alarms"][0]["duplicate"] is True
    aenv.invoke()  # still Updating: reconcile defers, the step keeps waiting
    assert aenv.copies()[1] == 2
    aenv.clock.advance(timedelta(minutes=5))
    aenv.invoke()
    assert aenv.copies()[1] == 4
    assert aenv.runtime.store.get("llm").pending_step is None
    aenv.clock.advance(timedelta(minutes=5))
    aenv.invoke()
    assert aenv.copies()[1] == 4  # applied once


# --- wake alarm definition ----------------------------------------------------------------


def breaches(alarm_def: dict[str, Any], value: float) -> bool:
    ops = {"GreaterThanOrEqualToThreshold": float.__ge__, "GreaterThanThreshold": float.__gt__}
    return bool(ops[alarm_def["ComparisonOperator"]](float(value), float(alarm_def["Threshold"])))


def test_reconcile_keeps_the_wake_alarm_in_place(aenv: Env) -> None:
    first = aenv.invoke()
    assert first["wake_alarms"] == {"llm": "created"}
    (definition,) = aenv.clients.cloudwatch.describe_alarms(
        AlarmNames=["sagescale-wake-sagescale-llm"]
    )["MetricAlarms"]
    assert (definition["Namespace"], definition["MetricName"], definition["Statistic"]) == (
        "AWS/SageMaker",
        "NoCapacityInvocationFailures",
        "Sum",
    )
    assert definition["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "llm-ic"}]
    assert (definition["ComparisonOperator"], definition["Threshold"]) == (
        "GreaterThanOrEqualToThreshold",
        1.0,
    )
    assert (
        definition["Period"],
        definition["EvaluationPeriods"],
        definition["DatapointsToAlarm"],
    ) == (60, 1, 1)
    assert definition["TreatMissingData"] == "notBreaching"
    assert breaches(definition, 1.0), "one rejected request in a minute must fire the wake alarm"
    assert not breaches(definition, 0.0)
    assert (
        definition["AlarmActions"] == []
    )  # direct mode: EventBridge routes it to the alarm function
    aenv.counter.reset()
    aenv.clients.cloudwatch.meta.events.register("before-call.*.*", aenv.counter)
    assert aenv.invoke()["wake_alarms"] == {"llm": "ok"}
    assert "PutMetricAlarm" not in aenv.counter.calls


def test_bounds_mode_wake_alarm_triggers_a_step_policy(aenv: Env) -> None:
    aenv.register(0, 8)
    assert aenv.invoke()["wake_alarms"] == {"llm": "created"}
    (policy,) = aenv.clients.autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", PolicyNames=["sagescale-wake-sagescale-llm"]
    )["ScalingPolicies"]
    config = policy["StepScalingPolicyConfiguration"]
    assert policy["PolicyType"] == "StepScaling" and config["StepAdjustments"] == [
        {"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}
    ]
    (definition,) = aenv.clients.cloudwatch.describe_alarms(
        AlarmNames=["sagescale-wake-sagescale-llm"]
    )["MetricAlarms"]
    assert definition["AlarmActions"] == [policy["PolicyARN"]]
    assert aenv.invoke()["wake_alarms"] == {"llm": "ok"}


# --- concurrency, over HTTP ------------------------------------------------------------------


def run_threads(calls: list[Any]) -> tuple[list[Any], list[BaseException]]:
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(calls))

    def worker(fn: Any) -> None:
        barrier.wait()
        try:
            value = fn()
            with lock:
                results.append(value)
        except BaseException as exc:  # collected and inspected by the test
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(fn,)) for fn in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


def test_ten_duplicate_deliveries_make_one_change(http_aenv: Env) -> None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
    )

    doc = load_event(EVENTS / "alarm-eventbridge-alarm.json")
    http_aenv.counter.reset()
    results, errors = run_threads([lambda: http_aenv.alarm(copy.deepcopy(doc)) for _ in range(10)])
    assert all(isinstance(e, IdempotencyAlreadyInProgressError) for e in errors), errors
    assert len(results) + len(errors) == 10 and results
    assert sagemaker_writes(http_aenv) == Counter({"UpdateInferenceComponentRuntimeConfig": 1})
    assert http_aenv.copies()[1] == 3
    assert len(http_aenv.runtime.store.get("llm").steps) == 1


@contextmanager
def burst_env(tmp_path: Path, *, alarms: int, change: int, max_: int) -> Iterator[Env]:
    """``alarms`` rules ``burst-<i>`` of ``change`` each on one target (cooldown 0, max ``max_``),
    the handlers on an HTTP emulator so that concurrent invocations really overlap."""
    from handlers.runtime import reset_runtime
    from sagescale.emulator import control, start_server

    rules = "\n".join(f"      - {{alarm: burst-{i}, change: {change}}}" for i in range(alarms))
    policy = f"""
version: 1
timezone: America/New_York
targets:
  llm:
    inference_component: llm-ic
    min: 1
    max: {max_}
    cooldown: {{out: 0, in: 0}}
    alarms:
{rules}
"""
    with start_server() as server:
        server.reset()
        env = build_env(tmp_path, AwsClients(endpoint_url=server.url), control, policy)
        env.clock.set(TUESDAY_NOON)
        yield env
        server.reset()
    reset_runtime()


def test_fifty_concurrent_alarms_stay_within_bounds_and_record_each_step_once(
    tmp_path: Path, aws_env: None
) -> None:
    with burst_env(tmp_path, alarms=50, change=1, max_=8) as env:
        events = [event("alarm-eventbridge-alarm.json", alarm_name=f"burst-{i}") for i in range(50)]
        results, errors = run_threads([lambda e=e: env.alarm(e) for e in events])
        assert not errors, errors[:3]
        steps = [r["alarms"][0]["targets"][0] for r in results]
        applied = [s for s in steps if s["outcome"] == "applied"]
        final = env.copies()[1]
        assert 1 <= final <= 8
        assert final == 1 + len(applied) == 8  # every applied +1 counted once, then max holds
        assert {s["outcome"] for s in steps} <= {"applied", "unchanged"}
        recorded = env.runtime.store.get("llm").steps
        assert len(recorded) == len(applied) == len({s["key"] for s in recorded})
        assert sorted(s["to"] for s in recorded) == list(range(2, 9))


def test_concurrent_alarms_are_judged_when_they_hold_the_lock(
    tmp_path: Path, aws_env: None
) -> None:
    """The alarm function read its clock before waiting for the target's lock: with a short cooldown,
    a change that waited behind a later one saw that one's cooldown mark in its future and was dropped
    as "blocked" for good (50 concurrent +2 alarms, cooldown 0, max 200: 15 copies instead of 101)."""
    import itertools

    with burst_env(tmp_path, alarms=50, change=2, max_=200) as env:
        ticks = itertools.count()
        tick_lock = threading.Lock()

        def ticking() -> (
            datetime
        ):  # a real clock moves on between reads; each read is a millisecond later
            with tick_lock:
                return TUESDAY_NOON + timedelta(milliseconds=next(ticks))

        env.runtime.clock = ticking
        events = [event("alarm-eventbridge-alarm.json", alarm_name=f"burst-{i}") for i in range(50)]
        results, errors = run_threads([lambda e=e: env.alarm(e) for e in events])
        assert not errors, errors[:3]
        outcomes = Counter(r["alarms"][0]["targets"][0]["outcome"] for r in results)
        assert outcomes == Counter({"applied": 50})
        assert env.copies()[1] == 101


def _from(doc: Any, account: str = "123456789012", region: str = "us-east-1") -> Any:
    text = json.dumps(doc).replace("123456789012", account).replace("us-east-1", region)
    return json.loads(text)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("account", "region"), [("999999999999", "us-east-1"), ("123456789012", "eu-west-1")]
)
def test_an_alarm_of_the_same_name_elsewhere_moves_nothing(
    aenv: Env, shape: str, account: str, region: str
) -> None:
    """Rules matched the alarm name only: an alarm of that name from another account or region
    (a shared bus or topic) scaled the target. By default only the function's own account and region act."""
    before = aenv.copies()
    aenv.counter.reset()
    result = aenv.alarm(_from(event(shape), account, region))
    assert result["alarms"][0]["targets"] == []
    assert aenv.copies() == before
    assert not sagemaker_writes(aenv)


def test_a_rule_naming_a_full_arn_accepts_that_alarm_of_another_account(
    tmp_path: Path, aws_env: None
) -> None:
    from handlers.runtime import reset_runtime

    policy = ALARM_POLICY.replace(
        "{alarm: llm-latency-high, change: 2, hold: 30}",
        "{alarm: 'arn:aws:cloudwatch:eu-west-1:999999999999:alarm:llm-latency-high', change: 2}",
    )
    with emulated_aws() as emulator:
        env = build_env(tmp_path, AwsClients(), emulator, policy)
        env.clock.set(TUESDAY_NOON)
        home = env.alarm(event("alarm-eventbridge-alarm.json"))
        assert (
            home["alarms"][0]["targets"] == []
        )  # the ARN names the other account's alarm, not ours
        foreign = env.alarm(
            _from(
                event("alarm-eventbridge-alarm.json", at="2026-11-24T17:01:00.000+0000"),
                "999999999999",
                "eu-west-1",
            )
        )
        assert [t["outcome"] for t in foreign["alarms"][0]["targets"]] == ["applied"]
        assert env.copies()[1] == 3
    reset_runtime()


def test_policy_refuses_an_alarm_arn_that_is_not_one() -> None:
    from core.policy import PolicyError, loads_policy

    text = ALARM_POLICY.replace(
        "{alarm: llm-latency-high, change: 2, hold: 30}",
        "{alarm: 'arn:aws:sns:us-east-1:123456789012:alarm', change: 2}",
    )
    with pytest.raises(PolicyError, match="not a CloudWatch alarm ARN") as info:
        loads_policy(text)
    assert info.value.problems[0][0] == "targets.llm.alarms[0].alarm"


def test_settings_read_the_functions_account_and_region() -> None:
    from handlers.settings import Settings, SettingsError

    env = {
        "SAGESCALE_STATE_TABLE": "t",
        "SAGESCALE_POLICY_PARAMETER": "/sagescale/policy",
        "SAGESCALE_ACCOUNT_ID": "123456789012",
        "AWS_REGION": "eu-west-1",
    }
    assert Settings.from_env(env).home == ("123456789012", "eu-west-1")
    with pytest.raises(SettingsError, match="SAGESCALE_ACCOUNT_ID"):
        Settings.from_env(env | {"SAGESCALE_ACCOUNT_ID": "12345"})


def test_two_stacks_in_one_account_keep_their_own_wake_alarms(aenv: Env) -> None:
    """Two stacks (dev and prod) managing targets of the same name created the same alarm
    sagescale-wake-<target> and overwrote each other's; now the names carry the stack's name
    and each stack's alarm wakes only its own target."""
    from core.alarms import match_alarm, wake_alarm_name
    from core.aws.wake import WakeAlarms
    from core.events import AlarmRecord
    from core.policy import loads_policy

    target = loads_policy(ALARM_POLICY).targets
    cw, aas = aenv.clients.cloudwatch, aenv.clients.autoscaling
    WakeAlarms(cw, aas, "sagescale-dev").ensure(target, {"llm": "direct"})
    WakeAlarms(cw, aas, "sagescale-prod").ensure(target, {"llm": "direct"})
    names = {
        a["AlarmName"]
        for a in cw.describe_alarms(AlarmNamePrefix="sagescale-wake-")["MetricAlarms"]
    }
    assert {"sagescale-wake-sagescale-dev-llm", "sagescale-wake-sagescale-prod-llm"} <= names
    policy = loads_policy(ALARM_POLICY)
    dev = AlarmRecord(
        wake_alarm_name("llm", "sagescale-dev"), "ALARM", "OK", "2026-11-24T17:00:00.000+0000"
    )
    assert [m.target for m in match_alarm(policy, dev, stack="sagescale-dev")] == ["llm"]
    assert match_alarm(policy, dev, stack="sagescale-prod") == []


@pytest.mark.parametrize(
    ("rejected", "copies"), [(1.0, 1), (2600.0, 2), (2601.0, 3), (30_000.0, 8)]
)
def test_a_wake_orders_the_copies_the_rejected_rate_needs(
    tmp_path: Path, aws_env: None, rejected: float, copies: int
) -> None:
    """A wake brought exactly 1 copy, and later alarms added 2 at a time: an unannounced spike at
    night dropped about 1.8x the from-zero limit. With wake: {per_copy: N} it orders what the
    rejected requests of the alarm's minute need (NoCapacityInvocationFailures / N), capped at max."""
    from handlers.runtime import reset_runtime

    policy = ALARM_POLICY.replace("    wake: true\n", "    wake: {per_copy: 1300}\n")
    with emulated_aws() as emulator:
        env = build_env(tmp_path, AwsClients(), emulator, policy)
        env.clock.set(TUESDAY_NOON)
        env.clients.sagemaker.update_inference_component_runtime_config(
            InferenceComponentName="llm-ic", DesiredRuntimeConfig={"CopyCount": 0}
        )
        doc = event("alarm-wake.json")
        doc["detail"]["state"]["reason"] = (
            f"Threshold Crossed: 1 datapoint [{rejected} (24/11/26 16:59:00)] was greater than or equal to the threshold (1.0)."
        )
        out = env.alarm(doc)
        (step,) = out["alarms"][0]["targets"]
        assert step["outcome"] == "applied" and step["to"] == copies, step
    reset_runtime()


def test_the_datapoint_is_read_from_every_shapes_reason() -> None:
    from core.events import datapoint

    assert (
        datapoint(
            "Threshold Crossed: 1 datapoint [37.0 (02/12/26 05:00:00)] was greater than or equal to the threshold (1.0)."
        )
        == 37.0
    )
    assert (
        datapoint(
            "Threshold Crossed: 2 out of the last 3 datapoints [5.0 (02/12/26 05:02:00), 12.5 (02/12/26 05:01:00)] were greater"
        )
        == 12.5
    )
    assert datapoint("Threshold Crossed: 3 datapoints were not greater than the threshold.") is None
    sns = parse_alarm_event(load_event(EVENTS / "alarm-sns-alarm.json"))[0]
    assert sns.value == datapoint(sns.reason)


@pytest.mark.parametrize("mode", ["direct", "bounds"])
@pytest.mark.parametrize("fault", ["throttled", "conflict"])
def test_a_failure_after_the_scaling_write_does_not_scale_twice_on_the_retry(
    aenv: Env, monkeypatch: pytest.MonkeyPatch, mode: str, fault: str
) -> None:
    """Regression: the scaling write landed, the state write after it failed (throttled, or a
    conditional-check conflict), Lambda retried the event, and the retry scaled again: +4 copies
    for a +2 rule (bounds mode: minimum 6 for 4). The step's write is recorded before it is made,
    and a retry of the same state change makes that write, not current + change."""
    from botocore.exceptions import ClientError

    from core.aws.alarms import TargetBusy
    from core.aws.state import StateConflict

    if mode == "bounds":
        aenv.register(2, 8)
    else:
        aenv.clients.sagemaker.update_inference_component_runtime_config(
            InferenceComponentName="llm-ic", DesiredRuntimeConfig={"CopyCount": 2}
        )
    assert aenv.copies()[1] == 2
    store = aenv.runtime.store
    real = store.update
    failures = {"left": 1}

    def flaky(name: str, change: Any, known: Any = None) -> Any:
        current = known if known is not None else store.get(name)
        after = change(current)
        recording_the_step = after is not None and len(after.steps) > len(current.steps)
        if recording_the_step and failures["left"]:
            failures["left"] -= 1
            if fault == "throttled":
                raise ClientError(
                    {
                        "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                        "ResponseMetadata": {"HTTPStatusCode": 400},
                    },
                    "PutItem",
                )
            raise StateConflict(f"target {name} changed under us")
        return real(name, change, known)

    monkeypatch.setattr(store, "update", flaky)
    aenv.counter.reset()
    with pytest.raises(TargetBusy):
        aenv.alarm(load_event(EVENTS / "alarm-eventbridge-alarm.json"))
    assert aenv.copies()[1] == 4 or aenv.scalable()[0] == 4  # the write landed
    aenv.clock.advance(timedelta(minutes=1))  # Lambda's retry
    retried = aenv.alarm(load_event(EVENTS / "alarm-eventbridge-alarm.json"))
    assert retried["alarms"][0]["targets"][0]["outcome"] == "applied"
    assert aenv.copies()[1] == 4
    if mode == "bounds":
        assert aenv.scalable() == (4, 8)
        assert aenv.counter.writes["RegisterScalableTarget"] == 1
    else:
        assert aenv.counter.writes["UpdateInferenceComponentRuntimeConfig"] == 1
    state = store.get("llm")
    assert (
        state.intent is None
        and len([s for s in state.steps if s.get("alarm") == "llm-latency-high"]) == 1
    )
    again = aenv.alarm(
        load_event(EVENTS / "alarm-eventbridge-alarm.json")
    )  # a later duplicate delivery
    assert again["alarms"][0]["duplicate"] is True and aenv.copies()[1] == 4


def test_an_alarm_delivered_after_the_ok_that_followed_it_is_ignored(aenv: Env) -> None:
    """Regression: OK at 10:50 was handled, then the ALARM of 10:40 arrived late and was applied (2 -> 4)."""
    aenv.clients.sagemaker.update_inference_component_runtime_config(
        InferenceComponentName="llm-ic", DesiredRuntimeConfig={"CopyCount": 2}
    )
    ok = event("alarm-eventbridge-alarm.json", at="2026-11-24T15:50:00.000+0000", state="OK")
    assert (
        aenv.alarm(ok)["alarms"][0]["targets"] == []
    )  # no rule acts on OK, but the change is remembered
    late = aenv.alarm(event("alarm-eventbridge-alarm.json", at="2026-11-24T15:40:00.000+0000"))
    (step,) = late["alarms"][0]["targets"]
    assert (
        step["outcome"] == "stale"
        and "changed again at 2026-11-24T15:50:00.000+0000" in step["note"]
    )
    assert aenv.copies()[1] == 2
    fresh = aenv.alarm(
        event("alarm-eventbridge-alarm.json", at="2026-11-24T16:00:00.000+0000")
    )  # a newer ALARM acts
    assert fresh["alarms"][0]["targets"][0]["outcome"] == "applied" and aenv.copies()[1] == 4
