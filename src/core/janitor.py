"""The janitor: find forgotten endpoints, mark them, notify, delete them safely after a grace period.

The ladder (DESIGN.md section 7), each step logged and notified:
1. candidate: no ``Invocations`` for ``idle_for`` minutes (missing data = 0) and created more
   than ``idle_for`` ago, or a ``sagescale:expires-at`` tag in the past; never with a
   ``protect`` tag, never if the tags cannot be read, never unless InService or Failed,
   never if a policy target manages it (unless ``include_managed``);
2. mark: tag ``sagescale:janitor = delete@<UTC time the grace period ends>``, notify;
3. delete once the grace period is over, only after re-reading the endpoint and judging it
   again; snapshot first, then tear down in AWS's order (``core.snapshot``);
4. unmark an endpoint that got traffic or a protect tag.

Reads are in bulk: endpoints and inference components 100 a page, tags through the
Resource Groups Tagging API 100 a page, which endpoints had any ``Invocations`` data from
``ListMetrics`` (500 a page; it covers two weeks, hence ``idle_for`` <= 14 days), and the
sums from ``GetMetricData`` 500 queries a call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from core.paging import pages
from core.policy import Janitor, Policy
from core.snapshot import JANITOR_TAG, Clients, capture, teardown
from core.timewindows import require_aware

log = logging.getLogger("sagescale.janitor")

EXPIRES_TAG = "sagescale:expires-at"
DELETABLE_STATES = ("InService", "Failed")

Action = Literal["keep", "skip", "mark", "wait", "delete", "unmark"]


@dataclass(frozen=True)
class EndpointFacts:
    """What the janitor knows of one endpoint. ``tags`` is ``None`` when they could not be read."""

    name: str
    arn: str
    status: str
    created: datetime
    tags: dict[str, str] | None
    invocations: float | None  # None: the metrics could not be read completely
    inference_components: tuple[str, ...] = ()
    managed_by: str | None = None


@dataclass(frozen=True)
class Verdict:
    endpoint: str
    action: Action
    reasons: tuple[str, ...]
    due: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"endpoint": self.endpoint, "action": self.action, "reasons": list(self.reasons)}
        if self.due is not None:
            out["delete_after"] = self.due.isoformat()
        return out


def format_mark(due: datetime) -> str:
    return f"delete@{due.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def parse_mark(value: str | None) -> datetime | None:
    """The deletion time in a ``delete@...`` mark; ``None`` for no mark or an unreadable one."""
    if not value or not value.startswith("delete@"):
        return None
    try:
        when = datetime.fromisoformat(value.removeprefix("delete@").replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def judge(facts: EndpointFacts, config: Janitor, now: datetime) -> Verdict:
    """The janitor's verdict on one endpoint at ``now``. Pure; fails closed."""
    require_aware(now, "now")
    name = facts.name
    if facts.tags is None:
        return Verdict(name, "skip", ("tags could not be read: never deleted blind",))
    due = parse_mark(facts.tags.get(JANITOR_TAG))
    marked = JANITOR_TAG in facts.tags
    protected = [f"{k}={v}" for k, v in config.protect.items() if facts.tags.get(k, "").strip().lower() == v.strip().lower()]
    if protected:
        return Verdict(name, "unmark" if marked else "keep", (f"protected by tag {', '.join(protected)}",))
    if facts.managed_by is not None and not config.include_managed:
        return Verdict(name, "unmark" if marked else "keep", (f"managed by policy target {facts.managed_by}",))
    if facts.invocations is None:
        return Verdict(name, "skip", ("invocations could not be read completely: never deleted blind",), due)
    if facts.status not in DELETABLE_STATES:
        return Verdict(name, "skip", (f"status {facts.status}: only InService or Failed endpoints are collected",), due)

    reasons = _candidate_reasons(facts, config, now)
    if facts.invocations > 0:  # traffic vetoes deletion, whatever an expires-at tag says
        reasons = []
    if not reasons:
        why = "got traffic" if facts.invocations else f"younger than {config.idle_for} minutes"
        return Verdict(name, "unmark" if marked else "keep", (why,))
    if not marked or due is None:
        return Verdict(name, "mark", tuple(reasons), now + timedelta(minutes=config.grace))
    if now >= due:
        return Verdict(name, "delete", tuple(reasons), due)
    return Verdict(name, "wait", tuple(reasons), due)


