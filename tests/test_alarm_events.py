"""The alarm event parser (``core.events.parse_alarm_event``) on the real shapes AWS delivers:
composite and metric-math alarms, EventBridge events forwarded through SNS, wrong types in
any part, timestamps, the alarm's identity and repeated deliveries within one event.

Pure: no AWS, no emulator."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from core.events import (
    AlarmRecord,
    EventError,
    normalise_timestamp,
    parse_alarm_event,
    repeated_deliveries,
)
from sagescale.replay import load_event
from sagescale.samples import alarm_sample
from tests.alarm_shapes import fixture, mutations, shape_files
from tests.conftest import EVENTS

ACCOUNT, REGION = "123456789012", "us-east-1"
LATENCY_ARN = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:llm-latency-high"
OVERLOADED_ARN = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:llm-overloaded"
SHAPES = ["alarm-eventbridge-alarm.json", "alarm-lambda-action.json", "alarm-sns-alarm.json"]


def one(event: Any) -> AlarmRecord:
    (record,) = parse_alarm_event(event)
    return record


def sns_message(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``event`` (an SNS event) with its first message's fields changed (``None`` removes)."""
    doc = copy.deepcopy(event)
    message = json.loads(doc["Records"][0]["Sns"]["Message"])
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    doc["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return doc


def error_of(event: Any) -> str:
    with pytest.raises(EventError) as info:
        parse_alarm_event(event)
    return str(info.value)


# --- 1. composite alarms, and EventBridge events forwarded through SNS ---------------------


def test_composite_alarm_notified_through_sns_is_accepted() -> None:
    """Regression: a composite alarm's SNS notification (``AlarmRule``, ``TriggeringChildren``,
    no ``Trigger``) failed with "missing field Trigger", so the invocation was retried and
    dead-lettered and the composite alarm never scaled anything."""
    record = one(load_event(EVENTS / "alarm-sns-composite.json"))
    assert (record.alarm, record.state, record.previous_state) == ("llm-overloaded", "ALARM", "OK")
    assert record.changed_at == "2026-11-27T14:00:13.002+0000"
    assert record.dimensions == ()  # a composite alarm watches alarms, not metrics
    assert record.shape == "sns"
    assert "llm-latency-high transitioned to ALARM" in record.reason


@pytest.mark.parametrize("name", ["eventbridge-composite.json", "lambda-action-composite.json"])
def test_composite_alarm_state_change_parses_from_eventbridge_and_the_lambda_action(
    name: str,
) -> None:
    """A composite alarm's ``configuration`` has an ``alarmRule`` and no ``metrics``."""
    record = one(fixture(name))
    sns = one(load_event(EVENTS / "alarm-sns-composite.json"))
    assert (record.alarm, record.state, record.previous_state, record.dimensions) == (
        "llm-overloaded",
        "ALARM",
        "OK",
        (),
    )
    assert record.key == sns.key  # the same state change, whichever way it came


def test_sns_message_without_trigger_or_alarm_rule_still_fails_clearly() -> None:
    doc = sns_message(load_event(EVENTS / "alarm-sns-composite.json"), AlarmRule=None)
    assert (
        "Records[0].Sns.Message: missing field Trigger (a metric alarm) or AlarmRule (a composite alarm)"
        in error_of(doc)
    )


def test_eventbridge_alarm_event_forwarded_through_sns_parses_as_the_eventbridge_shape() -> None:
    """Regression: an EventBridge rule with an SNS topic as target delivers the EventBridge
    event itself as the SNS Message; it failed with "missing field Trigger"."""
    forwarded = one(fixture("sns-eventbridge-forwarded.json"))
    direct = one(load_event(EVENTS / "alarm-eventbridge-alarm.json"))
    assert forwarded == direct
    assert forwarded.shape == "eventbridge"


def test_other_eventbridge_events_forwarded_through_sns_are_refused_saying_what_they_are() -> None:
    doc = fixture("sns-eventbridge-forwarded.json")
    inner = json.loads(doc["Records"][0]["Sns"]["Message"])
    inner["detail-type"] = "CloudWatch Alarm Configuration Change"
    doc["Records"][0]["Sns"]["Message"] = json.dumps(inner)
    message = error_of(doc)
    assert message.startswith("Records[0].Sns.Message: ")
    assert (
        "'CloudWatch Alarm Configuration Change' is not a CloudWatch Alarm State Change" in message
    )


def test_sns_message_that_is_no_alarm_says_so() -> None:
    doc = sns_message(
        load_event(EVENTS / "alarm-sns-alarm.json"), AlarmName=None, NewStateValue=None
    )
    assert (
        "Records[0].Sns.Message: not a CloudWatch alarm notification: missing field AlarmName"
        in error_of(doc)
    )


@pytest.mark.parametrize("name", ["sns-metric-math.json", "lambda-action-metric-math.json"])
def test_metric_math_alarms_give_the_dimensions_of_their_metrics(name: str) -> None:
    """Regression (SNS): a metric-math alarm's dimensions are in ``Trigger.Metrics[].MetricStat``,
    not ``Trigger.Dimensions``; they were dropped."""
    record = one(fixture(name))
    assert record.alarm == "llm-error-rate-high"
    assert record.dimensions == (("InferenceComponentName", "llm-ic"),)


# --- 2. wrong types in any part -------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda d: d["detail"]["configuration"].update(metrics=5),
            "detail.configuration.metrics must be a list, got int",
        ),
        (
            lambda d: d["detail"]["configuration"].update(metrics="m1"),
            "detail.configuration.metrics must be a list, got str",
        ),
        (
            lambda d: d["detail"]["configuration"]["metrics"][0]["metricStat"].update(metric="m"),
            "detail.configuration.metrics[0].metricStat.metric must be an object, got str",
        ),
        (
            lambda d: d["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"].update(
                dimensions=["x"]
            ),
            "detail.configuration.metrics[0].metricStat.metric.dimensions must be an object",
        ),
        (
            lambda d: d["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"][
                "dimensions"
            ].update(InferenceComponentName=3),
            "dimensions.InferenceComponentName must be a string, got int",
        ),
        (
            lambda d: d["detail"].update(configuration=[]),
            "detail.configuration must be an object, got list",
        ),
        (
            lambda d: d["detail"]["state"].update(reason=5),
            "detail.state.reason must be a string, got int",
        ),
        (
            lambda d: d["detail"]["previousState"].update(value=5),
            "detail.previousState.value must be a string, got int",
        ),
        (lambda d: d.update(resources="arn"), "resources must be a list, got str"),
        (
            lambda d: d["detail"].update(alarmName="x" * 256),
            "detail.alarmName must be at most 255 characters, got 256",
        ),
    ],
)
def test_wrong_parts_of_an_eventbridge_event_fail_naming_the_field(change: Any, words: str) -> None:
    """Regression: these raised TypeError/AttributeError (or passed silently) instead of the
    EventError that fails the invocation with a message naming the field."""
    doc = load_event(EVENTS / "alarm-eventbridge-alarm.json")
    change(doc)
    assert words in error_of(doc)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"Trigger": "ModelLatency"}, "Records[0].Sns.Message: Trigger must be an object, got str"),
        (
            {"Trigger": {"Dimensions": {"name": "InferenceComponentName"}}},
            "Records[0].Sns.Message: Trigger.Dimensions must be a list",
        ),
        (
            {"Trigger": {"Dimensions": [{"name": "InferenceComponentName", "value": 7}]}},
            "Trigger.Dimensions[0].value must be a string, got int",
        ),
        ({"Trigger": {"Metrics": {"Id": "m1"}}}, "Trigger.Metrics must be a list, got dict"),
        (
            {"AlarmName": "x" * 256},
            "Records[0].Sns.Message: AlarmName must be at most 255 characters",
        ),
        ({"AWSAccountId": 123456789012}, "AWSAccountId must be a string, got int"),
        (
            {"AlarmArn": "arn:aws:sns:us-east-1:123456789012:llm-alarms"},
            "AlarmArn must be a CloudWatch alarm ARN",
        ),
    ],
)
def test_wrong_parts_of_an_sns_message_fail_naming_the_field(
    changes: dict[str, Any], words: str
) -> None:
    doc = sns_message(load_event(EVENTS / "alarm-sns-alarm.json"), **changes)
    assert words in error_of(doc)


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"Records": {"Sns": {}}}, "Records must be a non-empty list"),
        ({"Records": ["x"]}, "Records[0] must be an object, got str"),
        ({"Records": [{"Sns": "x"}]}, "Records[0].Sns must be an object, got str"),
        (
            {"Records": [{"Sns": {"Message": {"AlarmName": "x"}}}]},
            "Records[0].Sns.Message must be a JSON string, got dict",
        ),
        ({"Records": [{"Sns": {}}]}, "missing field Records[0].Sns.Message"),
        ({"Records": [{"Sns": {"Message": "[" * 100_000}}]}, "Records[0].Sns.Message"),
        (
            {
                "alarmData": {
                    "alarmName": "x" * 256,
                    "state": {"value": "ALARM", "timestamp": "2026-11-27T14:00:00Z"},
                }
            },
            "alarmData.alarmName must be at most 255 characters",
        ),
        ({"alarmData": "x"}, "alarmData must be an object, got str"),
    ],
)
def test_malformed_envelopes_fail_naming_the_field(event: Any, words: str) -> None:
    assert words in error_of(event)


