"""Operator commands for endpoints: ``janitor``, ``delete`` (safe manual delete) and ``restore``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.aws.clients import AwsClients
from core.policy import HOME, Place, Policy, load_policy
from sagescale.common import (
    ProgressBar,
    UsageError,
    Waiting,
    chosen_place,
    parse_instant,
    place_clients,
    selected_targets,
    state_table,
)
from sagescale.common import table as text_table

SHIPPED_POLICY = Path(__file__).resolve().parent.parent / "policy" / "policy.yaml"


def _reporter(args: argparse.Namespace) -> tuple[Callable[[str], None], Callable[[int], int]]:
    """``say`` prints a line for people, or, with ``--json``, keeps it; ``report(code)`` then prints
    ``{"ok", "exit_code", "lines"}`` and returns the code."""
    lines: list[str] = []
    as_json = bool(getattr(args, "json", False))

    def say(line: str) -> None:
        if as_json:
            lines.append(line.strip())
        else:
            print(line)

    def report(code: int) -> int:
        if as_json:
            print(
                json.dumps(
                    {"command": args.command, "ok": code == 0, "exit_code": code, "lines": lines},
                    indent=2,
                )
            )
        return code

    return say, report


def _now(text: str | None) -> datetime:
    return parse_instant(text, "--at") if text else datetime.now(UTC)


def _snapshot_clients(clients: AwsClients) -> Any:
    from core.aws.snapshot import Clients

    return Clients(clients.sagemaker, clients.autoscaling, clients.cloudwatch)


# ---------------------------------------------------------------------------
# janitor


def cmd_janitor(args: argparse.Namespace) -> int:
    from core.aws.fleet import FleetReader
    from core.aws.janitor import JanitorActions, run_janitor
    from core.aws.state import StateStore
    from core.janitor import summarize

    policy: Policy = load_policy(args.policy)
    if args.at and args.apply:
        # a what-if time would judge metrics, ages and grace periods against a clock that is not now
        raise UsageError("--at is a what-if: it never acts (drop --apply)")
    apply = not args.at and (args.apply or not policy.janitor.dry_run)
    now = _now(args.at)
    place = chosen_place(args, policy)
    clients = place_clients(
        policy, place, janitor=True
    )  # in a member account, the janitor's own member role
    policy = policy.at_place(place)  # the endpoints this place's targets manage are kept
    reader = FleetReader(
        clients.sagemaker, clients.client("resourcegroupstaggingapi"), clients.cloudwatch
    )
    actions = None
    if apply:
        table = state_table(args, required=True)
        topic = args.topic or os.environ.get("SAGESCALE_TOPIC_ARN")
        if not topic:
            print(
                "sagescale: warning: no notification topic (--topic or SAGESCALE_TOPIC_ARN): nobody is told what the janitor marks or deletes",
                file=sys.stderr,
            )

        def notify(subject: str, message: str) -> None:
            if topic:
                AwsClients().sns.publish(TopicArn=topic, Subject=subject[:99], Message=message)

        home = AwsClients()  # the state table and the topic are the controller's
        actions = JanitorActions(
            _snapshot_clients(clients),
            StateStore(table or "", home.dynamodb).at(policy, place),
            notify,
        )
    bar = None if args.json else ProgressBar(sys.stderr, "janitor")
    result = run_janitor(policy, now, reader, actions, endpoint=args.endpoint, progress=bar)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    mode = "APPLY" if apply else "dry run (nothing is changed; --apply acts)"
    where = "" if place.is_home else f" in {place}"
    print(
        f"janitor{where} at {now.isoformat()}: {mode}; idle_for {policy.janitor.idle_for} min, grace {policy.janitor.grace} min"
    )

    rows = [
        [
            v.endpoint,
            v.action,
            v.due.isoformat() if v.due else "",
            "; ".join(v.reasons),
            result.done.get(v.endpoint, ""),
        ]
        for v in result.verdicts
    ]
    print(
        text_table(["ENDPOINT", "VERDICT", "DELETE AFTER", "WHY", "DONE"], rows)
        if rows
        else "no endpoints"
    )
    print(
        "summary: " + ", ".join(f"{k} {n}" for k, n in sorted(summarize(result.verdicts).items()))
    )
    return 1 if any(d.startswith("error") for d in result.done.values()) else 0


# ---------------------------------------------------------------------------
# delete and restore


def _save_local(snapshot: dict[str, Any], directory: Path) -> Path:
    """Write the snapshot readable by its owner only (mode 0600, in a 0700 folder if it is new):
    it holds the models' container environment, which may carry tokens such as HUGGING_FACE_HUB_TOKEN."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = snapshot["taken_at"].replace(":", "").replace("+", "p")
    path = directory / f"{snapshot['endpoint']}-{stamp}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(snapshot, indent=2, sort_keys=True, default=str))
    return path