def _candidate_reasons(facts: EndpointFacts, config: Janitor, now: datetime) -> list[str]:
    reasons: list[str] = []
    if not facts.invocations and facts.created <= now - timedelta(minutes=config.idle_for):
        reasons.append(f"no invocations for {config.idle_for} minutes")
    expires = (facts.tags or {}).get(EXPIRES_TAG)
    if expires is not None:
        try:
            at = datetime.fromisoformat(expires.replace("Z", "+00:00"))
        except ValueError:
            log.warning("endpoint %s: unreadable %s tag %r ignored", facts.name, EXPIRES_TAG, expires)
            return reasons
        if (at if at.tzinfo is not None else at.replace(tzinfo=UTC)) <= now:
            reasons.append(f"{EXPIRES_TAG} {expires} has passed")
    return reasons


# ---------------------------------------------------------------------------
# reading the fleet


class FleetReader:
    """Reads every endpoint's facts in bulk (see the module docstring for the calls)."""

    def __init__(self, sagemaker: Any, tagging: Any, cloudwatch: Any) -> None:
        self.sagemaker = sagemaker
        self.tagging = tagging
        self.cloudwatch = cloudwatch

    def read(self, policy: Policy, now: datetime, only: str | None = None) -> list[EndpointFacts]:
        endpoints = pages(self.sagemaker.list_endpoints, "Endpoints", MaxResults=100)
        if only is not None:
            endpoints = [e for e in endpoints if e["EndpointName"] == only]
        if not endpoints:
            return []
        components: dict[str, list[str]] = {}
        for ic in pages(self.sagemaker.list_inference_components, "InferenceComponents", MaxResults=100):
            components.setdefault(ic["EndpointName"], []).append(ic["InferenceComponentName"])
        tags = self._tags()
        invocations, unknown = self._invocations({e["EndpointName"] for e in endpoints}, components, now, policy.janitor.idle_for)
        managed = _managed_endpoints(policy, components)
        return [
            EndpointFacts(
                name=e["EndpointName"],
                arn=e["EndpointArn"],
                status=e["EndpointStatus"],
                created=e["CreationTime"] if e["CreationTime"].tzinfo else e["CreationTime"].replace(tzinfo=UTC),
                tags=None if tags is None else tags.get(e["EndpointArn"], {}),
                invocations=None if e["EndpointName"] in unknown else invocations.get(e["EndpointName"], 0.0),
                inference_components=tuple(components.get(e["EndpointName"], [])),
                managed_by=managed.get(e["EndpointName"]),
            )
            for e in endpoints
        ]

    def _tags(self) -> dict[str, dict[str, str]] | None:
        """Tags of every tagged endpoint (untagged ones are absent); ``None`` if they cannot be read."""
        try:
            mappings = pages(
                self.tagging.get_resources, "ResourceTagMappingList", token_in="PaginationToken", token_out="PaginationToken",
                ResourceTypeFilters=["sagemaker:endpoint"], ResourcesPerPage=100,
            )
        except (ClientError, BotoCoreError) as exc:
            log.error("cannot read endpoint tags (%s): nothing is marked or deleted", exc)
            return None
        return {m["ResourceARN"]: {t["Key"]: t["Value"] for t in m.get("Tags", [])} for m in mappings}

    def _invocations(
        self, endpoints: set[str], components: dict[str, list[str]], now: datetime, idle_for: int, metric_filter: dict[str, Any] | None = None
    ) -> tuple[dict[str, float], set[str]]:
        """Sum of ``Invocations`` per endpoint over the last ``idle_for`` minutes (absent: none), and the
        endpoints whose sums are unknown because a query did not come back complete (fail closed)."""
        owner = {ic: ep for ep, ics in components.items() for ic in ics}
        queries: list[tuple[str, dict[str, Any]]] = []
        for metric in pages(self.cloudwatch.list_metrics, "Metrics", Namespace="AWS/SageMaker", MetricName="Invocations", **(metric_filter or {})):
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            endpoint = dims.get("EndpointName") if "EndpointName" in dims else owner.get(dims.get("InferenceComponentName", ""))
            if endpoint in endpoints:
                queries.append((endpoint, metric))
        sums: dict[str, float] = {}
        unknown: set[str] = set()
        start = now - timedelta(minutes=idle_for)
        period = 3600 if idle_for >= 60 else 60  # hourly sums; CloudWatch rounds the start down: a wider, safer window
        for i in range(0, len(queries), 500):
            batch = queries[i : i + 500]
            request = [{"Id": f"q{j}", "MetricStat": {"Metric": m, "Period": period, "Stat": "Sum"}, "ReturnData": True} for j, (_, m) in enumerate(batch)]
            for result in pages(self.cloudwatch.get_metric_data, "MetricDataResults", MetricDataQueries=request, StartTime=start, EndTime=now):
                endpoint = batch[int(result["Id"][1:])][0]
                if result.get("StatusCode", "Complete") not in ("Complete", "PartialData") or result.get("Messages"):
                    unknown.add(endpoint)
                sums[endpoint] = sums.get(endpoint, 0.0) + float(sum(result.get("Values", [])))
        return sums, unknown

    def read_one(self, policy: Policy, name: str, now: datetime) -> EndpointFacts | None:
        """One endpoint read authoritatively, just before a deletion: DescribeEndpoint, ListTags
        (not the eventually consistent tagging API), its components, and its metrics up to ``now``."""
        from core.snapshot import is_gone

        try:
            ep = self.sagemaker.describe_endpoint(EndpointName=name)
        except ClientError as exc:
            if is_gone(exc):
                return None
            raise
        try:
            tags: dict[str, str] | None = {t["Key"]: t["Value"] for t in pages(self.sagemaker.list_tags, "Tags", ResourceArn=ep["EndpointArn"])}
        except ClientError:
            tags = None
        ics = [c["InferenceComponentName"] for c in pages(self.sagemaker.list_inference_components, "InferenceComponents", EndpointNameEquals=name)]
        components = {name: ics}
        sums, unknown = self._invocations({name}, components, now, policy.janitor.idle_for, {"Dimensions": [{"Name": "EndpointName", "Value": name}]})
        for ic in ics:
            ic_sums, ic_unknown = self._invocations({name}, components, now, policy.janitor.idle_for, {"Dimensions": [{"Name": "InferenceComponentName", "Value": ic}]})
            sums[name] = sums.get(name, 0.0) + ic_sums.get(name, 0.0)
            unknown |= ic_unknown
        created = ep["CreationTime"] if ep["CreationTime"].tzinfo else ep["CreationTime"].replace(tzinfo=UTC)
        return EndpointFacts(
            name=name, arn=ep["EndpointArn"], status=ep["EndpointStatus"], created=created, tags=tags,
            invocations=None if unknown else sums.get(name, 0.0), inference_components=tuple(ics),
            managed_by=_managed_endpoints(policy, components).get(name),
        )


