"""CloudWatch alarms that evaluate, as moto 5.2.5's do not: on the emulator's clock, from the
metric data put so far, with AWS's rules.

* A new alarm starts in ``INSUFFICIENT_DATA`` ("Unchecked: Initial alarm creation"); moto starts
  it in ``OK``. Putting an alarm that exists keeps its state, as ``PutMetricAlarm`` documents
  ("its state is left unchanged"). State timestamps are the emulator clock's.
* :func:`evaluate` (called by whoever drives the clock, once a minute) computes each metric
  alarm's datapoints: for a metric alarm its statistic over each period; for a metric-math
  alarm the returned expression over the queries' datapoints (``FILL``, ``IF``, ``ABS``,
  ``MIN``/``MAX`` of two, arithmetic and comparisons: what the stack creates). A period's
  datapoint is seen ``delay`` after the period closes (CloudWatch's ingestion). The state
  follows "M out of N" with ``TreatMissingData`` (``missing`` by default: all missing is
  ``INSUFFICIENT_DATA``; ``notBreaching``/``breaching`` fill; ``ignore`` keeps the state).
* Every state change, including one made with ``SetAlarmState``, is returned as the
  EventBridge "CloudWatch Alarm State Change" event AWS sends (the shape of
  ``events/alarm-eventbridge-alarm.json``), with the alarm's actions: actions run on a change
  only, except Auto Scaling actions, which CloudWatch invokes once a minute for as long as the
  alarm stays in the state (:attr:`Evaluation.autoscaling`).

Metric data put with ``PutMetricData`` (or :func:`put_metric` in this process) is also kept in
an index by metric and 10-second bucket, so that evaluation does not scan moto's list.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch.models import Alarm, CloudWatchBackend, MetricDatum, cloudwatch_backends

from ._patching import PatchSet
from .control import control

BUCKET = 10  # seconds: the finest resolution CloudWatch stores (high-resolution metrics: 1 s; 10 s is what SageMaker publishes)
_INDEX_ATTR = "sagescale_metric_index"
_CHANGES_ATTR = "sagescale_state_changes"
EVALUATED_ATTR = "sagescale_evaluated"
"""On an alarm: the start (epoch seconds) of each period with a datapoint in its latest evaluation."""

MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]


def metric_key(namespace: str, name: str, dimensions: Any) -> MetricKey:
    dims: list[tuple[str, str]] = []
    for d in dimensions or []:
        if isinstance(d, dict):
            dims.append((str(d["Name"]), str(d["Value"])))
        else:
            dims.append((str(d.name), str(d.value)))
    return (namespace, name, tuple(sorted(dims)))


@dataclass
class Bucket:
    total: float = 0.0
    count: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, value: float, count: float = 1.0) -> None:
        self.total += value * count
        self.count += count
        self.low = min(self.low, value)
        self.high = max(self.high, value)


def _index(backend: CloudWatchBackend) -> dict[MetricKey, dict[int, Bucket]]:
    if not hasattr(backend, _INDEX_ATTR):
        setattr(backend, _INDEX_ATTR, {})
    index: dict[MetricKey, dict[int, Bucket]] = getattr(backend, _INDEX_ATTR)
    return index


def _changes(backend: CloudWatchBackend) -> list[dict[str, Any]]:
    if not hasattr(backend, _CHANGES_ATTR):
        setattr(backend, _CHANGES_ATTR, [])
    changes: list[dict[str, Any]] = getattr(backend, _CHANGES_ATTR)
    return changes


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        when = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return when.timestamp()
    if isinstance(value, str):
        return (
            datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            if not value.replace(".", "").isdigit()
            else float(value)
        )
    return control.now().timestamp()


def _index_member(backend: CloudWatchBackend, namespace: str, member: dict[str, Any]) -> None:
    key = metric_key(namespace, member["MetricName"], member.get("Dimensions"))
    at = int(_epoch(member.get("Timestamp")) // BUCKET) * BUCKET
    bucket = _index(backend).setdefault(key, {}).setdefault(at, Bucket())
    if member.get("Values"):
        counts = member.get("Counts") or [1] * len(member["Values"])
        for value, count in zip(member["Values"], counts, strict=False):
            bucket.add(float(value), float(count))
    elif member.get("StatisticValues"):
        stats = member["StatisticValues"]
        n = float(stats["SampleCount"])
        bucket.total += float(stats["Sum"])
        bucket.count += n
        bucket.low = min(bucket.low, float(stats["Minimum"]))
        bucket.high = max(bucket.high, float(stats["Maximum"]))
    else:
        bucket.add(float(member.get("Value", 0)))


def put_metric(
    account_id: str,
    region: str,
    namespace: str,
    name: str,
    dimensions: list[dict[str, str]],
    value: float,
    at: datetime,
) -> None:
    """``PutMetricData`` of one value, straight into the backend (the emulated services' own metrics)."""
    backend = cloudwatch_backends[account_id][region]
    backend.metric_data.append(MetricDatum(namespace, name, float(value), dimensions, at, None))
    _index_member(
        backend,
        namespace,
        {"MetricName": name, "Dimensions": dimensions, "Value": value, "Timestamp": at},
    )


def statistic(
    backend: CloudWatchBackend, key: MetricKey, start: int, period: int, stat: str
) -> float | None:
    """The statistic of metric ``key`` over ``[start, start + period)`` (epoch seconds); ``None``: no data."""
    series = _index(backend).get(key)
    if not series:
        return None
    total = count = 0.0
    low, high = math.inf, -math.inf
    for at in range(start - start % BUCKET, start + period, BUCKET):
        b = series.get(at)
        if b is None or at < start:
            continue
        total += b.total
        count += b.count
        low, high = min(low, b.low), max(high, b.high)
    if count == 0:
        return None
    if stat == "Sum":
        return total
    if stat == "Average":
        return total / count
    if stat == "Maximum":
        return high
    if stat == "Minimum":
        return low
    if stat == "SampleCount":
        return count
    raise ValueError(f"statistic {stat} is not emulated")


# -- metric math ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|[-+*/(),<>]))"
)


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"metric math: cannot read {text[pos:]!r}")
        out.append(m.group(0).strip())
        pos = m.end()
    return out


