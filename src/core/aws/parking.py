"""Parking a classic real-time variant, which cannot hold 0 instances (DESIGN.md section 5).

At the start of an idle window (effective minimum 0 for a ``park: true`` target) reconcile
takes a snapshot and deletes the endpoint (never its config or model). When the window ends,
or an operator wakes it, the endpoint is recreated from the snapshot; once it is InService,
its scalable target, scaling policies and alarms are restored. The same snapshot module as
the janitor's does the work.

Only endpoints opted in with the tag ``sagescale:park = true`` are ever parked; the park
function's IAM role carries the same condition. The scaling functions delete nothing.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from core.aws.snapshot import Clients, SnapshotError, capture, restore, restore_scaling, teardown
from core.aws.state import StateStore
from core.bounds import effective_bounds
from core.parking import ParkingResult, ParkOutcome, park_step
from core.policy import Policy, Target
from core.state import TargetState
from core.timewindows import require_aware

log = logging.getLogger("sagescale.parking")

Phase = Literal["park", "unpark"]
BOTH: frozenset[Phase] = frozenset({"park", "unpark"})


class Parking:
    """Parks and unparks endpoints, keeping the snapshot key in the target's state."""

    def __init__(self, clients: Clients, store: StateStore) -> None:
        self.clients = clients
        self.store = store

    def describe(self, endpoint: str) -> tuple[bool, str | None, dict[str, str]]:
        """Whether the endpoint exists, its status and its tags."""
        from core.aws.snapshot import is_gone

        sm = self.clients.sagemaker
        try:
            ep = sm.describe_endpoint(EndpointName=endpoint)
        except ClientError as exc:
            if is_gone(exc):
                return False, None, {}
            raise
        tags = {
            t["Key"]: t["Value"]
            for t in sm.list_tags(ResourceArn=ep["EndpointArn"]).get("Tags", [])
        }
        return True, ep.get("EndpointStatus"), tags

    def park(self, name: str, target: Target, now: datetime, state: TargetState) -> str:
        """Snapshot, then tear down; each step recorded as it lands. A park that stopped half-way
        (the delete failed, the function timed out) is resumed from its own snapshot, which holds
        the alarms and scaling already deleted: never from a new one."""
        endpoint = target.endpoint or ""
        parked = state.parked or {}
        if parked.get("phase") == "parking":
            key = str(parked["snapshot"])
            snapshot = self.store.snapshot(endpoint, key)
            if snapshot is None:
                raise RuntimeError(f"no snapshot {key} of half-parked endpoint {endpoint}")
        else:
            snapshot = capture(endpoint, self.clients, now)
            key = self.store.put_snapshot(snapshot)
            state = self.store.update(
                name,
                lambda s: replace(
                    s, parked={"snapshot": key, "at": now.isoformat(), "phase": "parking"}
                ),
                known=state,
            )
        done = teardown(snapshot, self.clients)
        if not done.finished:
            return "parking: waiting"
        self.store.update(
            name, lambda s: replace(s, parked={**(s.parked or {}), "phase": "parked"}), known=state
        )
        return f"parked: deleted {endpoint} (config and model kept; snapshot {key})"

    def unpark(
        self, name: str, target: Target, state: TargetState, *, exists: bool, status: str | None
    ) -> tuple[ParkOutcome, str]:
        """Bring a parked endpoint back, one phase per call: recreate, then (InService) restore scaling."""
        parked: dict[str, Any] = state.parked or {}
        snapshot = self.store.snapshot(target.endpoint or "", parked.get("snapshot"))
        if snapshot is None:
            raise RuntimeError(
                f"no snapshot {parked.get('snapshot')} of parked endpoint {target.endpoint}"
            )
        if not exists:
            steps = restore(snapshot, self.clients, wait=False)
            self.store.update(name, lambda s: replace(s, parked={**parked, "phase": "restoring"}))
            return "unparking", "; ".join(steps)
        if status != "InService":
            return (
                "waiting",
                f"{target.endpoint} is {status}; scaling is restored once it is InService",
            )
        steps = restore_scaling(snapshot, self.clients)
        self.store.update(name, lambda s: replace(s, parked=None))
        return "unparked", "; ".join(steps) or "endpoint back in service"


def run_parking(
    policy: Policy,
    now: datetime,
    parking: Parking,
    *,
    targets: list[str] | None = None,
    wake: bool = False,
    dry_run: bool = False,
    phases: frozenset[Phase] = BOTH,
) -> ParkingResult:
    """Park or bring back every ``park: true`` target as its effective minimum says.

    ``wake`` brings the named targets back whatever the minimum (``sagescale wake``);
    ``dry_run`` says what would be done and does nothing. ``phases`` is what this caller may do:
    the ParkFunction parks and the UnparkFunction brings back (two roles, so that none can both
    tag an endpoint and delete it); an operator's ``sagescale wake`` does both.
    """
    require_aware(now, "now")
    result = ParkingResult(now)
    names = [n for n, t in policy.targets.items() if t.park and (targets is None or n in targets)]
    states = parking.store.load(names)
    for name in names:
        target = policy.targets[name]
        state = states[name]
        try:
            result.outcomes[name] = _one(
                policy, name, target, state, now, parking, wake, dry_run, phases
            )
        except (ClientError, BotoCoreError, SnapshotError, RuntimeError) as exc:
            log.exception("parking %s failed", name)
            result.outcomes[name] = ("error", f"{type(exc).__name__}: {exc}")
    return result


def _one(
    policy: Policy,
    name: str,
    target: Target,
    state: TargetState,
    now: datetime,
    parking: Parking,
    wake: bool,
    dry_run: bool,
    phases: frozenset[Phase],
) -> tuple[ParkOutcome, str]:
    override = state.override if state.override is not None and state.override.until > now else None
    idle = effective_bounds(policy, name, now, override=override).min == 0 and not wake
    exists, status, tags = parking.describe(target.endpoint or "")
    step, message = park_step(
        target.endpoint or "",
        state.parked,
        idle=idle,
        exists=exists,
        status=status,
        tags=tags,
        dry_run=dry_run,
    )
    if step == "park":
        if "park" not in phases:
            return "running", "in an idle window: the ParkFunction parks it"
        return "parked", parking.park(name, target, now, state)
    if step == "unpark":
        if "unpark" not in phases:
            return "still-parked", "the idle window is over: the UnparkFunction brings it back"
        return parking.unpark(name, target, state, exists=exists, status=status)
    return step, message
