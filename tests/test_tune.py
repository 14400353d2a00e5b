"""`sagescale tune`: the seed's "tune the scaling parameters like hyperparameters", on traces."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from core.policy import load_policy
from core.sim.traces import generate, write_trace
from sagescale.cli import main

pytest.importorskip("optuna")

POLICY = """\
# a test policy: its comments must survive tuning
version: 1
timezone: America/New_York
targets:
  llm:
    inference_component: llm-ic
    min: 1   # one copy by day
    max: 4
    cooldown: {out: 60, in: 300}
    idle:
      - {days: Mon-Sun, from: "20:00", to: "07:00"}   # nights
    alarms:
      - {alarm: llm-latency-high, change: 2, hold: 30}
    wake: true
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    trace = tmp_path / "day.csv"
    buffer = io.StringIO()
    write_trace(generate("b2b-week", days=1, seed=4, mean=300), buffer)
    trace.write_text(buffer.getvalue(), encoding="utf-8")
    return {"policy": policy, "trace": trace, "out": tmp_path / "tuned.yaml"}


def tune(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, Any], str]:
    code = main(
        [
            "tune",
            str(files["policy"]),
            "--trace",
            str(files["trace"]),
            "--trials",
            "6",
            "--seed",
            "2",
            "--jobs",
            "2",
            "--out",
            str(files["out"]),
            "--json",
            *extra,
        ]
    )
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else {}), err


