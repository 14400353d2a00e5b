"""``sagescale demo``: a scripted Thanksgiving week on the embedded emulator.

The reconcile Lambda handler itself runs every 5 minutes of emulated time against
an emulated inference component (``llm-ic`` on an ml.g5.12xlarge endpoint), with
the example policy: idle nights, Thanksgiving and Black Friday pre-scaled 2 hours
ahead, an operator override, and Application Auto Scaling taking over (bounds mode).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, cast
from zoneinfo import ZoneInfo

from core.bounds import Override
from core.clients import AwsClients
from core.policy import load_policy

EXAMPLE = Path(__file__).resolve().parent.parent / "policy" / "policy.yaml"
TICK = {"source": "sagescale.schedule", "action": "reconcile"}


@dataclass
class Row:
    at: datetime
    event: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "event": self.event, "detail": self.detail}


@dataclass
class DemoResult:
    rows: list[Row] = field(default_factory=list)
    runs: int = 0
    writes: int = 0


def run_demo(out: TextIO, *, as_json: bool = False, policy_path: Path = EXAMPLE) -> DemoResult:
    """Run the scripted week and print its timeline; returns what happened."""
    from handlers import alarm as alarm_handler
    from handlers import reconcile
    from handlers.runtime import Runtime, reset_runtime
    from handlers.settings import Settings
    from sagescale.emulator import ManualClock, start_server
    from sagescale.replay import LambdaContext, patched_environ
    from sagescale.samples import alarm_sample
    from sagescale.seed import seed_target
    from sagescale.stack import REGION, Stack, default_template

    policy = load_policy(policy_path)
    zone = ZoneInfo(policy.timezone)
    target = policy.targets["llm"]
    start = datetime(2026, 11, 25, 18, 0, tzinfo=zone)
    clock = ManualClock(start)
    result = DemoResult()
    creds = {"AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"), "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"), "AWS_DEFAULT_REGION": REGION}

    def note(event: str, detail: str) -> None:
        row = Row(clock().astimezone(zone), event, detail)
        result.rows.append(row)
        if not as_json:
            print(f"{row.at:%a %m-%d %H:%M}  {event:<12} {detail}", file=out, flush=True)

    with start_server() as server, patched_environ(creds):
        server_control = _server_control()
        server_control.reset()
        server_control.set_clock(clock)
        server_control.update_delay = timedelta(minutes=2)
        clients = AwsClients(endpoint_url=server.url)
        stack = Stack(default_template())
        names = stack.create_resources(clients)
        seed_target(clients.sagemaker, target, copies=1)
        settings = Settings(state_table=names["StateTable"], policy_file=policy_path, policy_parameter=None, topic_arn=names.get("NotificationTopic"))
        runtime = Runtime(settings, clients, clock=clock)
        reset_runtime(runtime)
        reconcile.logger.setLevel(logging.WARNING)
        alarm_handler.logger.setLevel(logging.WARNING)
        if not as_json:
            print(f"sagescale demo: policy {policy_path.name}, target llm = inference component {target.inference_component}, emulator {server.url}", file=out)
            print("each reconcile is the Lambda handler on a scheduler tick; SageMaker updates take 2 emulated minutes\n", file=out)
        note("start", f"{_copies(clients, target.inference_component)}; policy: {_plan(policy, clock())}")

        def alarm(sample: str, what: str, **change: str) -> Callable[[], None]:
            def run() -> None:
                at = clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
                doc = alarm_sample(sample, at=change.get("at", at), alarm=change.get("alarm"))
                response = alarm_handler.handler(doc, cast(Any, LambdaContext("sagescale-AlarmFunction", 256, 60)))
                if response["alarms"][0]["duplicate"]:
                    note("alarm", f"{what}: a duplicate delivery, already handled; nothing written  [{_copies(clients, target.inference_component)}]")
                    return
                for step in response["alarms"][0]["targets"] or [{"outcome": "ignored"}]:
                    result.writes += step["outcome"] == "applied"
                    note("alarm", f"{what}: {_describe_step(step)}  [{_copies(clients, target.inference_component)}]")
            return run

        first_latency = datetime(2026, 11, 27, 15, 0, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        scripted: dict[datetime, Callable[[], None]] = {
            datetime(2026, 11, 25, 21, 10, tzinfo=zone): alarm("alarm-wake.json", "a request hits 0 copies, sagescale-wake-llm fires"),
            datetime(2026, 11, 27, 10, 0, tzinfo=zone): alarm("alarm-eventbridge-alarm.json", "llm-latency-high ALARM (EventBridge)", at=first_latency),
            datetime(2026, 11, 27, 10, 1, tzinfo=zone): alarm("alarm-sns-alarm.json", "the same state change again, by SNS", at=first_latency),
            datetime(2026, 11, 27, 11, 0, tzinfo=zone): alarm("alarm-eventbridge-alarm.json", "llm-invocations-low ALARM", alarm="llm-invocations-low"),
            datetime(2026, 11, 27, 13, 55, tzinfo=zone): lambda: _deploy(clients, server_control, target.inference_component or "", note),
            datetime(2026, 11, 27, 14, 0, tzinfo=zone): lambda: _override(runtime, clock, note),
            datetime(2026, 11, 27, 16, 30, tzinfo=zone): lambda: _register_scalable_target(clients, target.inference_component or "", note),
        }
        end = datetime(2026, 11, 28, 0, 30, tzinfo=zone)
        try:
            while clock() <= end:
                tick = clock()
                for when in sorted(w for w in scripted if tick <= w < tick + timedelta(minutes=5)):
                    clock.set(when)
                    scripted[when]()
                clock.set(tick)
                response = reconcile.handler(dict(TICK), cast(Any, LambdaContext("sagescale-ReconcileFunction", 256, 120)))
                result.runs += 1
                for name, state in response["wake_alarms"].items():
                    if state != "ok":
                        note("wake alarm", f"{name}: sagescale-wake-{name} {state} (NoCapacityInvocationFailures >= 1 in 1 minute)")
                for name, rec in response["targets"].items():
                    if rec["outcome"] in ("applied", "deferred", "error"):
                        result.writes += rec["outcome"] == "applied"
                        note(rec["outcome"], _describe(name, rec) + f"  [{_copies(clients, target.inference_component)}]")
                clock.set(tick + timedelta(minutes=5))
        finally:
            reset_runtime()
            server_control.reset()
    if as_json:
        print(json.dumps({"runs": result.runs, "writes": result.writes, "timeline": [r.as_dict() for r in result.rows]}, indent=2), file=out)
    else:
        print(f"\n{result.runs} reconcile runs, {result.writes} writes; every other run changed nothing and wrote nothing.", file=out)
    return result


def _server_control() -> Any:
    from sagescale.emulator import control

    return control


def _plan(policy: Any, now: datetime) -> str:
    from core.bounds import effective_bounds

    b = effective_bounds(policy, "llm", now)
    return f"min {b.min} max {b.max} ({', '.join(b.reasons)})"


def _copies(clients: AwsClients, ic: str | None) -> str:
    desc = clients.sagemaker.describe_inference_component(InferenceComponentName=ic or "")
    rc = desc.get("RuntimeConfig", {})
    return f"{desc['InferenceComponentStatus']}, copies desired {rc.get('DesiredCopyCount')} current {rc.get('CurrentCopyCount')}"


def _describe(name: str, rec: dict[str, Any]) -> str:
    reasons = ", ".join(rec["reasons"])
    if rec["action"] == "set_count" or (rec["outcome"] == "deferred" and "to" in rec):
        return f"{name}: copies {rec['desired']} -> {rec['to']} ({reasons})"
    if "to_bounds" in rec:
        tb = rec["to_bounds"]
        return f"{name}: scalable target min/max -> {tb['min']}/{tb['max']} ({reasons})"
    return f"{name}: {rec['action']} ({reasons}) {'; '.join(rec.get('notes', []))}"


def _deploy(clients: AwsClients, emulator: Any, ic: str, note: Callable[[str, str], None]) -> None:
    """A model deployment that keeps the inference component Updating for 12 minutes."""
    spec = clients.sagemaker.describe_inference_component(InferenceComponentName=ic)["Specification"]
    emulator.update_delay = timedelta(minutes=12)
    clients.sagemaker.update_inference_component(
        InferenceComponentName=ic,
        Specification={"ModelName": spec.get("ModelName", ""), "ComputeResourceRequirements": spec["ComputeResourceRequirements"]},
    )
    emulator.update_delay = timedelta(minutes=2)
    note("deploy", "team deploys a new model version: llm-ic is Updating for 12 minutes")


def _describe_step(step: dict[str, Any]) -> str:
    if step["outcome"] == "ignored":
        return "no rule names it; ignored"
    if step["outcome"] == "applied" and "to" in step:
        return f"copies {step['desired']} -> {step['to']} ({', '.join(step['reasons'])})"
    if step["outcome"] == "applied" and "to_bounds" in step:
        return f"scalable target min -> {step['to_bounds']['min']} ({', '.join(step['reasons'])})"
    if step["outcome"] == "duplicate":
        return "already applied: acts once"
    return f"{step['outcome']}{': ' + step['note'] if step.get('note') else ''}"


def _override(runtime: Any, clock: Callable[[], datetime], note: Callable[[str, str], None]) -> None:
    until = clock() + timedelta(hours=1)
    runtime.store.set_override("llm", Override(min=8, until=until, by="alice", why="load test"))
    note("override", f"operator: llm min 8 until {until:%H:%M} (load test)")


def _register_scalable_target(clients: AwsClients, ic: str, note: Callable[[str, str], None]) -> None:
    clients.autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"inference-component/{ic}",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        MinCapacity=1,
        MaxCapacity=4,
    )
    note("autoscaling", "team registers an Application Auto Scaling target (1..4): sagescale switches to bounds mode")
