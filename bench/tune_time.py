"""Time `sagescale tune`: 40 trials over two week-long traces (the goal: within 5 minutes on 2 cores).

    .venv/bin/python bench/tune_time.py [--trials 40] [--min-served 0.999 --min-served 0.914]

The draft policy (examples/llm-retail-draft.yaml) on the holiday week and the unannounced
daytime spike, 99.9 % served on the first and 91.4 % (1.10x the reactive limit) on the second.

Prints the wall time, the number of trials, whether any met the served fraction, and the best
trial's cost and served fraction (the same seed gives the same trials).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument(
        "--min-served", action="append", help="one, or one per trace (default: 0.999 and 0.914)"
    )
    parser.add_argument("--seed", default="1")
    args = parser.parse_args()
    fractions = args.min_served or ["0.999", "0.914"]
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "sagescale.cli",
            "tune",
            str(ROOT / "examples" / "llm-retail-draft.yaml"),
            "--trace",
            str(ROOT / "examples" / "traces" / "holiday-week.csv"),
            "--trace",
            str(ROOT / "examples" / "traces" / "unannounced-spike.csv"),
            "--sim-config",
            str(ROOT / "examples" / "llm-retail.sim.yaml"),
            *[a for f in fractions for a in ("--min-served", f)],
            "--trials",
            str(args.trials),
            "--seed",
            args.seed,
            "--out",
            str(Path(tmp) / "tuned.yaml"),
            "--json",
        ]
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - began
    doc = json.loads(done.stdout)
    best = doc["best"]
    print(
        f"tune: {doc['trials']} trials over 2 week-long traces in {elapsed:.1f} s wall time; feasible: {doc['feasible']}; "
        f"best trial {best['trial']}: ${best['cost_usd']:,.2f}, {best['served_fraction'] * 100:.3f}% served (least over the traces)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