def test_tune_writes_a_valid_cheaper_policy_with_its_comments(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, _ = tune(files, capsys, "--min-served", "0.9")
    assert code == 0
    assert doc["trials"] == 6 and doc["feasible"] is True
    best = doc["best"]
    assert best["served_fraction"] >= 0.9
    assert all(set(p) == {"trial", "cost_usd", "served_fraction", "params"} for p in doc["pareto"])
    costs = [p["cost_usd"] for p in doc["pareto"]]
    assert costs == sorted(costs)
    tuned = load_policy(files["out"])  # it validates
    assert tuned.targets["llm"].min == best["params"]["min"]
    text = files["out"].read_text(encoding="utf-8")
    assert (
        text.startswith("# Tuned by `sagescale tune")
        and "# a test policy: its comments must survive tuning" in text
        and "# one copy by day" in text
    )


def test_the_first_trial_is_the_policy_as_it_is_so_tuning_never_loses(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from core.policy import policy_data
    from core.sim.config import SimConfig
    from core.sim.traces import read_trace
    from sagescale.tune import original_params
    from sagescale.tune import tune as run

    data = policy_data(POLICY)
    result = run(
        data,
        "llm",
        [read_trace(files["trace"])],
        SimConfig(),
        min_served=0.5,
        trials=3,
        seed=2,
        jobs=1,
    )
    first = result.trials[0]
    assert first.params == original_params(load_policy(files["policy"]).targets["llm"])
    assert result.best.cost_usd <= first.cost_usd


def test_the_same_seed_gives_the_same_result(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, first, _ = tune(files, capsys, "--min-served", "0.9")
    _, again, _ = tune(files, capsys, "--min-served", "0.9")
    assert first["best"] == again["best"] and first["pareto"] == again["pareto"]


def test_when_no_trial_meets_the_fraction_it_says_so_and_writes_the_best_served(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    files["policy"].write_text(
        POLICY.replace("max: 4", "max: 1"), encoding="utf-8"
    )  # 1 copy cannot serve the busy hours
    buffer = io.StringIO()
    write_trace(generate("b2b-week", days=1, seed=4, mean=3000), buffer)
    files["trace"].write_text(buffer.getvalue(), encoding="utf-8")
    code, doc, err = tune(files, capsys, "--min-served", "0.999")
    assert code == 0 and doc["feasible"] is False
    assert "no trial served 99.900% on every trace" in err
    assert doc["best"]["served_fraction"] == max(p["served_fraction"] for p in doc["pareto"])
    assert load_policy(files["out"]).targets["llm"].max == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--min-served", "1.5"], "--min-served must be a fraction"),
        (["--min-served", "0.9", "--trials", "0"], "--trials must be 1 or more"),
        (["--min-served", "0.9", "--min-served", "0.8"], "one per --trace (1); got 2"),
    ],
)
def test_bad_arguments_exit_2(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    code = main(
        [
            "tune",
            str(files["policy"]),
            "--trace",
            str(files["trace"]),
            "--out",
            str(files["out"]),
            *args,
        ]
    )
    assert code == 2
    assert words in capsys.readouterr().err


def test_a_missing_trace_exits_2(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "tune",
            str(files["policy"]),
            "--trace",
            str(files["trace"].with_name("none.csv")),
            "--min-served",
            "0.9",
            "--out",
            str(files["out"]),
        ]
    )
    assert code == 2 and "cannot read trace" in capsys.readouterr().err


def test_the_pareto_plot_is_written(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "front.png"
    code, _, _ = tune(files, capsys, "--min-served", "0.9", "--plot", str(png))
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_sim_configs_tune_section_narrows_the_search(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A `tune:` section of the sim config narrows the ranges (here: min 2 or 3, a fixed scale-out
    cooldown, every idle window kept); the first trial stays the policy as it is."""
    from core.policy import policy_data
    from core.sim.config import load_sim_config
    from core.sim.traces import read_trace
    from sagescale.tune import tune as run

    sim = tmp_path / "sim.yaml"
    sim.write_text(
        "tune:\n  min: [2, 3]\n  cooldown_out: [120, 120]\n  keep_idle: true\n", encoding="utf-8"
    )
    result = run(
        policy_data(POLICY),
        "llm",
        [read_trace(files["trace"])],
        load_sim_config(sim),
        min_served=0.5,
        trials=5,
        seed=3,
        jobs=1,
    )
    later = result.trials[1:]
    assert later and all(
        2 <= t.params["min"] <= 3 and t.params["cooldown.out"] == 120 and t.params["idle[0].keep"]
        for t in later
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("tune:\n  min: [3, 2]\n", encoding="utf-8")
    from core.sim.base import SimConfigError

    with pytest.raises(SimConfigError, match="tune: min: \\[low, high\\]"):
        load_sim_config(bad)


def test_a_trial_writes_the_burst_rule_and_headroom_into_the_file_keeping_its_comments(
    tmp_path: Path,
) -> None:
    from sagescale.tune import apply, dump_round_trip, load_round_trip, original_params

    text = POLICY.replace(
        "    wake: true\n",
        "    wake: true\n    headroom:\n      - {days: Mon-Fri, from: '09:00', to: '17:00', copies: 1}   # office hours\n      - {days: Sat, copies: 2}\n",
    )
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    doc = load_round_trip(path)
    params = original_params(load_policy(path).targets["llm"])
    assert (
        params["burst.per_copy"],
        params["headroom[0].copies"],
        params["headroom[1].copies"],
    ) == (0.0, 1, 2)
    apply(
        doc,
        "llm",
        params
        | {
            "burst.per_copy": 1040.0,
            "burst.panic": 2.0,
            "headroom[0].copies": 3,
            "headroom[1].copies": 0,
        },
    )
    written = dump_round_trip(doc, "tuned")
    assert "burst: {per_copy: 1040.0, panic: 2.0}" in written
    assert "# office hours" in written and "# one copy by day" in written
    tuned = tmp_path / "tuned.yaml"
    tuned.write_text(written, encoding="utf-8")
    target = load_policy(tuned).targets["llm"]
    assert target.burst is not None and (target.burst.per_copy, target.burst.panic) == (1040.0, 2.0)
    assert [(h.days, h.copies) for h in target.headroom] == [("Mon-Fri", 3)]
    apply(doc, "llm", params | {"burst.per_copy": 0.0, "headroom[0].copies": 0})
    assert "burst" not in doc["targets"]["llm"] and "headroom" not in doc["targets"]["llm"]


def test_each_trace_may_have_its_own_fraction(files: dict[str, Path]) -> None:
    """A spike nobody announced cannot be served like a known holiday: one fraction per trace.
    The busy trace cannot reach 99.9 % with max 1; with its own 15 % every trial is judged on both."""
    from core.policy import policy_data
    from core.sim.config import SimConfig
    from core.sim.traces import read_trace
    from sagescale.tune import tune as run

    quiet = read_trace(files["trace"])
    buffer = io.StringIO()
    write_trace(generate("b2b-week", days=1, seed=4, mean=3000), buffer)
    busy_path = files["trace"].with_name("busy.csv")
    busy_path.write_text(buffer.getvalue(), encoding="utf-8")
    busy = read_trace(busy_path)
    data = policy_data(POLICY.replace("max: 4", "max: 1"))
    strict = run(
        data, "llm", [quiet, busy], SimConfig(), min_served=0.999, trials=3, seed=2, jobs=1
    )
    assert strict.feasible == []
    each = run(
        data, "llm", [quiet, busy], SimConfig(), min_served=[0.9, 0.15], trials=3, seed=2, jobs=1
    )
    assert each.feasible and all(t.served[0] >= 0.9 and t.served[1] >= 0.15 for t in each.feasible)
    assert each.as_dict()["min_served"] == [0.9, 0.15]
    with pytest.raises(ValueError, match="one per trace"):
        run(data, "llm", [quiet, busy], SimConfig(), min_served=[0.9], trials=1, seed=2, jobs=1)
