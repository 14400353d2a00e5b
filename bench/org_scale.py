"""Organisation-wide reconcile at scale: 10,000 targets over 40 account-regions in one 5-minute tick.

    .venv/bin/python bench/org_scale.py [--targets 10000] [--accounts 10] [--latency-ms 50]
                                        [--concurrency 10] [--describe-rate 20] [--json]

On the embedded emulator: ``--accounts`` member accounts x 4 regions, each with its member role
(member-role.yaml's trust) and ``targets / places`` inference components at their minimum (1 copy
of [1, 4]), so a tick changes nothing. Every AWS call takes ``--latency-ms`` more
(``control.latency``), and ``DescribeInferenceComponent`` is limited to ``--describe-rate`` per
second in each account-region (``control.rate_limits``; SageMaker throttles with
ThrottlingException, and the clients' adaptive retries back off).

The tick runs the real reconcile handler (it enqueues one work item per account-region); the
worker invocations run the same handler on the queue's batches (of template.yaml's ``BatchSize``),
at most ``--concurrency`` at once, as Lambda's ``MaximumConcurrency`` allows, in threads
of this process (each invocation with its own runtime, as a Lambda execution environment has).
Prints the calls made by operation, the wall time per invocation and in all, throttles, writes,
and the same for a quarter and a half of the targets (how it grows).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import os  # noqa: E402

for variable, value in (
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_REGION", "us-east-1"),
    ("POWERTOOLS_LOG_LEVEL", "ERROR"),
):
    os.environ.setdefault(variable, value)

from botocore.client import BaseClient  # noqa: E402

from core.aws.accounts import Accounts  # noqa: E402
from core.aws.clients import AwsClients  # noqa: E402
from core.policy import Place, loads_policy  # noqa: E402
from handlers import reconcile  # noqa: E402
from handlers import runtime as runtime_module  # noqa: E402
from handlers.runtime import Runtime, reset_runtime  # noqa: E402
from handlers.settings import Settings  # noqa: E402
from sagescale.emulator import ManualClock, control, emulated_aws, network_ext  # noqa: E402
from sagescale.seed import seed_target  # noqa: E402
from sagescale.stack import ACCOUNT, NAME_PREFIX, REGION, Stack, default_template  # noqa: E402

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]
BATCH_SIZE = next(
    s.batch_size for s in Stack(default_template()).queue_sources() if s.queue_id == "WorkQueue"
)
TICK_SECONDS = 300


class Calls:
    """Every botocore call in the process, by operation (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.real = BaseClient._make_api_call

    def __enter__(self) -> Calls:
        calls = self

        def counting(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            with calls.lock:
                calls.counts[f"{client.meta.service_model.service_name}:{operation}"] += 1
            return calls.real(client, operation, params)

        BaseClient._make_api_call = counting  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        BaseClient._make_api_call = self.real  # type: ignore[method-assign]


def policy_text(accounts: int, per_place: int) -> str:
    lines = ["version: 1", "timezone: UTC", "accounts:"]
    for a in range(accounts):
        lines.append(
            f'  acct{a}: {{role: "arn:aws:iam::{100000000000 + a}:role/sagescale-member", regions: [{", ".join(REGIONS)}]}}'
        )
    lines.append("targets:")
    for a in range(accounts):
        for region in REGIONS:
            for i in range(per_place):
                lines.append(
                    f"  a{a}-{region}-{i}: {{inference_component: ic-{i}, min: 1, max: 4, account: acct{a}, region: {region}}}"
                )
    return "\n".join(lines) + "\n"


def seed(clients: AwsClients, accounts: int, per_place: int) -> None:
    text = policy_text(accounts, 1)
    policy = loads_policy(text)
    for a in range(accounts):
        control.create_member_role(
            str(100000000000 + a), "sagescale-member", trusted_account=ACCOUNT
        )
    reach = Accounts(clients, policy.accounts)
    one = loads_policy(
        "version: 1\ntargets:\n  t: {inference_component: ic-0, min: 1, max: 4}\n"
    ).targets["t"]
    for a in range(accounts):
        for region in REGIONS:
            sagemaker = reach.clients(Place(f"acct{a}", region)).sagemaker
            for i in range(per_place):
                seed_target(
                    sagemaker, one.model_copy(update={"inference_component": f"ic-{i}"}), copies=1
                )


def run_tick(
    clients: AwsClients, settings: Settings, policy_yaml: str, now: datetime, concurrency: int
) -> dict[str, Any]:
    policy = loads_policy(policy_yaml)

    def fresh_runtime() -> Runtime:
        runtime = Runtime(settings, clients, clock=lambda: now)
        runtime.policy = policy
        return runtime

    local = threading.local()
    modules = (
        reconcile,
        runtime_module,
    )  # one runtime per invocation, as each Lambda execution environment has its own
    originals = [m.get_runtime for m in modules]
    for module in modules:
        module.get_runtime = lambda: local.runtime  # type: ignore[assignment]
    network_ext.buckets.clear()
    try:
        with Calls() as calls:
            began = time.perf_counter()
            local.runtime = fresh_runtime()
            tick = reconcile.handler(
                {"source": "sagescale.schedule", "action": "reconcile"}, _Context("tick")
            )
            tick_seconds = time.perf_counter() - began
            sqs = clients.client("sqs")
            batches: list[dict[str, Any]] = []
            while True:
                messages = sqs.receive_message(
                    QueueUrl=settings.work_queue_url, MaxNumberOfMessages=BATCH_SIZE
                ).get("Messages", [])
                if not messages:
                    break
                batches.append({"Records": [_record(m) for m in messages]})
                sqs.delete_message_batch(
                    QueueUrl=settings.work_queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages)
                    ],
                )

            def invoke(batch: dict[str, Any]) -> tuple[float, int, dict[str, Any]]:
                local.runtime = fresh_runtime()
                start = time.perf_counter()
                out = reconcile.handler(batch, _Context("worker"))
                return time.perf_counter() - start, len(batch["Records"]), out

            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                done = list(pool.map(invoke, batches))
            total = time.perf_counter() - began
    finally:
        for module, original in zip(modules, originals, strict=True):
            module.get_runtime = original  # type: ignore[assignment]
    failures = [f for _, _, out in done for f in out["batchItemFailures"]]
    writes = {
        op: n
        for op, n in calls.counts.items()
        if op.split(":")[1].startswith(("Update", "Register", "Put", "Delete", "Create"))
        and not op.startswith(("dynamodb", "sqs"))
    }
    return {
        "targets": len(policy.targets),
        "places": tick["enqueued"],
        "tick_seconds": round(tick_seconds, 2),
        "worker_invocations": len(done),
        "worker_seconds": {
            "min": round(min(d[0] for d in done), 2),
            "median": round(statistics.median(d[0] for d in done), 2),
            "max": round(max(d[0] for d in done), 2),
        },
        "seconds_per_place": round(statistics.median(d[0] / d[1] for d in done), 2),
        "wall_seconds": round(total, 2),
        "within_tick": total < TICK_SECONDS,
        "calls": dict(sorted(calls.counts.items())),
        "throttled": network_ext.buckets.throttled,
        "scaling_writes": writes,
        "failed_items": len(failures),
    }


