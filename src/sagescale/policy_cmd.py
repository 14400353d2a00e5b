"""Policy commands: ``validate``, ``plan``, ``calendar`` and the operator ``override``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.policy import Policy, load_policy
from core.timewindows import load_zone
from sagescale.common import (
    UsageError,
    chosen_place,
    emit,
    parse_instant,
    range_edge,
    selected_targets,
    state_table,
    table,
)


def cmd_validate(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    policy.check_member_role(
        args.member_role_name, args.policy
    )  # a PolicyError exits 2, naming the field
    summary = {
        "policy": args.policy,
        "valid": True,
        "targets": sorted(policy.targets),
        "calendars": sorted(policy.calendars),
    }
    targets = ", ".join(sorted(policy.targets)) or "none"
    calendars = ", ".join(sorted(policy.calendars)) or "none"
    emit(
        args, summary, lambda: f"{args.policy}: valid (targets: {targets}; calendars: {calendars})"
    )
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from core.bounds import effective_bounds

    policy = load_policy(args.policy)
    zone = load_zone(policy.timezone)
    now = parse_instant(args.at, "--at") if args.at else datetime.now(zone)
    rows: list[dict[str, Any]] = []
    for name in _at_place(args, policy, selected_targets(policy, args.target)):
        b = effective_bounds(policy, name, now)
        rows.append(
            {
                "target": name,
                "min": b.min,
                "max": b.max,
                "reasons": list(b.reasons),
                **_where(policy, name),
            }
        )

    def human() -> str:
        head = f"effective bounds at {now.astimezone(zone).isoformat()} ({policy.timezone})"
        body = table(
            ["TARGET", "MIN", "MAX", "REASONS"],
            [[r["target"], str(r["min"]), str(r["max"]), ", ".join(r["reasons"])] for r in rows],
        )
        return f"{head}\n{body}"

    emit(args, rows, human)
    return 0


def _at_place(args: argparse.Namespace, policy: Policy, names: list[str]) -> list[str]:
    """``names`` narrowed to the targets of ``--account``/``--region``, if given."""
    if getattr(args, "account", None) is None and getattr(args, "region", None) is None:
        return names
    place = chosen_place(args, policy)
    return [n for n in names if policy.place(n) == place]


def _where(policy: Policy, name: str) -> dict[str, str]:
    """A member account's target says where it lives (account, region); the controller's own say nothing."""
    place = policy.place(name)
    return {} if place.is_home else {"account": place.account, "region": place.region}


def cmd_calendar(args: argparse.Namespace) -> int:
    from core.bounds import transitions

    policy = load_policy(args.policy)
    zone = load_zone(policy.timezone)
    start = range_edge(args.from_, policy, "--from", end=False)
    end = range_edge(args.to, policy, "--to", end=True)
    if end <= start:
        raise UsageError(f"--to {args.to} is not after --from {args.from_}")
    if end - start > timedelta(days=3 * 366):
        raise UsageError("the range is longer than three years; ask for a shorter one")
    names = _at_place(args, policy, selected_targets(policy, args.target))
    rows: list[dict[str, Any]] = [
        {
            "at": t.at.astimezone(zone).isoformat(),
            "target": t.target,
            "min": t.bounds.min,
            "max": t.bounds.max,
            "reasons": list(t.bounds.reasons),
        }
        for t in transitions(policy, start, end, names)
    ]

    def human() -> str:
        head = f"bounds from {start.isoformat()} to {end.isoformat()} ({policy.timezone}); the first row of each target is its state at the start"
        body = table(
            ["AT", "TARGET", "MIN", "MAX", "REASONS"],
            [
                [r["at"], r["target"], str(r["min"]), str(r["max"]), ", ".join(r["reasons"])]
                for r in rows
            ],
        )
        return f"{head}\n{body}"

    if args.plot:
        _plot_calendar(policy, start, end, names, args.plot)
    emit(args, rows, human)
    return 0


def _plot_calendar(
    policy: Any, start: datetime, end: datetime, targets: list[str], path: str
) -> None:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'sagescale[plot]'") from None
    if not Path(path).resolve().parent.is_dir():
        raise UsageError(f"--plot {path}: directory {Path(path).parent} does not exist")
    from sagescale.heatmap import figure

    fig = figure(policy, start, end, targets)
    fig.savefig(path)
    plt.close(fig)
    print(f"heat map written to {path}", file=sys.stderr)


def cmd_override(args: argparse.Namespace) -> int:
    from core.aws.clients import AwsClients
    from core.aws.state import StateStore
    from core.bounds import Override

    policy = load_policy(args.policy)
    selected_targets(policy, args.target)
    table_name = state_table(args, required=True) or ""
    override = None
    if not args.clear:
        if args.min is None or args.until is None:
            raise UsageError("give --min N and --until TIME, or --clear")
        if args.min < 0:
            raise UsageError("--min must be 0 or more")
        until = parse_instant(args.until, "--until")
        if until <= datetime.now(until.tzinfo):
            raise UsageError(f"--until {args.until} is in the past")
        override = Override(
            args.min, until, by=args.by or os.environ.get("USER", "operator"), why=args.why or ""
        )
    store = StateStore(table_name, AwsClients().dynamodb).at(
        policy, chosen_place(args, policy, args.target)
    )
    state = store.set_override(args.target, override)
    if override is None:
        payload: dict[str, Any] = {
            "target": args.target,
            "override": None,
            "version": state.version,
        }
        emit(args, payload, lambda: f"{args.target}: override cleared")
        return 0
    payload = {
        "target": args.target,
        "override": {
            "min": override.min,
            "until": override.until.isoformat(),
            "by": override.by,
            "why": override.why,
        },
        "version": state.version,
    }
    emit(
        args,
        payload,
        lambda: (
            f"{args.target}: min {override.min} until {override.until.isoformat()} (the next reconcile applies it)"
        ),
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """The policy's JSON Schema, from the pydantic models, for editors to complete and check policy files."""
    from core.policy import Policy

    schema = Policy.model_json_schema(by_alias=True)
    schema = (
        {"$schema": "https://json-schema.org/draft/2020-12/schema"}
        | schema
        | {"title": "sagescale policy (version 1)"}
    )
    text = json.dumps(schema, indent=2) + "\n"
    if args.out and args.out != "-":
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
        print(
            f"{args.out}: JSON Schema of the policy; start a policy file with  # yaml-language-server: $schema={args.out}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return 0
