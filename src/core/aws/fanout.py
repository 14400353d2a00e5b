"""Fan-out on AWS's own engines: the tick enqueues one work item per account-region (SQS), and
the reconcile function, as its queue's worker, reconciles one account-region per message.

``enqueue`` sends the items ten to a batch and fails if SQS refuses one (the tick's retry sends
them again; a work item is idempotent: reconcile converges). ``reconcile_place`` runs one
account-region's targets with that place's clients (the member role's, assumed), its own wake
and burst alarms there, and state keys that carry the account and region.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.aws.accounts import Accounts
from core.aws.alarms import Reach
from core.aws.burst import BurstAlarms
from core.aws.peaks import PeakReader
from core.aws.reconcile import ReconcileResult, run_reconcile
from core.aws.scaling import ScalingAdapter
from core.aws.state import StateStore
from core.aws.wake import WakeAlarms
from core.events import WorkItem
from core.policy import Place, Policy


class EnqueueFailed(RuntimeError):
    """SQS refused some work items; the tick fails so that its retry sends them again."""


def work_items(policy: Policy, tick: datetime, *, dry_run: bool = False) -> list[WorkItem]:
    """One item per account-region with targets, the controller's own first."""
    return [
        WorkItem(
            action="reconcile",
            account=p.account,
            region=p.region,
            tick=tick.isoformat(),
            dry_run=dry_run,
        )
        for p in policy.places()
    ]


def janitor_items(policy: Policy, tick: datetime, *, dry_run: bool = False) -> list[WorkItem]:
    """One janitor item per account-region it sweeps: its own, then the accounts' it names."""
    return [
        WorkItem(
            action="janitor",
            account=p.account,
            region=p.region,
            tick=tick.isoformat(),
            dry_run=dry_run,
        )
        for p in policy.janitor_places()
    ]


def enqueue(sqs: Any, queue_url: str, items: Sequence[WorkItem]) -> int:
    """Send ``items`` to the work queue, ten a call; the number sent."""
    for start in range(0, len(items), 10):
        batch = items[start : start + 10]
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(item.model_dump())}
            for i, item in enumerate(batch)
        ]
        failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
        if failed:
            reasons = "; ".join(
                f"{batch[int(f['Id'])].account or 'home'}/{batch[int(f['Id'])].region}: {f.get('Code')} {f.get('Message', '')}"
                for f in failed
            )
            raise EnqueueFailed(f"{len(failed)} of {len(batch)} work items refused: {reasons}")
    return len(items)


def place_of(item: WorkItem) -> Place:
    return Place(item.account, item.region)


def still_listed(policy: Policy, place: Place) -> bool:
    """Whether the policy in force still names ``place`` (a work item enqueued before an update
    that dropped its account or region is stale: done, not retried into the dead-letter queue)."""
    account = policy.accounts.get(place.account)
    return place.is_home or (account is not None and place.region in account.regions)


def reconcile_place(
    policy: Policy,
    place: Place,
    now: datetime,
    accounts: Accounts,
    store: StateStore,
    *,
    stack: str = "",
    dry_run: bool = False,
    trigger: str = "schedule",
    targets: Sequence[str] | None = None,
) -> ReconcileResult:
    """Reconcile the targets of ``place`` (or those of ``targets``, which must live there);
    ``AccountError`` if its member role cannot be assumed."""
    names = list(targets) if targets is not None else policy.places().get(place, [])
    clients = accounts.clients(place)
    result = run_reconcile(
        policy,
        now,
        ScalingAdapter(clients.sagemaker, clients.autoscaling),
        store.at(policy, place),
        targets=names,
        dry_run=dry_run,
        trigger=trigger,
        wake=WakeAlarms(clients.cloudwatch, clients.autoscaling, stack),
        burst=BurstAlarms(clients.cloudwatch, stack),
        peaks=PeakReader(clients.cloudwatch),
    )
    return result.at_place(place)


def reach_at(
    policy: Policy, place: Place, accounts: Accounts, store: StateStore, stack: str = ""
) -> Reach:
    """What the alarm function uses on a target of ``place``: that account-region's adapter,
    the state keys of the place, and its burst alarms' re-arm."""
    clients = accounts.clients(place)
    return Reach(
        ScalingAdapter(clients.sagemaker, clients.autoscaling),
        store.at(policy, place),
        BurstAlarms(clients.cloudwatch, stack).rearm,
    )