Value = float | None


class Expression:
    """A parsed metric-math expression, evaluated per period over the queries' values."""

    FUNCTIONS = frozenset({"FILL", "IF", "ABS", "MIN", "MAX"})

    def __init__(self, text: str) -> None:
        self.text = text
        self._t = _tokens(text)
        self._i = 0
        self._tree = self._compare()
        if self._i != len(self._t):
            raise ValueError(f"metric math: unexpected {self._t[self._i]!r} in {text!r}")

    def _peek(self) -> str | None:
        return self._t[self._i] if self._i < len(self._t) else None

    def _take(self, expected: str | None = None) -> str:
        tok = self._peek()
        if tok is None or (expected is not None and tok != expected):
            raise ValueError(f"metric math: expected {expected or 'more'} in {self.text!r}")
        self._i += 1
        return tok

    def _compare(self) -> Any:
        left = self._sum()
        if self._peek() in (">", "<", ">=", "<=", "==", "!="):
            return (self._take(), left, self._sum())
        return left

    def _sum(self) -> Any:
        node = self._product()
        while self._peek() in ("+", "-"):
            node = (self._take(), node, self._product())
        return node

    def _product(self) -> Any:
        node = self._unary()
        while self._peek() in ("*", "/"):
            node = (self._take(), node, self._unary())
        return node

    def _unary(self) -> Any:
        if self._peek() == "-":
            self._take()
            return ("neg", self._unary())
        return self._primary()

    def _primary(self) -> Any:
        tok = self._take()
        if tok == "(":
            node = self._compare()
            self._take(")")
            return node
        if tok[0].isdigit():
            return ("num", float(tok))
        if tok.upper() in self.FUNCTIONS and self._peek() == "(":
            self._take("(")
            args = [self._compare()]
            while self._peek() == ",":
                self._take()
                args.append(self._compare())
            self._take(")")
            return ("call", tok.upper(), args)
        if tok[0].isalpha() or tok[0] == "_":
            return ("id", tok)
        raise ValueError(f"metric math: unexpected {tok!r} in {self.text!r}")

    def evaluate(self, values: dict[str, Value]) -> Value:
        return self._eval(self._tree, values)

    def _eval(self, node: Any, values: dict[str, Value]) -> Value:  # noqa: C901
        kind = node[0]
        if kind == "num":
            return float(node[1])
        if kind == "id":
            if node[1] not in values:
                raise ValueError(f"metric math: no query with id {node[1]!r}")
            return values[node[1]]
        if kind == "neg":
            v = self._eval(node[1], values)
            return None if v is None else -v
        if kind == "call":
            name, args = node[1], node[2]
            if name == "FILL":
                v = self._eval(args[0], values)
                return self._eval(args[1], values) if v is None else v
            if name == "IF":
                cond = self._eval(args[0], values)
                if cond is None:
                    return None
                if cond:
                    return self._eval(args[1], values)
                return self._eval(args[2], values) if len(args) > 2 else None
            evaluated = [self._eval(a, values) for a in args]
            if any(v is None for v in evaluated):
                return None
            nums = [float(v) for v in evaluated if v is not None]
            if name == "ABS":
                return abs(nums[0])
            return min(nums) if name == "MIN" else max(nums)
        op, left, right = node
        a, b = self._eval(left, values), self._eval(right, values)
        if a is None or b is None:
            return None
        compare: dict[str, Callable[[float, float], bool]] = {
            ">": lambda x, y: x > y,
            "<": lambda x, y: x < y,
            ">=": lambda x, y: x >= y,
            "<=": lambda x, y: x <= y,
            "==": lambda x, y: x == y,
            "!=": lambda x, y: x != y,
        }
        if op in compare:
            return 1.0 if compare[op](a, b) else 0.0
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return None if b == 0 else a / b