def _managed_endpoints(policy: Policy, components: dict[str, list[str]]) -> dict[str, str]:
    managed: dict[str, str] = {}
    owner = {ic: ep for ep, ics in components.items() for ic in ics}
    for name, target in policy.targets.items():
        endpoint = target.endpoint or owner.get(target.inference_component or "")
        if endpoint:
            managed[endpoint] = name
    return managed


# ---------------------------------------------------------------------------
# the ladder


@dataclass
class JanitorResult:
    at: datetime
    dry_run: bool
    verdicts: list[Verdict] = field(default_factory=list)
    done: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "dry_run": self.dry_run,
            "endpoints": [v.as_dict() | ({"done": self.done[v.endpoint]} if v.endpoint in self.done else {}) for v in self.verdicts],
        }


class JanitorActions:
    """The janitor's writes: tags, notifications, snapshot and teardown."""

    def __init__(self, clients: Clients, store: Any, notify: Callable[[str, str], None], *, deadline: Callable[[], bool] = lambda: False, sleep: Callable[[float], None] | None = None) -> None:
        self.clients = clients
        self.store = store
        self.notify = notify
        self.deadline = deadline
        self.sleep = sleep

    def mark(self, facts: EndpointFacts, verdict: Verdict) -> str:
        assert verdict.due is not None
        self.clients.sagemaker.add_tags(ResourceArn=facts.arn, Tags=[{"Key": JANITOR_TAG, "Value": format_mark(verdict.due)}])
        self.notify(
            f"sagescale janitor: {facts.name} will be deleted after {verdict.due:%Y-%m-%d %H:%M} UTC",
            f"Endpoint {facts.name} is marked for deletion because: {'; '.join(verdict.reasons)}.\n"
            f"It will be deleted after {verdict.due.isoformat()} (a snapshot is taken first; `sagescale restore {facts.name}` brings it back).\n"
            f"To keep it: send it traffic, or tag it sagescale:keep=true (or another protect tag of the policy).",
        )
        return f"marked {format_mark(verdict.due)}"

    def unmark(self, facts: EndpointFacts, verdict: Verdict) -> str:
        self.clients.sagemaker.delete_tags(ResourceArn=facts.arn, TagKeys=[JANITOR_TAG])
        if self.store.record("janitor", facts.name):  # a deletion that began and was abandoned
            self.store.put_record("janitor", facts.name, None)
            self.notify(f"sagescale janitor: {facts.name} was partly torn down", f"A deletion of {facts.name} began and stopped; it is kept now. Check its inference components, scaling and alarms; `sagescale restore` can bring back what is missing.")
        self.notify(f"sagescale janitor: {facts.name} is no longer marked", f"Endpoint {facts.name} was unmarked: {'; '.join(verdict.reasons)}.")
        return "unmarked"

    def delete(self, name: str, now: datetime) -> str:
        """Snapshot (once per deletion) and tear down; resumes a deletion an earlier run began."""
        progress = self.store.record("janitor", name) or {}
        key = progress.get("snapshot")
        snapshot = self.store.snapshot(name, key) if key else None
        if snapshot is not None:
            arn = self._arn(name)
            stale = datetime.fromisoformat(progress["started"]) < now - timedelta(days=1)
            if stale or (arn is not None and arn != snapshot.get("endpoint_arn")):
                snapshot = None  # an old record, or one of an earlier endpoint of that name: take a new snapshot
        if snapshot is None:
            snapshot = capture(name, self.clients, now)
            key = self.store.put_snapshot(snapshot)
            self.store.put_record("janitor", name, {"snapshot": key, "started": now.isoformat()})
        kwargs: dict[str, Any] = {"deadline": self.deadline}
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        result = teardown(snapshot, self.clients, **kwargs)
        if not result.finished:
            return f"deleting: waiting for {', '.join(result.waiting_on)} (a later run resumes)"
        self.store.put_record("janitor", name, None)
        self.notify(f"sagescale janitor: deleted {name}", f"Endpoint {name} was deleted; snapshot {key}. Restore: sagescale restore {name}")
        return f"deleted (snapshot {key})"

    def _arn(self, name: str) -> str | None:
        from core.snapshot import is_gone

        try:
            return str(self.clients.sagemaker.describe_endpoint(EndpointName=name)["EndpointArn"])
        except ClientError as exc:
            if is_gone(exc):
                return None
            raise


