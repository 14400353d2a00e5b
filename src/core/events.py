"""Parsers of the events the functions accept. One parser per shape, shared by every function."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.policy import format_location

_M = TypeVar("_M", bound=BaseModel)


class EventError(ValueError):
    """An event that cannot be handled; the message names the problem. The invocation fails."""


class ReconcileRequest(BaseModel):
    """A reconcile run: the scheduler's tick, or a manual ``{"target": NAME}`` / ``{"dry_run": true}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(
        default="manual", description="Who asked: sagescale.schedule for the scheduler's tick."
    )
    action: str = Field(default="reconcile", pattern="^(reconcile|park|unpark)$")
    target: str | None = Field(default=None, min_length=1, description="Only this target.")
    dry_run: bool = Field(default=False, description="Decide and report, write nothing.")


class WorkItem(BaseModel):
    """One account-region's share of a tick (an SQS message body): reconcile its targets, or sweep it (the janitor)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["reconcile", "janitor"] = Field(description="What to do there.")
    account: str = Field(
        default="",
        max_length=63,
        description="The member account's name in the policy; empty for the controller's own.",
    )
    region: str = Field(
        default="", max_length=32, description="The region; empty for the controller's own."
    )
    tick: str = Field(
        min_length=1,
        max_length=40,
        description="The tick that enqueued it (an ISO 8601 time), for the logs.",
    )
    dry_run: bool = Field(default=False, description="Decide and report, write nothing.")


def parse_work_item(body: Any) -> WorkItem:
    """Validate a work item's body (JSON text or an object); raises ``EventError`` naming the bad field."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise EventError(f"a work item is JSON, got {body[:80]!r}: {exc}") from None
    return _parse_model(WorkItem, body, "work item")