def _delete_refusals(args: argparse.Namespace, snapshot: dict[str, Any]) -> list[str]:
    """Why ``delete`` should not delete this endpoint: a protect tag, or a policy target that manages it."""
    from core.janitor import managed_endpoints, protected_by

    policy = load_policy(args.policy)
    tags = {t["Key"]: t["Value"] for t in snapshot.get("tags", [])}
    reasons = [f"it is protected by tag {p}" for p in protected_by(tags, policy.janitor.protect)]
    components = {args.endpoint: [c["name"] for c in snapshot.get("inference_components", [])]}
    target = managed_endpoints(policy, components).get(args.endpoint)
    if target is not None:
        reasons.append(f"policy target {target} ({args.policy}) manages it")
    return reasons


def _confirm(endpoint: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"refusing to delete {endpoint} without --yes (no terminal to confirm on)")
    answer = input(
        f"Delete endpoint {endpoint} and its inference components, scaling and alarms? Type its name to confirm: "
    )
    if answer.strip() != endpoint:
        raise UsageError("not confirmed; nothing deleted")


def cmd_delete(args: argparse.Namespace) -> int:
    say, report = _reporter(args)
    from botocore.exceptions import BotoCoreError, ClientError

    from core.aws.snapshot import SnapshotError, capture, leftovers, teardown
    from core.aws.state import StateStore

    policy = load_policy(args.policy)
    place = chosen_place(args, policy)
    _needs_member_profile(args, place, "delete")
    clients = place_clients(policy, place, profile=args.member_profile)
    sc = _snapshot_clients(clients)
    try:
        snapshot = capture(args.endpoint, sc, datetime.now(UTC))
    except SnapshotError as exc:
        raise UsageError(str(exc)) from None
    refusals = _delete_refusals(args, snapshot)
    if refusals and not args.force:
        raise UsageError(
            f"refusing to delete {args.endpoint}: "
            + "; ".join(refusals)
            + " (--force deletes it anyway)"
        )
    _confirm(args.endpoint, args.yes)
    local = _save_local(snapshot, Path(args.snapshot_dir))
    say(f"snapshot: {local}")
    table = state_table(args, required=False)
    if table:
        StateStore(table, AwsClients().dynamodb).at(policy, place).put_snapshot(snapshot)
        say(f"snapshot: state table {table}, key {snapshot['taken_at']}")
    failure = None
    try:
        import time

        give_up = time.monotonic() + args.timeout * 60
        waiting = Waiting(sys.stderr, f"deleting {args.endpoint}")
        done = teardown(
            snapshot,
            sc,
            with_config_and_models=args.with_config_and_models,
            deadline=lambda: time.monotonic() > give_up,
            sleep=waiting,
        )
        waiting.done()
        if not done.finished:
            print(
                f"sagescale: still deleting after {args.timeout} minutes: {', '.join(done.waiting_on)}; run again to resume",
                file=sys.stderr,
            )
        for step in done.steps:
            say(f"  {step}")
    except (ClientError, BotoCoreError) as exc:
        failure = f"{type(exc).__name__}: {exc}"
        print(f"sagescale: delete stopped: {failure}", file=sys.stderr)
    left = leftovers(snapshot, sc, with_config_and_models=args.with_config_and_models)
    if left:
        print("left behind (should be gone):", file=sys.stderr)
        for item in left:
            print(f"  {item}", file=sys.stderr)
        return report(1)
    kept = (
        ""
        if args.with_config_and_models
        else f" (kept: endpoint config {snapshot['endpoint_config']['EndpointConfigName']} and its models)"
    )
    say(
        f"{args.endpoint}: nothing left behind{kept}; restore with: sagescale restore {args.endpoint} --from {local}"
    )
    return report(1 if failure else 0)


def _needs_member_profile(args: argparse.Namespace, place: Place, what: str) -> None:
    """``--member-profile`` is given exactly when ``what`` acts in a member account."""
    if place.is_home and args.member_profile is not None:
        raise UsageError(
            "--member-profile needs --account: it names your credentials in a member account"
        )
    if not place.is_home and args.member_profile is None:
        raise UsageError(
            f"{what} in member account {place.account} acts with your own credentials there: give --member-profile PROFILE "
            "(sagescale's member roles cannot delete an unmarked endpoint nor create one, on purpose)"
        )