# -- evaluation ------------------------------------------------------------------------------

_BREACH: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def _period(alarm: Alarm) -> int:
    if alarm.period:
        return int(alarm.period)
    periods = [
        int(q.metric_stat.period) for q in alarm.metric_data_queries if q.metric_stat is not None
    ]
    return min(periods) if periods else 60


def datapoint(backend: CloudWatchBackend, alarm: Alarm, start: int, period: int) -> Value:
    """The alarm's datapoint for the period starting at ``start`` (epoch seconds)."""
    if not alarm.metric_data_queries:
        return statistic(
            backend,
            metric_key(alarm.namespace, alarm.metric_name, alarm.dimensions),
            start,
            period,
            alarm.statistic or "Average",
        )
    values: dict[str, Value] = {}
    returned: Any = None
    expressions: list[Any] = []
    for q in alarm.metric_data_queries:
        if q.metric_stat is not None:
            m = q.metric_stat.metric
            values[q.id] = statistic(
                backend,
                metric_key(m.namespace, m.metric_name, m.dimensions),
                start,
                int(q.metric_stat.period),
                q.metric_stat.stat,
            )
        elif q.expression:
            expressions.append(q)
        if str(q.return_data).lower() in ("true", "1"):
            returned = q
    for q in expressions:
        values[q.id] = _expression(q.expression).evaluate(values)
    if returned is None:
        returned = next(
            (q for q in alarm.metric_data_queries if str(q.return_data).lower() != "false"),
            alarm.metric_data_queries[-1],
        )
    return values.get(returned.id)


_PARSED: dict[str, Expression] = {}


def _expression(text: str) -> Expression:
    parsed = _PARSED.get(text)
    if parsed is None:
        parsed = _PARSED[text] = Expression(text)
    return parsed


