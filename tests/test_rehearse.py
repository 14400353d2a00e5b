"""``sagescale rehearse``: the real functions in a closed loop on the emulator agree with ``simulate``,
and the emulator's AWS side (alarm evaluation, Application Auto Scaling, copies on instances)
behaves as AWS documents it."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.policy import loads_policy
from core.sim.config import parse_sim_config
from core.sim.run import simulate
from sagescale.rehearse import rehearse

POLICY = """
version: 1
timezone: America/New_York
targets:
  llm:
    inference_component: llm-ic
    min: 1
    max: 8
    cooldown: {out: 120, in: 600}
    idle: [{days: Mon-Sun, from: "00:00", to: "06:00"}]
    alarms:
      - {alarm: llm-latency-high, change: 2, hold: 30}
    wake: {per_copy: 1300}
    burst: {per_copy: 1100, panic: 2}
"""
CONFIG = {
    "capacity_per_copy": 1300,
    "instance_type": "ml.g5.12xlarge",
    "per_copy": {"copies": 1, "num_accelerators": 4, "num_cpus": 8, "memory": 5120},
    "copy_start_minutes": 3,
    "instance_start_minutes": 10,
    "metric_delay_minutes": 1,
    "reconcile_every": 5,
    "target_tracking": {"target": 900, "scale_out_cooldown": 200, "scale_in_cooldown": 200},
    "alarms": {
        "llm-latency-high": {
            "metric": "latency_ms",
            "comparison": ">",
            "threshold": 3000,
            "evaluation_periods": 3,
            "datapoints_to_alarm": 2,
        }
    },
}
START = datetime(2026, 9, 15, 4, 0, tzinfo=UTC)  # Tuesday 00:00 New York


def day_with_a_spike() -> list[float]:
    """An idle night, a morning ramp, a steady day, an unannounced spike at 14:00 New York, an evening decline."""
    out = []
    for i in range(1440):
        hour = i / 60
        if hour < 6:
            d = 0.0
        elif hour < 9:
            d = 900 * (hour - 6) / 3
        elif hour < 20:
            d = 900.0
        else:
            d = max(0.0, 900 * (24 - hour) / 4)
        if 14 * 60 <= i < 14 * 60 + 40:
            d = 7000.0
        out.append(max(0.0, float(round(d + 40 * math.sin(i / 7)))) if d > 0 else 0.0)
    return out


def night_spike() -> list[float]:
    """Nothing, then a spike from zero at 03:00 New York in the idle window, for an hour."""
    return [6000.0 if 180 <= i < 240 else 0.0 for i in range(6 * 60)]


@pytest.mark.parametrize("mode", ["direct", "bounds"])
@pytest.mark.parametrize(
    "trace", [day_with_a_spike, night_spike], ids=["day-with-a-spike", "night-spike-from-zero"]
)
def test_rehearse_and_simulate_agree_within_3_percent(
    tmp_path: Path, mode: str, trace: object
) -> None:
    """Regression: in bounds mode alarm raises were lost while the component was Updating, and in direct
    mode the steps ended in the dead-letter queue; simulate moved the count at once (1.3-1.5x the drops)."""
    demand = trace()  # type: ignore[operator]
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY)
    config = parse_sim_config(CONFIG | {"mode": mode})
    rehearsed = rehearse(policy_file, "llm", START, demand, config)
    predicted = simulate(
        loads_policy(POLICY), "llm", START, demand, config, strategies=("policy",)
    ).strategies["policy"]
    got = rehearsed.result
    assert got.dropped > 0, "the trace must stress the policy (some requests wait for copies)"
    assert abs(got.dropped - predicted.dropped) <= 0.03 * max(got.dropped, predicted.dropped)
    assert abs(got.cost_usd - predicted.cost_usd) <= 0.03 * max(got.cost_usd, predicted.cost_usd)
    assert rehearsed.functions.failed == 0 and rehearsed.functions.dead_letters == 0
    assert rehearsed.pending_steps == 0
    assert rehearsed.functions.by_function["ReconcileFunction"] >= len(demand) // 5
    assert rehearsed.functions.by_function.get("AlarmFunction", 0) > 0


def test_rehearse_command_prints_the_table_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sagescale.cli import main

    (tmp_path / "p.yaml").write_text(POLICY)
    (tmp_path / "c.yaml").write_text(json.dumps(CONFIG | {"mode": "direct"}))
    rows = ["timestamp,requests"] + [
        f"{(START + timedelta(minutes=i)).isoformat()},{d:g}" for i, d in enumerate(night_spike())
    ]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    assert (
        main(
            [
                "rehearse",
                str(tmp_path / "p.yaml"),
                "--trace",
                str(tmp_path / "t.csv"),
                "--sim-config",
                str(tmp_path / "c.yaml"),
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    policy = doc["strategies"]["policy"]
    for key in (
        "cost_usd",
        "dropped",
        "served_fraction",
        "scaling_actions",
        "invocations",
        "failed_invocations",
        "dead_letters",
        "pending_steps",
    ):
        assert key in policy
    assert set(doc["strategies"]) == {"policy", "simulated", "oracle"}
    assert abs(doc["agreement"]["dropped_difference"]) <= 0.03
    assert (
        main(
            [
                "rehearse",
                str(tmp_path / "p.yaml"),
                "--trace",
                str(tmp_path / "t.csv"),
                "--sim-config",
                str(tmp_path / "c.yaml"),
                "--plot",
                str(tmp_path / "r.png"),
            ]
        )
        == 0
    )
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out
    assert "functions:" in out and "simulate vs the functions" in out


def test_rehearse_refuses_what_it_cannot_run(tmp_path: Path) -> None:
    from sagescale.rehearse import RehearsalError

    (tmp_path / "p.yaml").write_text(
        "version: 1\ntargets:\n  web: {endpoint: web-ep, min: 1, max: 2}\n"
    )
    with pytest.raises(RehearsalError, match="inference-component targets"):
        rehearse(tmp_path / "p.yaml", "web", START, [1.0], parse_sim_config({}))


@pytest.mark.parametrize("mode", ["direct", "bounds"])
def test_a_quiet_target_with_nothing_holding_it_is_released_to_zero(mode: str) -> None:
    """Regression: an idle endpoint publishes no datapoints, so target tracking's scale-in alarm and
    invocation rules never fired, and the copies a night spike left billed until morning."""
    from core.bounds import Bounds
    from core.decide import Observed, ScalableBounds, decide

    target = loads_policy(
        "version: 1\ntargets:\n  llm: {inference_component: llm-ic, min: 0, max: 8}\n"
    ).targets["llm"]
    scalable = ScalableBounds(0, 8) if mode == "bounds" else None
    observed = Observed(True, "InService", desired=3, current=3, scalable=scalable)
    released = decide("llm", target, Bounds(0, 8, ("min",)), observed, 0, quiet=True)
    assert (released.action, released.count) == ("set_count", 0)
    assert any(n.startswith("released:") for n in released.notes)
    assert (
        decide("llm", target, Bounds(0, 8, ("min",)), observed, 0, quiet=False).action == "none"
    )  # requests came: target tracking's
    assert (
        decide("llm", target, Bounds(2, 8, ("floor:x",)), observed, 0, quiet=True).count != 0
    )  # a floor holds it up
    assert (
        decide(
            "llm",
            target,
            Bounds(0, 8, ("min",)),
            Observed(True, "Updating", desired=3, current=1, scalable=scalable),
            0,
            quiet=True,
        ).action
        == "defer"
    )


def test_the_night_spike_copies_are_released_after_the_spike(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY)
    rehearsed = rehearse(
        policy_file, "llm", START, night_spike(), parse_sim_config(CONFIG | {"mode": "bounds"})
    )
    copies = rehearsed.result.copies
    assert max(copies) > 0 and copies[-1] == 0
    assert (
        copies.index(0, 240) <= 240 + 15 + 5 + 1
    )  # within the quiet minutes and a reconcile period of the spike's end
