"""The ``sagescale`` command line: the operator's and the tests' way in.

Exit codes: 0 success, 2 bad input (the message names the problem), 1 an AWS or
internal error. ``--json`` gives machine-readable output on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from core.policy import Policy, PolicyError, load_policy
from core.timewindows import NaiveDatetimeError, load_zone, local_to_instant


class UsageError(Exception):
    """Bad input from the operator: exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(message)


def parse_instant(text: str, what: str = "time") -> datetime:
    """An ISO 8601 instant with an offset (``Z`` allowed); naive times are refused."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{what} {text!r} is not ISO 8601, e.g. 2026-11-27T05:00:00-05:00") from None
    if value.tzinfo is None:
        raise UsageError(f"{what} {text!r} has no UTC offset; write e.g. {text}-05:00 or {text}Z")
    return value


def _range_edge(text: str, policy: Policy, what: str, *, end: bool) -> datetime:
    """A DATE (local midnight in the policy's zone; an end date is inclusive) or an instant."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return parse_instant(text, what)
    if end:
        day += timedelta(days=1)
    zone = load_zone(policy.timezone)
    return local_to_instant(datetime.combine(day, datetime.min.time()), zone).astimezone(zone)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _emit(args: argparse.Namespace, payload: Any, human: Callable[[], str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2))
    else:
        print(human())


# ---------------------------------------------------------------------------
# commands


def cmd_validate(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    summary = {
        "policy": args.policy,
        "valid": True,
        "targets": sorted(policy.targets),
        "calendars": sorted(policy.calendars),
    }
    targets = ", ".join(sorted(policy.targets)) or "none"
    calendars = ", ".join(sorted(policy.calendars)) or "none"
    _emit(args, summary, lambda: f"{args.policy}: valid (targets: {targets}; calendars: {calendars})")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from core.bounds import effective_bounds

    policy = load_policy(args.policy)
    zone = load_zone(policy.timezone)
    now = parse_instant(args.at, "--at") if args.at else datetime.now(zone)
    rows: list[dict[str, Any]] = []
    for name in _selected_targets(policy, args.target):
        b = effective_bounds(policy, name, now)
        rows.append({"target": name, "min": b.min, "max": b.max, "reasons": list(b.reasons)})

    def human() -> str:
        head = f"effective bounds at {now.astimezone(zone).isoformat()} ({policy.timezone})"
        body = _table(["TARGET", "MIN", "MAX", "REASONS"], [[r["target"], str(r["min"]), str(r["max"]), ", ".join(r["reasons"])] for r in rows])
        return f"{head}\n{body}"

    _emit(args, rows, human)
    return 0


def cmd_calendar(args: argparse.Namespace) -> int:
    from core.bounds import transitions

    policy = load_policy(args.policy)
    zone = load_zone(policy.timezone)
    start = _range_edge(args.from_, policy, "--from", end=False)
    end = _range_edge(args.to, policy, "--to", end=True)
    if end <= start:
        raise UsageError(f"--to {args.to} is not after --from {args.from_}")
    if end - start > timedelta(days=3 * 366):
        raise UsageError("the range is longer than three years; ask for a shorter one")
    rows: list[dict[str, Any]] = [
        {
            "at": t.at.astimezone(zone).isoformat(),
            "target": t.target,
            "min": t.bounds.min,
            "max": t.bounds.max,
            "reasons": list(t.bounds.reasons),
        }
        for t in transitions(policy, start, end, _selected_targets(policy, args.target))
    ]

    def human() -> str:
        head = f"bounds from {start.isoformat()} to {end.isoformat()} ({policy.timezone}); the first row of each target is its state at the start"
        body = _table(["AT", "TARGET", "MIN", "MAX", "REASONS"], [[r["at"], r["target"], str(r["min"]), str(r["max"]), ", ".join(r["reasons"])] for r in rows])
        return f"{head}\n{body}"

    _emit(args, rows, human)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from sagescale.replay import EventFileError, TemplateError, replay

    try:
        invocation = replay(args.function, args.event, endpoint_url=args.endpoint_url, policy=args.policy, template=args.template)
    except (EventFileError, TemplateError) as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(invocation.as_dict(), indent=2, default=str))
    if not invocation.ok:
        print(f"sagescale: {args.function} failed: {invocation.error_type}: {invocation.error_message}", file=sys.stderr)
        return 1
    return 0


def cmd_local(args: argparse.Namespace) -> int:
    import signal
    import threading

    from core.clients import AwsClients
    from sagescale.emulator import start_server
    from sagescale.replay import patched_environ
    from sagescale.seed import seed_policy
    from sagescale.stack import REGION, Stack, default_template

    stack = Stack(args.template or default_template())
    policy = load_policy(args.seed) if args.seed else None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server = start_server(port=args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on port {args.port}: {exc.strerror}") from None
    with server, patched_environ({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}):
        clients = AwsClients(endpoint_url=server.url)
        created = stack.create_resources(clients)
        seeded = seed_policy(clients.sagemaker, policy) if policy is not None else []
        print(server.url, flush=True)
        print(f"emulator listening on {server.url} (region {REGION}); stack resources: " + ", ".join(f"{k}={v}" for k, v in created.items()), file=sys.stderr, flush=True)
        if seeded:
            print(f"seeded: {', '.join(seeded)}", file=sys.stderr, flush=True)
        print(f"point tools at it with AWS_ENDPOINT_URL={server.url}; stop with Ctrl-C", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sagescale.demo import run_demo

    run_demo(sys.stdout, as_json=args.json)
    return 0


def cmd_override(args: argparse.Namespace) -> int:
    from core.bounds import Override
    from core.clients import AwsClients
    from core.state import StateStore

    policy = load_policy(args.policy)
    _selected_targets(policy, args.target)
    table = args.table or os.environ.get("SAGESCALE_STATE_TABLE")
    if not table:
        raise UsageError("name the state table with --table or SAGESCALE_STATE_TABLE (the stack output StateTableName)")
    override = None
    if not args.clear:
        if args.min is None or args.until is None:
            raise UsageError("give --min N and --until TIME, or --clear")
        if args.min < 0:
            raise UsageError("--min must be 0 or more")
        until = parse_instant(args.until, "--until")
        if until <= datetime.now(until.tzinfo):
            raise UsageError(f"--until {args.until} is in the past")
        override = Override(args.min, until, by=args.by or os.environ.get("USER", "operator"), why=args.why or "")
    store = StateStore(table, AwsClients().dynamodb)
    state = store.set_override(args.target, override)
    if override is None:
        payload: dict[str, Any] = {"target": args.target, "override": None, "version": state.version}
        _emit(args, payload, lambda: f"{args.target}: override cleared")
        return 0
    payload = {"target": args.target, "override": {"min": override.min, "until": override.until.isoformat(), "by": override.by, "why": override.why}, "version": state.version}
    _emit(args, payload, lambda: f"{args.target}: min {override.min} until {override.until.isoformat()} (the next reconcile applies it)")
    return 0


def _selected_targets(policy: Policy, wanted: str | None) -> list[str]:
    if wanted is None:
        return list(policy.targets)
    if wanted not in policy.targets:
        known = ", ".join(sorted(policy.targets)) or "none"
        raise UsageError(f"unknown target {wanted!r} (targets in the policy: {known})")
    return [wanted]


# ---------------------------------------------------------------------------
# parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sagescale", description="Scaling controller for Amazon SageMaker real-time inference.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="validate a policy file")
    p.add_argument("policy")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("plan", help="effective bounds of every target at a time")
    p.add_argument("policy")
    p.add_argument("--at", help="ISO 8601 time with offset (default: now)")
    p.add_argument("--target", help="only this target")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("calendar", help="every change of effective bounds in a date range")
    p.add_argument("policy")
    p.add_argument("--from", dest="from_", required=True, help="first DATE (local midnight) or ISO time")
    p.add_argument("--to", required=True, help="last DATE (inclusive) or ISO time (exclusive)")
    p.add_argument("--target", help="only this target")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_calendar)

    p = sub.add_parser("replay", help="invoke a function of template.yaml with an event file, as sam local invoke does")
    p.add_argument("function", help="logical id in template.yaml, e.g. ReconcileFunction")
    p.add_argument("event", help="event JSON file, e.g. events/reconcile-tick.json")
    p.add_argument("--endpoint-url", help="AWS endpoint (e.g. a running 'sagescale local'); default: an embedded emulator")
    p.add_argument("--policy", help="policy file instead of the one shipped with the function")
    p.add_argument("--template", type=Path, help="template (default: template.yaml of this checkout)")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("local", help="run the local AWS emulator with the stack's tables, topics and queues")
    p.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (default 4566; 0 picks a free one)")
    p.add_argument("--seed", help="also create the endpoints and inference components this policy names")
    p.add_argument("--template", type=Path, help="template (default: template.yaml of this checkout)")
    p.set_defaults(func=cmd_local)

    p = sub.add_parser("demo", help="a scripted Thanksgiving week on the embedded emulator")
    p.add_argument("--json", action="store_true", help="machine-readable timeline")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("override", help="set or clear an operator override of a target's minimum")
    p.add_argument("target")
    p.add_argument("--policy", required=True, help="the policy (to check the target name)")
    p.add_argument("--min", type=int, help="minimum while the override holds")
    p.add_argument("--until", help="ISO 8601 expiry with offset")
    p.add_argument("--by", help="who (default: $USER)")
    p.add_argument("--why", help="reason, shown in decisions")
    p.add_argument("--clear", action="store_true", help="remove the override")
    p.add_argument("--table", help="state table (default: $SAGESCALE_STATE_TABLE)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_override)

    from sagescale import ops, simulate_cmd

    ops.add_parsers(sub)
    simulate_cmd.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (also used as the console script's)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        code: int = args.func(args)
        return code
    except (UsageError, PolicyError, NaiveDatetimeError) as exc:
        print(f"sagescale: error: {exc}", file=sys.stderr)
        return 2
    except OverflowError as exc:  # a time at the edge of the calendar (year 1 or 9999) in a zone
        print(f"sagescale: error: time out of range: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sagescale: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an AWS or internal error: say what, no traceback
        import logging

        logging.getLogger("sagescale").debug("unhandled error", exc_info=True)
        print(f"sagescale: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
