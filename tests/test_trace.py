"""Trace CSV validation, the trace generator, and the simulate/trace commands' exit codes."""

from __future__ import annotations

import argparse
import io
import json
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.policy import PolicyError
from core.sim.base import SimConfigError
from core.sim.packing import needs_from_sdk
from core.sim.traces import TraceError, generate, parse_trace, read_trace, write_trace
from sagescale.commands import declare
from sagescale.common import ProgressBar
from tests.conftest import EXAMPLES

HEADER = "timestamp,requests\n"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The command through a parser of its own, with the CLI's exit-code mapping."""
    from sagescale.common import Parser, UsageError

    parser = Parser(prog="sagescale")
    declare(parser.add_subparsers(dest="command", required=True, parser_class=Parser))
    try:
        args = parser.parse_args(argv)
        code: int = args.func(args)
    except (UsageError, PolicyError) as exc:
        print(f"sagescale: error: {exc}", file=__import__("sys").stderr)
        code = 2
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,requests\n2026-11-23T00:00:00Z,1\n", "missing column timestamp"),
        ("timestamp\n2026-11-23T00:00:00Z\n", "missing column requests"),
        (
            HEADER + "2026-11-23T00:01:00Z,1\n2026-11-23T00:00:00Z,1\n",
            ":3: timestamp .* is before the previous row's",
        ),
        (
            HEADER + "2026-11-23T00:00:00Z,1\n2026-11-23T00:00:00+00:00,2\n",
            ":3: duplicate timestamp",
        ),
        (HEADER + "2026-11-23T00:00:00Z,-1\n", ":2: requests '-1' is negative"),
        (HEADER + "2026-11-23T00:00:00Z,many\n", "is not a number"),
        (HEADER + "2026-11-23T00:00:00,1\n", "has no UTC offset"),
        (HEADER + "2026-11-23T00:00:30Z,1\n", "not on a whole minute"),
        (HEADER, "no data rows"),
        ("", "empty file"),
    ],
)
def test_bad_traces_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(TraceError, match=message):
        parse_trace(io.StringIO(text), "t.csv")


def test_gaps_are_minutes_without_requests_and_offsets_may_change() -> None:
    text = (
        HEADER
        + "2026-11-01T01:58:00-04:00,1\n2026-11-01T01:59:00-04:00,2\n2026-11-01T01:00:00-05:00,3\n2026-11-01T01:03:00-05:00,4\n"
    )
    trace = parse_trace(io.StringIO(text))
    assert trace.requests == [1, 2, 3, 0, 0, 4]  # across the fall-back hour, by instant


def test_written_traces_read_back() -> None:
    trace = generate("b2b-week", days=1, seed=3)
    buffer = io.StringIO()
    write_trace(trace, buffer)
    again = parse_trace(io.StringIO(buffer.getvalue()))
    assert again.start == trace.start and again.requests == trace.requests


def test_generator_is_deterministic_with_a_seed() -> None:
    a = generate("holiday-week", seed=7)
    b = generate("holiday-week", seed=7)
    c = generate("holiday-week", seed=8)
    assert a == b
    assert a.requests != c.requests


def test_holiday_week_shape() -> None:
    trace = generate("holiday-week")
    assert trace.start.date() == date(2026, 11, 23)
    assert len(trace.requests) == 7 * 1440
    peak_at = max(range(len(trace.requests)), key=trace.requests.__getitem__)
    peak_local = (trace.start + timedelta(minutes=peak_at)).astimezone(ZoneInfo("America/New_York"))
    assert peak_local.date() == date(2026, 11, 27)  # Black Friday, in the morning
    assert 9 <= peak_local.hour < 10
    assert 9_500 <= max(trace.requests) <= 10_500
    base = [v for v in trace.requests if v < 2_000]
    assert 80 <= sum(base) / len(trace.requests) <= 110


def test_b2b_week_is_idle_at_night_and_at_weekends() -> None:
    trace = generate("b2b-week")
    saturday = trace.requests[5 * 1440 : 7 * 1440]
    assert sum(saturday) == 0
    assert sum(trace.requests[0 : 6 * 60]) == 0
    assert max(trace.requests) > 200


def test_shipped_traces_are_valid_and_match_the_generator() -> None:
    for kind in ("holiday-week", "b2b-week", "unannounced-spike"):
        shipped = read_trace(EXAMPLES / "traces" / f"{kind}.csv")
        assert shipped.requests == generate(kind).requests, kind


# ---------------------------------------------------------------------------
# commands


