"""The policy commands of the CLI: validate, plan, calendar (exit codes, JSON shapes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sagescale.cli import main
from tests.conftest import EXAMPLES

EXAMPLE = str(EXAMPLES / "llm-retail.yaml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_black_friday_floor(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", EXAMPLE, "--at", "2026-11-27T05:00:00-05:00", "--json")
    assert code == 0
    assert json.loads(out) == [
        {"target": "llm", "min": 6, "max": 8, "reasons": ["floor:retail Black Friday"]}
    ]


def test_plan_idle_night(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", EXAMPLE, "--at", "2026-11-24T23:00:00-05:00", "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["min"] == 0 and row["reasons"][0].startswith("idle:")


def test_plan_human_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", EXAMPLE, "--at", "2026-11-25T10:00:00-05:00")
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split() == ["TARGET", "MIN", "MAX", "REASONS"]
    assert lines[2].split() == ["llm", "1", "8", "min"]


def test_calendar_around_fall_back(capsys: pytest.CaptureFixture[str]) -> None:
    """2026-11-01 is a Sunday and the fall-back day: offsets switch from -04:00 to -05:00."""
    code, out, _ = run(
        capsys, "calendar", EXAMPLE, "--from", "2026-10-30", "--to", "2026-11-03", "--json"
    )
    assert code == 0
    rows = json.loads(out)
    assert [(r["at"], r["min"]) for r in rows] == [
        ("2026-10-30T00:00:00-04:00", 0),  # Thu night window, until Fri 07:00
        ("2026-10-30T07:00:00-04:00", 1),
        ("2026-10-30T20:00:00-04:00", 0),  # Fri night, then the weekend, then Sun night
        ("2026-11-02T07:00:00-05:00", 1),  # Monday morning, after the fall-back
        ("2026-11-02T20:00:00-05:00", 0),
        ("2026-11-03T07:00:00-05:00", 1),
        ("2026-11-03T20:00:00-05:00", 0),
    ]
    assert all(set(r) == {"at", "target", "min", "max", "reasons"} for r in rows)


def test_calendar_thanksgiving_week(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "calendar", EXAMPLE, "--from", "2026-11-26", "--to", "2026-11-30", "--json"
    )
    assert code == 0
    rows = [(r["at"], r["min"]) for r in json.loads(out)]
    assert ("2026-11-29T22:00:00-05:00", 6) in rows  # Cyber Monday, 2 h lead
    assert ("2026-11-28T00:00:00-05:00", 0) in rows  # after Black Friday: weekend idle


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            "version: 1\ntargets:\n  t: {inference_component: x, min: 1, max: 2, colour: red}\n",
            "targets.t.colour: unknown key",
        ),
        ("version: 1\ntimezone: Mars/Base\n", "timezone: unknown time zone"),
        (
            "version: 1\ntargets:\n  t: {inference_component: x, min: 3, max: 2}\n",
            "targets.t.min: min 3 is above max 2",
        ),
        (
            "version: 1\ntargets:\n  t: {inference_component: x, min: 1, max: 2, idle: [{days: Mon-Fry}]}\n",
            "targets.t.idle[0].days: unknown day",
        ),
        (
            "version: 1\ntargets:\n  t: {inference_component: x, min: 1, max: 2, floors: [{calendar: nope, min: 1}]}\n",
            "targets.t.floors[0].calendar: unknown calendar",
        ),
    ],
)
def test_invalid_policy_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, words: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    for argv in (["validate", str(path)], ["plan", str(path), "--at", "2026-11-24T10:00:00Z"]):
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert words in err
        assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["plan", EXAMPLE, "--at", "2026-11-24T23:00:00"], "no UTC offset"),
        (["plan", EXAMPLE, "--at", "tomorrow"], "not ISO 8601"),
        (["plan", EXAMPLE, "--target", "nope"], "unknown target 'nope'"),
        (["calendar", EXAMPLE, "--from", "2026-11-08", "--to", "2026-11-01"], "is not after"),
        (["plan", "/nonexistent/policy.yaml"], "cannot read policy file"),
        (["frobnicate"], "invalid choice"),
        (["plan", EXAMPLE, "--at", "9999-12-31T23:59:00+00:00"], "out of range"),
        (
            [
                "replay",
                "ReconcileFunction",
                "events/reconcile-tick.json",
                "--template",
                "README.md",
            ],
            "template",
        ),
    ],
)
def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str], words: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert words in err


def test_validate_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", EXAMPLE, "--json")
    assert code == 0 and json.loads(out)["targets"] == ["llm"]


def test_console_script_entry_point() -> None:
    """The installed ``sagescale`` script runs, with the exit code of the command."""
    script = Path(sys.executable).with_name("sagescale")
    done = subprocess.run(
        [str(script), "plan", EXAMPLE, "--at", "2026-11-27T05:00:00-05:00", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["min"] == 6
    bad = subprocess.run(
        [str(script), "validate", "/nonexistent.yaml"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2


def test_schema_describes_every_shipped_policy_and_refuses_unknown_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Editors had nothing to complete or check policy files with; `sagescale schema` writes the
    models' JSON Schema, which the yaml-language-server line in a policy file points at."""
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    out = tmp_path / "policy.schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert "yaml-language-server: $schema=" in capsys.readouterr().err
    schema = json.loads(out.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(EXAMPLES.glob("llm-*.yaml")):
        if path.name.endswith(".sim.yaml"):
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data = json.loads(json.dumps(data, default=str))  # dates as the strings the policy reads
        assert list(validator.iter_errors(data)) == [], path.name
    bad = {
        "version": 1,
        "targets": {"llm": {"inference_component": "x", "min": 1, "max": 2, "minn": 3}},
    }
    assert list(validator.iter_errors(bad))


def test_version_and_debug(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("sagescale ")
    assert (
        main(["--debug", "janitor", "--policy", "/nonexistent/policy.yaml"]) == 2
    )  # bad input stays exit 2


def test_output_piped_to_head_ends_quietly() -> None:
    """`sagescale calendar ... | head -1` printed a BrokenPipeError traceback."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sagescale.cli",
            "calendar",
            str(EXAMPLES / "llm-retail.yaml"),
            "--from",
            "2026-01-01",
            "--to",
            "2028-12-31",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,  # about 90 KB: more than a pipe holds
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # the reader is gone, as `head` is after one line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err


TWO_TARGETS = """
version: 1
timezone: America/New_York
calendars:
  retail:
    dates: [{date: 2026-11-27, name: Black Friday}]
targets:
  llm:
    inference_component: llm-ic
    min: 1
    max: 8
    idle: [{days: Sun-Fri, from: "20:00", to: "07:00"}, {days: Sat-Sun}]
    floors: [{calendar: retail, min: 6, lead: 120}]
  web:
    endpoint: web-ep
    min: 2
    max: 4
"""


@pytest.mark.parametrize(
    ("first", "last"), [("2026-11-23", "2026-11-29"), ("2026-10-28", "2026-11-28")]
)
def test_calendar_plot_is_a_heat_map_with_a_row_per_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], first: str, last: str
) -> None:
    """A week of bounds was a long table; `calendar --plot` draws them, one row per target, for a
    week and a month (the month crosses the New York fall-back)."""
    pytest.importorskip("matplotlib")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    from core.policy import loads_policy
    from sagescale.common import range_edge
    from sagescale.heatmap import figure, rows_for

    policy_file = tmp_path / "two.yaml"
    policy_file.write_text(TWO_TARGETS, encoding="utf-8")
    png = tmp_path / "heat.png"
    assert (
        main(["calendar", str(policy_file), "--from", first, "--to", last, "--plot", str(png)]) == 0
    )
    assert "heat map written" in capsys.readouterr().err
    height, width = mpimg.imread(png).shape[:2]
    assert width >= 1000 and 250 <= height <= width
    policy = loads_policy(TWO_TARGETS)
    start, end = (
        range_edge(first, policy, "--from", end=False),
        range_edge(last, policy, "--to", end=True),
    )
    fig = figure(policy, start, end, ["llm", "web"])
    try:
        (ax, *_) = fig.axes
        assert [label.get_text() for label in ax.get_yticklabels()] == ["llm", "web"]
        if last == "2026-11-28":
            assert any(t.get_text().strip() == "DST" for t in ax.texts)
            assert any(t.get_text() == "Black Friday" for t in ax.texts)
    finally:
        plt.close(fig)
    rows = rows_for(policy, start, end, ["llm", "web"])
    assert {t.bounds.min for t in rows["llm"]} >= {0, 1, 6} and {
        t.bounds.min for t in rows["web"]
    } == {2}


def test_one_cli_the_policy_and_the_time_are_passed_the_same_way_everywhere(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The policy was positional for some commands and --policy for others, and "as if at this
    time" was --at for plan but --now for janitor and wake; `local --seed` took a policy while
    `trace --seed` and `tune --seed` took a number. Every command now takes --policy and --at."""
    policy = str(EXAMPLES / "llm-retail.yaml")
    at = "2026-11-27T03:00:00-05:00"
    assert main(["plan", policy, "--at", at, "--json"]) == 0
    positional = json.loads(capsys.readouterr().out)
    assert main(["plan", "--policy", policy, "--now", at, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == positional
    assert main(["plan", "--json"]) == 2 and "give the policy file" in capsys.readouterr().err
    assert (
        main(["plan", policy, "--policy", str(EXAMPLES / "llm-retail-tuned.yaml")]) == 2
        and "two policies given" in capsys.readouterr().err
    )
    assert (
        main(["janitor", "--policy", policy, "--at", at, "--apply"]) == 2
        and "--at is a what-if" in capsys.readouterr().err
    )
    from sagescale.cli import build_parser

    local = build_parser().parse_args(["local", "--populate", policy])
    assert local.populate == policy and not hasattr(local, "seed")
