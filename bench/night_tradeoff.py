"""The night trade-off of examples/llm-retail-tuned.yaml: what sleeping saves, what a night spike then costs.

    .venv/bin/python bench/night_tradeoff.py

Variants of the tuned policy on the same four weeks (the b2b day shape, about 100 requests/min
by day and none at night, and one unannounced spike to 10,000/min at 03:00 New York on a
Wednesday): it as tuned (min 0: it sleeps whenever nobody calls; a sized wake and the burst
rule), the same without the burst rule, with neither (a wake of 1 copy, the alarms after), and
one that never sleeps (min 1, no idle windows, the burst rule kept). Prints each one's cost per
month, its dropped requests at the night spike and in all, and the reactive limit.
"""

from __future__ import annotations

import copy
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from core.policy import parse_policy, policy_data  # noqa: E402
from core.sim.config import load_sim_config  # noqa: E402
from core.sim.run import simulate  # noqa: E402
from core.sim.traces import Spike, generate  # noqa: E402

NY = ZoneInfo("America/New_York")


def main() -> int:
    tuned = policy_data((ROOT / "examples" / "llm-retail-tuned.yaml").read_text(encoding="utf-8"))

    def variant(**changes: object) -> dict[str, object]:
        doc = copy.deepcopy(tuned)
        target = doc["targets"]["llm"]
        for key, value in changes.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
        return doc

    variants = {
        "as tuned (sleeps, wake + burst)": tuned,
        "sleeps, sized wake, no burst": variant(burst=None),
        "sleeps, wake 1 copy, no burst": variant(burst=None, wake=True),
        "never sleeps (min 1), burst": variant(min=1, idle=None),
    }
    spike_at = datetime(2026, 9, 16, 3, 0, tzinfo=NY)
    trace = generate(
        "b2b-week",
        days=28,
        seed=2,
        start=date(2026, 9, 14),
        spikes=[Spike(spike_at, 10_000.0, ramp=3, hold=20, decay=30)],
    )
    config = load_sim_config(ROOT / "examples" / "llm-retail.sim.yaml")
    first = int((spike_at - trace.start).total_seconds() // 60) - 5
    last = first + 120
    print(
        f"four weeks from {trace.start.astimezone(NY):%Y-%m-%d}, a 10,000/min spike at {spike_at:%a %d %b %H:%M} New York"
    )
    print(
        f"{'variant':32} {'cost/month':>11} {'dropped (spike)':>16} {'dropped (all)':>14} {'x reactive':>10}"
    )
    for name, doc in variants.items():
        policy = parse_policy(doc)
        sim = simulate(policy, "llm", trace.start, trace.requests, config, strategies=["policy"])
        result = sim.strategies["policy"]
        spike_dropped = sum(
            d - s
            for d, s in zip(trace.requests[first:last], result.served[first:last], strict=True)
        )
        month = result.cost_usd * 30 / 28
        ratio = result.dropped / sim.reactive_dropped if sim.reactive_dropped else float("nan")
        print(
            f"{name:32} {month:>11,.0f} {spike_dropped:>16,.0f} {result.dropped:>14,.0f} {ratio:>10.2f}"
        )
    window = trace.requests[first:last]
    print(
        f"the spike's 2 hours carry {sum(window):,.0f} requests; the reactive limit of the whole trace drops {sim.reactive_dropped:,.0f}"
    )
    print(
        f"(the window: {trace.start + timedelta(minutes=first):%H:%M} to {trace.start + timedelta(minutes=last):%H:%M} UTC)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
