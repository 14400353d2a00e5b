"""The burst rule: when demand outgrows the serving copies, go at once to the copies it needs.

Its rules are pure (``core.alarms``); its alarm is a CloudWatch metric-math alarm that reconcile
keeps (``core.aws.burst``), that the alarm function re-arms after each step, and that the
simulator models with the same decision code.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.alarms import AlarmMatch, burst_alarm_name, burst_copies, decide_alarm, match_alarm
from core.aws.burst import REARM_REASON, BurstAlarms, burst_alarm_definition
from core.aws.clients import AwsClients
from core.decide import Observed, ScalableBounds
from core.events import AlarmRecord
from core.policy import PolicyError, loads_policy
from core.state import TargetState
from sagescale.emulator import emulated_aws
from sagescale.samples import alarm_sample
from tests.conftest import EVENTS
from tests.emulated import NY, Env, build_env

POLICY = """
version: 1
timezone: America/New_York
targets:
  llm:
    inference_component: llm-ic
    min: 1
    max: 8
    cooldown: {out: 600, in: 300}
    alarms:
      - {alarm: llm-latency-high, change: 2, hold: 30}
    burst: {per_copy: 1300}
"""
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=NY)
NAME = burst_alarm_name("llm", "sagescale")


def record(
    value: float | None, at: str = "2026-11-24T17:00:00.000+0000", alarm: str = NAME
) -> AlarmRecord:
    return AlarmRecord(alarm, "ALARM", "OK", at, value=value)


def test_a_burst_alarm_matches_its_target_with_the_excess_it_names() -> None:
    policy = loads_policy(POLICY)
    (match,) = match_alarm(policy, record(3.4), stack="sagescale")
    assert (match.target, match.change, match.burst, match.hold) == ("llm", 4, True, 15)
    assert match_alarm(policy, record(3.4), stack="other") == []  # another stack's burst alarm
    assert (
        match_alarm(
            policy,
            AlarmRecord(NAME, "OK", "ALARM", "2026-11-24T17:00:00.000+0000"),
            stack="sagescale",
        )
        == []
    )
    without = loads_policy(POLICY.replace("    burst: {per_copy: 1300}\n", ""))
    assert match_alarm(without, record(3.4), stack="sagescale") == []


@pytest.mark.parametrize(
    ("serving", "desired", "excess", "panic", "wanted"),
    [
        (2, 2, 3, 1.0, 5),  # serving + excess
        (2, 4, 1, 1.0, 4),  # copies still starting count: no second order for them
        (2, 4, 3, 1.0, 5),
        (2, 2, 3, 2.0, 8),  # demand 2.5x what serves: panic doubles the order (10), max 8 caps it
        (4, 4, 1, 2.0, 5),  # not a ramp: no panic
        (0, 0, 3, 1.0, 3),  # from zero: the rejections alone
        (6, 6, 9, 1.0, 8),  # never above max
    ],
)
def test_a_burst_orders_the_serving_copies_plus_the_excess(
    serving: int, desired: int, excess: int, panic: float, wanted: int
) -> None:
    policy = loads_policy(
        POLICY.replace("burst: {per_copy: 1300}", f"burst: {{per_copy: 1300, panic: {panic}}}")
    )
    match = AlarmMatch("llm", excess, 15, burst=True)
    observed = Observed(True, "InService", desired=desired, current=serving)
    assert max(desired, burst_copies(policy.targets["llm"], match, observed)) == wanted
    step = decide_alarm(policy, match, record(float(excess)), observed, TargetState("llm"), NOON)
    if wanted == desired:
        assert step.outcome == "unchanged"
    else:
        assert (
            step.outcome == "apply" and step.decision is not None and step.decision.count == wanted
        )


def test_a_burst_goes_through_the_cooldown_and_starts_none() -> None:
    """A rule's scale-out 2 minutes ago started a 10-minute cooldown: a rule is blocked, a burst is not."""
    policy = loads_policy(POLICY)
    state = TargetState("llm", cooldowns={"out": (NOON - timedelta(minutes=2)).isoformat()})
    observed = Observed(True, "InService", desired=3, current=3)
    rule = AlarmRecord("llm-latency-high", "ALARM", "OK", "2026-11-24T17:00:00.000+0000")
    (rule_match,) = match_alarm(policy, rule, stack="sagescale")
    assert decide_alarm(policy, rule_match, rule, observed, state, NOON).outcome == "blocked"
    (burst,) = match_alarm(policy, record(2.2), stack="sagescale")
    step = decide_alarm(policy, burst, record(2.2), observed, state, NOON)
    assert step.outcome == "apply" and step.decision is not None and step.decision.count == 6
    assert burst.urgent and not rule_match.urgent


