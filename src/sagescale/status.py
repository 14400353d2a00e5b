"""``sagescale status``: what the controller is doing right now, joined from the state table and AWS.

Per target: the resource (a selector's resolved component), mode, effective bounds now and why,
desired and current copies, the resource's status (and FailureReason), the last action, a pending
deferral, an active override or surge with its expiry, and the next scheduled change of bounds.
Below: the endpoints the janitor has marked, with their delete-after time, and parked endpoints
with their snapshot.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.aws.clients import AwsClients
from core.aws.fleet import FleetReader
from core.aws.scaling import ScalingAdapter
from core.aws.state import StateStore
from core.bounds import effective_bounds, transitions
from core.decide import FAILED, Observed, choose_mode
from core.instances import Instances, cost_per_hour, instances_kept, may_sleep, superseded
from core.janitor import JANITOR_TAG, parse_mark
from core.policy import Policy


def target_status(
    policy: Policy, now: datetime, adapter: ScalingAdapter, store: StateStore, names: list[str]
) -> list[dict[str, Any]]:
    """One object per target with the fields of DESIGN.md section 11."""
    resolved, unresolved = adapter.resolve({n: policy.targets[n] for n in names})
    states = store.load(names)
    scalable = adapter.scalable_targets(resolved)
    hosts: dict[str, Instances | None] = {}
    out: list[dict[str, Any]] = []
    for name in names:
        state = states[name]
        override = (
            state.override if state.override is not None and state.override.until > now else None
        )
        surges = [s for s in state.surges if s.until > now]
        entry: dict[str, Any] = {
            "target": name,
            "override": {
                "min": override.min,
                "until": override.until.isoformat(),
                "by": override.by,
                "why": override.why,
            }
            if override
            else None,
            "surge": [
                {"min": s.min, "until": s.until.isoformat(), "alarm": s.alarm} for s in surges
            ]
            or None,
            "last_action": state.last_action,
            "pending": state.pending,
            "parked": state.parked,
        }
        bounds = effective_bounds(policy, name, now, surges=tuple(surges), override=override)
        entry["bounds"] = {"min": bounds.min, "max": bounds.max, "reasons": list(bounds.reasons)}
        entry["next_change"] = _next_change(policy, name, now, override, surges)
        target = resolved.get(name)
        if target is None:
            entry |= {
                "resource": policy.targets[name].resource,
                "mode": None,
                "desired": None,
                "current": None,
                "status": "error",
                "error": unresolved[name],
            }
            entry |= {
                "instances": None,
                "cost_per_hour_usd": None,
                "warnings": [],
                "superseded": [],
            }
            out.append(entry)
            continue
        observed = adapter.observe(target, scalable.get(target.resource))
        entry |= _instances(policy, name, adapter, observed, hosts)
        older = adapter.superseded.get(name, [])
        entry["superseded"] = older
        if older and observed.host is not None:
            entry["warnings"].append(superseded(observed.host[0], older).as_dict())
        entry["resource"] = target.resource
        entry["mode"] = choose_mode(target, observed)
        entry["desired"], entry["current"] = observed.desired, observed.current
        entry["status"] = observed.status if observed.exists else "missing"
        if observed.failure_reason:
            entry["failure_reason"] = observed.failure_reason
        if not observed.exists and state.parked is None:
            entry["error"] = f"{target.resource} does not exist"
        elif (observed.status or "") in FAILED:
            entry["error"] = (
                f"{target.resource} is {observed.status}: {observed.failure_reason or 'no reason given'}"
            )
        out.append(entry)
    return out


def _instances(
    policy: Policy,
    name: str,
    adapter: ScalingAdapter,
    observed: Observed,
    hosts: dict[str, Instances | None],
) -> dict[str, Any]:
    """An inference component's instances, what they bill per hour, and the warning when the
    target can be at 0 copies (now, or in an idle window, or with ``min: 0``) but they cannot."""
    found = adapter.instances(observed.host, hosts) if observed.host is not None else None
    if found is None:
        return {"instances": None, "cost_per_hour_usd": None, "warnings": []}
    kept = instances_kept(found, 0) if may_sleep(policy.targets[name], observed.desired) else None
    return {
        "instances": {
            "current": found.current,
            "min": found.min,
            "max": found.max,
            "managed": found.managed,
            "instance_type": found.instance_type,
        },
        "cost_per_hour_usd": cost_per_hour(found),
        "warnings": [kept.as_dict()] if kept is not None else [],
    }


def _next_change(
    policy: Policy, name: str, now: datetime, override: Any, surges: list[Any]
) -> dict[str, Any] | None:
    """The next instant in 14 days at which the bounds change: a scheduled edge (floor, idle window,
    headroom) or the end of the override or of a surge, with the bounds from then on."""
    edges = [t.at for t in transitions(policy, now, now + timedelta(days=14), [name]) if t.at > now]
    edges += [override.until] if override is not None else []
    edges += [s.until for s in surges]
    current = effective_bounds(policy, name, now, surges=tuple(surges), override=override)
    for at in sorted(edges):
        then = effective_bounds(
            policy,
            name,
            at,
            surges=tuple(s for s in surges if s.until > at),
            override=override if override is not None and override.until > at else None,
        )
        if (then.min, then.max) != (current.min, current.max):
            return {
                "at": at.isoformat(),
                "min": then.min,
                "max": then.max,
                "reasons": list(then.reasons),
            }
    return None


def janitor_status(clients: AwsClients, store: StateStore | None, policy: Policy) -> dict[str, Any]:
    """The endpoints the janitor has marked (and when they go), and the parked ones."""
    tagged = FleetReader(
        clients.sagemaker, clients.client("resourcegroupstaggingapi"), clients.cloudwatch
    ).endpoint_tags()
    if tagged is None:
        raise RuntimeError("cannot read the endpoints' tags, so the janitor's marks are unknown")
    marked = []
    for arn, tags in tagged.items():
        if JANITOR_TAG in tags:
            due = parse_mark(tags[JANITOR_TAG])
            marked.append(
                {
                    "endpoint": arn.rsplit("/", 1)[-1],
                    "delete_after": due.isoformat() if due else tags[JANITOR_TAG],
                }
            )
    parked = []
    if store is not None:
        for name, state in store.load([n for n, t in policy.targets.items() if t.park]).items():
            if state.parked is not None:
                parked.append(
                    {
                        "target": name,
                        "endpoint": policy.targets[name].endpoint,
                        "since": state.parked.get("at"),
                        "snapshot": state.parked.get("snapshot"),
                    }
                )
    return {
        "marked": sorted(marked, key=lambda m: m["delete_after"]),
        "parked": parked,
        "dry_run": policy.janitor.dry_run,
    }