def _trace_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("when,requests\n2026-11-23T00:00:00Z,1\n", "missing column timestamp"),
        (HEADER + "2026-11-23T00:01:00Z,1\n2026-11-23T00:00:00Z,1\n", "sort the trace"),
        (HEADER + "2026-11-23T00:00:00Z,1\n2026-11-23T00:00:00Z,1\n", "duplicate timestamp"),
        (HEADER + "2026-11-23T00:00:00Z,-4\n", "negative"),
    ],
)
def test_simulate_exits_2_on_bad_traces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    code, out, err = run(
        ["simulate", str(EXAMPLES / "llm-retail.yaml"), "--trace", _trace_file(tmp_path, text)],
        capsys,
    )
    assert code == 2
    assert words in err and "Traceback" not in err
    assert out == ""


def test_simulate_exits_2_on_unknown_target_missing_file_and_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = _trace_file(tmp_path, HEADER + "2026-11-23T00:00:00Z,1\n")
    policy = str(EXAMPLES / "llm-retail.yaml")
    code, _, err = run(["simulate", policy, "--trace", trace, "--target", "nope"], capsys)
    assert code == 2 and "unknown target 'nope'" in err
    code, _, err = run(["simulate", policy, "--trace", str(tmp_path / "absent.csv")], capsys)
    assert code == 2 and "cannot read trace" in err
    bad = tmp_path / "sim.yaml"
    bad.write_text("capacity_per_copy: -3\n", encoding="utf-8")
    code, _, err = run(["simulate", policy, "--trace", trace, "--sim-config", str(bad)], capsys)
    assert code == 2 and "capacity_per_copy" in err


def test_simulate_json_has_every_strategy_and_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = _trace_file(
        tmp_path, HEADER + "".join(f"2026-11-24T14:{m:02d}:00Z,{m * 10}\n" for m in range(60))
    )
    code, out, _ = run(
        [
            "simulate",
            str(EXAMPLES / "llm-retail.yaml"),
            "--trace",
            trace,
            "--json",
            "--static",
            "2",
        ],
        capsys,
    )
    assert code == 0
    doc = json.loads(out)
    assert set(doc["strategies"]) == {"policy", "static", "target_tracking", "oracle"}
    for figures in doc["strategies"].values():
        assert set(figures) == {
            "cost_usd",
            "instance_hours",
            "copy_hours",
            "served_fraction",
            "unmet_minutes",
            "scaling_actions",
            "dropped",
            "params",
        }
    assert doc["strategies"]["static"]["copy_hours"] == pytest.approx(2.0)
    assert doc["parameters"]["static_copies"] == 2
    assert doc["strategies"]["static"]["params"] == {"copies": 2}
    assert set(doc["limits"]) == {"reactive_dropped", "oracle_cost_usd"}
    assert doc["limits"]["oracle_cost_usd"] == doc["strategies"]["oracle"]["cost_usd"]


def test_simulate_json_carries_the_wake_and_burst_sizing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json failed on a policy with wake: {per_copy: N} (its params held the model, not JSON)."""
    trace = _trace_file(
        tmp_path, HEADER + "".join(f"2026-11-24T14:{m:02d}:00Z,{m * 10}\n" for m in range(60))
    )
    code, out, err = run(
        ["simulate", str(EXAMPLES / "llm-retail-tuned.yaml"), "--trace", trace, "--json"], capsys
    )
    assert code == 0, err
    params = json.loads(out)["strategies"]["policy"]["params"]
    assert params["wake"] == {"per_copy": 1300.0}
    assert params["burst"] == {"per_copy": 1040.0, "panic": 3.0, "hold": 15}


def test_simulate_table_shows_ratios_to_the_oracle(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "simulate",
            str(EXAMPLES / "llm-retail.yaml"),
            "--trace",
            str(EXAMPLES / "traces" / "b2b-week.csv"),
            "--sim-config",
            str(EXAMPLES / "llm-retail.sim.yaml"),
        ],
        capsys,
    )
    assert code == 0
    lines = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if line.split() and line.split()[0] in ("policy", "oracle")
    }
    assert lines["oracle"][2] == "1.00"
    cost = float(lines["policy"][1].replace(",", ""))
    oracle = float(lines["oracle"][1].replace(",", ""))
    assert float(lines["policy"][2]) == pytest.approx(cost / oracle, abs=0.006)


def test_plot_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "p.png"
    trace = _trace_file(
        tmp_path, HEADER + "".join(f"2026-11-27T14:{m:02d}:00Z,{m * 100}\n" for m in range(60))
    )
    code, _, _ = run(
        ["simulate", str(EXAMPLES / "llm-retail.yaml"), "--trace", trace, "--plot", str(png)],
        capsys,
    )
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_trace_command_writes_the_generator_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "w.csv"
    code, _, _ = run(
        ["trace", "unannounced-spike", "--days", "2", "--seed", "5", "--out", str(out)], capsys
    )
    assert code == 0
    assert read_trace(out).requests == generate("unannounced-spike", days=2, seed=5).requests
    code, _, err = run(["trace", "b2b-week", "--start", "23/11/2026"], capsys)
    assert code == 2 and "--start" in err


def test_progress_bar_draws_only_on_a_terminal() -> None:
    quiet = io.StringIO()
    ProgressBar(quiet, "x")(5, 10)
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    bar = ProgressBar(shown, "x", force=True)
    bar(5, 10)
    bar(10, 10)
    assert (
        " 50%" in shown.getvalue()
        and "100%" in shown.getvalue()
        and shown.getvalue().endswith("\n")
    )


def test_the_example_from_the_sagemaker_sdk_gives_the_per_copy_needs() -> None:
    """The SDK's ResourceRequirements (v3 path, then v2), as users pass it to deploy; skipped without the SDK."""
    module = None
    for name in (
        "sagemaker.core.compute_resource_requirements.resource_requirements",
        "sagemaker.compute_resource_requirements.resource_requirements",
    ):
        try:
            module = __import__(name, fromlist=["ResourceRequirements"])
            break
        except ImportError:
            continue
    if module is None:
        pytest.skip("the sagemaker SDK (the 'sdk' extra) is not installed")
    requirements = module.ResourceRequirements(
        requests={"copies": 4, "num_accelerators": 4, "num_cpus": 8, "memory": 5120}
    )
    needs = needs_from_sdk(requirements)
    assert (needs.copies, needs.num_accelerators, needs.num_cpus, needs.memory) == (4, 4, 8, 5120)


