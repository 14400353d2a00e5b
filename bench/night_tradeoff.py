"""The night trade-off of examples/llm-retail-tuned.yaml: what sleeping saves, what a night spike then costs.

    .venv/bin/python bench/night_tradeoff.py

Three variants of the tuned policy on the same four weeks (the retail day shape, about 100
requests/min, and one unannounced spike to 10,000/min at 03:00 New York on a Wednesday):
it as shipped (idle nights and weekends, a wake of 1 copy), the same with a sized wake
(`wake: {per_copy: 1300}`), and one that never sleeps (no idle windows: min 1 all night).
Prints each one's cost per month, its dropped requests at the night spike and in all, and the
reactive limit of the night spike.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from core.policy import loads_policy  # noqa: E402
from core.sim.config import load_sim_config  # noqa: E402
from core.sim.run import simulate  # noqa: E402
from core.sim.traces import Spike, generate  # noqa: E402

NY = ZoneInfo("America/New_York")


def main() -> int:
    text = (ROOT / "examples" / "llm-retail-tuned.yaml").read_text(encoding="utf-8")
    variants = {
        "sleeps, wake 1 copy (shipped)": text,
        "sleeps, sized wake": text.replace("    wake: true\n", "    wake: {per_copy: 1300}\n"),
        "never sleeps": text.replace('      - {days: Sun-Fri, from: "20:00", to: "07:00"}   # a window belongs to the day it starts: Sun 20:00 - Mon 07:00 included\n      - {days: Sat-Sun}\n', "").replace("    idle:\n", ""),
    }
    spike_at = datetime(2026, 9, 16, 3, 0, tzinfo=NY)
    trace = generate("b2b-week", days=28, seed=2, start=date(2026, 9, 14), spikes=[Spike(spike_at, 10_000.0, ramp=3, hold=20, decay=30)])
    config = load_sim_config(ROOT / "examples" / "llm-retail.sim.yaml")
    first = int((spike_at - trace.start).total_seconds() // 60) - 5
    last = first + 120
    print(f"four weeks from {trace.start.astimezone(NY):%Y-%m-%d}, a 10,000/min spike at {spike_at:%a %d %b %H:%M} New York")
    print(f"{'variant':32} {'cost/month':>11} {'dropped (spike)':>16} {'dropped (all)':>14} {'x reactive':>10}")
    for name, policy_text in variants.items():
        policy = loads_policy(policy_text)
        sim = simulate(policy, "llm", trace.start, trace.requests, config, strategies=["policy"])
        result = sim.strategies["policy"]
        spike_dropped = sum(d - s for d, s in zip(trace.requests[first:last], result.served[first:last], strict=True))
        month = result.cost_usd * 30 / 28
        ratio = result.dropped / sim.reactive_dropped if sim.reactive_dropped else float("nan")
        print(f"{name:32} {month:>11,.0f} {spike_dropped:>16,.0f} {result.dropped:>14,.0f} {ratio:>10.2f}")
    window = trace.requests[first:last]
    print(f"the spike's 2 hours carry {sum(window):,.0f} requests; the reactive limit of the whole trace drops {sim.reactive_dropped:,.0f}")
    print(f"(the window: {trace.start + timedelta(minutes=first):%H:%M} to {trace.start + timedelta(minutes=last):%H:%M} UTC)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
