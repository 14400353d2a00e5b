"""Parsers of the events the functions accept. One parser per shape, shared by every function."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.policy import format_location

_M = TypeVar("_M", bound=BaseModel)


class EventError(ValueError):
    """An event that cannot be handled; the message names the problem. The invocation fails."""


class ReconcileRequest(BaseModel):
    """A reconcile run: the scheduler's tick, or a manual ``{"target": NAME}`` / ``{"dry_run": true}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(default="manual", description="Who asked: sagescale.schedule for the scheduler's tick.")
    action: str = Field(default="reconcile", pattern="^(reconcile|park)$")
    target: str | None = Field(default=None, min_length=1, description="Only this target.")
    dry_run: bool = Field(default=False, description="Decide and report, write nothing.")


class JanitorRequest(BaseModel):
    """A janitor run: the scheduler's tick, or a manual ``{"dry_run": true}`` / ``{"endpoint": NAME}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(default="manual", description="Who asked: sagescale.schedule for the scheduler's tick.")
    action: str = Field(default="janitor", pattern="^janitor$")
    endpoint: str | None = Field(default=None, min_length=1, description="Only this endpoint.")
    dry_run: bool = Field(default=False, description="Report only, even if the policy says dry_run: false.")


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
        problems = "; ".join(f"{format_location(tuple(e['loc'])) or 'event'}: {e['msg']}" for e in exc.errors(include_url=False))
        raise EventError(f"bad {what} event: {problems}") from None


# ---------------------------------------------------------------------------
# CloudWatch alarm state changes, in the three shapes AWS delivers them

AlarmState = Literal["ALARM", "OK", "INSUFFICIENT_DATA"]
_STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")


@dataclass(frozen=True)
class AlarmRecord:
    """One alarm state change, whatever shape delivered it."""

    alarm: str
    state: AlarmState
    previous_state: str | None
    changed_at: str
    reason: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    shape: Literal["eventbridge", "lambda-action", "sns"] = "eventbridge"

    @property
    def key(self) -> str:
        """Identifies the state change itself, so a duplicate delivery, by any shape, acts once."""
        return f"{self.alarm}|{self.state}|{self.changed_at}"


def _need(data: Any, path: str) -> Any:
    """``data[a][b]...`` for ``path`` 'a.b'; ``EventError`` naming the first missing or wrong part."""
    node = data
    walked: list[str] = []
    for part in path.split("."):
        walked.append(part)
        if not isinstance(node, dict):
            raise EventError(f"{'.'.join(walked[:-1]) or 'event'} must be an object, got {type(node).__name__}")
        if part not in node:
            raise EventError(f"missing field {'.'.join(walked)}")
        node = node[part]
    return node


def _text(data: Any, path: str) -> str:
    value = _need(data, path)
    if not isinstance(value, str) or not value:
        raise EventError(f"{path} must be a non-empty string, got {value!r}")
    return value


def _state(data: Any, path: str) -> AlarmState:
    value = _text(data, path)
    if value not in _STATES:
        raise EventError(f"{path} must be one of {', '.join(_STATES)}, got {value!r}")
    return cast(AlarmState, value)


def _optional_text(data: dict[str, Any], *path: str) -> str | None:
    node: Any = data
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, str) else None


def _metric_dimensions(configuration: Any) -> tuple[tuple[str, str], ...]:
    """Dimensions of the alarm's metrics, from an EventBridge/Lambda ``configuration`` block."""
    out: list[tuple[str, str]] = []
    if not isinstance(configuration, dict):
        return ()
    for metric in configuration.get("metrics") or []:
        stat = metric.get("metricStat", {}) if isinstance(metric, dict) else {}
        dims = stat.get("metric", {}).get("dimensions", {}) if isinstance(stat, dict) else {}
        if isinstance(dims, dict):
            out.extend((str(k), str(v)) for k, v in dims.items())
    return tuple(out)


def parse_eventbridge_alarm(event: dict[str, Any]) -> AlarmRecord:
    """EventBridge "CloudWatch Alarm State Change": ``detail.alarmName``, ``detail.state.value``."""
    detail = _need(event, "detail")
    return AlarmRecord(
        alarm=_text(event, "detail.alarmName"),
        state=_state(event, "detail.state.value"),
        previous_state=_optional_text(detail, "previousState", "value"),
        changed_at=_optional_text(detail, "state", "timestamp") or _text(event, "time"),
        reason=_optional_text(detail, "state", "reason") or "",
        dimensions=_metric_dimensions(detail.get("configuration")),
        shape="eventbridge",
    )


def parse_lambda_alarm(event: dict[str, Any]) -> AlarmRecord:
    """An alarm invoking the function directly: ``alarmData.alarmName``, ``alarmData.state.value``."""
    data = _need(event, "alarmData")
    return AlarmRecord(
        alarm=_text(event, "alarmData.alarmName"),
        state=_state(event, "alarmData.state.value"),
        previous_state=_optional_text(data, "previousState", "value"),
        changed_at=_optional_text(data, "state", "timestamp") or _text(event, "time"),
        reason=_optional_text(data, "state", "reason") or "",
        dimensions=_metric_dimensions(data.get("configuration")),
        shape="lambda-action",
    )


def parse_sns_alarm(record: dict[str, Any], index: int = 0) -> AlarmRecord:
    """One SNS record whose ``Sns.Message`` is the alarm JSON (``AlarmName``, ``NewStateValue``)."""
    where = f"Records[{index}].Sns.Message"
    raw = _need(record, "Sns.Message") if isinstance(record, dict) else None
    if not isinstance(raw, str):
        raise EventError(f"{where} must be a JSON string, got {type(raw).__name__}")
    try:
        message = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EventError(f"{where} is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(message, dict):
        raise EventError(f"{where} must be a JSON object")
    try:
        dims = _need(message, "Trigger").get("Dimensions") or []
        dimensions = tuple((str(d["name"]), str(d["value"])) for d in dims)
    except (AttributeError, KeyError, TypeError):
        raise EventError(f"{where}.Trigger.Dimensions must be a list of {{name, value}}") from None
    try:
        return AlarmRecord(
            alarm=_text(message, "AlarmName"),
            state=_state(message, "NewStateValue"),
            previous_state=_optional_text(message, "OldStateValue"),
            changed_at=_optional_text(message, "StateChangeTime") or _text(record, "Sns.Timestamp"),
            reason=_optional_text(message, "NewStateReason") or "",
            dimensions=dimensions,
            shape="sns",
        )
    except EventError as exc:
        raise EventError(f"{where}: {exc}") from None


def parse_alarm_event(event: Any) -> list[AlarmRecord]:
    """Any of the three shapes AWS delivers an alarm in; ``EventError`` names what is wrong."""
    if not isinstance(event, dict) or not event:
        raise EventError(f"an alarm event is a non-empty JSON object, got {event!r:.80}")
    if "Records" in event:
        records = event["Records"]
        if not isinstance(records, list) or not records:
            raise EventError("Records must be a non-empty list of SNS records")
        return [parse_sns_alarm(r, i) for i, r in enumerate(records)]
    if "alarmData" in event:
        return [parse_lambda_alarm(event)]
    if "detail" in event or event.get("detail-type") == "CloudWatch Alarm State Change":
        if event.get("detail-type") not in (None, "CloudWatch Alarm State Change"):
            raise EventError(f"detail-type {event.get('detail-type')!r} is not a CloudWatch Alarm State Change")
        return [parse_eventbridge_alarm(event)]
    raise EventError("not an alarm event: expected EventBridge 'detail', a Lambda alarm action's 'alarmData', or SNS 'Records'")
