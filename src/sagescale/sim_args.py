"""What the simulation commands (``simulate``, ``tune``) share: the target, the simulation config
from the command line, the plot's file, and a progress bar. Imports no command."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.policy import Policy
from core.sim.base import SimConfigError
from core.sim.config import SimConfig, load_sim_config
from core.sim.prices import parse_prices
from sagescale.common import UsageError


def choose_target(policy: Policy, wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in policy.targets:
            known = ", ".join(sorted(policy.targets)) or "none"
            raise UsageError(f"unknown target {wanted!r} (targets in the policy: {known})")
        return wanted
    if len(policy.targets) != 1:
        known = ", ".join(sorted(policy.targets)) or "none"
        raise UsageError(
            f"the policy has {len(policy.targets)} targets; choose one with --target ({known})"
        )
    return next(iter(policy.targets))


def sim_config(args: argparse.Namespace) -> tuple[SimConfig, dict[str, float] | None]:
    from core.sim.config import parse_sim_config

    try:
        config = load_sim_config(args.sim_config) if args.sim_config else parse_sim_config({})
        overrides: dict[str, Any] = {}
        for key in (
            "capacity_per_copy",
            "instance_type",
            "price_per_hour",
            "copy_start_minutes",
            "instance_start_minutes",
        ):
            value = getattr(args, key, None)
            if value is not None:
                overrides[key] = value
        if overrides:
            config = parse_sim_config(
                config.model_dump(exclude_none=True) | overrides, "command line"
            )
        prices = None
        if args.prices:
            try:
                data = json.loads(Path(args.prices).read_text(encoding="utf-8"))
            except OSError as exc:
                raise SimConfigError(
                    f"{args.prices}: cannot read price table: {exc.strerror}"
                ) from None
            except ValueError as exc:
                raise SimConfigError(f"{args.prices}: not JSON: {exc}") from None
            prices = parse_prices(data, args.prices)
    except SimConfigError as exc:
        raise UsageError(str(exc)) from None
    return config, prices


def check_plot_target(path: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'sagescale[plot]'") from None
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise UsageError(f"--plot {path}: directory {parent} does not exist")


def trace_run(
    args: argparse.Namespace,
) -> tuple[Policy, str, SimConfig, dict[str, float] | None, Any]:
    """What ``simulate`` and ``rehearse`` read from their arguments: the policy, its target, the
    simulation config and prices, and the trace; the plot's folder checked before the run."""
    from core.policy import load_policy
    from core.sim.traces import TraceError, read_trace

    policy = load_policy(args.policy)
    name = choose_target(policy, args.target)
    config, prices = sim_config(args)
    try:
        trace = read_trace(args.trace)
    except TraceError as exc:
        raise UsageError(str(exc)) from None
    if args.plot:
        check_plot_target(args.plot)
    return policy, name, config, prices, trace