def run_janitor(
    policy: Policy,
    now: datetime,
    reader: FleetReader,
    actions: JanitorActions | None,
    *,
    endpoint: str | None = None,
) -> JanitorResult:
    """One pass of the ladder over the fleet (or one ``endpoint``). ``actions=None`` is a dry run."""
    require_aware(now, "now")
    result = JanitorResult(now, actions is None)
    for facts in reader.read(policy, now, endpoint):
        verdict = judge(facts, policy.janitor, now)
        result.verdicts.append(verdict)
        log.info("janitor verdict", extra={"verdict": verdict.as_dict()})
        if actions is None or verdict.action in ("keep", "skip", "wait"):
            continue
        try:
            result.done[facts.name] = _act(policy, now, reader, actions, facts, verdict)
        except (ClientError, BotoCoreError, RuntimeError) as exc:
            log.exception("janitor: %s on %s failed", verdict.action, facts.name)
            result.done[facts.name] = f"error: {type(exc).__name__}: {exc}"
    return result


def _act(policy: Policy, now: datetime, reader: FleetReader, actions: JanitorActions, facts: EndpointFacts, verdict: Verdict) -> str:
    if verdict.action == "mark":
        return actions.mark(facts, verdict)
    if verdict.action == "unmark":
        return actions.unmark(facts, verdict)
    # delete: read this one endpoint again, authoritatively, and judge it afresh; anything
    # but "delete" with the same mark stops it
    fresh = reader.read_one(policy, facts.name, now)
    again = judge(fresh, policy.janitor, now) if fresh is not None else None
    if again is None or again.action != "delete" or again.due != verdict.due:
        return f"not deleted: on a fresh read the verdict is {again.action if again else 'gone'}"
    return actions.delete(facts.name, now)


def summarize(verdicts: Iterable[Verdict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.action] = counts.get(v.action, 0) + 1
    return counts