@dataclass
class Evaluation:
    """What one evaluation round produced: state changes as EventBridge events, and the Auto
    Scaling actions to invoke (alarms in a state whose actions name an Auto Scaling policy)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    changed: list[tuple[Alarm, str, str]] = field(default_factory=list)  # (alarm, previous, new)
    autoscaling: list[tuple[Alarm, str]] = field(default_factory=list)  # (alarm, policy ARN)


def _state(alarm: Alarm, points: list[Value]) -> str:
    n = int(alarm.evaluation_periods)
    m = int(alarm.datapoints_to_alarm or n)
    compare = _BREACH.get(alarm.comparison_operator)
    if compare is None:
        raise ValueError(
            f"alarm {alarm.name}: comparison {alarm.comparison_operator} is not emulated"
        )
    treat = alarm.treat_missing_data or "missing"
    present = [p for p in points if p is not None]
    breaching = sum(1 for p in present if compare(p, float(alarm.threshold)))
    if treat == "breaching":
        breaching += n - len(present)
    elif not present and treat in ("missing", "ignore"):
        return "INSUFFICIENT_DATA" if treat == "missing" else str(alarm.state_value)
    return "ALARM" if breaching >= m else "OK"


def _backends() -> Iterator[CloudWatchBackend]:
    for regions in list(cloudwatch_backends.values()):
        yield from list(regions.values())


def evaluate(now: datetime, delay: timedelta = timedelta(minutes=1)) -> Evaluation:
    """Evaluate every metric alarm of every account and region at ``now``."""
    out = Evaluation()
    seen_until = int((now - delay).timestamp())
    for backend in _backends():
        for alarm in list(backend.alarms.values()):
            if getattr(alarm, "rule", None):
                continue  # composite alarms are not evaluated
            period = _period(alarm)
            last_end = seen_until - seen_until % period
            n = int(alarm.evaluation_periods)
            starts = [last_end - (k + 1) * period for k in range(n)]
            points = [datapoint(backend, alarm, s, period) for s in starts]
            setattr(
                alarm,
                EVALUATED_ATTR,
                [s for s, p in zip(starts, points, strict=True) if p is not None],
            )  # the periods this evaluation saw
            new = _state(alarm, points)
            if new != alarm.state_value:
                recent = [
                    p for p in reversed(points) if p is not None
                ]  # oldest first, as AWS lists them
                reason = _reason(alarm, new, starts, points)
                data = {
                    "version": "1.0",
                    "queryDate": _iso(now),
                    "startDate": _iso(datetime.fromtimestamp(starts[-1], UTC)),
                    "period": period,
                    "recentDatapoints": recent,
                    "threshold": float(alarm.threshold),
                    "evaluatedDatapoints": [
                        {"timestamp": _iso(datetime.fromtimestamp(s, UTC)), "value": p}
                        for s, p in zip(starts, points, strict=True)
                        if p is not None
                    ],
                }
                alarm.update_state(reason, json.dumps(data), new)
        for previous, alarm, event in _drain(backend):
            out.events.append(event)
            out.changed.append((alarm, previous, alarm.state_value))
        for alarm in backend.alarms.values():
            if not alarm.actions_enabled:
                continue
            actions = {
                "ALARM": alarm.alarm_actions,
                "OK": alarm.ok_actions,
                "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
            }.get(alarm.state_value) or []
            out.autoscaling += [(alarm, a) for a in actions if ":autoscaling:" in a]
    return out


_WORDS = {
    "GreaterThanThreshold": "greater than",
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}


def _reason(alarm: Alarm, state: str, starts: list[int], points: list[Value]) -> str:
    """The state reason in CloudWatch's words: "Threshold Crossed: 1 datapoint [3.4 (24/11/26
    17:02:00)] was greater than or equal to the threshold (1.0)." (newest datapoint first)."""
    present = [(s, p) for s, p in zip(starts, points, strict=True) if p is not None]
    if not present:
        return (
            "Insufficient Data: 1 datapoint was unknown."
            if state == "INSUFFICIENT_DATA"
            else "Threshold Crossed: no datapoints were received for the evaluation periods (missing data treated as configured)."
        )
    shown = ", ".join(
        f"{p!r} ({datetime.fromtimestamp(s, UTC):%d/%m/%y %H:%M:%S})" for s, p in present[:5]
    )
    words = _WORDS.get(alarm.comparison_operator, alarm.comparison_operator)
    negation = "" if state == "ALARM" else "not "
    if len(present) == 1:
        return f"Threshold Crossed: 1 datapoint [{shown}] was {negation}{words} the threshold ({float(alarm.threshold)!r})."
    return f"Threshold Crossed: {len(present)} datapoints [{shown}] were {negation}{words} the threshold ({float(alarm.threshold)!r})."


