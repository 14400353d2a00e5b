"""``sagescale simulate`` and ``sagescale trace``: replay a traffic trace against a policy, price it, plot it."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from typing import Any

from core.sim.base import SimConfigError
from core.sim.results import Simulation
from core.sim.run import simulate
from sagescale.common import ProgressBar, UsageError, parse_instant, percent
from sagescale.sim_args import trace_run


def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulate the policy and the baselines over a trace; print a table or JSON; optionally plot."""

    if args.static < 0:
        raise UsageError("--static must be 0 or more")
    policy, name, config, prices, trace = trace_run(args)
    bar = ProgressBar(sys.stderr, "simulating")
    try:
        sim = simulate(
            policy,
            name,
            trace.start,
            trace.requests,
            config,
            prices=prices,
            static_copies=args.static,
            progress=bar,
        )
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


def worst_spike(sim: Simulation) -> tuple[int, int]:
    """The minutes to zoom onto: around the peak of demand, from 30 minutes before it ramps up
    (a tenth of the peak) to two hours after the peak."""
    demand = sim.demand
    peak = max(range(len(demand)), key=demand.__getitem__) if demand else 0
    onset = peak
    while onset > 0 and demand[onset - 1] >= 0.1 * demand[peak]:
        onset -= 1
    return max(onset - 30, 0), min(peak + 120, len(demand))


def figure(sim: Simulation, timezone: str, command: str = "simulate") -> Any:
    """The plot: the whole trace (demand, each strategy's serving capacity, idle windows and floors
    shaded) above a zoom onto the worst spike with each strategy's dropped requests."""
    from zoneinfo import ZoneInfo

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    zone = ZoneInfo(timezone)
    n = len(sim.demand)
    base = float(mdates.date2num(sim.start))  # type: ignore[no-untyped-call]
    times = [base + i / 1440 for i in range(n + 1)]

    def x(at: datetime) -> float:
        return base + (at - sim.start).total_seconds() / 86400

    fig, (ax, zoom) = plt.subplots(
        2, 1, figsize=(13, 9), dpi=110, gridspec_kw={"height_ratios": [3, 2]}
    )
    _shade(sim, ax, zoom, x)
    styles = {
        "oracle": ("#222222", 0.6, 0.35),
        "static": ("#8172b2", 1.0, 0.9),
        "target_tracking": ("#55a868", 1.3, 0.9),
        "policy": ("#c44e52", 1.6, 0.9),
    }
    order = sorted(
        sim.strategies.items(), key=lambda kv: list(styles).index(kv[0]) if kv[0] in styles else -1
    )
    first, last = worst_spike(sim)
    for axis, lo, hi in ((ax, 0, n), (zoom, first, last)):
        axis.fill_between(
            times[lo:hi],
            sim.demand[lo:hi],
            step="post",
            color="#4c72b0",
            alpha=0.35,
            lw=0,
            label="demand (requests/min)" if axis is ax else None,
        )
        for name, result in order:
            colour, width, alpha = styles.get(name, ("#999999", 1.0, 0.9))
            label: str | None = None
            if axis is ax:
                label = f"{name} capacity (\\${result.cost_usd:,.0f}, {percent(result.served_fraction)} served, {result.dropped:,.0f} dropped)"
            axis.step(
                times[lo:hi],
                result.capacity[lo:hi],
                where="post",
                color=colour,
                lw=width,
                alpha=alpha,
                label=label,
            )
    for name, result in order:  # what each strategy dropped, minute by minute, in the zoom
        if name == "oracle":
            continue
        colour = styles.get(name, ("#999999", 1.0, 0.9))[0]
        lost = [
            d - s for d, s in zip(sim.demand[first:last], result.served[first:last], strict=True)
        ]
        if any(v > 0 for v in lost):
            zoom.fill_between(
                times[first:last],
                lost,
                step="post",
                color=colour,
                alpha=0.25,
                hatch="//",
                lw=0,
                label=f"{name} dropped ({sum(lost):,.0f} here)",
            )
    ax.set_yscale("symlog", linthresh=100)
    ax.set_ylabel("requests per minute")
    ax.set_xlim(times[0], times[-1])
    if n <= 14 * 1440:
        ax.xaxis.set_major_locator(mdates.DayLocator(tz=zone))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b", tz=zone))  # type: ignore[no-untyped-call]
    limit = f"; reactive limit {sim.reactive_dropped:,.0f} dropped" if sim.reactive_dropped else ""
    ax.set_title(
        f"sagescale {command}: target {sim.target}, {n / 1440:.1f} days ({timezone}){limit}"
    )
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    ax.grid(alpha=0.3)
    zoom.set_xlim(times[first], times[last])
    zoom.xaxis.set_major_formatter(mdates.DateFormatter("%a %H:%M", tz=zone))  # type: ignore[no-untyped-call]
    zoom.set_ylabel("requests per minute")
    zoom.set_title(
        f"the worst spike: {sim.instant(first).astimezone(zone):%a %d %b %H:%M} to {sim.instant(last).astimezone(zone):%H:%M} (linear)"
    )
    handles, _ = zoom.get_legend_handles_labels()
    if handles:
        zoom.legend(loc="upper right", fontsize=8, framealpha=0.9)
    zoom.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _shade(sim: Simulation, ax: Any, zoom: Any, x: Any) -> None:
    """Idle windows (grey) and floors (orange) behind both panels."""
    from core.sim.run import window_kind

    end = sim.instant(len(sim.demand))
    shades = {"idle": ("#d9d9d9", "idle window"), "floor": ("#ffe0b3", "floor")}
    labelled: set[str] = set()
    for k, (at, bounds) in enumerate(sim.bounds):
        kind = window_kind(bounds)
        if kind not in shades:
            continue
        until = sim.bounds[k + 1][0] if k + 1 < len(sim.bounds) else end
        colour, label = shades[kind]
        ax.axvspan(
            x(at),
            x(until),
            color=colour,
            alpha=0.6,
            lw=0,
            label=None if kind in labelled else label,
        )
        zoom.axvspan(x(at), x(until), color=colour, alpha=0.6, lw=0)
        labelled.add(kind)