def test_in_bounds_mode_a_burst_is_a_surge_floor_for_its_hold() -> None:
    policy = loads_policy(
        POLICY.replace("burst: {per_copy: 1300}", "burst: {per_copy: 1300, hold: 20}")
    )
    observed = Observed(True, "InService", desired=2, current=2, scalable=ScalableBounds(1, 8))
    (match,) = match_alarm(policy, record(3.0), stack="sagescale")
    step = decide_alarm(policy, match, record(3.0), observed, TargetState("llm"), NOON)
    assert (
        step.outcome == "apply"
        and step.decision is not None
        and step.decision.scalable == ScalableBounds(5, 8)
    )
    assert step.surges is not None and [(s.min, s.until) for s in step.surges] == [
        (5, NOON + timedelta(minutes=20))
    ]


def test_the_policy_refuses_a_burst_where_it_cannot_act() -> None:
    with pytest.raises(PolicyError, match=r"targets\.q\.burst"):
        loads_policy(
            "version: 1\ntargets:\n  q: {endpoint: q-ep, kind: async, min: 0, max: 2, burst: {per_copy: 10}}\n"
        )
    with pytest.raises(PolicyError, match="burst"):
        loads_policy(POLICY.replace("alarm: llm-latency-high", "alarm: sagescale-burst-x"))
    with pytest.raises(PolicyError, match=r"burst\.per_copy"):
        loads_policy(POLICY.replace("per_copy: 1300", "per_copy: 0"))
    variant = loads_policy(
        "version: 1\ntargets:\n  web: {endpoint: web-ep, min: 1, max: 4, burst: {per_copy: 600}}\n"
    )
    definition = burst_alarm_definition("web", variant.targets["web"], "s")
    names = {
        m["MetricStat"]["Metric"]["MetricName"] for m in definition["Metrics"] if "MetricStat" in m
    }
    assert names == {
        "Invocations",
        "InvocationsPerInstance",
    }  # a variant has no NoCapacityInvocationFailures


def _evaluate(expression: str, values: dict[str, float | None]) -> float:
    """CloudWatch's metric math for the functions the burst alarm uses (FILL, IF), on one datapoint."""

    def fill(value: float | None, default: float) -> float:
        return default if value is None else value

    def if_(condition: bool, yes: float, no: float) -> float:
        return yes if condition else no

    scope: dict[str, Any] = {"FILL": fill, "IF": if_, "__builtins__": {}}
    return float(eval(expression, scope, dict(values)))


