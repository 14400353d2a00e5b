"""Reproduce docs/simulator.md's holiday-week numbers and time a 30-day simulation.

    .venv/bin/python bench/simulate_holiday.py

Prints, for the shipped policy (examples/llm-retail.yaml) and the tuned one
(examples/llm-retail-tuned.yaml), each strategy's figures on
examples/traces/holiday-week.csv with examples/llm-retail.sim.yaml, the acceptance
checks, and the wall time of `simulate` over a generated 30-day trace.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from core.policy import load_policy  # noqa: E402
from core.sim.config import load_sim_config  # noqa: E402
from core.sim.results import Simulation  # noqa: E402
from core.sim.run import served_in, simulate, spike_onset  # noqa: E402
from core.sim.traces import generate, read_trace  # noqa: E402


def checks(sim: Simulation) -> dict[str, object]:
    """The issue's acceptance numbers for one run."""
    s = sim.strategies
    onset = spike_onset(sim.demand)
    assert onset is not None
    pol, tt = (
        served_in(s["policy"], onset, onset + 15),
        served_in(s["target_tracking"], onset, onset + 15),
    )
    return {
        "served_fraction": round(s["policy"].served_fraction, 6),
        "cost_vs_oracle": round(s["policy"].cost_usd / s["oracle"].cost_usd, 3),
        "cost_vs_static4": round(s["policy"].cost_usd / s["static"].cost_usd, 3),
        "onset_15min_served_policy": pol,
        "onset_15min_served_target_tracking": tt,
        "pass": s["policy"].served_fraction >= 0.999
        and s["policy"].cost_usd <= 1.2 * s["oracle"].cost_usd
        and s["policy"].cost_usd <= 0.5 * s["static"].cost_usd
        and pol > tt,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="timed runs of the 30-day simulation (median reported)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    config = load_sim_config(ROOT / "examples" / "llm-retail.sim.yaml")
    trace = read_trace(ROOT / "examples" / "traces" / "holiday-week.csv")
    report: dict[str, object] = {}
    for name in ("llm-retail.yaml", "llm-retail-tuned.yaml"):
        policy = load_policy(ROOT / "examples" / name)
        sim = simulate(policy, "llm", trace.start, trace.requests, config)
        report[name] = {
            "strategies": {k: v.as_dict() for k, v in sim.strategies.items()},
            "limits": sim.as_dict()["limits"],
            "acceptance": checks(sim),
        }
    month = generate("holiday-week", days=30, start=None)
    policy = load_policy(ROOT / "examples" / "llm-retail.yaml")
    times = []
    for _ in range(args.repeat):
        began = time.perf_counter()
        simulate(policy, "llm", month.start, month.requests, config)
        times.append(time.perf_counter() - began)
    report["30-day"] = {
        "minutes": len(month.requests),
        "seconds_median": round(statistics.median(times), 2),
        "seconds_all": [round(t, 2) for t in times],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for name in ("llm-retail.yaml", "llm-retail-tuned.yaml"):
        entry = report[name]
        assert isinstance(entry, dict)
        print(f"== examples/{name} on examples/traces/holiday-week.csv")
        oracle = entry["strategies"]["oracle"]["cost_usd"]
        limit = entry["limits"]["reactive_dropped"]
        print(
            f"{'strategy':16} {'cost_usd':>10} {'x oracle':>8} {'inst_h':>7} {'copy_h':>7} {'served':>9} {'unmet_min':>9} {'actions':>7} {'dropped':>9} {'x reactive':>10}"
        )
        for k, v in entry["strategies"].items():
            ratio = f"{v['dropped'] / limit:.2f}" if limit else "-"
            print(
                f"{k:16} {v['cost_usd']:>10,.2f} {v['cost_usd'] / oracle:>8.2f} {v['instance_hours']:>7.1f} {v['copy_hours']:>7.1f} {v['served_fraction'] * 100:>8.3f}% "
                f"{v['unmet_minutes']:>9} {v['scaling_actions']:>7} {v['dropped']:>9,.0f} {ratio:>10}"
            )
        print(f"reactive limit: {limit:,.0f} dropped")
        print("acceptance:", json.dumps(entry["acceptance"]))
    print(
        f"30-day simulate (4 strategies, {len(month.requests):,} minutes): median {report['30-day']['seconds_median']} s of {args.repeat} runs"
    )  # type: ignore[index]
    return 0


if __name__ == "__main__":
    sys.exit(main())
