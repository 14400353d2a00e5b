"""AWS calls per reconcile run for N inference-component targets on the emulator.

    .venv/bin/python bench/reconcile_calls.py [--targets 1 100 500] [--repeat 3]

First run: converges every target (one write each). Steady state: the next run, with
nothing to change, must make zero write calls. Prints one JSON object a size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

READS = ("Describe", "List", "Get", "BatchGet", "Query", "Scan")


def policy_text(n: int) -> str:
    lines = ["version: 1", "timezone: America/New_York", "targets:"]
    for i in range(n):
        lines += [f"  t{i}:", f"    inference_component: ic-{i}", "    min: 2", "    max: 4"]
    return "\n".join(lines) + "\n"


def measure(n: int) -> dict[str, Any]:
    from core.aws.clients import AwsClients
    from core.aws.reconcile import run_reconcile
    from core.aws.scaling import ScalingAdapter
    from core.aws.state import StateStore
    from core.policy import load_policy
    from sagescale.emulator import emulated_aws
    from sagescale.seed import seed_target
    from sagescale.stack import Stack, default_template

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    with emulated_aws(), tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(policy_text(n))
        policy = load_policy(path)
        clients = AwsClients()
        names = Stack(default_template()).create_resources(clients)
        for target in policy.targets.values():
            seed_target(clients.sagemaker, target, copies=1)
        for client in (clients.sagemaker, clients.autoscaling, clients.dynamodb):
            client.meta.events.register("before-call.*.*", count)
        adapter = ScalingAdapter(clients.sagemaker, clients.autoscaling)
        store = StateStore(names["StateTable"], clients.dynamodb)
        now = datetime(2026, 11, 24, 12, 0, tzinfo=ZoneInfo("America/New_York"))
        results = {}
        for phase in ("converge", "steady"):
            calls.clear()
            started = time.perf_counter()
            run_reconcile(policy, now, adapter, store)
            elapsed = time.perf_counter() - started
            writes = sum(v for k, v in calls.items() if not k.startswith(READS))
            results[phase] = {
                "calls": sum(calls.values()),
                "writes": writes,
                "seconds": round(elapsed, 3),
                "by_operation": dict(sorted(calls.items())),
            }
    return {"targets": n, **results}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, nargs="+", default=[1, 100, 500])
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs a size; the median wall time is reported"
    )
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for n in args.targets:
        runs = [measure(n) for _ in range(args.repeat)]
        out = runs[0]
        for phase in ("converge", "steady"):
            out[phase]["seconds_median"] = statistics.median(r[phase]["seconds"] for r in runs)
            del out[phase]["seconds"]
        print(json.dumps(out), flush=True)
        if out["steady"]["writes"]:
            print(
                f"steady state made {out['steady']['writes']} writes for {n} targets",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
