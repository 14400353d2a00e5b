"""Parameters of the policy simulator that a policy file does not hold. Pure.

The policy says *when* capacity may move; the simulator also needs to know what a
copy can serve, where it runs, what it costs, how fast it starts and how the
CloudWatch alarms named by the policy's rules are defined. Those come from a small
YAML file (``--sim-config``) validated here, every field with a documented default;
the policy schema is never extended. ``docs/simulator.md`` is the user reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from core.policy import format_location
from core.sim.base import SimConfigError, SimModel
from core.sim.packing import CopyNeeds, InstanceSpec, copies_per_instance, instance_table
from core.sim.prices import parse_prices, price_table

Metric = Literal[
    "invocations",
    "invocations_per_copy",
    "latency_ms",
    "utilization",
    "no_capacity_failures",
    "excess_copies",
]
"""``excess_copies``: demand / per_copy minus the serving copies, the burst alarm's expression
(per_copy: the target's ``burst.per_copy``, else ``capacity_per_copy``)."""


Statistic = Literal["Sum", "Average", "Maximum", "Minimum"]


Missing = Literal["missing", "notBreaching", "breaching", "ignore"]


DEFAULT_STATISTIC: dict[str, Statistic] = {
    "invocations": "Sum",
    "no_capacity_failures": "Sum",
    "invocations_per_copy": "Average",
    "latency_ms": "Average",
    "utilization": "Average",
    "excess_copies": "Maximum",
}


class AlarmDef(SimModel):
    """A CloudWatch metric alarm on one of the simulated metrics."""

    metric: Metric = Field(description="Simulated metric the alarm watches.")
    statistic: Statistic | None = Field(
        default=None,
        description="Aggregation over a period; default Sum for counts, Average otherwise.",
    )
    comparison: Literal[">", ">=", "<", "<="] = Field(description="Comparison with the threshold.")
    threshold: float = Field(description="Threshold of the comparison.")
    period: int = Field(default=1, ge=1, le=60, description="Period in minutes.")
    evaluation_periods: int = Field(default=1, ge=1, le=60, description="Periods looked at.")
    datapoints_to_alarm: int | None = Field(
        default=None,
        ge=1,
        description="Breaching periods (of evaluation_periods) that raise the alarm; default all.",
    )
    missing: Missing = Field(default="missing", description="TreatMissingData.")

    @model_validator(mode="after")
    def _check(self) -> AlarmDef:
        if (
            self.datapoints_to_alarm is not None
            and self.datapoints_to_alarm > self.evaluation_periods
        ):
            raise ValueError("datapoints_to_alarm is above evaluation_periods")
        return self

    @property
    def stat(self) -> Statistic:
        return self.statistic or DEFAULT_STATISTIC[self.metric]

    @property
    def m_of_n(self) -> tuple[int, int]:
        return (self.datapoints_to_alarm or self.evaluation_periods, self.evaluation_periods)


class TargetTracking(SimModel):
    """Application Auto Scaling target tracking, on invocations per copy or on concurrency."""

    metric: Literal["invocations_per_copy", "concurrent_requests_per_copy"] = Field(
        default="invocations_per_copy",
        description="SageMakerInferenceComponentInvocationsPerCopy (1-minute datapoints, visible a metric delay later), or "
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution (10-second datapoints: its alarms see a minute at once, without the delay).",
    )
    target: float | None = Field(
        default=None,
        gt=0,
        description="Target per copy: invocations per minute (default 70 % of capacity_per_copy), or concurrent requests (default: the concurrency at 70 % load).",
    )
    scale_out_cooldown: int = Field(
        default=200, ge=0, description="Seconds after a scale-out before the next one."
    )
    scale_in_cooldown: int = Field(
        default=200, ge=0, description="Seconds after a scale-in before the next one."
    )
    scale_in_protection: int = Field(
        default=0,
        ge=0,
        description="Minutes after any scale-out in which no scale-in happens (AAS has none; 0).",
    )
    disable_scale_in: bool = Field(
        default=False, description="The policy's DisableScaleIn: it never scales in."
    )
    out_datapoints: int | None = Field(
        default=None,
        ge=1,
        description="Minutes above target that raise the scale-out alarm (AAS: 3 of 3 one-minute datapoints; with the high-resolution metric 3 of 3 ten-second ones: 1 minute).",
    )
    in_datapoints: int = Field(
        default=15,
        ge=1,
        description="1-minute datapoints below 90 % of target that raise the scale-in alarm (AAS: 15 of 15).",
    )


class Baseline(SimModel):
    """The ``target_tracking`` baseline: a scalable target with only a target-tracking policy.

    Its limits are the target's own unless given here, so that a comparison measures the
    controller and not the cap (the minimum is at least 1: target tracking cannot scale out
    from zero copies, which publish no invocations per copy)."""

    min: int | None = Field(
        default=None, ge=0, description="Minimum copies; default the target's min (at least 1)."
    )
    max: int | None = Field(
        default=None, ge=1, description="Maximum copies; default the target's max."
    )
    scale_out_cooldown: int = Field(default=200, ge=0, description="Seconds.")
    scale_in_cooldown: int = Field(default=200, ge=0, description="Seconds.")
    disable_scale_in: bool = Field(default=False, description="DisableScaleIn.")


class TuneRanges(SimModel):
    """``sagescale tune``'s search ranges, narrowed (each ``[low, high]``, inclusive; omitted: the default range)."""

    min: tuple[int, int] | None = Field(
        default=None, description="The target's min (default: 0 or 1 to max)."
    )
    floor_min: tuple[int, int] | None = Field(
        default=None, description="Each floor's min (default: 1 to max)."
    )
    floor_lead: tuple[int, int] | None = Field(
        default=None, description="Each floor's lead in minutes (default: 0 to 240, in 15s)."
    )
    alarm_change: tuple[int, int] | None = Field(
        default=None, description="Each alarm rule's change, in copies (default: 1 to max)."
    )
    alarm_hold: tuple[int, int] | None = Field(
        default=None, description="Each alarm rule's hold in minutes (default: 5 to 120, in 5s)."
    )
    cooldown_out: tuple[int, int] | None = Field(
        default=None, description="Scale-out cooldown in seconds (default: 0 to 600, in 30s)."
    )
    cooldown_in: tuple[int, int] | None = Field(
        default=None, description="Scale-in cooldown in seconds (default: 0 to 1800, in 60s)."
    )
    keep_idle: bool | None = Field(
        default=None,
        description="true: every idle window is kept; false: every one dropped; default: searched.",
    )
    headroom_copies: tuple[int, int] | None = Field(
        default=None,
        description="Each headroom window's copies; 0 drops the window (default: 0 to max).",
    )
    burst: bool | None = Field(
        default=None,
        description="true: always a burst rule (its per_copy and panic searched); false: none; default: searched.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> TuneRanges:
        for name in (
            "min",
            "floor_min",
            "floor_lead",
            "alarm_change",
            "alarm_hold",
            "cooldown_out",
            "cooldown_in",
            "headroom_copies",
        ):
            value = getattr(self, name)
            if value is not None and not 0 <= value[0] <= value[1]:
                raise ValueError(f"{name}: [low, high] with 0 <= low <= high, got {list(value)}")
        return self


class SimConfig(SimModel):
    """Everything the simulator needs besides the policy and the trace."""

    capacity_per_copy: float = Field(
        default=1300, gt=0, description="Requests per minute one copy serves at full load."
    )
    instance_type: str = Field(
        default="ml.g5.12xlarge", description="Instance type the inference component runs on."
    )
    per_copy: CopyNeeds = Field(
        default_factory=CopyNeeds, description="Per-copy needs (ResourceRequirements)."
    )
    instance: InstanceSpec | None = Field(
        default=None, description="Resources of instance_type; default from the shipped table."
    )
    price_per_hour: float | None = Field(
        default=None, gt=0, description="USD per instance-hour; default from the dated price table."
    )
    copy_start_minutes: int = Field(
        default=3,
        ge=0,
        description="Minutes until a new copy serves on a running instance (model load).",
    )
    instance_start_minutes: int = Field(
        default=10,
        ge=0,
        description="Minutes until a copy serves on a new instance (launch, image pull, model load).",
    )
    scale_in_minutes: int = Field(
        default=1,
        ge=0,
        description="Minutes a copy-count decrease keeps the component Updating (no other change meanwhile).",
    )
    instance_idle_minutes: int = Field(
        default=0,
        ge=0,
        description="Minutes an instance without copies is kept (and billed) before managed instance scaling removes it.",
    )
    metric_delay_minutes: int = Field(
        default=1,
        ge=0,
        description="Minutes after a period ends before its datapoint is visible to alarms.",
    )
    reconcile_every: int = Field(
        default=5,
        ge=1,
        description="Minutes between scheduled reconcile runs (template.yaml: rate(5 minutes)).",
    )
    mode: Literal["bounds", "direct"] = Field(
        default="bounds",
        description="Mode of a policy target with mode auto: bounds (a scalable target is registered) or direct.",
    )
    base_latency_ms: float = Field(default=800, gt=0, description="Model latency at low load.")
    max_slowdown: float = Field(
        default=20, ge=1, description="Latency multiplier at or above full load."
    )
    target_tracking: TargetTracking = Field(
        default_factory=TargetTracking,
        description="The scalable target's own target-tracking policy (bounds mode).",
    )
    baseline: Baseline = Field(
        default_factory=Baseline, description="The target_tracking strategy's limits and cooldowns."
    )
    alarms: dict[str, AlarmDef] = Field(
        default_factory=dict, description="Definitions of the alarms the policy's rules name."
    )
    tune: TuneRanges = Field(
        default_factory=TuneRanges, description="Narrower search ranges for `sagescale tune`."
    )
    wake_alarm: AlarmDef = Field(
        default_factory=lambda: AlarmDef(
            metric="no_capacity_failures",
            comparison=">=",
            threshold=1,
            period=1,
            evaluation_periods=1,
            missing="notBreaching",
        ),
        description="The wake-from-zero alarm (NoCapacityInvocationFailures >= 1).",
    )
    burst_alarm: AlarmDef = Field(
        default_factory=lambda: AlarmDef(
            metric="excess_copies",
            comparison=">=",
            threshold=1,
            period=1,
            evaluation_periods=1,
            missing="notBreaching",
        ),
        description="The burst alarm (copies needed beyond those serving >= 1), as reconcile creates it.",
    )

    @property
    def tt_target(self) -> float:
        """Target tracking's target per copy: invocations per minute, or concurrent requests."""
        if self.target_tracking.target is not None:
            return self.target_tracking.target
        if self.target_tracking.metric == "concurrent_requests_per_copy":
            return concurrency_per_copy(0.7 * self.capacity_per_copy, 1, self)
        return 0.7 * self.capacity_per_copy

    @property
    def tt_out_datapoints(self) -> int:
        given = self.target_tracking.out_datapoints
        if given is not None:
            return given
        return 1 if self.target_tracking.metric == "concurrent_requests_per_copy" else 3

    @property
    def tt_delay(self) -> int:
        """Minutes before target tracking's alarms see a minute: none for the 10-second metric."""
        return (
            0
            if self.target_tracking.metric == "concurrent_requests_per_copy"
            else self.metric_delay_minutes
        )


def latency_ms(demand: float, ready: int, config: SimConfig) -> float:
    """Modelled model latency: ``base / (1 - utilization)``, capped at ``max_slowdown`` x base."""
    u = demand / (ready * config.capacity_per_copy)
    slowdown = config.max_slowdown if u >= 1 else min(1 / (1 - u), config.max_slowdown)
    return config.base_latency_ms * slowdown


def concurrency_per_copy(demand: float, ready: int, config: SimConfig) -> float:
    """Requests in flight per copy (Little's law): arrivals per second x modelled latency / copies."""
    return demand / 60 * latency_ms(demand, ready, config) / 1000 / ready


def default_alarm(change: int, config: SimConfig) -> AlarmDef:
    """The definition used for a rule's alarm the config does not define.

    A scale-out rule watches latency (above 4 x the low-load latency for 2 of 3 minutes);
    a scale-in rule watches invocations per copy (below 30 % of capacity for 15 minutes).
    """
    if change > 0:
        return AlarmDef(
            metric="latency_ms",
            comparison=">",
            threshold=4 * config.base_latency_ms,
            period=1,
            evaluation_periods=3,
            datapoints_to_alarm=2,
        )
    return AlarmDef(
        metric="invocations_per_copy",
        comparison="<",
        threshold=0.3 * config.capacity_per_copy,
        period=5,
        evaluation_periods=3,
        missing="notBreaching",
    )


class Resolved:
    """A config with its instance resources and price looked up, and packing computed."""

    def __init__(self, config: SimConfig, prices: Mapping[str, float] | None = None) -> None:
        self.config = config
        spec = config.instance or instance_table().get(config.instance_type)
        if spec is None:
            known = ", ".join(sorted(instance_table()))
            raise SimConfigError(
                f"instance_type: no specification for {config.instance_type!r}; give instance: {{accelerators, vcpus, memory_mb}} (known: {known})"
            )
        self.spec = spec
        table = (
            prices if prices is not None else parse_prices(price_table(), "core/data/prices.json")
        )
        price = (
            config.price_per_hour
            if config.price_per_hour is not None
            else table.get(config.instance_type)
        )
        if price is None:
            raise SimConfigError(
                f"price_per_hour: no price for {config.instance_type!r} in the price table; give price_per_hour or --prices"
            )
        self.price = price
        self.per_instance = copies_per_instance(config.per_copy, spec)
        if self.per_instance < 1:
            c = config.per_copy
            raise SimConfigError(
                f"copy: one copy ({c.num_accelerators} GPU, {c.num_cpus} vCPU, {c.memory} MB) does not fit on {config.instance_type} "
                f"({spec.accelerators} GPU, {spec.vcpus} vCPU, {spec.memory_mb} MB)"
            )

    def as_dict(self) -> dict[str, Any]:
        """The parameters in effect, for reports."""
        c = self.config
        return {
            "capacity_per_copy": c.capacity_per_copy,
            "instance_type": c.instance_type,
            "price_per_hour": self.price,
            "copies_per_instance": self.per_instance,
            "per_copy": c.per_copy.model_dump(),
            "copy_start_minutes": c.copy_start_minutes,
            "instance_start_minutes": c.instance_start_minutes,
            "target_invocations_per_copy": c.tt_target,
            "reconcile_every": c.reconcile_every,
            "mode": c.mode,
        }


def parse_sim_config(data: Any, source: str = "sim config") -> SimConfig:
    """Validate parsed YAML; raises ``SimConfigError`` naming the field path."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SimConfigError(f"{source}: a simulation config is a mapping")
    try:
        return SimConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            msg = (
                "unknown key"
                if err["type"] == "extra_forbidden"
                else str(err["msg"]).removeprefix("Value error, ")
            )
            problems.append(f"{source}: {format_location(tuple(err['loc'])) or 'config'}: {msg}")
        raise SimConfigError("\n".join(problems)) from None


def load_sim_config(path: str | Path) -> SimConfig:
    """Read and validate a simulation config YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as exc:
        raise SimConfigError(f"{p}: cannot read simulation config: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SimConfigError(f"{p}: not valid YAML: {exc}") from None
    return parse_sim_config(data, str(p))