class _Context:
    def __init__(self, name: str) -> None:
        self.function_name = f"bench-{name}"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bench-{name}"
        self.aws_request_id = f"bench-{name}-{time.perf_counter_ns()}"

    def get_remaining_time_in_millis(self) -> int:
        return 120_000


def _record(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:work",
        "awsRegion": REGION,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--describe-rate", type=float, default=20.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    places = args.accounts * len(REGIONS)
    per_place = max(1, args.targets // places)
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    with emulated_aws(clock=ManualClock(now - timedelta(days=1))):
        clients = AwsClients()
        names = Stack(default_template()).create_resources(clients)
        began = time.perf_counter()
        seed(clients, args.accounts, per_place)
        seeded = time.perf_counter() - began
        control.set_clock(ManualClock(now))
        settings = Settings(
            names["StateTable"],
            None,
            None,
            None,
            account_id=ACCOUNT,
            region=REGION,
            stack_name=NAME_PREFIX,
            work_queue_url=names["WorkQueue"],
        )
        control.latency = timedelta(milliseconds=args.latency_ms)
        control.rate_limits = {"sagemaker:DescribeInferenceComponent": args.describe_rate}
        full = policy_text(args.accounts, per_place)
        with contextlib.redirect_stdout(
            io.StringIO()
        ):  # the functions' logs and metrics (stdout, as in Lambda) would drown the report
            first = run_tick(
                clients, settings, full, now, args.concurrency
            )  # the first tick also records each target's state once
            runs = [
                run_tick(
                    clients,
                    settings,
                    policy_text(args.accounts, max(1, per_place // share)),
                    now,
                    args.concurrency,
                )
                for share in (4, 2)
            ]
            runs.append(
                run_tick(clients, settings, full, now, args.concurrency)
            )  # a quarter, a half, all of the targets: how it grows
        reset_runtime()
    report = {
        "setup": {
            "places": places,
            "targets": per_place * places,
            "seeded_seconds": round(seeded, 1),
            "latency_ms": args.latency_ms,
            "describe_rate_per_place": args.describe_rate,
            "concurrency": args.concurrency,
            "batch_size": BATCH_SIZE,
        },
        "first_tick": first,
        "runs": runs,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        s = report["setup"]
        print(
            f"{s['targets']:,} targets over {s['places']} account-regions (seeded in {s['seeded_seconds']} s); +{s['latency_ms']:g} ms per call, "
            f"DescribeInferenceComponent at most {s['describe_rate_per_place']:g}/s per account-region, {s['concurrency']} concurrent workers, batches of {s['batch_size']}"
        )
        print(
            f"first tick (records every target's state once): {first['wall_seconds']} s wall, {sum(first['calls'].values()):,} calls, {first['throttled']} throttled"
        )
        print(
            f"{'targets':>8} {'tick s':>7} {'invocations':>11} {'worker s (min/median/max)':>26} {'s/place':>8} {'wall s':>7} {'calls':>7} {'throttled':>9} {'writes':>6}"
        )
        for r in runs:
            w = r["worker_seconds"]
            print(
                f"{r['targets']:>8,} {r['tick_seconds']:>7} {r['worker_invocations']:>11} {w['min']:>8} / {w['median']:>6} / {w['max']:>6} {r['seconds_per_place']:>8} "
                f"{r['wall_seconds']:>7} {sum(r['calls'].values()):>7,} {r['throttled']:>9} {sum(r['scaling_writes'].values()):>6}"
            )
        print(
            "calls at the full size:",
            ", ".join(f"{op} {n:,}" for op, n in runs[-1]["calls"].items()),
        )
        print(
            "within one 5-minute tick:",
            "yes" if runs[-1]["within_tick"] else "NO",
            "| failed work items:",
            runs[-1]["failed_items"],
        )
    return 0 if runs[-1]["within_tick"] and runs[-1]["failed_items"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
