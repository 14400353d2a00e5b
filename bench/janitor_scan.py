"""AWS calls and wall time of a janitor pass over 1,000 endpoints on the emulator.

    .venv/bin/python bench/janitor_scan.py [--endpoints 1000] [--with-ic 200] [--repeat 3]

The fleet: endpoints with a real-time variant and endpoints hosting an inference
component; a third tagged, a fifth with recent traffic. The pass is a dry run (reads only;
writes happen only for the few endpoints that change rung). Goal: <= 30 calls.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any


def build_fleet(clients: Any, endpoints: int, with_ic: int) -> None:
    from core.policy import loads_policy
    from sagescale.seed import seed_target

    lines = ["version: 1", "targets:"]
    for i in range(endpoints):
        if i < with_ic:
            lines.append(f"  t{i}: {{inference_component: ic-{i:04d}, min: 1, max: 2}}")
        else:
            lines.append(f"  t{i}: {{endpoint: ep-{i:04d}, min: 1, max: 2}}")
    targets = loads_policy("\n".join(lines)).targets
    now = datetime.now(UTC)
    for i, target in enumerate(targets.values()):
        seed_target(clients.sagemaker, target)
        name = f"ic-{i:04d}-endpoint" if i < with_ic else f"ep-{i:04d}"
        if i % 3 == 0:
            arn = clients.sagemaker.describe_endpoint(EndpointName=name)["EndpointArn"]
            clients.sagemaker.add_tags(
                ResourceArn=arn, Tags=[{"Key": "team", "Value": f"team-{i % 7}"}]
            )
        if i % 5 == 0:
            dims = (
                [{"Name": "InferenceComponentName", "Value": f"ic-{i:04d}"}]
                if i < with_ic
                else [
                    {"Name": "EndpointName", "Value": name},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ]
            )
            clients.cloudwatch.put_metric_data(
                Namespace="AWS/SageMaker",
                MetricData=[
                    {
                        "MetricName": "Invocations",
                        "Dimensions": dims,
                        "Value": 3.0,
                        "Timestamp": now - timedelta(hours=1),
                    }
                ],
            )


def measure(endpoints: int, with_ic: int) -> dict[str, Any]:
    from core.aws.clients import AwsClients
    from core.aws.fleet import FleetReader
    from core.aws.janitor import run_janitor
    from core.policy import loads_policy
    from sagescale.emulator import ManualClock, emulated_aws

    calls: Counter[str] = Counter()
    with emulated_aws(clock=ManualClock(datetime.now(UTC) - timedelta(days=3))) as emulator:
        clients = AwsClients()
        build_fleet(clients, endpoints, with_ic)
        emulator.reset_clock()
        tagging = clients.client("resourcegroupstaggingapi")
        for client in (clients.sagemaker, clients.cloudwatch, tagging):
            client.meta.events.register(
                "before-call.*.*", lambda model, **_: calls.update([model.name])
            )
        policy = loads_policy("version: 1\njanitor: {idle_for: 1440}\n")
        started = time.perf_counter()
        result = run_janitor(
            policy,
            datetime.now(UTC),
            FleetReader(clients.sagemaker, tagging, clients.cloudwatch),
            None,
        )
        elapsed = time.perf_counter() - started
    verdicts = Counter(v.action for v in result.verdicts)
    return {
        "endpoints": endpoints,
        "with_inference_components": with_ic,
        "calls": sum(calls.values()),
        "by_operation": dict(sorted(calls.items())),
        "verdicts": dict(verdicts),
        "seconds": elapsed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--with-ic", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    runs = [measure(args.endpoints, args.with_ic) for _ in range(args.repeat)]
    out = runs[0] | {"seconds_median": round(statistics.median(r["seconds"] for r in runs), 3)}
    del out["seconds"]
    print(json.dumps(out))
    if out["calls"] > 30:
        print(f"{out['calls']} calls: over the goal of 30", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