def test_alarm_name_of_255_characters_is_accepted() -> None:
    name = "a" * 255
    for shape in SHAPES:
        assert one(alarm_sample(shape, alarm=name)).alarm == name


@pytest.mark.parametrize("path", [p.name for p in shape_files()])
def test_any_part_of_a_real_shape_with_a_wrong_type_is_named_or_ignored(path: str) -> None:
    """Every part of every real shape, given each wrong JSON type in turn: the parser raises an
    EventError naming that part, or does not read the part (the record is unchanged). Never
    another exception."""
    file = next(p for p in shape_files() if p.name == path)
    doc = load_event(file)
    original = parse_alarm_event(doc)
    tried = 0
    for where, mutated in mutations(doc):
        tried += 1
        try:
            records = parse_alarm_event(mutated)
        except EventError as exc:
            message = str(exc).replace("Sns.Message: ", "Sns.Message.")
            assert where in message, f"{where}: {exc}"
            continue
        assert records == original, f"{where} was read but its wrong type was not refused"
    assert tried > 20


# --- 3. timestamps --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "field"),
    [
        ("alarm-eventbridge-alarm.json", "detail.state.timestamp"),
        ("alarm-lambda-action.json", "alarmData.state.timestamp"),
        ("alarm-sns-alarm.json", "Records[0].Sns.Message: StateChangeTime"),
    ],
)
@pytest.mark.parametrize(
    "bad",
    [
        "not-a-time",
        "2026-11-27T14:00:00",
        "2026-11-27",
        "2026-02-30T14:00:00Z",
        "2026-11-27T14:00:00+2500",
        "2026-11-27T25:00:00Z",
        "2026-11-27 14:00:00Z",
        "\uff12\uff10\uff12\uff16-11-27T14:00:00Z",
    ],
)
def test_a_state_change_time_that_is_no_time_is_refused_naming_the_field(
    shape: str, field: str, bad: str
) -> None:
    """Regression: ``"not-a-time"`` was accepted as the state-change time (and scaled the
    target); a naive time has no instant at all."""
    message = error_of(alarm_sample(shape, at=bad))
    assert f"{field} must be an ISO 8601 time with a UTC offset" in message


