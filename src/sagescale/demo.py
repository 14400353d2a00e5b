"""``sagescale demo``: a scripted Thanksgiving week on the embedded emulator.

The reconcile and alarm Lambda handlers themselves run against an emulated inference
component (``llm-ic`` on an ml.g5.12xlarge endpoint) with the example policy: reconcile on
every 5-minute tick of emulated time, alarms delivered in the shapes AWS sends. Scenes:
idle nights, a wake from zero, Thanksgiving and Black Friday pre-scaled 2 hours ahead, a
latency alarm delivered twice, a scale-in alarm, an override deferred by a deployment,
Application Auto Scaling taking over (bounds mode), and the hourly janitor marking a
forgotten test endpoint and deleting it, with a snapshot, after the grace period.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, cast
from zoneinfo import ZoneInfo

from core.alarms import wake_alarm_name
from core.aws.clients import AwsClients
from core.bounds import Override, effective_bounds
from core.policy import Policy, load_policy, loads_policy
from sagescale.stack import NAME_PREFIX

EXAMPLE = Path(__file__).resolve().parent.parent / "policy" / "policy.yaml"
TICK = {"source": "sagescale.schedule", "action": "reconcile"}
DEMO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


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


def _stamp(when: datetime) -> str:
    """An alarm state-change time as CloudWatch writes it."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class DemoWeek:
    """The emulated world of the demo and its scenes; every AWS call goes through the handlers' code."""

    def __init__(self, policy: Policy, policy_path: Path, url: str, out: TextIO | None) -> None:
        from handlers.runtime import Runtime, reset_runtime
        from handlers.settings import Settings
        from sagescale.emulator import ManualClock, control
        from sagescale.seed import seed_target
        from sagescale.stack import ACCOUNT, NAME_PREFIX, REGION, Stack, default_template

        self.policy = policy
        self.zone = ZoneInfo(policy.timezone)
        self.target = policy.targets["llm"]
        self.ic = self.target.component or ""
        self.out = out
        self.result = DemoResult()
        self.clock = ManualClock(datetime(2026, 11, 25, 18, 0, tzinfo=self.zone))
        self.emulator = control
        control.reset()
        control.set_clock(self.clock)
        control.update_delay = timedelta(minutes=2)
        self.clients = AwsClients(endpoint_url=url)
        names = Stack(default_template()).create_resources(self.clients)
        # a test endpoint someone forgot on Monday: one ml.g5.12xlarge, never called since
        self.clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=self.zone))
        forgotten = loads_policy(
            "version: 1\ntargets:\n  t: {endpoint: llm-test-forgotten, min: 1, max: 1}\n"
        ).targets["t"]
        seed_target(self.clients.sagemaker, forgotten)
        self.clock.set(datetime(2026, 11, 25, 18, 0, tzinfo=self.zone))
        seed_target(self.clients.sagemaker, self.target, copies=1)
        settings = Settings(
            names["StateTable"],
            policy_path,
            None,
            names.get("NotificationTopic"),
            account_id=ACCOUNT,
            region=REGION,
            stack_name=NAME_PREFIX,
        )
        self.runtime = Runtime(settings, self.clients, clock=self.clock)
        reset_runtime(self.runtime)

    # -- output ----------------------------------------------------------------------

    def note(self, event: str, detail: str) -> None:
        row = Row(self.clock().astimezone(self.zone), event, detail)
        self.result.rows.append(row)
        if self.out is not None:
            print(f"{row.at:%a %m-%d %H:%M}  {event:<12} {detail}", file=self.out, flush=True)

    def copies(self) -> str:
        desc = self.clients.sagemaker.describe_inference_component(InferenceComponentName=self.ic)
        rc = desc.get("RuntimeConfig", {})
        return f"[{desc['InferenceComponentStatus']}, copies desired {rc.get('DesiredCopyCount')} current {rc.get('CurrentCopyCount')}]"

    # -- the handlers ------------------------------------------------------------------

    def reconcile(self) -> None:
        from handlers import reconcile
        from sagescale.replay import LambdaContext

        response = reconcile.handler(
            dict(TICK), cast(Any, LambdaContext("sagescale-ReconcileFunction", 256, 120))
        )
        self.result.runs += 1
        for name, state in response["wake_alarms"].items():
            if state != "ok":
                self.note(
                    "wake alarm",
                    f"{name}: {wake_alarm_name(name, NAME_PREFIX)} {state} (NoCapacityInvocationFailures >= 1 in 1 minute)",
                )
        for name, rec in response["targets"].items():
            if rec["outcome"] in ("applied", "deferred", "error"):
                self.result.writes += rec["outcome"] == "applied"
                self.note(rec["outcome"], f"{_describe_decision(name, rec)}  {self.copies()}")

    def alarm(
        self, sample: str, what: str, *, at: datetime | None = None, alarm: str | None = None
    ) -> Callable[[], None]:
        """A scene: an alarm state change, as ``events/SAMPLE`` shapes it, reaches the alarm function."""

        def scene() -> None:
            from handlers import alarm as alarm_handler
            from sagescale.replay import LambdaContext
            from sagescale.samples import alarm_sample

            doc = alarm_sample(sample, at=_stamp(at or self.clock()), alarm=alarm)
            response = alarm_handler.handler(
                doc, cast(Any, LambdaContext("sagescale-AlarmFunction", 256, 60))
            )["alarms"][0]
            if response["duplicate"]:
                self.note(
                    "alarm",
                    f"{what}: a duplicate delivery, already handled; nothing written  {self.copies()}",
                )
                return
            for step in response["targets"] or [{"outcome": "ignored"}]:
                self.result.writes += step["outcome"] == "applied"
                self.note("alarm", f"{what}: {_describe_step(step)}  {self.copies()}")

        return scene

    def janitor(self) -> None:
        """The hourly janitor, applying (the demo's stand-in for ``dry_run: false``)."""
        from core.aws.janitor import JanitorActions, run_janitor

        actions = JanitorActions(
            self.runtime.snapshot_clients,
            self.runtime.store,
            self.runtime.notify,
            sleep=lambda _s: None,
        )
        result = run_janitor(self.policy, self.clock(), self.runtime.fleet, actions)
        for verdict in result.verdicts:
            if verdict.action in ("mark", "delete", "unmark"):
                self.result.writes += 1
                self.note(
                    "janitor",
                    f"{verdict.endpoint}: {verdict.action} ({'; '.join(verdict.reasons)}) -> {result.done.get(verdict.endpoint, '')}",
                )

    # -- other actors ----------------------------------------------------------------------

    def deploy(self) -> None:
        """A model deployment that keeps the inference component Updating for 12 minutes."""
        spec = self.clients.sagemaker.describe_inference_component(InferenceComponentName=self.ic)[
            "Specification"
        ]
        self.emulator.update_delay = timedelta(minutes=12)
        self.clients.sagemaker.update_inference_component(
            InferenceComponentName=self.ic,
            Specification={
                "ModelName": spec.get("ModelName", ""),
                "ComputeResourceRequirements": spec["ComputeResourceRequirements"],
            },
        )
        self.emulator.update_delay = timedelta(minutes=2)
        self.note("deploy", "team deploys a new model version: llm-ic is Updating for 12 minutes")

    def reject(self) -> None:
        """A request at 0 copies: SageMaker counts it in NoCapacityInvocationFailures (what wakes the
        target, and what keeps reconcile from releasing the copy it wakes for the next 15 minutes)."""
        self.clients.cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "NoCapacityInvocationFailures",
                    "Dimensions": [{"Name": "InferenceComponentName", "Value": self.ic}],
                    "Value": 1.0,
                    "Timestamp": self.clock(),
                },
            ],
        )

    def override(self) -> None:
        until = self.clock() + timedelta(hours=1)
        self.runtime.store.set_override(
            "llm", Override(min=8, until=until, by="alice", why="load test")
        )
        self.note(
            "override", f"operator: llm min 8 until {until.astimezone(self.zone):%H:%M} (load test)"
        )

    def register_scalable_target(self) -> None:
        self.clients.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=f"inference-component/{self.ic}",
            ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
            MinCapacity=1,
            MaxCapacity=4,
        )
        self.note(
            "autoscaling",
            "team registers an Application Auto Scaling target (1..4): sagescale switches to bounds mode",
        )

    # -- the week ------------------------------------------------------------------------

    def scenes(self) -> dict[datetime, Callable[[], None]]:
        def local(day: int, hour: int, minute: int = 0) -> datetime:
            return datetime(2026, 11, day, hour, minute, tzinfo=self.zone)

        latency_change = local(27, 10)
        return {
            local(25, 21, 9): self.reject,
            local(25, 21, 10): self.alarm(
                "alarm-wake.json",
                f"a request hits 0 copies, {wake_alarm_name('llm', NAME_PREFIX)} fires",
            ),
            latency_change: self.alarm(
                "alarm-eventbridge-alarm.json",
                "llm-latency-high ALARM (EventBridge)",
                at=latency_change,
            ),
            local(27, 10, 1): self.alarm(
                "alarm-sns-alarm.json", "the same state change again, by SNS", at=latency_change
            ),
            local(27, 11): self.alarm(
                "alarm-eventbridge-alarm.json",
                "llm-invocations-low ALARM",
                alarm="llm-invocations-low",
            ),
            local(27, 13, 55): self.deploy,
            local(27, 14): self.override,
            local(27, 16, 30): self.register_scalable_target,
        }

    def play(self, end: datetime) -> DemoResult:
        b = effective_bounds(self.policy, "llm", self.clock())
        self.note(
            "start", f"{self.copies()}; policy: min {b.min} max {b.max} ({', '.join(b.reasons)})"
        )
        scenes = self.scenes()
        while self.clock() <= end:
            tick = self.clock()
            if tick in scenes:  # a scene at the tick happens before that tick's runs
                scenes[tick]()
            self.reconcile()
            if tick.minute == 0:
                self.janitor()
            for when in sorted(w for w in scenes if tick < w < tick + timedelta(minutes=5)):
                self.clock.set(when)  # time only moves forward
                scenes[when]()
            self.clock.set(tick + timedelta(minutes=5))
        return self.result


