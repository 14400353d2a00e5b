"""``sagescale rehearse``: the stack's real functions in a closed loop on the emulator over a trace,
reported as ``simulate`` reports, beside what ``simulate`` predicts for the same policy."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.sim.base import SimConfigError
from core.sim.results import Simulation
from sagescale.common import ProgressBar, UsageError
from sagescale.sim_args import trace_run


def cmd_rehearse(args: argparse.Namespace) -> int:
    """Rehearse the policy on the trace; print the table (or JSON) and how far simulate is from it."""
    from core.sim.run import simulate
    from sagescale.rehearse import RehearsalError, rehearse
    from sagescale.simulate_cmd import plot, render_table

    policy, name, config, prices, trace = trace_run(args)
    try:
        rehearsal = rehearse(
            args.policy,
            name,
            trace.start,
            trace.requests,
            config,
            prices=prices,
            progress=ProgressBar(sys.stderr, "rehearsing"),
        )
        predicted = simulate(
            policy,
            name,
            trace.start,
            trace.requests,
            config,
            prices=prices,
            strategies=("policy", "oracle"),
        )
    except (SimConfigError, RehearsalError) as exc:
        raise UsageError(str(exc)) from None
    rehearsed = rehearsal.result
    sim = Simulation(
        name,
        predicted.start,
        predicted.demand,
        {
            "policy": rehearsed,
            "simulated": predicted.strategies["policy"],
            "oracle": predicted.strategies["oracle"],
        },
        predicted.parameters,
        predicted.bounds,
        rehearsal.notes + predicted.notes,
        predicted.reactive_dropped,
    )
    agreement = _agreement(
        rehearsed.dropped,
        predicted.strategies["policy"].dropped,
        rehearsed.cost_usd,
        predicted.strategies["policy"].cost_usd,
    )
    if args.json:
        doc: dict[str, Any] = sim.as_dict()
        doc["strategies"]["policy"] = rehearsal.as_dict()
        doc["agreement"] = agreement
        print(json.dumps(doc, indent=2))
    else:
        print(render_table(sim, policy.timezone))
        f = rehearsal.functions
        print(
            f"functions: {f.invocations:,} invocations ({', '.join(f'{k} {v:,}' for k, v in sorted(f.by_function.items()))}), "
            f"{f.failed} failed, {f.dead_letters} dead letters, {rehearsal.pending_steps} steps pending at the end"
        )
        print(
            f"simulate vs the functions: dropped {agreement['dropped_difference']:+.1%}, cost {agreement['cost_difference']:+.1%}"
        )
    if args.plot:
        plot(sim, args.plot, policy.timezone, "rehearse")
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


def _agreement(
    dropped: float, sim_dropped: float, cost: float, sim_cost: float
) -> dict[str, float]:
    """Relative differences of simulate's figures from the rehearsal's (0 when both are 0)."""

    def diff(predicted: float, actual: float) -> float:
        scale = max(abs(actual), abs(predicted))
        return 0.0 if scale == 0 else (predicted - actual) / scale

    return {
        "dropped_difference": round(diff(sim_dropped, dropped), 6),
        "cost_difference": round(diff(sim_cost, cost), 6),
    }