def test_needs_from_an_object_without_requests_are_refused() -> None:
    with pytest.raises(SimConfigError, match="requests"):
        needs_from_sdk(argparse.Namespace(limits={}))
    partial = needs_from_sdk(argparse.Namespace(requests={"num_accelerators": 2, "memory": 1024}))
    assert (partial.num_accelerators, partial.memory) == (2, 1024)


def test_a_200_day_new_york_trace_reads_back_minute_for_minute() -> None:
    """Trace minutes were counted in wall-clock time: a New York trace crossing a DST change was
    corrupted (at fall-back an hour of timestamps repeated, at spring-forward an hour went missing)."""
    trace = generate(
        "b2b-week", start=date(2026, 9, 1), days=200, seed=2, timezone="America/New_York"
    )
    assert len(trace.requests) == 288_000
    buffer = io.StringIO()
    write_trace(trace, buffer, ZoneInfo("America/New_York"))
    again = parse_trace(io.StringIO(buffer.getvalue()))
    assert (
        len(again.requests) == 288_000
        and again.requests == trace.requests
        and again.start == trace.start
    )


def test_the_simulated_policy_sees_the_right_instant_after_a_dst_change() -> None:
    """The policy run counted minutes in wall-clock time from a zoned start: after fall-back every
    minute was an hour off, so an idle window ended an hour late in the simulation."""
    from datetime import UTC, datetime

    from core.policy import loads_policy
    from core.sim.config import SimConfig
    from core.sim.run import simulate

    ny = ZoneInfo("America/New_York")
    policy = loads_policy(
        "version: 1\ntimezone: America/New_York\ntargets:\n  llm:\n    inference_component: llm-ic\n    min: 2\n    max: 4\n"
        "    idle: [{days: Mon-Sun, from: '20:00', to: '07:00'}]\n"
    )
    start = datetime(2026, 10, 31, 12, 0, tzinfo=ny)
    sim = simulate(policy, "llm", start, [10.0] * (3 * 1440), SimConfig(), strategies=["policy"])
    floor = sim.strategies["policy"].floor

    def minute(
        local: datetime,
    ) -> int:  # counted between instants (a difference of two datetimes of one zone is wall-clock)
        return int((local.astimezone(UTC) - start.astimezone(UTC)).total_seconds() // 60)

    assert (
        floor[minute(datetime(2026, 11, 2, 6, 50, tzinfo=ny))] == 0
    )  # still idle, after fall-back
    assert (
        floor[minute(datetime(2026, 11, 2, 7, 10, tzinfo=ny))] == 2
    )  # idle window over at 07:00 local


def test_trace_places_an_unannounced_spike_at_night(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sagescale trace` could place a spike only where its kind put one; a night spike (inside an
    idle window) is the case a policy that sleeps must be tested on."""
    from datetime import UTC, datetime

    from sagescale.cli import main

    out = tmp_path / "night.csv"
    assert (
        main(
            [
                "trace",
                "unannounced-spike",
                "--spike-at",
                "2026-09-16T03:00:00-04:00",
                "--peak",
                "5000",
                "--spike-minutes",
                "10",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    trace = read_trace(out)
    peak_at = trace.start + timedelta(
        minutes=max(range(len(trace.requests)), key=trace.requests.__getitem__)
    )
    assert peak_at.astimezone(ZoneInfo("America/New_York")).hour == 3
    assert 4000 < max(trace.requests) < 6000
    afternoon = int(
        (datetime(2026, 9, 16, 18, 10, tzinfo=UTC) - trace.start).total_seconds() // 60
    )  # 14:10 New York
    assert trace.requests[afternoon] < 1000  # the kind's own Wednesday spike is replaced
    assert (
        main(
            ["trace", "unannounced-spike", "--spike-at", "2027-01-01T00:00:00Z", "--out", str(out)]
        )
        == 2
    )
    assert "outside the trace" in capsys.readouterr().err


def test_served_percentages_never_round_a_shortfall_up_to_100() -> None:
    """The plot's legend showed 99.996 % served as 100.00 %."""
    from sagescale.common import percent

    assert percent(0.99996) == "99.996%"
    assert percent(0.9999996) == "99.99996%"
    assert percent(1.0) == "100.000%"
    assert percent(0.91901) == "91.901%"


def test_the_plot_zooms_onto_the_worst_spike_and_shows_what_each_strategy_dropped() -> None:
    """The plot did not show where requests were dropped; now a second panel zooms onto the worst
    spike with each strategy's dropped requests, and the legend gives every strategy's drops."""
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from core.policy import load_policy
    from core.sim.config import load_sim_config
    from core.sim.run import simulate
    from sagescale.simulate_cmd import figure, worst_spike

    trace = read_trace(EXAMPLES / "traces" / "unannounced-spike.csv")
    sim = simulate(
        load_policy(EXAMPLES / "llm-retail-tuned.yaml"),
        "llm",
        trace.start,
        trace.requests,
        load_sim_config(EXAMPLES / "llm-retail.sim.yaml"),
    )
    first, last = worst_spike(sim)
    peak = max(range(len(sim.demand)), key=sim.demand.__getitem__)
    assert first < peak < last and last - first < 6 * 60
    fig = figure(sim, "America/New_York")
    try:
        whole, zoom = fig.axes
        labels = [t.get_text() for t in whole.get_legend().get_texts()]
        assert any("policy capacity" in label and "dropped" in label for label in labels)
        zoom_labels = [t.get_text() for t in zoom.get_legend().get_texts()]
        assert any(label.startswith("policy dropped") for label in zoom_labels)
        assert zoom.get_xlim()[1] - zoom.get_xlim()[0] < 0.25  # days: a few hours around the spike
    finally:
        plt.close(fig)


def test_waiting_on_sagemaker_is_shown_on_a_terminal_only() -> None:
    """`delete` and `restore` waited on SageMaker for minutes without a word."""
    from sagescale.common import Waiting

    shown, quiet = io.StringIO(), io.StringIO()
    Waiting(shown, "deleting llm-endpoint", force=True)(0)
    Waiting(quiet, "deleting llm-endpoint")(0)  # a StringIO is no terminal
    assert (
        "deleting llm-endpoint: waiting on SageMaker" in shown.getvalue() and quiet.getvalue() == ""
    )


def test_a_placed_spike_is_added_to_the_holiday_weeks_doorbuster_and_replaces_the_unannounced_one() -> (
    None
):
    """generate() says placed spikes are added to holiday-week's; they replaced its doorbuster."""
    from datetime import datetime as dt
    from zoneinfo import ZoneInfo

    from core.sim.traces import Spike, Trace, generate

    ny = ZoneInfo("America/New_York")
    extra = Spike(dt(2026, 11, 24, 3, 0, tzinfo=ny), 8000.0, ramp=3, hold=20, decay=30)
    week = generate("holiday-week", spikes=[extra])

    def at(trace: Trace, when: dt) -> float:
        return float(trace.requests[int((when - trace.start).total_seconds() // 60)])

    assert at(week, dt(2026, 11, 27, 9, 10, tzinfo=ny)) > 5000  # the doorbuster hour is still there
    assert at(week, dt(2026, 11, 24, 3, 10, tzinfo=ny)) > 5000
    placed = generate("unannounced-spike", spikes=[Spike(dt(2026, 9, 16, 3, 0, tzinfo=ny), 8000.0)])
    assert (
        at(placed, dt(2026, 9, 16, 14, 10, tzinfo=ny)) < 2000
    )  # the Wednesday 14:00 spike is replaced