def test_fallback_times_are_validated_too() -> None:
    eventbridge = load_event(EVENTS / "alarm-eventbridge-alarm.json")
    del eventbridge["detail"]["state"]["timestamp"]
    assert one(eventbridge).changed_at == "2026-11-27T14:00:12.000+0000"  # the event's time
    eventbridge["time"] = "soon"
    assert "time must be an ISO 8601 time" in error_of(eventbridge)
    sns = sns_message(load_event(EVENTS / "alarm-sns-alarm.json"), StateChangeTime=None)
    assert one(sns).changed_at == "2026-11-27T14:00:12.512+0000"  # the publish time
    sns["Records"][0]["Sns"]["Timestamp"] = "soon"
    assert (
        "no StateChangeTime in Records[0].Sns.Message, and Records[0].Sns.Timestamp must be an ISO 8601 time"
        in error_of(sns)
    )


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-11-27T14:00:00.000+0000", "2026-11-27T14:00:00.000+0000"),
        ("2026-11-27T14:00:00.000Z", "2026-11-27T14:00:00.000+0000"),
        ("2026-11-27T14:00:00Z", "2026-11-27T14:00:00.000+0000"),
        ("2026-11-28T00:30:00.000+10:30", "2026-11-27T14:00:00.000+0000"),
        ("2026-11-27T09:00:00.000-0500", "2026-11-27T14:00:00.000+0000"),
        ("2026-11-27T14:00:00.123456Z", "2026-11-27T14:00:00.123456+0000"),
        ("2026-11-27T14:00:00.1234567Z", "2026-11-27T14:00:00.123456+0000"),
        ("2028-02-29T23:59:59.999-01:00", "2028-03-01T00:59:59.999+0000"),
    ],
)
def test_timestamps_are_normalised_to_utc(text: str, utc: str) -> None:
    assert normalise_timestamp(text) == utc


