"""What the simulation commands (``simulate``, ``tune``) share: the target, the simulation config
from the command line, the plot's file, and a progress bar. Imports no command."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import IO, Any

from core.policy import Policy
from core.sim.base import SimConfigError
from core.sim.config import SimConfig, load_sim_config
from core.sim.prices import parse_prices
from sagescale.common import UsageError


class ProgressBar:
    """A one-line progress bar on a terminal (nothing otherwise); no dependency."""

    def __init__(self, stream: IO[str], label: str, *, width: int = 30, force: bool = False) -> None:
        self.stream = stream
        self.label = label
        self.width = width
        self.enabled = force or (hasattr(stream, "isatty") and stream.isatty())
        self._shown = -1
        self._started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        percent = min(100, done * 100 // total)
        if percent == self._shown:
            return
        self._shown = percent
        filled = self.width * percent // 100
        elapsed = time.monotonic() - self._started
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}% {elapsed:5.1f}s")
        if percent >= 100:
            self.stream.write("\n")
        self.stream.flush()


def choose_target(policy: Policy, wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in policy.targets:
            known = ", ".join(sorted(policy.targets)) or "none"
            raise UsageError(f"unknown target {wanted!r} (targets in the policy: {known})")
        return wanted
    if len(policy.targets) != 1:
        known = ", ".join(sorted(policy.targets)) or "none"
        raise UsageError(f"the policy has {len(policy.targets)} targets; choose one with --target ({known})")
    return next(iter(policy.targets))


def sim_config(args: argparse.Namespace) -> tuple[SimConfig, dict[str, float] | None]:
    from core.sim.config import parse_sim_config

    try:
        config = load_sim_config(args.sim_config) if args.sim_config else parse_sim_config({})
        overrides: dict[str, Any] = {}
        for key in ("capacity_per_copy", "instance_type", "price_per_hour", "copy_start_minutes", "instance_start_minutes"):
            value = getattr(args, key, None)
            if value is not None:
                overrides[key] = value
        if overrides:
            config = parse_sim_config(config.model_dump(exclude_none=True) | overrides, "command line")
        prices = None
        if args.prices:
            try:
                data = json.loads(Path(args.prices).read_text(encoding="utf-8"))
            except OSError as exc:
                raise SimConfigError(f"{args.prices}: cannot read price table: {exc.strerror}") from None
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
