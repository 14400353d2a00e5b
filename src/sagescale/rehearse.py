"""``sagescale rehearse``: the stack's real functions in a closed loop on the emulator, over a trace.

Where ``simulate`` models AWS itself, this runs the deployed code against the emulated AWS,
minute by minute on the emulator's clock, in the order the simulator uses:

1. CloudWatch evaluates every alarm (:mod:`sagescale.emulator.cloudwatch_ext`) on the datapoints
   seen ``metric_delay_minutes`` after their period; each state change is an EventBridge event,
   routed to the alarm function when it matches the template's rule (``AlarmStateChange``), and
   invoked as Lambda invokes asynchronously: a failed invocation is retried after 1 and then 2
   more minutes (the function's ``MaximumRetryAttempts``), then goes to its dead-letter queue.
2. The scheduled reconcile (every ``reconcile_every`` minutes on the UTC clock, as ``rate(5
   minutes)`` fires) runs the reconcile function, and the park functions when a target parks.
3. Application Auto Scaling runs the policies whose alarms are in ALARM (CloudWatch invokes Auto
   Scaling actions once a minute while the alarm stays in ALARM): target tracking and the wake
   step policy (:func:`sagescale.emulator.autoscaling_ext.invoke_policy`).
4. SageMaker serves the minute's requests with the copies serving now (copies start on instances
   with the sim config's start-up times, :mod:`sagescale.emulator.capacity`) and publishes its
   per-minute metrics; no datapoint in a minute without requests (AWS publishes per request).

The bill is the emulator's instance-minutes at the config's price. Deterministic: the trace, the
config and the code decide everything; no thread, no sleep, no wall clock.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.aws.burst import excess_metrics
from core.aws.scaling import component_name
from core.policy import Policy, Target
from core.sim.config import (
    AlarmDef,
    Resolved,
    SimConfig,
    concurrency_per_copy,
    default_alarm,
    latency_ms,
)
from core.sim.results import Progress, StrategyResult

ACCOUNT = "123456789012"
REGION = "us-east-1"

# the simulated metrics, as the CloudWatch metrics SageMaker publishes (name, unit factor)
METRICS: dict[str, tuple[str, float]] = {
    "invocations": ("Invocations", 1.0),
    "no_capacity_failures": ("NoCapacityInvocationFailures", 1.0),
    "invocations_per_copy": ("InvocationsPerCopy", 1.0),
    "latency_ms": ("ModelLatency", 1000.0),  # ModelLatency is in microseconds
}
_COMPARISON = {
    ">": "GreaterThanThreshold",
    ">=": "GreaterThanOrEqualToThreshold",
    "<": "LessThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
}


class RehearsalError(ValueError):
    """A policy or config that cannot be rehearsed; the message says why."""


@dataclass
class FunctionStats:
    """What the functions did: invocations, failures, events sent to the dead-letter queues."""

    invocations: int = 0
    failed: int = 0
    dead_letters: int = 0
    by_function: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class Rehearsal:
    result: StrategyResult
    functions: FunctionStats
    pending_steps: int
    notes: list[str]
    scaling: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.result.as_dict(),
            "invocations": self.functions.invocations,
            "failed_invocations": self.functions.failed,
            "dead_letters": self.functions.dead_letters,
            "pending_steps": self.pending_steps,
            "invocations_by_function": dict(self.functions.by_function),
            "autoscaling": dict(self.scaling),
        }


@dataclass(order=True)
class _Queued:
    at: int  # minute index
    seq: int
    function: str = field(compare=False)
    event: Any = field(compare=False)
    attempt: int = field(compare=False, default=0)


def alarm_metric(definition: AlarmDef, target: Target, per_copy: float) -> dict[str, Any]:
    """``put_metric_alarm`` arguments watching what the sim config's alarm watches on ``target``'s
    component (named exactly)."""
    dims = [{"Name": "InferenceComponentName", "Value": component_name(target)}]
    common: dict[str, Any] = {
        "EvaluationPeriods": definition.evaluation_periods,
        "DatapointsToAlarm": definition.m_of_n[0],
        "ComparisonOperator": _COMPARISON[definition.comparison],
        "TreatMissingData": definition.missing,
        "ActionsEnabled": True,
        "AlarmActions": [],
    }
    period = definition.period * 60
    if definition.metric == "excess_copies":  # what the burst alarm's metric math computes
        return common | {
            "Threshold": definition.threshold,
            "Metrics": excess_metrics(target, per_copy, period),
        }
    if definition.metric not in METRICS:
        raise RehearsalError(
            f"alarm metric {definition.metric!r} has no SageMaker metric to rehearse on (use {', '.join(sorted(METRICS))} or excess_copies)"
        )
    name, factor = METRICS[definition.metric]
    return common | {
        "Namespace": "AWS/SageMaker",
        "MetricName": name,
        "Dimensions": dims,
        "Statistic": definition.stat,
        "Period": period,
        "Threshold": definition.threshold * factor,
    }


class Loop:
    """The closed loop: emulator, stack, functions, clock."""

    def __init__(
        self,
        policy_path: Path,
        policy: Policy,
        name: str,
        start: datetime,
        r: Resolved,
        template: Path | None,
        notes: list[str],
    ) -> None:
        self.policy_path = policy_path
        self.policy = policy
        self.name = name
        self.target: Target = policy.targets[name]
        self.start = start.astimezone(UTC)
        self.r = r
        self.c: SimConfig = r.config
        self.template = template
        self.notes = notes
        self.stats = FunctionStats()
        self.queue: list[_Queued] = []
        self._seq = 0
        self.scaling: dict[str, int] = {}

    # -- set-up -----------------------------------------------------------------------------

    def deploy(self, clients: Any, stack: Any) -> None:
        """Create the target's endpoint and component as a user's deployment has them."""
        from core.bounds import effective_bounds
        from sagescale.seed import seed_target

        c = self.c
        sm = clients.sagemaker
        component = self.target.component or "llm-ic"
        per_instance = self.r.per_instance
        max_instances = max(1, math.ceil(self.target.max / per_instance))
        first = effective_bounds(self.policy, self.name, self.start).min
        self.initial = first
        needs = {
            "NumberOfAcceleratorDevicesRequired": c.per_copy.num_accelerators,
            "NumberOfCpuCoresRequired": c.per_copy.num_cpus,
            "MinMemoryRequiredInMb": c.per_copy.memory,
        }
        seed_target(
            sm,
            self.target,
            copies=max(first, 1),
            instance_type=c.instance_type,
            needs=needs,
            max_instances=max_instances,
        )
        if first == 0:  # CopyCount must be at least 1 at creation: scaled to 0 once it is up
            sm.update_inference_component_runtime_config(
                InferenceComponentName=component, DesiredRuntimeConfig={"CopyCount": 0}
            )
        self.component = component
        mode = self.c.mode if self.target.mode == "auto" else self.target.mode
        self.mode = mode
        if mode == "bounds":
            aas = clients.autoscaling
            resource = f"inference-component/{component}"
            dim = "sagemaker:inference-component:DesiredCopyCount"
            aas.register_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=resource,
                ScalableDimension=dim,
                MinCapacity=first,
                MaxCapacity=self.target.max,
            )
            tt = c.target_tracking
            if tt.scale_in_protection:
                self.notes.append(
                    f"target_tracking.scale_in_protection ({tt.scale_in_protection} min) is a simulator setting Application Auto Scaling does not have; the functions run without it"
                )
            if tt.metric != "invocations_per_copy":
                self.notes.append(
                    "rehearse runs target tracking on InvocationsPerCopy (the emulator executes no high-resolution policy); the config asks for "
                    + tt.metric
                )
            aas.put_scaling_policy(
                PolicyName=f"{component}-invocations",
                ServiceNamespace="sagemaker",
                ResourceId=resource,
                ScalableDimension=dim,
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": c.tt_target
                    if tt.metric == "invocations_per_copy"
                    else 0.7 * c.capacity_per_copy,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
                    },
                    "ScaleOutCooldown": tt.scale_out_cooldown,
                    "ScaleInCooldown": tt.scale_in_cooldown,
                    "DisableScaleIn": tt.disable_scale_in,
                },
            )
        per_copy = (
            self.target.burst.per_copy if self.target.burst is not None else c.capacity_per_copy
        )
        made: set[str] = set()
        for rule in self.target.alarms:
            if rule.alarm in made:
                continue
            made.add(rule.alarm)
            definition = c.alarms.get(rule.alarm) or default_alarm(rule.change, c)
            clients.cloudwatch.put_metric_alarm(
                AlarmName=rule.alarm,
                AlarmDescription="the operator's alarm (rehearsal)",
                **alarm_metric(definition, self.target, per_copy),
            )

    # -- the functions -----------------------------------------------------------------------

    def enqueue(self, at: int, function: str, event: Any, attempt: int = 0) -> None:
        self._seq += 1
        self.queue.append(_Queued(at, self._seq, function, event, attempt))

    def run_due(self, i: int, invoke: Callable[[str, Any], bool], retries: dict[str, int]) -> None:
        due = sorted(q for q in self.queue if q.at <= i)
        self.queue = [q for q in self.queue if q.at > i]
        for q in due:
            ok = invoke(q.function, q.event)
            if ok:
                continue
            if q.attempt < retries.get(q.function, 2):
                wait = (
                    1 if q.attempt == 0 else 2
                )  # Lambda: one minute before the first retry, two before the second
                self.enqueue(i + wait, q.function, q.event, q.attempt + 1)
            else:
                self.stats.dead_letters += 1


def _retries(stack: Any, function_id: str) -> int:
    props = stack.resources[function_id].get("Properties", {})
    return int((props.get("EventInvokeConfig") or {}).get("MaximumRetryAttempts", 2))


def _rule_prefixes(stack: Any) -> list[str]:
    """The alarm-name prefixes of the alarm function's EventBridge rule, with the stack's parameters."""
    props = stack.resources["AlarmFunction"]["Properties"]
    pattern = props["Events"]["AlarmStateChange"]["Properties"]["Pattern"]
    out = []
    for item in pattern["detail"]["alarmName"]:
        prefix = item["prefix"]
        out.append(stack.ref(prefix["Ref"]) if isinstance(prefix, dict) else str(prefix))
    return out


def rehearse(
    policy_path: str | Path,
    name: str,
    start: datetime,
    demand: Sequence[float],
    config: SimConfig,
    *,
    prices: dict[str, float] | None = None,
    template: Path | None = None,
    progress: Progress | None = None,
) -> Rehearsal:
    """Run the stack's functions in a closed loop over ``demand`` (requests per minute from ``start``)."""
    from core.policy import load_policy

    path = Path(policy_path)
    policy = load_policy(path)
    if name not in policy.targets:
        raise RehearsalError(f"unknown target {name!r}")
    target = policy.targets[name]
    if target.resource_kind != "inference_component" or target.selector is not None:
        raise RehearsalError(
            f"target {name}: rehearse runs inference-component targets named exactly (inference_component: NAME)"
        )
    if not policy.place(name).is_home:
        raise RehearsalError(
            f"target {name} lives in a member account; rehearse runs the controller's own account"
        )
    if start.second or start.microsecond:
        raise RehearsalError("the trace must start on a whole minute")
    if any(not d >= 0 for d in demand):
        raise RehearsalError("requests must be non-negative numbers")
    r = Resolved(config, prices)
    notes: list[str] = []
    loop = Loop(path, policy, name, start, r, template, notes)
    saved = {
        k: os.environ.get(k)
        for k in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
            "AWS_ENDPOINT_URL",
        )
    }
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import logging

    loggers = [
        logging.getLogger(n)
        for n in ("sagescale", "sagescale.reconcile", "sagescale.alarms", "sagescale.burst")
    ]
    levels = [lg.level for lg in loggers]
    try:
        return _run(loop, list(demand), progress)
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run(loop: Loop, demand: list[float], progress: Progress | None) -> Rehearsal:  # noqa: C901
    import logging

    from moto.sagemaker.models import sagemaker_backends

    from core.aws.clients import AwsClients
    from core.sim.results import Recorder, epoch_minute
    from handlers.runtime import Runtime, reset_runtime
    from handlers.settings import Settings
    from sagescale.emulator import ManualClock, autoscaling_ext, cloudwatch_ext, mock, sagemaker_ext
    from sagescale.emulator.capacity import StartupModel
    from sagescale.replay import LambdaContext, load_event
    from sagescale.stack import Stack, default_template

    c = loop.c
    stack = Stack(loop.template or default_template())
    clock = ManualClock(loop.start)
    n = len(demand)
    rec = Recorder("policy", n, c.capacity_per_copy)
    logging.getLogger("sagescale").setLevel(logging.ERROR)
    with mock(clock=clock) as emulator:
        clients = AwsClients()
        names = stack.create_resources(clients)
        loop.deploy(clients, stack)
        emulator.startup = StartupModel(
            copy_start=timedelta(minutes=c.copy_start_minutes),
            instance_start=timedelta(minutes=c.instance_start_minutes),
            scale_in=timedelta(minutes=c.scale_in_minutes),
            instance_release=timedelta(minutes=c.instance_idle_minutes),
        )
        sm_backend = sagemaker_backends[ACCOUNT][REGION]
        sagemaker_ext.adopt_placements(sm_backend)
        placement = sagemaker_ext.endpoint_placements(sm_backend)[f"{loop.component}-endpoint"]
        env = dict(stack.function("ReconcileFunction").environment)
        env.update(
            {
                "SAGESCALE_POLICY_FILE": str(loop.policy_path.resolve()),
                "SAGESCALE_POLICY_PARAMETER": "",
                "SAGESCALE_WORK_QUEUE_URL": "",
                "SAGESCALE_TOPIC_ARN": "",
                "SAGESCALE_NOTIFY_ACTIONS": "false",
            }
        )
        env["SAGESCALE_STATE_TABLE"] = names["StateTable"]
        settings = Settings.from_env(env)
        runtime = Runtime(settings, clients, clock=clock)
        reset_runtime(runtime)
        from handlers import alarm as alarm_handler
        from handlers import park as park_handler
        from handlers import reconcile as reconcile_handler
        from handlers import unpark as unpark_handler

        quiet = [
            getattr(m, "logger", None)
            for m in (alarm_handler, park_handler, reconcile_handler, unpark_handler)
        ]
        quiet_levels = [(q, q.log_level) for q in quiet if q is not None]
        for q, _ in quiet_levels:
            q.setLevel(logging.ERROR)  # the functions' log lines: not on the rehearsal's terminal
        handlers = {
            "AlarmFunction": alarm_handler.handler,
            "ReconcileFunction": reconcile_handler.handler,
            "ParkFunction": park_handler.handler,
            "UnparkFunction": unpark_handler.handler,
        }
        tick = (
            load_event(Path(__file__).resolve().parents[2] / "events" / "reconcile-tick.json")
            if (Path(__file__).resolve().parents[2] / "events").is_dir()
            else {"source": "aws.scheduler", "action": "reconcile"}
        )
        retries = {fid: _retries(stack, fid) for fid in handlers}
        prefixes = _rule_prefixes(stack)
        parks = any(t.park for t in loop.policy.targets.values())

        def invoke(function: str, event: Any) -> bool:
            loop.stats.invocations += 1
            loop.stats.by_function[function] = loop.stats.by_function.get(function, 0) + 1
            spec = stack.function(function)
            context = LambdaContext(stack.physical_name(function), spec.memory, spec.timeout)
            try:
                with (
                    redirect_stdout(io.StringIO()),
                    warnings.catch_warnings(),
                ):  # EMF metrics and log lines the function prints
                    warnings.simplefilter("ignore")
                    handlers[function](event, context)
            except Exception as exc:  # Lambda reports it and retries the asynchronous invocation
                loop.stats.failed += 1
                if len(loop.stats.errors) < 20:
                    loop.stats.errors.append(f"{function}: {type(exc).__name__}: {exc}")
                return False
            return True

        base = epoch_minute(loop.start)
        serving_dims = [{"Name": "InferenceComponentName", "Value": loop.component}]
        for i, d in enumerate(demand):
            now = loop.start + timedelta(minutes=i)
            clock.set(now)
            emulator.settle()
            evaluation = cloudwatch_ext.evaluate(now, timedelta(minutes=c.metric_delay_minutes))
            for event in evaluation.events:
                alarm_name = event["detail"]["alarmName"]
                if any(alarm_name.startswith(p) for p in prefixes):
                    loop.enqueue(i, "AlarmFunction", event)
            loop.run_due(i, invoke, retries)
            if (base + i) % c.reconcile_every == 0 or i == 0:
                loop.enqueue(i, "ReconcileFunction", tick)
                if parks:
                    loop.enqueue(i, "ParkFunction", tick)
                    loop.enqueue(i, "UnparkFunction", tick)
                loop.run_due(i, invoke, retries)
            # CloudWatch invokes Auto Scaling actions once a minute while their alarm is in ALARM
            for alarm, action in evaluation.autoscaling:
                outcome = autoscaling_ext.invoke_policy(alarm, action, now)
                key = outcome.split(" ")[0].rstrip(":")
                loop.scaling[key] = loop.scaling.get(key, 0) + 1
            emulator.settle()
            component = sagemaker_ext.inference_components(sm_backend).get(loop.component)
            desired = int(component.desired_copy_count or 0) if component is not None else 0
            ready = int(component.current_copy_count or 0) if component is not None else 0
            rec.count(desired)
            cap = ready * c.capacity_per_copy
            served = min(d, cap)
            rec.served[i] = served
            rec.capacity[i] = cap
            rec.copies[i] = desired
            if d - served > 1e-9:
                rec.unmet += 1
            rec.instance_minutes += len(placement.instances)
            rec.copy_minutes += desired
            _publish(now, d, ready, serving_dims, c)
            if progress is not None and i % 60 == 0:
                progress(i, n)
        if progress is not None:
            progress(n, n)
        result = rec.result(demand, loop.r.price)
        from core.aws.state import StateStore

        state = StateStore(names["StateTable"], clients.dynamodb).get(loop.name)
        pending = (1 if state.pending is not None else 0) + (
            1 if state.pending_step is not None else 0
        )
        reset_runtime()
        for q, level in quiet_levels:
            q.setLevel(level)
    result.params = {
        "mode": loop.mode,
        "min": loop.target.min,
        "max": loop.target.max,
        "initial": loop.initial,
    }
    loop.notes += [f"function error: {e}" for e in loop.stats.errors[:5]]
    return Rehearsal(result, loop.stats, pending, loop.notes, loop.scaling)


def _publish(
    now: datetime, demand: float, ready: int, dims: list[dict[str, str]], c: SimConfig
) -> None:
    """The minute's SageMaker metrics, as the endpoint publishes them: nothing without requests."""
    from sagescale.emulator.cloudwatch_ext import put_metric

    if demand <= 0:
        return
    if ready == 0:
        put_metric(
            ACCOUNT, REGION, "AWS/SageMaker", "NoCapacityInvocationFailures", dims, demand, now
        )
        return
    put_metric(ACCOUNT, REGION, "AWS/SageMaker", "Invocations", dims, demand, now)
    put_metric(ACCOUNT, REGION, "AWS/SageMaker", "InvocationsPerCopy", dims, demand / ready, now)
    put_metric(
        ACCOUNT,
        REGION,
        "AWS/SageMaker",
        "ModelLatency",
        dims,
        latency_ms(demand, ready, c) * 1000,
        now,
    )
    concurrency = concurrency_per_copy(demand, ready, c)
    for k in range(6):  # 10-second datapoints
        put_metric(
            ACCOUNT,
            REGION,
            "AWS/SageMaker",
            "ConcurrentRequestsPerCopy",
            dims,
            concurrency,
            now + timedelta(seconds=10 * k),
        )
