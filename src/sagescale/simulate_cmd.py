"""``sagescale simulate`` and ``sagescale trace``: replay a traffic trace against a policy, price it, plot it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from core.policy import Policy, load_policy
from core.sim.base import SimConfigError
from core.sim.config import SimConfig, load_sim_config
from core.sim.prices import parse_prices
from core.sim.results import Simulation
from core.sim.run import simulate
from sagescale.common import UsageError, parse_instant


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


def _target(policy: Policy, wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in policy.targets:
            known = ", ".join(sorted(policy.targets)) or "none"
            raise UsageError(f"unknown target {wanted!r} (targets in the policy: {known})")
        return wanted
    if len(policy.targets) != 1:
        known = ", ".join(sorted(policy.targets)) or "none"
        raise UsageError(f"the policy has {len(policy.targets)} targets; choose one with --target ({known})")
    return next(iter(policy.targets))


def _config(args: argparse.Namespace) -> tuple[SimConfig, dict[str, float] | None]:
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


def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulate the policy and the baselines over a trace; print a table or JSON; optionally plot."""
    from core.sim.traces import TraceError, read_trace

    policy = load_policy(args.policy)
    name = _target(policy, args.target)
    if args.static < 0:
        raise UsageError("--static must be 0 or more")
    config, prices = _config(args)
    try:
        trace = read_trace(args.trace)
    except TraceError as exc:
        raise UsageError(str(exc)) from None
    if args.plot:
        _check_plot_target(args.plot)
    bar = ProgressBar(sys.stderr, "simulating")
    try:
        sim = simulate(policy, name, trace.start, trace.requests, config, prices=prices, static_copies=args.static, progress=bar)
    except SimConfigError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(sim.as_dict(), indent=2))
    else:
        print(render_table(sim, policy.timezone))
    if args.plot:
        plot(sim, args.plot, policy.timezone)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