def plot(sim: Simulation, path: str, timezone: str, command: str = "simulate") -> None:
    """Write the plot (``figure``) as a PNG, titled with the ``command`` that made it."""
    import matplotlib.pyplot as plt

    fig = figure(sim, timezone, command)
    fig.savefig(path)
    plt.close(fig)


def render_table(sim: Simulation, timezone: str) -> str:
    """The human output: one row per strategy with its ratios to the oracle."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    oracle = sim.strategies.get("oracle")
    headers = [
        "STRATEGY",
        "COST_USD",
        "x ORACLE",
        "INSTANCE_H",
        "COPY_H",
        "SERVED",
        "UNMET_MIN",
        "ACTIONS",
        "DROPPED",
        "x REACTIVE",
    ]
    rows = []
    limit = sim.reactive_dropped
    for name, r in sim.strategies.items():
        ratio = (
            f"{r.cost_usd / oracle.cost_usd:.2f}"
            if oracle is not None and oracle.cost_usd > 0
            else "-"
        )
        vs_limit = (
            f"{r.dropped / limit:.2f}" if limit > 0 else ("0.00" if r.dropped == 0 else "inf")
        )
        rows.append(
            [
                name,
                f"{r.cost_usd:,.2f}",
                ratio,
                f"{r.instance_hours:,.1f}",
                f"{r.copy_hours:,.1f}",
                percent(r.served_fraction),
                str(r.unmet_minutes),
                str(r.scaling_actions),
                f"{r.dropped:,.0f}",
                vs_limit,
            ]
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    lines = [
        f"target {sim.target}: {sim.start.astimezone(zone):%Y-%m-%d %H:%M} to {sim.instant(len(sim.demand)).astimezone(zone):%Y-%m-%d %H:%M} {timezone}, "
        f"{len(sim.demand):,} minutes, {sum(sim.demand):,.0f} requests",
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
    ]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    p = sim.parameters
    lines.append(
        f"model: {p['capacity_per_copy']:g} req/min per copy, {p['copies_per_instance']} copies per {p['instance_type']} at ${p['price_per_hour']:g}/h, "
        f"copy start {p['copy_start_minutes']} min (new instance {p['instance_start_minutes']} min)"
    )
    lines.append(
        f"bounds: the oracle (perfect foresight within max) costs ${oracle.cost_usd:,.2f}; "
        if oracle is not None
        else "bounds: "
    )
    lines[-1] += (
        f"the reactive limit (no foresight, instant orders, real start-up) drops {limit:,.0f} requests"
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
        spikes = [
            Spike(
                parse_instant(at, "--spike-at"),
                args.peak,
                ramp=3,
                hold=args.spike_minutes,
                decay=30,
            )
            for at in args.spike_at or []
        ]
        trace = generate(
            args.kind,
            start=start,
            days=args.days,
            seed=args.seed,
            mean=args.mean,
            peak=args.peak,
            timezone=args.timezone,
            spikes=spikes,
        )
    except TraceError as exc:
        raise UsageError(str(exc)) from None
    zone = load_zone(args.timezone)
    if args.out and args.out != "-":
        try:
            with open(args.out, "w", encoding="utf-8", newline="") as stream:
                write_trace(trace, stream, zone)
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
        summary = {
            "out": args.out,
            "start": trace.start.isoformat(),
            "minutes": len(trace.requests),
            "requests": round(sum(trace.requests), 3),
            "peak": max(trace.requests),
        }
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            print(
                f"{args.out}: {len(trace.requests):,} minutes, {sum(trace.requests):,.0f} requests, peak {max(trace.requests):,.0f}/min",
                file=sys.stderr,
            )
    else:
        write_trace(trace, sys.stdout, zone)
    return 0
