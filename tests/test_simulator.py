"""The policy simulator on hand-checkable traces, and its models one by one."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.bounds import effective_bounds
from core.policy import Policy, load_policy, loads_policy
from core.sim.alarm import CloudWatchAlarm
from core.sim.base import SimConfigError
from core.sim.config import AlarmDef, Resolved, parse_sim_config
from core.sim.fleet import Fleet
from core.sim.oracle import _level_cost, required_copies
from core.sim.packing import CopyNeeds, InstanceSpec, copies_per_instance
from core.sim.run import served_in, simulate, spike_onset
from core.sim.traces import read_trace
from tests.conftest import EXAMPLES

MONDAY = datetime(2026, 9, 14, 4, 0, tzinfo=UTC)  # 00:00 in New York


def policy_yaml(body: str, timezone: str = "UTC") -> Policy:
    return loads_policy(
        f"version: 1\ntimezone: {timezone}\ntargets:\n  m:\n    inference_component: m-ic\n{body}"
    )


def config(**values: Any) -> Any:
    base: dict[str, Any] = {
        "capacity_per_copy": 100,
        "instance_type": "ml.g5.12xlarge",
        "copy_start_minutes": 2,
        "instance_start_minutes": 7,
        "reconcile_every": 1,
    }
    return parse_sim_config(base | values)


# ---------------------------------------------------------------------------
# hand-checkable traces


def test_constant_demand_under_one_copy_is_all_served_at_hours_times_price() -> None:
    policy = policy_yaml("    min: 1\n    max: 3\n")
    demand = [60.0] * (6 * 60)
    cfg = config()
    price = Resolved(cfg).price
    sim = simulate(policy, "m", MONDAY, demand, cfg, static_copies=1)
    for name in ("policy", "static", "target_tracking", "oracle"):
        r = sim.strategies[name]
        assert r.served_fraction == 1.0, name
        assert r.unmet_minutes == 0, name
        assert r.instance_hours == pytest.approx(6.0), name
        assert r.cost_usd == pytest.approx(6.0 * price), name


@pytest.mark.parametrize(
    ("per_copy", "expected_delay"),
    [
        (
            {"num_accelerators": 4, "num_cpus": 8, "memory": 5120},
            "instance_start_minutes",
        ),  # one copy per instance: new instances
        (
            {"num_accelerators": 1, "num_cpus": 8, "memory": 5120},
            "copy_start_minutes",
        ),  # four per instance: room on the warm one
    ],
)
def test_step_above_capacity_is_unmet_for_exactly_the_start_up_delay(
    per_copy: dict[str, Any], expected_delay: str
) -> None:
    policy = policy_yaml(
        '    min: 1\n    max: 5\n    mode: direct\n    floors:\n      - {days: Mon-Sun, from: "12:00", to: "18:00", min: 3}\n'
    )
    cfg = config(per_copy=per_copy)
    demand = [50.0] * (12 * 60) + [250.0] * (2 * 60)
    sim = simulate(policy, "m", MONDAY - timedelta(hours=4), demand, cfg, strategies=["policy"])
    r = sim.strategies["policy"]
    delay = getattr(cfg, expected_delay)
    assert r.unmet_minutes == delay
    assert r.requests - sum(r.served) == pytest.approx(delay * (250 - 100))


def test_requests_at_zero_copies_fail_until_the_wake_alarm_brings_one_up() -> None:
    policy = policy_yaml(
        "    min: 1\n    max: 2\n    idle:\n      - {days: Mon-Sun}\n    wake: true\n"
    )
    cfg = config(metric_delay_minutes=1)
    demand = [0.0] * 30 + [10.0] * 60
    r = simulate(policy, "m", MONDAY, demand, cfg, strategies=["policy"]).strategies["policy"]
    # the first failed minute's datapoint is visible 1 + delay minutes later; then a new instance starts
    assert r.unmet_minutes == 1 + cfg.metric_delay_minutes + cfg.instance_start_minutes
    assert r.served[30 + r.unmet_minutes] == 10.0


def test_without_wake_an_idle_target_serves_nothing() -> None:
    policy = policy_yaml("    min: 1\n    max: 2\n    idle:\n      - {days: Mon-Sun}\n")
    r = simulate(policy, "m", MONDAY, [5.0] * 60, config(), strategies=["policy"]).strategies[
        "policy"
    ]
    assert r.served_fraction == 0.0
    assert r.instance_hours == 0.0


# ---------------------------------------------------------------------------
# the oracle


def _brute_force_level(need: list[bool], lead: int) -> int:
    """Cheapest on/off schedule by enumeration: a run that starts after minute 0 serves from lead minutes on."""
    best = None
    for bits in itertools.product((0, 1), repeat=len(need)):
        ok, start = True, None
        for i, on in enumerate(bits):
            if on and (i == 0 or not bits[i - 1]):
                start = i
            if need[i] and not (on and start is not None and (start == 0 or i - start >= lead)):
                ok = False
                break
        if ok and (best is None or sum(bits) < best):
            best = sum(bits)
    assert best is not None
    return best


@pytest.mark.parametrize(
    "pattern",
    [
        "0011000011",
        "1100000001",
        "0000001111",
        "1010101010",
        "0100100010",
        "1111111111",
        "0000000000",
        "0001100000",
    ],
)
@pytest.mark.parametrize("lead", [0, 1, 3])
def test_oracle_level_cost_is_the_exact_minimum(pattern: str, lead: int) -> None:
    need = [c == "1" for c in pattern]
    assert _level_cost([int(b) for b in need], 1, lead) == _brute_force_level(need, lead)


@pytest.mark.parametrize("trace", ["holiday-week.csv", "b2b-week.csv", "unannounced-spike.csv"])
@pytest.mark.parametrize(
    "per_copy", [{"num_accelerators": 4}, {"num_accelerators": 1, "memory": 5120}]
)
def test_oracle_costs_no_more_than_any_strategy_that_serves_everything(
    trace: str, per_copy: dict[str, Any]
) -> None:
    t = read_trace(EXAMPLES / "traces" / trace)
    policy = load_policy(EXAMPLES / "llm-retail.yaml")
    for capacity in (1300.0, 20000.0):
        cfg = parse_sim_config({"capacity_per_copy": capacity, "per_copy": per_copy})
        sim = simulate(policy, "llm", t.start, t.requests, cfg, static_copies=2)
        oracle = sim.strategies["oracle"]
        assert oracle.served_fraction == 1.0
        full = [r for n, r in sim.strategies.items() if n != "oracle" and r.served_fraction == 1.0]
        for r in full:
            assert oracle.cost_usd <= r.cost_usd + 1e-6, r.name
        if capacity == 20000.0:
            assert any(r.name == "static" for r in full)  # the comparison above was exercised


def test_oracle_needs_follow_demand_and_capacity() -> None:
    assert required_copies([0, 1, 100, 100.5, 250], 100) == [0, 1, 1, 2, 3]


# ---------------------------------------------------------------------------
# the policy strategy uses the Lambdas' bounds


@pytest.mark.parametrize(
    ("timezone", "start"),
    [
        (
            "America/New_York",
            datetime(2026, 11, 23, 5, 0, tzinfo=UTC),
        ),  # Thanksgiving week, holiday floors
        (
            "Europe/Berlin",
            datetime(2026, 3, 27, 0, 0, tzinfo=UTC),
        ),  # spring forward on Sunday 29 March
        (
            "America/New_York",
            datetime(2026, 10, 30, 4, 0, tzinfo=UTC),
        ),  # fall back on Sunday 1 November
    ],
)
def test_policy_bounds_equal_what_plan_says_at_the_same_instants(
    timezone: str, start: datetime
) -> None:
    text = (
        (EXAMPLES / "llm-retail.yaml")
        .read_text(encoding="utf-8")
        .replace("timezone: America/New_York", f"timezone: {timezone}")
    )
    policy = loads_policy(text.replace("mode: auto", "mode: direct"))
    minutes = 4 * 1440
    sim = simulate(policy, "llm", start, [0.0] * minutes, config(), strategies=["policy"])
    floor = sim.strategies["policy"].floor
    assert len(floor) == minutes
    mismatches = [
        i
        for i in range(minutes)
        if floor[i] != effective_bounds(policy, "llm", start + timedelta(minutes=i)).min
    ]
    assert mismatches == []
    assert len(set(floor)) > 1  # the window saw bounds change


def test_bounds_mode_writes_the_floor_to_the_scalable_target_and_alarms_surge() -> None:
    policy = policy_yaml(
        "    min: 1\n    max: 6\n    alarms:\n      - {alarm: hot, change: 2, hold: 30}\n"
    )
    cfg = config(
        alarms={
            "hot": {
                "metric": "utilization",
                "comparison": ">",
                "threshold": 0.9,
                "evaluation_periods": 2,
            }
        },
        target_tracking={"target": 1000},
    )
    demand = [50.0] * 30 + [180.0] * 60
    r = simulate(policy, "m", MONDAY, demand, cfg, strategies=["policy"]).strategies["policy"]
    # target tracking alone would not move (target 1000/copy); the alarm's surge of current + 2 does
    assert max(r.copies) == 3
    assert r.copies[29] == 1
    assert r.scaling_actions >= 1


# ---------------------------------------------------------------------------
# models


def test_cloudwatch_alarm_m_of_n_with_missing_data() -> None:
    alarm = CloudWatchAlarm(
        "a",
        AlarmDef(
            metric="latency_ms",
            comparison=">",
            threshold=10,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            missing="missing",
        ),
        delay=0,
    )
    states = []
    for minute, value in enumerate([5, 20, None, 30, 1, 1, 1]):
        alarm.add(minute, value)
        states.append(alarm.evaluate(minute + 1))
    assert states == ["OK", None, None, "ALARM", "OK", None, None]


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ("missing", "INSUFFICIENT_DATA"),
        ("notBreaching", "OK"),
        ("breaching", "ALARM"),
        ("ignore", "OK"),
    ],
)
def test_cloudwatch_missing_data_treatments(missing: str, expected: str) -> None:
    """Two good datapoints (OK), then two missing ones."""
    alarm = CloudWatchAlarm(
        "a",
        AlarmDef(
            metric="invocations",
            comparison=">=",
            threshold=1,
            evaluation_periods=2,
            missing=missing,
        ),
        delay=0,
    )
    for minute, value in enumerate([0.0, 0.0, None, None]):
        alarm.add(minute, value)
        alarm.evaluate(minute + 1)
        if minute == 1:
            assert alarm.state == "OK"
    assert alarm.state == expected


def test_cloudwatch_period_aggregates_and_delays() -> None:
    alarm = CloudWatchAlarm(
        "a",
        AlarmDef(
            metric="invocations", comparison=">=", threshold=10, period=5, evaluation_periods=1
        ),
        delay=2,
    )
    for minute in range(5):
        alarm.add(minute, 3.0)  # Sum over the period: 15
    assert alarm.evaluate(6) is None  # visible only 2 minutes after the period closes
    assert alarm.evaluate(7) == "ALARM"


@pytest.mark.parametrize(
    ("needs", "expected"),
    [
        (CopyNeeds(num_accelerators=1, num_cpus=8, memory=5120), 4),
        (CopyNeeds(num_accelerators=4, num_cpus=8, memory=5120), 1),
        (CopyNeeds(num_accelerators=1, num_cpus=16, memory=5120), 3),
        (CopyNeeds(num_accelerators=1, num_cpus=4, memory=100_000), 1),
        (CopyNeeds(num_accelerators=8, num_cpus=4, memory=1024), 0),
        (CopyNeeds(num_accelerators=0, num_cpus=2, memory=1024), 24),
    ],
)
def test_packing_takes_the_tightest_resource(needs: CopyNeeds, expected: int) -> None:
    g5_12 = InstanceSpec(accelerators=4, vcpus=48, memory_mb=196608)
    assert copies_per_instance(needs, g5_12) == expected


def test_a_copy_that_does_not_fit_is_reported() -> None:
    with pytest.raises(SimConfigError, match=r"does not fit on ml\.g5\.xlarge"):
        Resolved(
            parse_sim_config({"instance_type": "ml.g5.xlarge", "per_copy": {"num_accelerators": 2}})
        )


def test_fleet_fills_warm_instances_before_launching() -> None:
    fleet = Fleet(per_instance=4, copy_start=2, instance_start=9)
    fleet.warm(3)
    fleet.set_count(5, now=100)
    assert fleet.instance_count == 2
    assert fleet.tick(100) == 3
    assert fleet.tick(102) == 4  # the fourth copy on the warm instance
    assert fleet.tick(108) == 4
    assert fleet.tick(109) == 5  # the fifth waited for a new instance
    fleet.set_count(3, now=110)
    assert fleet.instance_count == 1


def test_sim_config_errors_name_the_field() -> None:
    with pytest.raises(SimConfigError, match=r"alarms\.hot\.comparison"):
        parse_sim_config(
            {"alarms": {"hot": {"metric": "latency_ms", "comparison": "!", "threshold": 1}}}
        )
    with pytest.raises(SimConfigError, match=r"capacity_per_cpy: unknown key"):
        parse_sim_config({"capacity_per_cpy": 3})


def test_unknown_price_is_reported() -> None:
    with pytest.raises(SimConfigError, match="price_per_hour"):
        Resolved(
            parse_sim_config(
                {
                    "instance_type": "ml.x.large",
                    "instance": {"accelerators": 4, "vcpus": 8, "memory_mb": 8192},
                }
            )
        )


# ---------------------------------------------------------------------------
# the shipped example


def test_tuned_example_on_the_holiday_week_meets_the_acceptance_numbers() -> None:
    """docs/simulator.md: llm-retail-tuned.yaml with llm-retail.sim.yaml on the holiday-week trace."""
    trace = read_trace(EXAMPLES / "traces" / "holiday-week.csv")
    policy = load_policy(EXAMPLES / "llm-retail-tuned.yaml")
    from core.sim.config import load_sim_config

    sim = simulate(
        policy,
        "llm",
        trace.start,
        trace.requests,
        load_sim_config(EXAMPLES / "llm-retail.sim.yaml"),
    )
    s = sim.strategies
    assert s["policy"].served_fraction >= 0.999
    assert s["policy"].cost_usd <= 1.2 * s["oracle"].cost_usd
    assert s["policy"].cost_usd <= 0.5 * s["static"].cost_usd
    onset = spike_onset(trace.requests)
    assert onset is not None
    assert served_in(s["policy"], onset, onset + 15) > served_in(
        s["target_tracking"], onset, onset + 15
    )


def test_simulator_imports_neither_matplotlib_nor_the_sdk() -> None:
    code = "import sys, json, core.sim.run, sagescale.simulate_cmd, core.sim.traces; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'sagemaker'})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


# ---------------------------------------------------------------------------
# fair baselines and the two bounds


def test_the_target_tracking_baseline_runs_with_the_targets_own_limits() -> None:
    """The baseline ran with max 6 while the policy had max 8, so a spike comparison mostly measured the cap."""
    policy = policy_yaml("    min: 2\n    max: 8\n")
    sim = simulate(policy, "m", MONDAY, [50.0] * 120, config())
    params = sim.strategies["target_tracking"].params
    assert (params["min"], params["max"]) == (2, 8)
    narrowed = simulate(policy, "m", MONDAY, [50.0] * 120, config(baseline={"max": 3}))
    assert narrowed.strategies["target_tracking"].params["max"] == 3
    assert sim.as_dict()["strategies"]["policy"]["params"]["max"] == 8


def _tracker(**kw: Any) -> Any:
    from core.sim.tracking import TargetTracker

    args: dict[str, Any] = {
        "target": 100.0,
        "out_cooldown": 600,
        "in_cooldown": 600,
        "protection": 0,
        "out_datapoints": 1,
        "in_datapoints": 1,
        "delay": 0,
    }
    args |= kw
    disable = args.pop("disable_scale_in", False)
    return TargetTracker(**args, disable_scale_in=disable)


def _feed(tt: Any, minute: int, copies: int, demand: float, desired: int, high: int = 20) -> int:
    tt.observe(minute, copies, demand)
    result: int = tt.step(minute + 1, desired, 1, high)
    return result


def test_a_larger_scale_out_goes_through_during_the_scale_out_cooldown() -> None:
    """AAS lets a scale-out that asks for more than the one that started the cooldown through;
    the model blocked every scale-out for the whole cooldown."""
    tt = _tracker()
    first = _feed(tt, 0, 1, 300.0, 1)  # 300 invocations on 1 copy at target 100 -> 3
    assert first == 3
    same = _feed(tt, 1, 3, 300.0, first)  # within the cooldown, asking for no more: unchanged
    assert same == 3
    larger = _feed(tt, 2, 3, 900.0, same)  # within the cooldown, asking for more: goes through
    assert larger == 9


def test_scale_in_has_no_extra_protection_by_default_and_can_be_disabled() -> None:
    """The model added a 15-minute scale-in protection after every scale-out, which AAS does not have."""
    assert config().target_tracking.scale_in_protection == 0
    tt = _tracker(
        out_cooldown=0, in_cooldown=0, protection=config().target_tracking.scale_in_protection
    )
    up = _feed(tt, 0, 1, 500.0, 1)
    assert up == 5
    down = _feed(tt, 1, 5, 100.0, up)  # the next minute, below 90 % of target: scales in at once
    assert down == 1
    never = _tracker(out_cooldown=0, in_cooldown=0, disable_scale_in=True)
    up = _feed(never, 0, 1, 500.0, 1)
    assert _feed(never, 1, 5, 100.0, up) == 5


def test_the_oracle_stays_within_the_targets_max() -> None:
    """The oracle had no max: a policy that dropped 2.7 % at its cap showed "0.99x oracle"."""
    policy = policy_yaml("    min: 1\n    max: 3\n")
    sim = simulate(
        policy, "m", MONDAY, [500.0] * 60, config()
    )  # needs 5 copies; max 3 serves 300/min
    oracle = sim.strategies["oracle"]
    assert max(oracle.capacity) == 300
    assert oracle.served_fraction == pytest.approx(0.6)
    assert oracle.params == {"max": 3}


def test_the_reactive_limit_is_what_instant_orders_after_the_metric_delay_and_start_up_drop() -> (
    None
):
    """Hand-checked: demand 0, then 300/min for 20 minutes from minute 3. The limit sees minute 3 at
    minute 5 (one minute, then one minute of metric delay), orders 3 copies on no running instance,
    and they serve from minute 15 (instance start 10): minutes 3 to 14 drop 300 each."""
    from core.sim.oracle import reactive_limit

    cfg = config(metric_delay_minutes=1, instance_start_minutes=10, copy_start_minutes=3)
    demand = [0.0] * 3 + [300.0] * 20 + [0.0] * 10
    assert reactive_limit(demand, Resolved(cfg), max_copies=8) == pytest.approx(12 * 300)
    assert reactive_limit(demand, Resolved(cfg), max_copies=2) == pytest.approx(
        12 * 300 + 8 * 100
    )  # the cap drops the rest
    policy = policy_yaml("    min: 1\n    max: 8\n")
    doc = simulate(policy, "m", MONDAY, demand, cfg).as_dict()
    assert doc["limits"]["reactive_dropped"] == pytest.approx(12 * 300)


def test_a_sized_wake_catches_a_night_spike_faster_in_the_simulator() -> None:
    """The simulator runs the Lambdas' wake rule: with wake: {per_copy: N} the wake orders what the
    rejected minute needs, so a spike at 0 copies drops less than with a wake of 1 copy."""
    body = "    min: 1\n    max: 8\n    idle: [{days: Mon-Sun}]\n    wake: %s\n"
    demand = [0.0] * 60 + [600.0] * 90 + [0.0] * 30
    cfg = config(mode="direct")
    one = simulate(
        policy_yaml(body % "true"), "m", MONDAY, demand, cfg, strategies=["policy"]
    ).strategies["policy"]
    sized = simulate(
        policy_yaml(body % "{per_copy: 100}"), "m", MONDAY, demand, cfg, strategies=["policy"]
    ).strategies["policy"]
    assert max(sized.copies) >= 6 > max(one.copies[:70])
    assert sized.dropped < one.dropped


def test_headroom_pays_for_fewer_drops_at_an_unannounced_spike() -> None:
    """Headroom is the explicit trade: copies held in a window cost their instance-hours and
    catch the start of a spike that reactive scaling cannot."""
    demand = [50.0] * 600 + [350.0] * 30 + [50.0] * 210
    cfg = config(mode="direct", instance_start_minutes=10)
    plain = simulate(
        policy_yaml("    min: 1\n    max: 8\n"), "m", MONDAY, demand, cfg, strategies=["policy"]
    ).strategies["policy"]
    held = simulate(
        policy_yaml("    min: 1\n    max: 8\n    headroom: [{days: Mon, copies: 3}]\n"),
        "m",
        MONDAY,
        demand,
        cfg,
        strategies=["policy"],
    ).strategies["policy"]
    assert held.dropped < plain.dropped
    assert held.cost_usd > plain.cost_usd


def test_target_tracking_on_the_high_resolution_concurrency_metric_reacts_sooner() -> None:
    """ConcurrentRequestsPerCopyHighResolution publishes every 10 s: its alarms see a minute at
    once, without the 1-minute metric delay and 3 one-minute datapoints of InvocationsPerCopy."""
    from core.sim.config import concurrency_per_copy

    trace = read_trace(EXAMPLES / "traces" / "unannounced-spike.csv")
    policy = load_policy(EXAMPLES / "llm-retail-tuned.yaml")
    base = {
        "capacity_per_copy": 1300,
        "instance_type": "ml.g5.12xlarge",
        "per_copy": {"copies": 4, "num_accelerators": 4, "num_cpus": 8, "memory": 5120},
    }
    invocations = simulate(
        policy,
        "llm",
        trace.start,
        trace.requests,
        parse_sim_config(base),
        strategies=["target_tracking"],
    )
    concurrency = simulate(
        policy,
        "llm",
        trace.start,
        trace.requests,
        parse_sim_config(base | {"target_tracking": {"metric": "concurrent_requests_per_copy"}}),
        strategies=["target_tracking"],
    )
    fast, slow = (
        concurrency.strategies["target_tracking"],
        invocations.strategies["target_tracking"],
    )
    assert (
        fast.params["metric"] == "concurrent_requests_per_copy"
        and slow.params["metric"] == "invocations_per_copy"
    )
    config = parse_sim_config(base)
    assert fast.params["target"] == pytest.approx(
        concurrency_per_copy(0.7 * 1300, 1, config), abs=1e-3
    )  # the concurrency at 70 % load
    assert fast.dropped < 0.9 * slow.dropped
    assert fast.cost_usd <= 1.05 * slow.cost_usd
