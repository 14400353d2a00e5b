"""The spike goals of examples/llm-retail-tuned.yaml (bench/SIMULATOR.md), each measured:

    .venv/bin/python bench/spike_goals.py            # add --json for machine-readable output

- an unannounced spike by day (examples/traces/unannounced-spike.csv): dropped requests at most
  1.10x the reactive limit;
- an unannounced spike inside an idle window (examples/traces/night-spike.csv): at most 1.25x
  the limit (the target is at zero copies when it starts);
- a month with holidays and an unannounced event (the holiday-week shape over 30 days from
  2026-11-16, Thanksgiving and the Black Friday doorbuster hour, plus an unannounced 10,000/min
  spike on Wednesday 9 December at 14:00 New York): cost no more than target tracking with the
  same max, and at least as much served.
Each goal prints its figures and whether it holds.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from core.policy import load_policy  # noqa: E402
from core.sim.config import load_sim_config  # noqa: E402
from core.sim.run import simulate  # noqa: E402
from core.sim.traces import Spike, generate, read_trace  # noqa: E402

NY = ZoneInfo("America/New_York")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--policy", default=str(ROOT / "examples" / "llm-retail-tuned.yaml"))
    args = parser.parse_args()
    policy = load_policy(Path(args.policy))
    config = load_sim_config(ROOT / "examples" / "llm-retail.sim.yaml")
    goals: list[dict[str, object]] = []
    for name, trace_file, bound in (
        ("day spike", "unannounced-spike.csv", 1.10),
        ("night spike, from zero", "night-spike.csv", 1.25),
    ):
        trace = read_trace(ROOT / "examples" / "traces" / trace_file)
        sim = simulate(policy, "llm", trace.start, trace.requests, config)
        dropped = sim.strategies["policy"].dropped
        ratio = dropped / sim.reactive_dropped
        tt = sim.strategies["target_tracking"].dropped / sim.reactive_dropped
        goals.append(
            {
                "goal": f"{name}: dropped <= {bound:.2f}x the reactive limit",
                "policy_dropped": round(dropped),
                "reactive_dropped": round(sim.reactive_dropped),
                "x_reactive": round(ratio, 3),
                "target_tracking_x_reactive": round(tt, 3),
                "cost_usd": round(sim.strategies["policy"].cost_usd, 2),
                "holds": ratio <= bound,
            }
        )
    month = generate(
        "holiday-week",
        days=30,
        seed=3,
        start=date(2026, 11, 16),
        spikes=[
            Spike(datetime(2026, 12, 9, 14, 0, tzinfo=NY), 10_000.0, ramp=3, hold=20, decay=30)
        ],
    )
    sim = simulate(policy, "llm", month.start, month.requests, config)
    p, t = sim.strategies["policy"], sim.strategies["target_tracking"]
    goals.append(
        {
            "goal": "a month: cost <= target tracking (same max), served >= it",
            "policy_cost_usd": round(p.cost_usd, 2),
            "target_tracking_cost_usd": round(t.cost_usd, 2),
            "policy_served": round(p.served_fraction, 6),
            "target_tracking_served": round(t.served_fraction, 6),
            "target_tracking_max": t.params["max"],
            "policy_max": p.params["max"],
            "holds": p.cost_usd <= t.cost_usd and p.served_fraction >= t.served_fraction,
        }
    )
    if args.json:
        print(json.dumps({"policy": args.policy, "goals": goals}, indent=2))
    else:
        print(
            f"policy: {Path(args.policy).relative_to(ROOT) if Path(args.policy).is_relative_to(ROOT) else args.policy}"
        )
        for g in goals:
            figures = ", ".join(f"{k}={v}" for k, v in g.items() if k not in ("goal", "holds"))
            print(f"{'holds' if g['holds'] else 'FAILS'}  {g['goal']}\n       {figures}")
    return 0 if all(g["holds"] for g in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