@pytest.mark.parametrize(
    ("demand", "copies", "excess"),
    [
        (5200.0, 2, 2.0),  # twice what 2 copies serve: 2 more
        (2600.0, 0, 2.0),  # at 0 copies every request is a NoCapacityInvocationFailure
        (1300.0, 2, -1.0),  # within capacity
        (0.0, 0, 0.0),  # nothing at all: every metric missing
    ],
)
def test_the_alarm_expression_is_the_copies_needed_beyond_those_serving(
    demand: float, copies: int, excess: float
) -> None:
    """What SageMaker publishes per minute: Invocations (requests that reached a copy),
    NoCapacityInvocationFailures (requests refused at 0 copies), InvocationsPerCopy (Invocations /
    copies); a metric with no requests has no datapoint."""
    target = loads_policy(POLICY).targets["llm"]
    definition = burst_alarm_definition("llm", target, "sagescale")
    (returned,) = [m for m in definition["Metrics"] if m["ReturnData"]]
    served = demand if copies else 0.0
    values: dict[str, float | None] = {
        "inv": served or None,
        "rejected": (demand - served) or None,
        "per": served / copies if copies and served else None,
    }
    assert {m["Id"] for m in definition["Metrics"]} == {"inv", "rejected", "per", "excess"}
    assert math.isclose(_evaluate(returned["Expression"], values), excess, abs_tol=1e-9)
    fires = (
        excess >= definition["Threshold"]
        and definition["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    )
    assert fires == (excess >= 1)


@pytest.fixture
def benv(tmp_path: Path, aws_env: None) -> Iterator[Env]:
    from handlers.runtime import reset_runtime

    with emulated_aws() as emulator:
        env = build_env(tmp_path, AwsClients(), emulator, POLICY)
        env.clock.set(NOON)
        yield env
    reset_runtime()


def test_reconcile_keeps_the_burst_alarm_and_only_reads_when_it_is_in_place(benv: Env) -> None:
    assert benv.invoke()["burst_alarms"] == {"llm": "created"}
    cw = benv.clients.cloudwatch
    (alarm,) = cw.describe_alarms(AlarmNames=[NAME])["MetricAlarms"]
    assert (
        alarm["AlarmActions"] == []
        and alarm["Threshold"] == 1.0
        and alarm["EvaluationPeriods"] == 1
    )
    dims = {
        d["Value"]
        for m in alarm["Metrics"]
        if "MetricStat" in m
        for d in m["MetricStat"]["Metric"]["Dimensions"]
    }
    assert dims == {"llm-ic"}
    calls: list[str] = []
    cw.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    assert benv.invoke()["burst_alarms"] == {"llm": "ok"}
    assert "PutMetricAlarm" not in calls and "DescribeAlarms" in calls
    cw.put_metric_alarm(
        **{
            **burst_alarm_definition("llm", benv.policy.targets["llm"], "sagescale"),
            "Threshold": 5.0,
        }
    )  # changed by hand
    assert benv.invoke()["burst_alarms"] == {"llm": "updated"}
    assert cw.describe_alarms(AlarmNames=[NAME])["MetricAlarms"][0]["Threshold"] == 1.0


def test_the_alarm_function_scales_for_the_burst_and_re_arms_the_alarm(benv: Env) -> None:
    benv.invoke()
    cw = benv.clients.cloudwatch
    cw.set_alarm_state(
        AlarmName=NAME,
        StateValue="ALARM",
        StateReason="Threshold Crossed: 1 datapoint [3.4 (24/11/26 17:02:00)]",
    )
    out = benv.alarm(
        alarm_sample("alarm-burst.json", events=EVENTS, at="2026-11-24T17:03:05.000+0000")
    )
    (step,) = out["alarms"][0]["targets"]
    assert (step["outcome"], step["burst"], step["to"]) == ("applied", True, 5), (
        step
    )  # 1 serving + 4
    (alarm,) = cw.describe_alarms(AlarmNames=[NAME])["MetricAlarms"]
    assert (alarm["StateValue"], alarm["StateReason"]) == ("OK", REARM_REASON)
    # the same state change delivered again acts once, and re-arms again
    cw.set_alarm_state(AlarmName=NAME, StateValue="ALARM", StateReason="again")
    again = benv.alarm(
        alarm_sample("alarm-burst.json", events=EVENTS, at="2026-11-24T17:03:05.000+0000")
    )
    assert again["alarms"][0]["duplicate"] is True
    assert benv.copies()[1] == 5


def test_a_paused_controller_decides_a_burst_and_does_not_re_arm(benv: Env) -> None:
    from dataclasses import replace

    from handlers.runtime import Runtime, reset_runtime

    benv.invoke()
    cw = benv.clients.cloudwatch
    cw.set_alarm_state(AlarmName=NAME, StateValue="ALARM", StateReason="burst")
    reset_runtime(
        Runtime(replace(benv.runtime.settings, paused=True), benv.clients, clock=benv.clock)
    )
    out = benv.alarm(
        alarm_sample("alarm-burst.json", events=EVENTS, at="2026-11-24T17:03:05.000+0000")
    )
    assert [t["outcome"] for t in out["alarms"][0]["targets"]] == ["dry-run"]
    assert cw.describe_alarms(AlarmNames=[NAME])["MetricAlarms"][0]["StateValue"] == "ALARM"
    assert benv.copies()[1] == 1


def test_re_arming_an_alarm_that_is_gone_is_not_an_error(benv: Env) -> None:
    BurstAlarms(benv.clients.cloudwatch, "sagescale").rearm(
        burst_alarm_name("nothing", "sagescale")
    )


def test_parking_keeps_the_burst_alarm_in_the_snapshot_and_restores_it(benv: Env) -> None:
    from core.aws.snapshot import Clients, capture, restore_scaling

    benv.invoke()
    clients = Clients(benv.clients.sagemaker, benv.clients.autoscaling, benv.clients.cloudwatch)
    snapshot = capture("llm-ic-endpoint", clients, benv.clock())
    assert [a["AlarmName"] for a in snapshot["alarms"]] == [NAME]
    benv.clients.cloudwatch.delete_alarms(AlarmNames=[NAME])
    restore_scaling(snapshot, clients)
    (alarm,) = benv.clients.cloudwatch.describe_alarms(AlarmNames=[NAME])["MetricAlarms"]
    assert (
        alarm["Metrics"]
        == burst_alarm_definition("llm", benv.policy.targets["llm"], "sagescale")["Metrics"]
    )


# --- the simulator ------------------------------------------------------------------------


def test_the_simulator_fires_and_re_arms_the_burst_alarm_through_a_ramp() -> None:
    """A night spike ramping to 10,000/min over 3 minutes: the burst alarm fires again each
    minute the ramp outgrows the order (re-armed), and drops less than a wake alone. A component
    in progress takes no new count (the steps wait for it), so the ramp's later orders queue
    behind the first instance's start-up: 1.45x the reactive limit (a wake alone 1.73x)."""
    from core.sim.config import SimConfig
    from core.sim.policy_run import PolicyRun
    from core.sim.run import simulate
    from core.sim.traces import Spike, generate

    text = POLICY.replace(
        "    alarms:\n      - {alarm: llm-latency-high, change: 2, hold: 30}\n",
        "    idle: [{days: Mon-Sun, from: '00:00', to: '06:00'}]\n    wake: {per_copy: 1300}\n",
    )
    at = datetime(2026, 9, 16, 3, 0, tzinfo=NY)
    trace = generate(
        "b2b-week",
        days=2,
        seed=2,
        start=date(2026, 9, 15),
        spikes=[Spike(at, 10_000.0, ramp=3, hold=20, decay=30)],
    )
    config = SimConfig()
    fired: list[datetime] = []
    original = PolicyRun.on_alarm

    def spy(
        self: PolicyRun,
        alarm: str,
        state: Any,
        previous: str,
        now: datetime,
        ready: int,
        value: float | None = None,
    ) -> None:
        if alarm.startswith("sagescale-burst-") and state == "ALARM":
            fired.append(now)
        original(self, alarm, state, previous, now, ready, value)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(PolicyRun, "on_alarm", spy)
        burst = simulate(
            loads_policy(text), "llm", trace.start, trace.requests, config, strategies=["policy"]
        )
    near = [t for t in fired if abs((t - at).total_seconds()) < 3600]
    assert len(near) >= 2, fired
    wake_only = simulate(
        loads_policy(text.replace("    burst: {per_copy: 1300}\n", "")),
        "llm",
        trace.start,
        trace.requests,
        config,
        strategies=["policy"],
    )
    assert burst.strategies["policy"].dropped < 0.9 * wake_only.strategies["policy"].dropped
    assert burst.strategies["policy"].dropped <= 1.5 * burst.reactive_dropped
    assert burst.strategies["policy"].params["burst"] == {
        "per_copy": 1300.0,
        "panic": 1.0,
        "hold": 15,
    }
