"""Measure ``sagescale rehearse``: CPU seconds per simulated day, and the tuned example's figures from
the real functions beside ``simulate``'s, in direct and bounds mode.

    .venv/bin/python bench/rehearse.py [--days 7]

For each shipped trace (examples/traces/*.csv, a week each) and mode, runs the tuned policy
(examples/llm-retail-tuned.yaml) with examples/llm-retail.sim.yaml through both, and prints cost,
dropped requests, the functions' invocations, failures and dead letters, and the CPU time of the
rehearsal (time.process_time: this process only, so comparable on a loaded machine).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from core.policy import load_policy  # noqa: E402
from core.sim.config import load_sim_config  # noqa: E402
from core.sim.run import simulate  # noqa: E402
from core.sim.traces import read_trace  # noqa: E402
from sagescale.rehearse import rehearse  # noqa: E402

POLICY = ROOT / "examples" / "llm-retail-tuned.yaml"
CONFIG = ROOT / "examples" / "llm-retail.sim.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days",
        type=float,
        default=7.0,
        help="days of each trace to run (default: the whole week)",
    )
    args = parser.parse_args()
    policy = load_policy(POLICY)
    header = f"{'trace':20s} {'mode':6s} {'rehearse $':>11s} {'simulate $':>11s} {'rehearse drop':>14s} {'simulate drop':>14s} {'invocations':>11s} {'failed':>6s} {'dlq':>4s} {'cpu s/day':>9s}"
    print(header)
    cpu_total = days_total = 0.0
    for trace_path in sorted((ROOT / "examples" / "traces").glob("*.csv")):
        trace = read_trace(trace_path)
        minutes = int(args.days * 1440)
        demand = trace.requests[:minutes]
        days = len(demand) / 1440
        for mode in ("direct", "bounds"):
            config = load_sim_config(CONFIG).model_copy(update={"mode": mode})
            t0 = time.process_time()
            rehearsal = rehearse(POLICY, "llm", trace.start, demand, config)
            cpu = time.process_time() - t0
            predicted = simulate(
                policy, "llm", trace.start, demand, config, strategies=("policy",)
            ).strategies["policy"]
            r = rehearsal.result
            f = rehearsal.functions
            cpu_total += cpu
            days_total += days
            print(
                f"{trace_path.stem:20s} {mode:6s} {r.cost_usd:11,.2f} {predicted.cost_usd:11,.2f} {r.dropped:14,.0f} {predicted.dropped:14,.0f} "
                f"{f.invocations:11,d} {f.failed:6d} {f.dead_letters:4d} {cpu / days:9.2f}"
            )
    print(
        f"rehearse: {cpu_total:.1f} CPU s for {days_total:.0f} simulated days = {cpu_total / days_total:.2f} CPU s per day (goal: at most 60)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