def _iso(when: datetime) -> str:
    return (
        when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"
    )


def _drain(backend: CloudWatchBackend) -> list[tuple[str, Alarm, dict[str, Any]]]:
    changes = _changes(backend)
    out = [(c["previous"], c["alarm"], c["event"]) for c in changes]
    changes.clear()
    return out


def _config(alarm: Alarm) -> dict[str, Any]:
    if alarm.metric_data_queries:
        metrics = []
        for q in alarm.metric_data_queries:
            item: dict[str, Any] = {"id": q.id, "returnData": str(q.return_data).lower() != "false"}
            if q.metric_stat is not None:
                m = q.metric_stat.metric
                item["metricStat"] = {
                    "metric": {
                        "namespace": m.namespace,
                        "name": m.metric_name,
                        "dimensions": {d.name: d.value for d in m.dimensions},
                    },
                    "period": int(q.metric_stat.period),
                    "stat": q.metric_stat.stat,
                }
            else:
                item["expression"] = q.expression
                if q.label:
                    item["label"] = q.label
            metrics.append(item)
    else:
        metrics = [
            {
                "id": "m1",
                "returnData": True,
                "metricStat": {
                    "metric": {
                        "namespace": alarm.namespace,
                        "name": alarm.metric_name,
                        "dimensions": {d.name: d.value for d in alarm.dimensions},
                    },
                    "period": int(alarm.period),
                    "stat": alarm.statistic,
                },
            }
        ]
    config: dict[str, Any] = {"metrics": metrics}
    if alarm.description:
        config["description"] = alarm.description
    return config


def state_change_event(alarm: Alarm, previous: dict[str, str]) -> dict[str, Any]:
    """The EventBridge event CloudWatch sends for the alarm's latest state change."""
    parts = alarm.alarm_arn.split(":")
    state = {
        "value": alarm.state_value,
        "reason": alarm.state_reason,
        "timestamp": _iso(alarm.state_updated_timestamp),
    }
    if alarm.state_reason_data and alarm.state_reason_data != "{}":
        state["reasonData"] = alarm.state_reason_data
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": parts[4],
        "time": alarm.state_updated_timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": parts[3],
        "resources": [alarm.alarm_arn],
        "detail": {
            "alarmName": alarm.name,
            "state": state,
            "previousState": previous,
            "configuration": _config(alarm),
        },
    }


# -- patches ---------------------------------------------------------------------------------


def _wrap_update_state(original: Callable[..., None]) -> Callable[..., None]:
    def update_state(self: Alarm, reason: str, reason_data: str, state_value: str) -> None:
        previous = {
            "value": self.state_value,
            "reason": self.state_reason,
            "timestamp": _iso(self.state_updated_timestamp),
        }
        changed = state_value != self.state_value
        original(self, reason, reason_data, state_value)
        self.state_updated_timestamp = control.now()
        if changed:
            parts = self.alarm_arn.split(":")
            backend = cloudwatch_backends[parts[4]][parts[3]]
            _changes(backend).append(
                {
                    "previous": previous["value"],
                    "alarm": self,
                    "event": state_change_event(self, previous),
                }
            )

    return update_state