def cmd_restore(args: argparse.Namespace) -> int:
    say, report = _reporter(args)
    from core.aws.snapshot import SnapshotError, restore
    from core.aws.state import StateStore

    if args.account is not None or args.region is not None:
        policy = load_policy(args.policy)
        place = chosen_place(args, policy)
        _needs_member_profile(args, place, "restore")
        clients = place_clients(policy, place, profile=args.member_profile)
    else:
        _needs_member_profile(args, HOME, "restore")
        policy, place, clients = None, HOME, AwsClients()
    if args.from_file:
        try:
            snapshot = json.loads(Path(args.from_file).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"cannot read snapshot {args.from_file}: {exc}") from None
    else:
        table = state_table(args, required=True)
        store = StateStore(table or "", AwsClients().dynamodb)
        snapshot = (store if policy is None else store.at(policy, place)).snapshot(args.endpoint)
        if snapshot is None:
            raise UsageError(f"no snapshot of {args.endpoint} in {table}")
    if snapshot.get("endpoint") != args.endpoint:
        raise UsageError(f"the snapshot is of {snapshot.get('endpoint')!r}, not {args.endpoint!r}")
    try:
        waiting = Waiting(sys.stderr, f"restoring {args.endpoint}")
        steps = restore(snapshot, _snapshot_clients(clients), sleep=waiting)
        waiting.done()
    except SnapshotError as exc:
        raise UsageError(str(exc)) from None
    for step in steps:
        say(f"  {step}")
    say(f"{args.endpoint}: restored from the snapshot of {snapshot['taken_at']}")
    return report(0)


def cmd_wake(args: argparse.Namespace) -> int:
    """Bring a target up now and keep it at >= 1 until its idle window ends (an override)."""
    say, report = _reporter(args)
    from datetime import timedelta

    from core.aws.parking import Parking, run_parking
    from core.aws.state import StateStore
    from core.bounds import Override, effective_bounds, transitions
    from core.timewindows import load_zone

    policy = load_policy(args.policy)
    selected_targets(policy, args.target)
    table = state_table(args, required=True)
    now = _now(args.at)
    zone = load_zone(policy.timezone)
    place = chosen_place(args, policy, args.target)
    store = StateStore(table or "", AwsClients().dynamodb).at(
        policy, place
    )  # a wake is an override in the controller's table
    state = store.get(args.target)
    override = state.override if state.override is not None and state.override.until > now else None
    bounds = effective_bounds(policy, args.target, now, override=override)
    if bounds.min >= 1 and state.parked is None:
        say(
            f"{args.target}: not idle (min {bounds.min} now: {', '.join(bounds.reasons)}); nothing to wake"
        )
        return report(0)
    ahead = [
        t
        for t in transitions(policy, now, now + timedelta(days=14), [args.target])
        if t.at > now and t.bounds.min > 0
    ]
    until = ahead[0].at if ahead else now + timedelta(hours=24)
    if override is not None and override.min >= 1:  # an operator's larger (or equal) override stays
        say(
            f"{args.target}: kept the override min {override.min} until {override.until.astimezone(zone).isoformat()} ({policy.timezone}), by {override.by}"
        )
    else:
        store.set_override(
            args.target,
            Override(1, until, by=os.environ.get("USER", "operator"), why="sagescale wake"),
        )
        say(
            f"{args.target}: min 1 until {until.astimezone(zone).isoformat()} ({policy.timezone}, the end of its idle window)"
        )
    if policy.targets[args.target].park:  # parking is the controller's own account's only
        result = run_parking(
            policy,
            now,
            Parking(_snapshot_clients(place_clients(policy, place)), store),
            targets=[args.target],
            wake=True,
        )
        outcome, message = result.outcomes[args.target]
        say(f"{args.target}: {outcome}{': ' + message if message else ''}")
        return report(1 if outcome == "error" else 0)
    say(f"{args.target}: the next reconcile scales it to at least 1")
    return report(0)