def run_demo(out: TextIO, *, as_json: bool = False, policy_path: Path = EXAMPLE) -> DemoResult:
    """Play the scripted week and print its timeline; returns what happened."""
    from handlers import alarm, reconcile
    from handlers.runtime import reset_runtime
    from sagescale.emulator import control, start_server
    from sagescale.replay import patched_environ

    policy = load_policy(policy_path)
    with start_server() as server, patched_environ(DEMO_CREDENTIALS):
        reconcile.logger.setLevel(logging.WARNING)
        alarm.logger.setLevel(logging.WARNING)
        logging.getLogger("sagescale.janitor").setLevel(logging.WARNING)
        if not as_json:
            print(
                f"sagescale demo: policy {policy_path.name}, target llm = inference component llm-ic, emulator {server.url}",
                file=out,
            )
            print(
                "reconcile is the Lambda handler on each 5-minute scheduler tick; SageMaker updates take 2 emulated minutes",
                file=out,
            )
            print(f"times are the policy's zone, {policy.timezone}\n", file=out)
        week = DemoWeek(policy, policy_path, server.url, None if as_json else out)
        try:
            with (
                redirect_stdout(io.StringIO()),
                warnings.catch_warnings(),
            ):  # EMF metrics are log output, not the timeline
                warnings.simplefilter(
                    "ignore", UserWarning
                )  # "no application metrics" on quiet ticks
                result = week.play(
                    end=datetime(2026, 11, 28, 0, 30, tzinfo=ZoneInfo(policy.timezone))
                )
        finally:
            reset_runtime()
            control.reset()
    if as_json:
        print(
            json.dumps(
                {
                    "runs": result.runs,
                    "writes": result.writes,
                    "timeline": [r.as_dict() for r in result.rows],
                },
                indent=2,
            ),
            file=out,
        )
    else:
        print(
            f"\n{result.runs} reconcile runs, {result.writes} writes; every other run changed nothing and wrote nothing.",
            file=out,
        )
    return result


def _describe_decision(name: str, rec: dict[str, Any]) -> str:
    reasons = ", ".join(rec["reasons"])
    if "to" in rec:
        released = [n for n in rec.get("notes", []) if n.startswith("released:")]
        return f"{name}: copies {rec['desired']} -> {rec['to']} ({reasons}{'; ' + released[0] if released else ''})"
    if "to_bounds" in rec:
        tb = rec["to_bounds"]
        return f"{name}: scalable target min/max -> {tb['min']}/{tb['max']} ({reasons})"
    return f"{name}: {rec['action']} ({reasons}) {'; '.join(rec.get('notes', []))}"


def _describe_step(step: dict[str, Any]) -> str:
    if step["outcome"] == "ignored":
        return "no rule names it; ignored"
    if step["outcome"] == "applied" and "to" in step:
        return f"copies {step['desired']} -> {step['to']} ({', '.join(step['reasons'])})"
    if step["outcome"] == "applied" and "to_bounds" in step:
        return f"scalable target min -> {step['to_bounds']['min']} ({', '.join(step['reasons'])})"
    return f"{step['outcome']}{': ' + step['note'] if step.get('note') else ''}"
