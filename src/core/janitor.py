"""The janitor: find forgotten endpoints, mark them, notify, delete them safely after a grace period.

The ladder (DESIGN.md section 7), each step logged and notified:
1. candidate: no ``Invocations`` for ``idle_for`` minutes (missing data = 0) and created more
   than ``idle_for`` ago, or a ``sagescale:expires-at`` tag in the past; never with a
   ``protect`` tag, never if the tags cannot be read, never unless InService or Failed,
   never if a policy target manages it (unless ``include_managed``);
2. mark: tag ``sagescale:janitor = delete@<UTC time the grace period ends>``, notify;
3. delete once the grace period is over, only after re-reading the endpoint and judging it
   again; snapshot first, then tear down in AWS's order (``core.aws.snapshot``);
4. unmark an endpoint that got traffic or a protect tag.

Reads are in bulk: endpoints and inference components 100 a page, tags through the
Resource Groups Tagging API 100 a page, which endpoints had any ``Invocations`` data from
``ListMetrics`` (500 a page; it covers two weeks, hence ``idle_for`` <= 14 days), and the
sums from ``GetMetricData`` 500 queries a call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from core.policy import Janitor, Policy
from core.timewindows import require_aware

log = logging.getLogger("sagescale.janitor")

EXPIRES_TAG = "sagescale:expires-at"
JANITOR_TAG = "sagescale:janitor"
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
        out: dict[str, Any] = {
            "endpoint": self.endpoint,
            "action": self.action,
            "reasons": list(self.reasons),
        }
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


def protected_by(tags: dict[str, str], protect: dict[str, str]) -> list[str]:
    """The ``protect`` tags an endpoint carries, as ``key=value``. One rule for keys and values:
    both compare without case and surrounding blanks (``Sagescale:Keep = TRUE`` protects), so a
    protect tag typed differently still protects; protection fails safe."""
    carried = {k.strip().lower(): v.strip().lower() for k, v in tags.items()}
    return [
        f"{k}={v}"
        for k, v in protect.items()
        if carried.get(k.strip().lower()) == v.strip().lower()
    ]


def judge(facts: EndpointFacts, config: Janitor, now: datetime) -> Verdict:
    """The janitor's verdict on one endpoint at ``now``. Pure; fails closed."""
    require_aware(now, "now")
    name = facts.name
    if facts.tags is None:
        return Verdict(name, "skip", ("tags could not be read: never deleted blind",))
    due = parse_mark(facts.tags.get(JANITOR_TAG))
    marked = JANITOR_TAG in facts.tags
    protected = protected_by(facts.tags, config.protect)
    if protected:
        return Verdict(
            name, "unmark" if marked else "keep", (f"protected by tag {', '.join(protected)}",)
        )
    if facts.managed_by is not None and not config.include_managed:
        return Verdict(
            name, "unmark" if marked else "keep", (f"managed by policy target {facts.managed_by}",)
        )
    if facts.invocations is None:
        return Verdict(
            name, "skip", ("invocations could not be read completely: never deleted blind",), due
        )
    if facts.status not in DELETABLE_STATES:
        return Verdict(
            name,
            "skip",
            (f"status {facts.status}: only InService or Failed endpoints are collected",),
            due,
        )

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
            log.warning(
                "endpoint %s: unreadable %s tag %r ignored", facts.name, EXPIRES_TAG, expires
            )
            return reasons
        if (at if at.tzinfo is not None else at.replace(tzinfo=UTC)) <= now:
            reasons.append(f"{EXPIRES_TAG} {expires} has passed")
    return reasons


def managed_endpoints(policy: Policy, components: dict[str, list[str]]) -> dict[str, str]:
    managed: dict[str, str] = {}
    owner = {ic: ep for ep, ics in components.items() for ic in ics}
    for name, target in policy.targets.items():
        endpoint = target.endpoint or (
            target.selector.endpoint
            if target.selector is not None
            else owner.get(target.component or "")
        )
        if endpoint:
            managed[endpoint] = name
    return managed


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
            "endpoints": [
                v.as_dict() | ({"done": self.done[v.endpoint]} if v.endpoint in self.done else {})
                for v in self.verdicts
            ],
        }


def summarize(verdicts: Iterable[Verdict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.action] = counts.get(v.action, 0) + 1
    return counts
