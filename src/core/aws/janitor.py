"""The janitor's run and its writes: mark, notify, unmark, and delete with a snapshot first.

The verdicts are pure (``core.janitor.judge``); this module walks the ladder over what
``core.aws.fleet`` read, re-reads an endpoint authoritatively before deleting it, and
tears it down in AWS's order with ``core.aws.snapshot``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from core.aws.fleet import FleetReader
from core.aws.snapshot import Clients, capture, teardown
from core.janitor import JANITOR_TAG, EndpointFacts, JanitorResult, Verdict, format_mark, judge
from core.policy import Policy
from core.timewindows import require_aware

log = logging.getLogger("sagescale.janitor")


class JanitorActions:
    """The janitor's writes: tags, notifications, snapshot and teardown."""

    def __init__(
        self,
        clients: Clients,
        store: Any,
        notify: Callable[[str, str], None],
        *,
        deadline: Callable[[], bool] = lambda: False,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.clients = clients
        self.store = store
        self.notify = notify
        self.deadline = deadline
        self.sleep = sleep

    def mark(self, facts: EndpointFacts, verdict: Verdict) -> str:
        assert verdict.due is not None
        self.clients.sagemaker.add_tags(
            ResourceArn=facts.arn, Tags=[{"Key": JANITOR_TAG, "Value": format_mark(verdict.due)}]
        )
        self.notify(
            f"sagescale janitor: {facts.name} will be deleted after {verdict.due:%Y-%m-%d %H:%M} UTC",
            f"Endpoint {facts.name} is marked for deletion because: {'; '.join(verdict.reasons)}.\n"
            f"It will be deleted after {verdict.due.isoformat()} (a snapshot is taken first; `sagescale restore {facts.name}` brings it back).\n"
            f"To keep it: send it traffic, or tag it sagescale:keep=true (or another protect tag of the policy).\n"
            f"Inspect: sagescale status (the janitor's marks are listed at the end).",
        )
        return f"marked {format_mark(verdict.due)}"

    def unmark(self, facts: EndpointFacts, verdict: Verdict) -> str:
        self.clients.sagemaker.delete_tags(ResourceArn=facts.arn, TagKeys=[JANITOR_TAG])
        if self.store.record("janitor", facts.name):  # a deletion that began and was abandoned
            self.store.put_record("janitor", facts.name, None)
            self.notify(
                f"sagescale janitor: {facts.name} was partly torn down",
                f"A deletion of {facts.name} began and stopped; it is kept now. Check its inference components, scaling and alarms; `sagescale restore` can bring back what is missing.",
            )
        self.notify(
            f"sagescale janitor: {facts.name} is no longer marked",
            f"Endpoint {facts.name} was unmarked: {'; '.join(verdict.reasons)}.",
        )
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
        self._mark_components(snapshot, now)
        kwargs: dict[str, Any] = {"deadline": self.deadline}
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        result = teardown(snapshot, self.clients, **kwargs)
        if not result.finished:
            return f"deleting: waiting for {', '.join(result.waiting_on)} (a later run resumes)"
        self.store.put_record("janitor", name, None)
        self.notify(
            f"sagescale janitor: deleted {name}",
            f"Endpoint {name} was deleted; snapshot {key}. Restore: sagescale restore {name}",
        )
        return f"deleted (snapshot {key})"

    def _mark_components(self, snapshot: dict[str, Any], now: datetime) -> None:
        """Give the endpoint's inference components the janitor's mark before deleting them: the
        role may delete only components that carry it (as it may delete only marked endpoints)."""
        from core.aws.snapshot import is_gone

        sm = self.clients.sagemaker
        for component in snapshot.get("inference_components", []):
            try:
                arn = sm.describe_inference_component(InferenceComponentName=component["name"])[
                    "InferenceComponentArn"
                ]
                sm.add_tags(ResourceArn=arn, Tags=[{"Key": JANITOR_TAG, "Value": format_mark(now)}])
            except ClientError as exc:
                if not is_gone(exc):  # already deleted by an earlier, interrupted run
                    raise

    def _arn(self, name: str) -> str | None:
        from core.aws.snapshot import is_gone

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
    progress: Callable[[int, int], None] | None = None,
) -> JanitorResult:
    """One pass of the ladder over the fleet (or one ``endpoint``). ``actions=None`` is a dry run.
    ``progress(done, total)`` is told after each endpoint (a progress bar on a terminal)."""
    require_aware(now, "now")
    result = JanitorResult(now, actions is None)
    fleet = reader.read(policy, now, endpoint)
    for number, facts in enumerate(fleet, 1):
        if progress is not None:
            progress(number - 1, len(fleet))
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
    if progress is not None:
        progress(len(fleet), len(fleet))
    return result


def _act(
    policy: Policy,
    now: datetime,
    reader: FleetReader,
    actions: JanitorActions,
    facts: EndpointFacts,
    verdict: Verdict,
) -> str:
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