def test_the_same_state_change_has_one_key_however_its_time_is_written() -> None:
    """Regression: the key used the timestamp text, so the same state change delivered by
    EventBridge (``+0000``) and by SNS written ``Z`` or with another offset acted twice."""
    keys = {
        one(alarm_sample("alarm-eventbridge-alarm.json", at="2026-11-27T14:00:00.000+0000")).key,
        one(alarm_sample("alarm-lambda-action.json", at="2026-11-27T14:00:00.000Z")).key,
        one(alarm_sample("alarm-sns-alarm.json", at="2026-11-28T00:30:00+10:30")).key,
        one(alarm_sample("alarm-sns-alarm.json", at="2026-11-27T14:00:00Z")).key,
    }
    assert keys == {"123456789012/us-east-1/llm-latency-high|ALARM|2026-11-27T14:00:00.000+0000"}


def test_keys_of_the_samples_name_the_origin_and_the_time_as_cloudwatch_writes_it() -> None:
    """The normalised time is the one CloudWatch itself writes; the origin (account and region)
    keeps apart the state changes of alarms of one name in several account-regions."""
    for shape in SHAPES:
        assert (
            one(load_event(EVENTS / shape)).key
            == "123456789012/us-east-1/llm-latency-high|ALARM|2026-11-27T14:00:12.345+0000"
        )


def test_same_named_alarms_of_two_accounts_changing_at_once_are_two_state_changes() -> None:
    here = one(load_event(EVENTS / "alarm-eventbridge-alarm.json"))
    event = load_event(EVENTS / "alarm-eventbridge-alarm.json")
    event["account"] = "111111111111"
    event["resources"] = [r.replace("123456789012", "111111111111") for r in event["resources"]]
    there = one(event)
    assert (here.alarm, here.changed_at) == (
        there.alarm,
        there.changed_at,
    ) and here.key != there.key


# --- 4. the alarm's identity ----------------------------------------------------------------


@pytest.mark.parametrize("name", [*SHAPES, "alarm-sns-composite.json"])
def test_every_shape_gives_the_alarms_account_region_and_arn(name: str) -> None:
    record = one(load_event(EVENTS / name))
    arn = OVERLOADED_ARN if "composite" in name else LATENCY_ARN
    assert (record.account, record.region, record.arn) == (ACCOUNT, REGION, arn)