def cmd_status(args: argparse.Namespace) -> int:
    """The live state of every target (or one) and of the janitor; exit 1 if a target is in error."""
    from core.aws.scaling import ScalingAdapter
    from core.aws.state import StateStore
    from core.timewindows import load_zone
    from sagescale.status import janitor_status, target_status

    policy = load_policy(args.policy)
    names = selected_targets(policy, args.target)
    table = state_table(args, required=True)
    now = _now(args.at)
    zone = load_zone(policy.timezone)
    if args.account is not None or args.region is not None:
        place = chosen_place(args, policy)
        names = [n for n in names if policy.place(n) == place]
    home = AwsClients()
    store = StateStore(table or "", home.dynamodb)
    targets: list[dict[str, Any]] = []
    for place, here in policy.places().items():  # each account-region through its own clients
        wanted = [n for n in names if n in here]
        if wanted:
            clients = place_clients(policy, place)
            targets += target_status(
                policy,
                now,
                ScalingAdapter(clients.sagemaker, clients.autoscaling),
                store.at(policy, place),
                wanted,
            )
    targets.sort(key=lambda t: names.index(t["target"]))
    janitor = janitor_status(home, store, policy)
    if args.json:
        print(
            json.dumps(
                {"at": now.isoformat(), "targets": targets, "janitor": janitor},
                indent=2,
                default=str,
            )
        )
    else:
        print(_render_status(targets, janitor, now, zone, policy.timezone))
    return 1 if any("error" in t for t in targets) else 0


def _local(text: str | None, zone: Any) -> str:
    return datetime.fromisoformat(text).astimezone(zone).strftime("%a %d %b %H:%M") if text else "-"


def _render_status(
    targets: list[dict[str, Any]], janitor: dict[str, Any], now: datetime, zone: Any, timezone: str
) -> str:
    lines = [f"sagescale status at {now.astimezone(zone):%a %d %b %Y %H:%M} ({timezone})", ""]
    for t in targets:
        b = t["bounds"]
        lines.append(
            f"{t['target']}: {t['resource']}  mode {t['mode'] or '-'}  bounds {b['min']}..{b['max']} ({', '.join(b['reasons'])})"
        )
        lines.append(
            f"  copies desired {t['desired']} current {t['current']}  status {t['status']}"
            + (f"  FAILED: {t['failure_reason']}" if t.get("failure_reason") else "")
        )
        if t.get("error"):
            lines.append(f"  ERROR: {t['error']}")
        inst = t.get("instances")
        if inst:
            cost = (
                f", ${t['cost_per_hour_usd']:,.2f}/h"
                if t.get("cost_per_hour_usd") is not None
                else ""
            )
            scaling = (
                f"managed {inst['min']}..{inst['max']}"
                if inst["managed"]
                else "not managed (the count stays)"
            )
            lines.append(
                f"  instances {inst['current']} x {inst.get('instance_type') or '?'}{cost}, {scaling}"
            )
        if t.get("superseded"):
            lines.append(
                f"  superseded (older deployments left alone): {', '.join(t['superseded'])}"
            )
        for w in t.get("warnings") or []:
            lines.append(f"  WARNING {w['code']}: {w['message']}")
        last = t.get("last_action")
        if last:
            lines.append(
                f"  last action {_local(last.get('at'), zone)}: {last.get('from')} -> {last.get('to')} ({', '.join(last.get('reasons', []))}; {last.get('trigger', '')})"
            )
        if t.get("pending"):
            lines.append(
                f"  deferred since {_local(t['pending'].get('at'), zone)}: {t['pending'].get('from')} -> {t['pending'].get('to')} (applied when the resource is ready)"
            )
        if t.get("override"):
            o = t["override"]
            lines.append(
                f"  override min {o['min']} until {_local(o['until'], zone)} by {o['by']}"
                + (f" ({o['why']})" if o["why"] else "")
            )
        for s in t.get("surge") or []:
            lines.append(
                f"  surge min {s['min']} until {_local(s['until'], zone)} (alarm {s['alarm']})"
            )
        n = t.get("next_change")
        lines.append(
            f"  next change {_local(n['at'], zone)}: {n['min']}..{n['max']} ({', '.join(n['reasons'])})"
            if n
            else "  next change: none in 14 days"
        )
    lines.append("")
    marked = janitor["marked"]
    lines.append(
        f"janitor ({'dry run' if janitor['dry_run'] else 'applies'}): "
        + (f"{len(marked)} endpoint(s) marked" if marked else "nothing marked")
    )
    lines += [
        f"  {m['endpoint']}: deleted after {_local(m['delete_after'], zone) if m['delete_after'][:1].isdigit() else m['delete_after']}"
        for m in marked
    ]
    lines += [
        f"  parked: {p['endpoint']} (target {p['target']}) since {_local(p['since'], zone)}, snapshot {p['snapshot']}"
        for p in janitor["parked"]
    ]
    return "\n".join(lines)