def _wrap_put_metric_alarm(original: Callable[..., Alarm]) -> Callable[..., Alarm]:
    def put_metric_alarm(self: CloudWatchBackend, name: str, *args: Any, **kwargs: Any) -> Alarm:
        for q in kwargs.get("metric_data_queries") or []:
            if q.expression:
                _expression(
                    q.expression
                )  # an expression that cannot be read is refused, as AWS does
        existing = self.alarms.get(name)
        alarm = original(self, name, *args, **kwargs)
        if existing is not None:
            alarm.state_value, alarm.state_reason, alarm.state_reason_data = (
                existing.state_value,
                existing.state_reason,
                existing.state_reason_data,
            )
            alarm.state_updated_timestamp = existing.state_updated_timestamp
            alarm.history = existing.history
        else:
            alarm.state_value = "INSUFFICIENT_DATA"
            alarm.state_reason = "Unchecked: Initial alarm creation"
            alarm.state_updated_timestamp = control.now()
        return alarm

    return put_metric_alarm


def _wrap_put_metric_data(original: Callable[..., None]) -> Callable[..., None]:
    def put_metric_data(
        self: CloudWatchBackend, namespace: str, metric_data: list[dict[str, Any]]
    ) -> None:
        original(self, namespace, metric_data)
        for member in metric_data:
            _index_member(self, namespace, member)

    return put_metric_data


def _wrap_get_metric_data(
    original: Callable[..., list[dict[str, Any]]],
) -> Callable[..., list[dict[str, Any]]]:
    """``GetMetricData`` of SageMaker's metrics from the index: periods aligned to the period (as
    CloudWatch rounds), ``EndTime`` exclusive, a value only for a period with data. moto scans every
    datum it holds for every period, which a rehearsal of a week cannot afford; other queries
    (other namespaces, units, expressions) keep moto's answer."""

    def get_metric_data(
        self: CloudWatchBackend,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        simple = queries and all(
            "MetricStat" in q
            and q["MetricStat"]["Metric"].get("Namespace") == "AWS/SageMaker"
            and not q["MetricStat"].get("Unit")
            and q["MetricStat"]["Stat"] in ("Sum", "Average", "Maximum", "Minimum", "SampleCount")
            for q in queries
        )
        if not simple or start_time >= end_time:
            return original(self, queries, start_time, end_time, scan_by)
        out = []
        for q in queries:
            stat = q["MetricStat"]
            metric = stat["Metric"]
            period = int(stat["Period"])
            key = metric_key(
                metric["Namespace"], metric["MetricName"], metric.get("Dimensions", [])
            )
            first = int(_epoch(start_time)) // period * period
            last = int(_epoch(end_time))
            values, stamps = [], []
            for at in range(first, last, period):
                value = statistic(self, key, at, period, stat["Stat"])
                if value is not None:
                    values.append(value)
                    stamps.append(datetime.fromtimestamp(at, UTC))
            if scan_by == "TimestampDescending":
                values.reverse()
                stamps.reverse()
            if q.get("ReturnData", True):
                out.append(
                    {
                        "id": q["Id"],
                        "label": q.get("Label") or f"{metric['MetricName']} {stat['Stat']}",
                        "values": values,
                        "timestamps": stamps,
                        "status_code": "Complete",
                    }
                )
        return out

    return get_metric_data


def install(patches: PatchSet) -> None:
    patches.set(Alarm, "update_state", _wrap_update_state(Alarm.update_state))
    patches.set(
        CloudWatchBackend,
        "put_metric_alarm",
        _wrap_put_metric_alarm(CloudWatchBackend.put_metric_alarm),
    )
    patches.set(
        CloudWatchBackend,
        "put_metric_data",
        _wrap_put_metric_data(CloudWatchBackend.put_metric_data),
    )
    patches.set(
        CloudWatchBackend,
        "get_metric_data",
        _wrap_get_metric_data(CloudWatchBackend.get_metric_data),
    )