def test_sns_region_is_the_code_from_the_arn_not_the_display_name() -> None:
    doc = sns_message(
        load_event(EVENTS / "alarm-sns-alarm.json"),
        AlarmArn=f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:llm-latency-high",
    )
    record = one(doc)
    assert (record.account, record.region, record.arn) == (
        ACCOUNT,
        "eu-west-1",
        f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:llm-latency-high",
    )
    assert one(sns_message(doc, AlarmArn=None)).region is None  # "EU (Ireland)" is no region code


@pytest.mark.parametrize(
    ("name", "change", "words"),
    [
        (
            "alarm-sns-alarm.json",
            {"AlarmArn": "arn:aws:cloudwatch:us-east-1:210987654321:alarm:llm-latency-high"},
            "AWSAccountId 123456789012 is not the account of the alarm's ARN (210987654321)",
        ),
        (
            "alarm-eventbridge-alarm.json",
            {"account": "210987654321"},
            "account 210987654321 is not the account of the alarm's ARN (123456789012)",
        ),
        (
            "alarm-eventbridge-alarm.json",
            {"region": "eu-west-1"},
            "region eu-west-1 is not the region of the alarm's ARN (us-east-1)",
        ),
        (
            "alarm-lambda-action.json",
            {"accountId": "210987654321"},
            "accountId 210987654321 is not the account of the alarm's ARN (123456789012)",
        ),
    ],
)
def test_the_account_and_region_come_from_the_arn_and_every_field_must_agree(
    name: str, change: dict[str, str], words: str
) -> None:
    """Regression: the account was taken from one field without checking it against the ARN, so an
    event could claim another account than its alarm's."""
    doc = load_event(EVENTS / name)
    doc = sns_message(doc, **change) if name.startswith("alarm-sns") else {**doc, **change}
    with pytest.raises(EventError, match=re.escape(words)):
        one(doc)


def test_identity_is_optional() -> None:
    minimal = {
        "detail": {
            "alarmName": "x",
            "state": {"value": "ALARM", "timestamp": "2026-11-27T14:00:00Z"},
        }
    }
    assert (one(minimal).account, one(minimal).region, one(minimal).arn) == (None, None, None)
    assert (
        AlarmRecord("x", "OK", None, "2026-11-27T14:00:00+00:00").account is None
    )  # positional callers
    lambda_action = load_event(EVENTS / "alarm-lambda-action.json")
    del lambda_action["region"]
    assert one(lambda_action).region == REGION  # from the alarm's ARN


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("account", "1234", "account must be a 12-digit account id"),
        ("region", "US East (N. Virginia)", "region must be a region code"),
        (
            "resources",
            ["arn:aws:sns:us-east-1:123456789012:topic"],
            "resources[0] must be a CloudWatch alarm ARN",
        ),
        ("resources", [7], "resources[0] must be a string, got int"),
    ],
)
def test_malformed_identity_fails_naming_the_field(field: str, value: Any, words: str) -> None:
    doc = load_event(EVENTS / "alarm-eventbridge-alarm.json")
    doc[field] = value
    assert words in error_of(doc)


# --- 5. the same state change twice in one event --------------------------------------------


def test_repeated_deliveries_within_one_event_point_at_the_first() -> None:
    single = load_event(EVENTS / "alarm-sns-alarm.json")
    other = alarm_sample("alarm-sns-alarm.json", alarm="llm-invocations-low")
    same_change_z = alarm_sample("alarm-sns-alarm.json", at="2026-11-27T14:00:12.345Z")
    event = {
        "Records": [
            single["Records"][0],
            other["Records"][0],
            single["Records"][0],
            same_change_z["Records"][0],
        ]
    }
    records = parse_alarm_event(event)
    assert repeated_deliveries(records) == [None, None, 0, 0]
    assert repeated_deliveries(records[1:]) == [None, None, 1]
    assert repeated_deliveries([]) == []