def _check_plot_target(path: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'sagescale[plot]'") from None
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise UsageError(f"--plot {path}: directory {parent} does not exist")


def plot(sim: Simulation, path: str, timezone: str) -> None:
    """Write a PNG: demand and each strategy's serving capacity over time, idle windows and floors shaded."""
    from zoneinfo import ZoneInfo

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from core.sim.run import window_kind

    zone = ZoneInfo(timezone)
    n = len(sim.demand)
    base = float(mdates.date2num(sim.start))  # type: ignore[no-untyped-call]
    times = [base + i / 1440 for i in range(n + 1)]

    def x(at: datetime) -> float:
        return base + (at - sim.start).total_seconds() / 86400

    fig, ax = plt.subplots(figsize=(13, 5.5), dpi=110)
    end = sim.instant(n)
    shades = {"idle": ("#d9d9d9", "idle window"), "floor": ("#ffe0b3", "floor")}
    labelled: set[str] = set()
    for k, (at, bounds) in enumerate(sim.bounds):
        kind = window_kind(bounds)
        if kind not in shades:
            continue
        until = sim.bounds[k + 1][0] if k + 1 < len(sim.bounds) else end
        colour, label = shades[kind]
        ax.axvspan(x(at), x(until), color=colour, alpha=0.6, lw=0, label=None if kind in labelled else label)
        labelled.add(kind)
    ax.fill_between(times[:-1], sim.demand, step="post", color="#4c72b0", alpha=0.35, lw=0, label="demand (requests/min)")
    styles = {"oracle": ("#222222", 0.6, 0.35), "static": ("#8172b2", 1.0, 0.9), "target_tracking": ("#55a868", 1.3, 0.9), "policy": ("#c44e52", 1.6, 0.9)}
    order = sorted(sim.strategies.items(), key=lambda kv: list(styles).index(kv[0]) if kv[0] in styles else -1)
    for name, result in order:
        colour, width, alpha = styles.get(name, ("#999999", 1.0, 0.9))
        ax.step(times[:-1], result.capacity, where="post", color=colour, lw=width, alpha=alpha, label=f"{name} capacity (\\${result.cost_usd:,.0f}, {result.served_fraction * 100:.2f}% served)")
    ax.set_yscale("symlog", linthresh=100)
    ax.set_ylabel("requests per minute")
    ax.set_xlim(times[0], times[-1])
    if n <= 14 * 1440:
        ax.xaxis.set_major_locator(mdates.DayLocator(tz=zone))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b", tz=zone))  # type: ignore[no-untyped-call]
    ax.set_title(f"sagescale simulate: target {sim.target}, {len(sim.demand) / 1440:.1f} days ({timezone})")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def render_table(sim: Simulation, timezone: str) -> str:
    """The human output: one row per strategy with its ratios to the oracle."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    oracle = sim.strategies.get("oracle")
    headers = ["STRATEGY", "COST_USD", "x ORACLE", "INSTANCE_H", "COPY_H", "SERVED", "UNMET_MIN", "ACTIONS"]
    rows = []
    for name, r in sim.strategies.items():
        ratio = f"{r.cost_usd / oracle.cost_usd:.2f}" if oracle is not None and oracle.cost_usd > 0 else "-"
        rows.append([name, f"{r.cost_usd:,.2f}", ratio, f"{r.instance_hours:,.1f}", f"{r.copy_hours:,.1f}", f"{r.served_fraction * 100:.3f}%", str(r.unmet_minutes), str(r.scaling_actions)])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    lines = [
        f"target {sim.target}: {sim.start.astimezone(zone):%Y-%m-%d %H:%M} to {sim.instant(len(sim.demand)).astimezone(zone):%Y-%m-%d %H:%M} {timezone}, "
        f"{len(sim.demand):,} minutes, {sum(sim.demand):,.0f} requests",
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    p = sim.parameters
    lines.append(
        f"model: {p['capacity_per_copy']:g} req/min per copy, {p['copies_per_instance']} copies per {p['instance_type']} at ${p['price_per_hour']:g}/h, "
        f"copy start {p['copy_start_minutes']} min (new instance {p['instance_start_minutes']} min)"
    )
    lines += [f"note: {n}" for n in sim.notes]
    return "\n".join(lines)


def cmd_trace(args: argparse.Namespace) -> int:
    """Generate a synthetic trace CSV (deterministic with --seed)."""
    from core.sim.traces import Spike, TraceError, generate, write_trace
    from core.timewindows import load_zone

    try:
        start = date.fromisoformat(args.start) if args.start else None
    except ValueError:
        raise UsageError(f"--start {args.start!r} is not a date (YYYY-MM-DD)") from None
    try:
        if args.spike_minutes < 1:
            raise UsageError("--spike-minutes must be 1 or more")
        spikes = [Spike(parse_instant(at, "--spike-at"), args.peak, ramp=3, hold=args.spike_minutes, decay=30) for at in args.spike_at or []]
        trace = generate(args.kind, start=start, days=args.days, seed=args.seed, mean=args.mean, peak=args.peak, timezone=args.timezone, spikes=spikes)
    except TraceError as exc:
        raise UsageError(str(exc)) from None
    zone = load_zone(args.timezone)
    if args.out and args.out != "-":
        try:
            with open(args.out, "w", encoding="utf-8", newline="") as stream:
                write_trace(trace, stream, zone)
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
        print(f"{args.out}: {len(trace.requests):,} minutes, {sum(trace.requests):,.0f} requests, peak {max(trace.requests):,.0f}/min", file=sys.stderr)
    else:
        write_trace(trace, sys.stdout, zone)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``simulate`` and ``trace`` subcommands."""
    from core.sim.traces import KINDS

    p = sub.add_parser("simulate", help="replay a traffic trace against the policy and baselines, and price it")
    p.add_argument("policy")
    p.add_argument("--trace", required=True, help="CSV with columns timestamp,requests (requests per minute)")
    p.add_argument("--target", help="the policy's target (needed when it has several)")
    p.add_argument("--sim-config", help="YAML with the simulation parameters (capacity, instance type, alarms...); see docs/simulator.md")
    p.add_argument("--static", type=int, default=4, metavar="N", help="copies of the static baseline (default 4)")
    p.add_argument("--capacity-per-copy", dest="capacity_per_copy", type=float, help="requests per minute one copy serves (overrides the config)")
    p.add_argument("--instance-type", dest="instance_type", help="instance type (overrides the config)")
    p.add_argument("--price-per-hour", dest="price_per_hour", type=float, help="USD per instance-hour (overrides the price table)")
    p.add_argument("--copy-start", dest="copy_start_minutes", type=int, help="minutes until a copy serves on a running instance")
    p.add_argument("--instance-start", dest="instance_start_minutes", type=int, help="minutes until a copy serves on a new instance")
    p.add_argument("--prices", help="JSON price table {\"prices\": {type: usd_per_hour}} instead of the shipped one")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--plot", metavar="PNG", help="write a plot of demand and each strategy's capacity (needs matplotlib)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("trace", help="generate a synthetic traffic trace (deterministic with --seed)")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--out", help="CSV file to write (default: stdout)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", help="first day, YYYY-MM-DD (default: 2026-11-23 for holiday-week, else 2026-09-14)")
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--mean", type=float, default=100.0, help="average requests per minute, spike excluded (default 100)")
    p.add_argument("--peak", type=float, default=10_000.0, help="spike peak in requests per minute (default 10000)")
    p.add_argument("--timezone", default="America/New_York", help="zone of the day shape and the written timestamps")
    p.add_argument("--spike-at", action="append", metavar="TIME", help="an unannounced spike to --peak at this ISO 8601 time with offset, day or night (repeatable); replaces the kind's own spike")
    p.add_argument("--spike-minutes", type=int, default=20, metavar="N", help="minutes a placed spike holds its peak (default 20; it ramps over 3 and decays over 30)")
    p.set_defaults(func=cmd_trace)
