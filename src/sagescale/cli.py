"""The ``sagescale`` command line: the operator's and the tests' way in.

Exit codes: 0 success, 2 bad input (the message names the problem), 1 an AWS or
internal error. ``--json`` gives machine-readable output on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
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
