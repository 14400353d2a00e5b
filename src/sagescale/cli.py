"""The ``sagescale`` command line: the operator's and the tests' way in.

Exit codes: 0 success, 2 bad input (the message names the problem), 1 an AWS or
internal error. ``--json`` gives machine-readable output on stdout. Every command
is declared in ``sagescale.commands``; what they share is ``sagescale.common``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from core.policy import PolicyError
from core.timewindows import NaiveDatetimeError
from sagescale.commands import declare
from sagescale.common import Parser, UsageError, settle_arguments


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sagescale")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without an install
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="sagescale", description="Scaling controller for Amazon SageMaker real-time inference."
    )
    parser.add_argument("--version", action="version", version=f"sagescale {_version()}")
    parser.add_argument("--debug", action="store_true", help="on an error, print the traceback")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    declare(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (also used as the console script's)."""
    parser = build_parser()
    args = None
    try:
        args = parser.parse_args(argv)
        settle_arguments(args)
        code: int = args.func(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # output piped to `head`, which has read enough: end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (UsageError, PolicyError, NaiveDatetimeError) as exc:
        print(f"sagescale: error: {exc}", file=sys.stderr)
        return 2
    except OverflowError as exc:  # a time at the edge of the calendar (year 1 or 9999) in a zone
        print(f"sagescale: error: time out of range: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sagescale: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an AWS or internal error: say what; the traceback with --debug
        if args is not None and getattr(args, "debug", False):
            import traceback

            traceback.print_exc()
        print(
            f"sagescale: failed: {type(exc).__name__}: {exc}"
            + ("" if getattr(args, "debug", False) else " (--debug shows the traceback)"),
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