class JanitorRequest(BaseModel):
    """A janitor run: the scheduler's tick, or a manual ``{"dry_run": true}`` / ``{"endpoint": NAME}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(
        default="manual", description="Who asked: sagescale.schedule for the scheduler's tick."
    )
    action: str = Field(default="janitor", pattern="^janitor$")
    endpoint: str | None = Field(default=None, min_length=1, description="Only this endpoint.")
    dry_run: bool = Field(
        default=False, description="Report only, even if the policy says dry_run: false."
    )


def parse_janitor_event(event: Any) -> JanitorRequest:
    """Validate a janitor event; raises ``EventError`` naming the bad field."""
    return _parse_model(JanitorRequest, event, "janitor")


def parse_reconcile_event(event: Any) -> ReconcileRequest:
    """Validate a reconcile event; raises ``EventError`` naming the bad field."""
    return _parse_model(ReconcileRequest, event, "reconcile")


def _parse_model(model: type[_M], event: Any, what: str) -> _M:
    if not isinstance(event, dict):
        raise EventError(f"a {what} event is a JSON object, got {type(event).__name__}")
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(
            f"{format_location(tuple(e['loc'])) or 'event'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise EventError(f"bad {what} event: {problems}") from None


# ---------------------------------------------------------------------------
# CloudWatch alarm state changes, in the three shapes AWS delivers them

AlarmState = Literal["ALARM", "OK", "INSUFFICIENT_DATA"]
_STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")
_STATE_CHANGE = "CloudWatch Alarm State Change"
ALARM_NAME_MAX = 255  # CloudWatch's limit on an alarm name

# ISO 8601 with a UTC offset, as CloudWatch (``...+0000``), EventBridge and SNS (``...Z``) write it
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z|([+-])([0-9]{2}):?([0-9]{2}))",
    re.ASCII,
)
_ALARM_ARN = re.compile(
    r"arn:aws[a-z-]*:cloudwatch:([a-z0-9-]+):([0-9]{12}):alarm:(.+)", re.ASCII | re.DOTALL
)
_ACCOUNT = re.compile(r"[0-9]{12}", re.ASCII)
_REGION = re.compile(r"[a-z]+(-[a-z]+)*-[0-9]+", re.ASCII)


@dataclass(frozen=True)
class AlarmRecord:
    """One alarm state change, whatever shape delivered it.

    ``changed_at`` is the state change's instant; the parsers write it in UTC as
    ``YYYY-MM-DDTHH:MM:SS.mmm+0000`` (CloudWatch's own format), so that the same change
    delivered by EventBridge, by the alarm's Lambda action and by SNS has one ``key``.
    ``account``, ``region`` and ``arn`` identify the alarm where the shape carries them
    (``None`` otherwise); for SNS the region comes from the alarm's ARN.
    """

    alarm: str
    state: AlarmState
    previous_state: str | None
    changed_at: str
    reason: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    shape: Literal["eventbridge", "lambda-action", "sns"] = "eventbridge"
    account: str | None = None
    region: str | None = None
    arn: str | None = None
    value: float | None = None  # the breaching datapoint the reason names (the largest, if several)

    @property
    def key(self) -> str:
        """Identifies the state change itself, so a duplicate delivery, by any shape, acts once;
        with its origin, since alarms of one name live in many account-regions (StackSets)."""
        return (
            f"{self.account or ''}/{self.region or ''}/{self.alarm}|{self.state}|{self.changed_at}"
        )


def _kind(value: Any) -> str:
    return type(value).__name__


def _join(at: str, part: str) -> str:
    return f"{at}.{part}" if at else part


def _get(data: Any, path: str, at: str = "") -> Any:
    """``data[a][b]...`` for ``path`` 'a.b', or ``None`` where a part is absent or null.

    ``EventError`` when a part on the way is present but not an object; ``at`` is the
    path of ``data`` itself, for the message.
    """
    node, where = data, at
    for part in path.split("."):
        if not isinstance(node, dict):
            raise EventError(f"{where or 'event'} must be an object, got {_kind(node)}")
        where = _join(where, part)
        node = node.get(part)
        if node is None:
            return None
    return node


def _need(data: Any, path: str, at: str = "") -> Any:
    """``data[a][b]...`` for ``path`` 'a.b'; ``EventError`` naming the first missing or wrong part."""
    node, where = data, at
    for part in path.split("."):
        if not isinstance(node, dict):
            raise EventError(f"{where or 'event'} must be an object, got {_kind(node)}")
        where = _join(where, part)
        if part not in node:
            raise EventError(f"missing field {where}")
        node = node[part]
    return node


def _text(data: Any, path: str, *, at: str = "", max_length: int | None = None) -> str:
    value = _need(data, path, at)
    where = _join(at, path)
    if not isinstance(value, str) or not value:
        raise EventError(f"{where} must be a non-empty string, got {value!r:.80}")
    if max_length is not None and len(value) > max_length:
        raise EventError(f"{where} must be at most {max_length} characters, got {len(value)}")
    return value


def _optional_text(data: Any, path: str) -> str | None:
    """A string that may be absent (or null); present with another type is an error."""
    value = _get(data, path)
    if value is not None and not isinstance(value, str):
        raise EventError(f"{path} must be a string, got {_kind(value)}")
    return value


def _check_state(value: str, path: str) -> AlarmState:
    if value not in _STATES:
        raise EventError(f"{path} must be one of {', '.join(_STATES)}, got {value!r:.80}")
    return cast(AlarmState, value)


def _state(data: Any, path: str) -> AlarmState:
    return _check_state(_text(data, path), path)


def _optional_state(data: Any, path: str) -> AlarmState | None:
    value = _optional_text(data, path)
    return None if value is None else _check_state(value, path)


def _instant(data: Any, path: str) -> str:
    """The timestamp at ``path``, parsed and written in UTC (see ``AlarmRecord.changed_at``)."""
    return normalise_timestamp(_text(data, path), path)


def normalise_timestamp(value: str, path: str = "timestamp") -> str:
    """An ISO 8601 time with a UTC offset (``2026-11-27T14:00:00.000+0000``, ``...Z``,
    ``...+10:30``) as its UTC instant, written ``YYYY-MM-DDTHH:MM:SS.mmm+0000`` (microseconds
    when it has them). ``EventError`` naming ``path`` for anything else, a naive time included."""
    match = _TIMESTAMP.fullmatch(value)
    problem = f"{path} must be an ISO 8601 time with a UTC offset, like 2026-11-27T14:00:00.000+0000, got {value!r:.80}"
    if match is None:
        raise EventError(problem)
    year, month, day, hour, minute, second, fraction, zone, sign, off_h, off_m = match.groups()
    try:
        offset = timedelta(0)
        if zone != "Z":
            if int(off_h) > 23 or int(off_m) > 59:
                raise ValueError("bad offset")
            offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
        micro = int((fraction or "0").ljust(6, "0")[:6])
        local = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            micro,
            tzinfo=timezone(offset),
        )
        utc = local.astimezone(UTC)
    except (ValueError, OverflowError):
        raise EventError(problem) from None
    sub = (
        f"{utc.microsecond // 1000:03d}"
        if utc.microsecond % 1000 == 0
        else f"{utc.microsecond:06d}"
    )
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{sub}+0000"


def _pattern(data: Any, path: str, pattern: re.Pattern[str], what: str) -> str | None:
    value = _optional_text(data, path)
    if value is not None and pattern.fullmatch(value) is None:
        raise EventError(f"{path} must be {what}, got {value!r:.80}")
    return value


def _account(data: Any, path: str) -> str | None:
    return _pattern(data, path, _ACCOUNT, "a 12-digit account id")


def _region(data: Any, path: str) -> str | None:
    return _pattern(data, path, _REGION, "a region code like us-east-1")


def _alarm_arn(value: Any, path: str) -> str | None:
    """The alarm ARN ``value`` found at ``path`` (or ``None``); ``EventError`` if it is not one."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventError(f"{path} must be a string, got {_kind(value)}")
    if _ALARM_ARN.fullmatch(value) is None:
        raise EventError(
            f"{path} must be a CloudWatch alarm ARN (arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME), got {value!r:.80}"
        )
    return value


def _placed(origin: tuple[str | None, str | None]) -> dict[str, str | None]:
    return {"account": origin[0], "region": origin[1]}


def _origin(
    account: str | None,
    region: str | None,
    arn: str | None,
    account_path: str,
    region_path: str | None,
) -> tuple[str | None, str | None]:
    """The alarm's account and region: its ARN's, which every other field that names them must
    agree with (a field alone is taken only when the shape carries no ARN)."""
    match = _ALARM_ARN.fullmatch(arn) if arn else None
    if match is None:
        return account, region
    arn_region, arn_account = match.group(1), match.group(2)
    if account is not None and account != arn_account:
        raise EventError(
            f"{account_path} {account} is not the account of the alarm's ARN ({arn_account})"
        )
    if region_path is not None and region is not None and region != arn_region:
        raise EventError(
            f"{region_path} {region} is not the region of the alarm's ARN ({arn_region})"
        )
    return arn_account, arn_region


def _string_map_dimensions(value: Any, at: str) -> list[tuple[str, str]]:
    """EventBridge/Lambda ``dimensions``: an object of name to value."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise EventError(f"{at} must be an object of dimension name to value, got {_kind(value)}")
    for name, dim in value.items():
        if not isinstance(dim, str):
            raise EventError(f"{at}.{name} must be a string, got {_kind(dim)}")
    return [(str(name), dim) for name, dim in value.items()]


def _pair_list_dimensions(value: Any, at: str) -> list[tuple[str, str]]:
    """SNS ``Dimensions``: a list of ``{name, value}``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise EventError(f"{at} must be a list of {{name, value}}, got {_kind(value)}")
    out: list[tuple[str, str]] = []
    for i, item in enumerate(value):
        where = f"{at}[{i}]"
        if not isinstance(item, dict):
            raise EventError(f"{where} must be an object {{name, value}}, got {_kind(item)}")
        for part in ("name", "value"):
            if not isinstance(item.get(part), str):
                raise EventError(f"{where}.{part} must be a string, got {_kind(item.get(part))}")
        out.append((item["name"], item["value"]))
    return out


def _metric_list(data: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    """The objects of the list at ``path`` (absent: none), each with its path."""
    metrics = _get(data, path)
    if metrics is None:
        return []
    if not isinstance(metrics, list):
        raise EventError(f"{path} must be a list, got {_kind(metrics)}")
    for i, metric in enumerate(metrics):
        if not isinstance(metric, dict):
            raise EventError(f"{path}[{i}] must be an object, got {_kind(metric)}")
    return [(f"{path}[{i}]", metric) for i, metric in enumerate(metrics)]


def _configuration_dimensions(data: Any, at: str) -> tuple[tuple[str, str], ...]:
    """Dimensions of the alarm's metrics, from an EventBridge/Lambda ``configuration`` block.

    A composite alarm's configuration has an ``alarmRule`` and no metrics; a metric-math
    entry has an ``expression`` and no ``metricStat``.
    """
    configuration = _get(data, f"{at}.configuration")
    if configuration is not None and not isinstance(configuration, dict):
        raise EventError(f"{at}.configuration must be an object, got {_kind(configuration)}")
    _optional_text(data, f"{at}.configuration.alarmRule")
    out: list[tuple[str, str]] = []
    for where, metric in _metric_list(data, f"{at}.configuration.metrics"):
        out += _string_map_dimensions(
            _get(metric, "metricStat.metric.dimensions", where),
            f"{where}.metricStat.metric.dimensions",
        )
    return tuple(dict.fromkeys(out))  # each once, in order: a metric-math alarm repeats them


_DATAPOINT = re.compile(r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?) \(\d\d/\d\d/\d\d \d\d:\d\d:\d\d\)")


def datapoint(reason: str) -> float | None:
    """The datapoint value a CloudWatch state reason names, e.g. ``37.0`` in "Threshold Crossed:
    1 datapoint [37.0 (02/12/26 05:00:00)] was greater than or equal to the threshold (1.0).";
    the largest when it lists several; ``None`` when it names none."""
    values = [float(v) for v in _DATAPOINT.findall(reason[:2000])]
    return max(values) if values else None


def parse_eventbridge_alarm(event: dict[str, Any]) -> AlarmRecord:
    """EventBridge "CloudWatch Alarm State Change": ``detail.alarmName``, ``detail.state.value``;
    a metric alarm (``detail.configuration.metrics``) or a composite one (``...alarmRule``)."""
    resources = _get(event, "resources")
    if resources is not None and not isinstance(resources, list):
        raise EventError(f"resources must be a list, got {_kind(resources)}")
    arn = _alarm_arn(resources[0], "resources[0]") if resources else None
    return AlarmRecord(
        alarm=_text(event, "detail.alarmName", max_length=ALARM_NAME_MAX),
        state=_state(event, "detail.state.value"),
        previous_state=_optional_state(event, "detail.previousState.value"),
        changed_at=_instant(
            event,
            "detail.state.timestamp"
            if _get(event, "detail.state.timestamp") is not None
            else "time",
        ),
        reason=(reason := _optional_text(event, "detail.state.reason") or ""),
        value=datapoint(reason),
        dimensions=_configuration_dimensions(event, "detail"),
        shape="eventbridge",
        **_placed(
            _origin(_account(event, "account"), _region(event, "region"), arn, "account", "region")
        ),
        arn=arn,
    )


def parse_lambda_alarm(event: dict[str, Any]) -> AlarmRecord:
    """An alarm invoking the function directly: ``alarmData.alarmName``, ``alarmData.state.value``."""
    _need(event, "alarmData")
    arn = _alarm_arn(event.get("alarmArn"), "alarmArn")
    return AlarmRecord(
        alarm=_text(event, "alarmData.alarmName", max_length=ALARM_NAME_MAX),
        state=_state(event, "alarmData.state.value"),
        previous_state=_optional_state(event, "alarmData.previousState.value"),
        changed_at=_instant(
            event,
            "alarmData.state.timestamp"
            if _get(event, "alarmData.state.timestamp") is not None
            else "time",
        ),
        reason=(reason := _optional_text(event, "alarmData.state.reason") or ""),
        value=datapoint(reason),
        dimensions=_configuration_dimensions(event, "alarmData"),
        shape="lambda-action",
        **_placed(
            _origin(
                _account(event, "accountId"), _region(event, "region"), arn, "accountId", "region"
            )
        ),
        arn=arn,
    )


def _trigger_dimensions(message: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Dimensions from an SNS alarm message: ``Trigger.Dimensions`` of a metric alarm, and
    ``Trigger.Metrics[].MetricStat.Metric.Dimensions`` of a metric-math one; a composite
    alarm (``AlarmRule``, ``TriggeringChildren``) has no ``Trigger`` and no dimensions."""
    trigger = _get(message, "Trigger")
    if trigger is None:
        if _get(message, "AlarmRule") is None:
            raise EventError(
                "missing field Trigger (a metric alarm) or AlarmRule (a composite alarm)"
            )
        _text(message, "AlarmRule")
        return ()
    if not isinstance(trigger, dict):
        raise EventError(f"Trigger must be an object, got {_kind(trigger)}")
    out = _pair_list_dimensions(trigger.get("Dimensions"), "Trigger.Dimensions")
    for where, metric in _metric_list(message, "Trigger.Metrics"):
        out += _pair_list_dimensions(
            _get(metric, "MetricStat.Metric.Dimensions", where),
            f"{where}.MetricStat.Metric.Dimensions",
        )
    return tuple(dict.fromkeys(out))


class _RecordError(EventError):
    """A problem of the SNS record around the message, already named in full."""


def _sns_message(message: dict[str, Any], published_at: Callable[[], str]) -> AlarmRecord:
    if "detail" in message or "detail-type" in message:  # an EventBridge rule's SNS target
        _check_detail_type(message)
        return parse_eventbridge_alarm(message)
    if "AlarmName" not in message and "NewStateValue" not in message:
        raise EventError("not a CloudWatch alarm notification: missing field AlarmName")
    alarm = _text(message, "AlarmName", max_length=ALARM_NAME_MAX)
    state = _state(message, "NewStateValue")
    dimensions = _trigger_dimensions(message)
    arn = _alarm_arn(message.get("AlarmArn"), "AlarmArn")
    return AlarmRecord(
        alarm=alarm,
        state=state,
        previous_state=_optional_state(message, "OldStateValue"),
        changed_at=_instant(message, "StateChangeTime")
        if message.get("StateChangeTime") is not None
        else published_at(),
        reason=(reason := _optional_text(message, "NewStateReason") or ""),
        value=datapoint(reason),
        dimensions=dimensions,
        shape="sns",
        # the message's Region is a display name, "US East (N. Virginia)": only the ARN's is compared
        **_placed(_origin(_account(message, "AWSAccountId"), None, arn, "AWSAccountId", None)),
        arn=arn,
    )


def parse_sns_alarm(record: Any, index: int = 0) -> AlarmRecord:
    """One SNS record whose ``Sns.Message`` is the alarm JSON (``AlarmName``, ``NewStateValue``),
    or an EventBridge alarm event that a rule sent to an SNS topic."""
    at = f"Records[{index}]"
    where = f"{at}.Sns.Message"
    if not isinstance(record, dict):
        raise EventError(f"{at} must be an object, got {_kind(record)}")
    raw = _need(record, "Sns.Message", at)
    if not isinstance(raw, str):
        raise EventError(f"{where} must be a JSON string, got {_kind(raw)}")
    try:
        message = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EventError(f"{where} is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except RecursionError:
        raise EventError(f"{where} is nested too deeply") from None
    if not isinstance(message, dict):
        raise EventError(f"{where} must be a JSON object")

    def published_at() -> str:
        """The publish time, standing in for a missing ``StateChangeTime``."""
        try:
            return normalise_timestamp(_text(record, "Sns.Timestamp", at=at), f"{at}.Sns.Timestamp")
        except EventError as exc:
            raise _RecordError(f"no StateChangeTime in {where}, and {exc}") from None

    try:
        return _sns_message(message, published_at)
    except _RecordError as exc:
        raise EventError(str(exc)) from None
    except EventError as exc:
        raise EventError(f"{where}: {exc}") from None


def _check_detail_type(event: dict[str, Any]) -> None:
    detail_type = event.get("detail-type")
    if detail_type not in (None, _STATE_CHANGE):
        raise EventError(f"detail-type {detail_type!r:.80} is not a {_STATE_CHANGE}")


def parse_alarm_event(event: Any) -> list[AlarmRecord]:
    """Any of the three shapes AWS delivers an alarm in; ``EventError`` names what is wrong.

    An SNS event may carry several records of the same state change: see
    ``repeated_deliveries``.
    """
    if not isinstance(event, dict) or not event:
        raise EventError(f"an alarm event is a non-empty JSON object, got {event!r:.80}")
    if "Records" in event:
        records = event["Records"]
        if not isinstance(records, list) or not records:
            raise EventError("Records must be a non-empty list of SNS records")
        return [parse_sns_alarm(r, i) for i, r in enumerate(records)]
    if "alarmData" in event:
        return [parse_lambda_alarm(event)]
    if "detail" in event or event.get("detail-type") == _STATE_CHANGE:
        _check_detail_type(event)
        return [parse_eventbridge_alarm(event)]
    raise EventError(
        "not an alarm event: expected EventBridge 'detail', a Lambda alarm action's 'alarmData', or SNS 'Records'"
    )


def repeated_deliveries(records: Sequence[AlarmRecord]) -> list[int | None]:
    """For each record, the index of the first earlier record of the same event with the same
    state change (``key``), or ``None`` for the first delivery: the caller acts on and reports
    each state change once, and marks the repeats."""
    first: dict[str, int] = {}
    out: list[int | None] = []
    for i, record in enumerate(records):
        out.append(first.get(record.key))
        first.setdefault(record.key, i)
    return out
