"""``sagescale tune``: search the policy's parameters on traces (optuna) and write the best policy."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from core.policy import PolicyError, parse_policy, policy_data
from sagescale.common import ProgressBar, UsageError, percent, table
from sagescale.sim_args import check_plot_target, choose_target, sim_config


def cmd_tune(args: argparse.Namespace) -> int:
    try:
        import optuna  # noqa: F401
        import ruamel.yaml  # noqa: F401
    except ImportError:
        raise UsageError(
            "tune needs optuna and ruamel.yaml: pip install 'sagescale[tune]'"
        ) from None
    from core.sim.traces import TraceError, read_trace
    from sagescale.tune import apply, dump_round_trip, load_round_trip, tune

    _check_numbers(args)
    source = Path(args.policy)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}") from None
    data = policy_data(text, str(source))
    policy = parse_policy(data, str(source))
    target = choose_target(policy, args.target)
    config, _ = sim_config(args)
    try:
        traces = [read_trace(p) for p in args.trace]
    except TraceError as exc:
        raise UsageError(str(exc)) from None
    if args.plot:
        check_plot_target(args.plot)
    out = Path(args.out)
    if not out.parent.resolve().is_dir():
        raise UsageError(f"--out {args.out}: directory {out.parent} does not exist")
    bar = None if args.json else ProgressBar(sys.stderr, "tune")
    jobs = args.jobs or min(os.cpu_count() or 1, 2 * len(traces), 8)
    result = tune(
        data,
        target,
        traces,
        config,
        min_served=args.min_served if len(args.min_served) > 1 else args.min_served[0],
        trials=args.trials,
        seed=args.seed,
        jobs=jobs,
        progress=bar,
    )
    best = result.best
    doc = load_round_trip(source)
    apply(doc, target, best.params)
    command = (
        "sagescale tune " + shlex.join(sys.argv[2:])
        if sys.argv[1:2] == ["tune"]
        else f"sagescale tune {args.policy} ..."
    )
    header = (
        f"Tuned by `{command}`\n"
        f"({args.trials} trials, seed {args.seed}, target {target}): ${best.cost_usd:,.2f} over the traces, "
        f"served {', '.join(percent(s) for s in best.served)}"
        + ("" if result.feasible else f" (none met {_floors(result)})")
    )
    written = dump_round_trip(doc, header)
    try:
        parse_policy(policy_data(written, str(out)), str(out))  # the tuned policy validates
    except PolicyError as exc:  # pragma: no cover - apply writes only values the model accepts
        raise RuntimeError(f"the tuned policy does not validate: {exc}") from None
    out.write_text(written, encoding="utf-8")
    if args.plot:
        plot_pareto(result, args.plot)
    if args.json:
        print(json.dumps(result.as_dict() | {"out": str(out)}, indent=2))
    else:
        print(render(result, out))
    if not result.feasible:
        print(
            f"sagescale: no trial served {_floors(result)}; {out} has the one that fell least short ({', '.join(percent(s) for s in best.served)})",
            file=sys.stderr,
        )
    return 0


def _floors(result: Any) -> str:
    floors = result.min_served
    if len(set(floors)) == 1:
        return f"{percent(floors[0])} on every trace"
    return "its fraction on every trace (" + ", ".join(percent(f) for f in floors) + ")"


def _check_numbers(args: argparse.Namespace) -> None:
    for fraction in args.min_served:
        if not 0 < fraction <= 1:
            raise UsageError(
                f"--min-served must be a fraction in (0, 1], e.g. 0.999; got {fraction}"
            )
    if len(args.min_served) not in (1, len(args.trace)):
        raise UsageError(
            f"--min-served: give one fraction for every trace, or one per --trace ({len(args.trace)}); got {len(args.min_served)}"
        )
    if args.trials < 1:
        raise UsageError("--trials must be 1 or more")


def render(result: Any, out: Path) -> str:
    rows = [
        [
            str(t.number),
            f"{t.cost_usd:,.2f}",
            percent(t.served_fraction),
            "*" if t is result.best else "",
        ]
        for t in result.pareto
    ]
    lines = [
        f"target {result.target}: {len(result.trials)} trials; {len(result.feasible)} served {_floors(result)}",
        "Pareto front (cost against the least served fraction over the traces):",
        table(["TRIAL", "COST_USD", "SERVED", "BEST"], rows),
        f"best: trial {result.best.number}, ${result.best.cost_usd:,.2f}, served {', '.join(percent(s) for s in result.best.served)}; written to {out}",
        "  " + ", ".join(f"{k}={v}" for k, v in result.best.params.items()),
    ]
    return "\n".join(lines)


def plot_pareto(result: Any, path: str) -> None:
    """Every trial's cost against its least served fraction; the front and the chosen trial marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    ax.scatter(
        [t.cost_usd for t in result.trials],
        [t.served_fraction * 100 for t in result.trials],
        s=14,
        color="#bbbbbb",
        label="trial",
    )
    front = result.pareto
    ax.plot(
        [t.cost_usd for t in front],
        [t.served_fraction * 100 for t in front],
        "o-",
        color="#c44e52",
        ms=5,
        label="Pareto front",
    )
    best = result.best
    ax.scatter(
        [best.cost_usd],
        [best.served_fraction * 100],
        marker="*",
        s=220,
        color="#4c72b0",
        zorder=5,
        label=f"chosen: ${best.cost_usd:,.0f}, {percent(best.served_fraction)}",
    )
    ax.axhline(
        min(result.min_served) * 100,
        color="#55a868",
        ls="--",
        lw=1,
        label=f"min served {percent(min(result.min_served))}",
    )
    ax.set_xlabel("cost over the traces (USD)")
    ax.set_ylabel("least served over the traces (%)")
    ax.set_title(f"sagescale tune: target {result.target}, {len(result.trials)} trials")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
