"""Operator commands on the emulator: replay, local (in another process), demo, override."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from core.bounds import effective_bounds
from core.policy import load_policy
from sagescale.cli import main
from tests.conftest import EVENTS, ROOT
from tests.emulated import SCRIPT, local_process

ALWAYS_THREE = """
version: 1
timezone: Europe/Berlin
targets:
  llm:
    inference_component: llm-ic
    min: 1
    max: 8
    floors: [{days: Mon-Sun, min: 3}]
"""


@pytest.fixture
def local_emulator(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``sagescale local --port 0 --populate POLICY`` in its own process; yields its URL."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(ALWAYS_THREE)
    with local_process(policy) as url:
        yield url, policy


def test_local_and_replay_in_two_processes(local_emulator: tuple[str, Path], aws_env: None) -> None:
    url, policy = local_emulator
    sm = boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1")
    before = sm.describe_inference_component(InferenceComponentName="llm-ic")["RuntimeConfig"][
        "DesiredCopyCount"
    ]
    done = subprocess.run(
        [
            SCRIPT,
            "replay",
            "ReconcileFunction",
            str(EVENTS / "reconcile-tick.json"),
            "--endpoint-url",
            url,
            "--policy",
            str(policy),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    expected = effective_bounds(load_policy(policy), "llm", datetime.now(UTC)).min
    assert (before, expected) == (1, 3)
    assert result["targets"]["llm"]["outcome"] == "applied"
    after = sm.describe_inference_component(InferenceComponentName="llm-ic")["RuntimeConfig"][
        "DesiredCopyCount"
    ]
    assert after == expected


def test_replay_on_embedded_emulator_reports_missing_resources(
    capsys: pytest.CaptureFixture[str], aws_env: None
) -> None:
    """Without --endpoint-url an empty embedded emulator runs: the shipped policy's IC does not exist.
    Regression: the invocation succeeded, so replay exited 0 although the target was in error."""
    code = main(["replay", "ReconcileFunction", str(EVENTS / "reconcile-dry-run.json")])
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert code == 1
    assert out["dry_run"] is True
    assert (
        out["targets"]["llm"]["outcome"] == "dry-run" and out["targets"]["llm"]["action"] == "error"
    )
    assert out["errors"] == ["llm"]
    assert (
        "ReconcileFunction: target in error: llm: inference-component/" in captured.err
        and "does not exist" in captured.err
    )


def test_replay_failed_invocation_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], aws_env: None
) -> None:
    event = tmp_path / "bad.json"
    event.write_text('{"target": "nope"}')
    code = main(["replay", "ReconcileFunction", str(event)])
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["errorType"] == "EventError"
    assert "unknown target 'nope'" in captured.err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["replay", "NoSuchFunction", str(EVENTS / "reconcile-tick.json")],
            "no function 'NoSuchFunction'",
        ),
        (["replay", "ReconcileFunction", "/nonexistent.json"], "cannot read event file"),
    ],
)
def test_replay_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_replay_rejects_event_that_is_not_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = tmp_path / "e.json"
    event.write_text("{not json")
    assert main(["replay", "ReconcileFunction", str(event)]) == 2
    assert "is not JSON" in capsys.readouterr().err


def test_demo_timeline(capsys: pytest.CaptureFixture[str], aws_env: None) -> None:
    assert main(["demo", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    details = [(row["at"][:16], row["event"], row["detail"]) for row in out["timeline"]]
    assert ("2026-11-25T20:00", "applied") in {(a, e) for a, e, _ in details}
    text = "\n".join(d for _, _, d in details)
    assert "copies 1 -> 0 (idle:Sun-Fri 20:00-07:00)" in text
    # the copy woken at 21:10 serves nobody after the rejected request: released 15 minutes later
    assert "copies 1 -> 0 (idle:Sun-Fri 20:00-07:00; released: no request for 15 minutes)" in text
    assert "copies 0 -> 6 (floor:retail Thanksgiving Day)" in text
    assert "copies 7 -> 8 (override:alice load test)" in text
    assert "scalable target min/max -> 6/8" in text
    # a deployment keeps the IC Updating 13:55-14:07: the override is deferred, then applied
    assert ("2026-11-27T14:00", "deferred") in {(a, e) for a, e, _ in details}
    assert ("2026-11-27T14:10", "applied") in {(a, e) for a, e, _ in details}
    assert "copies 0 -> 1 (wake:sagescale-wake-sagescale-llm ALARM" in text
    assert "copies 6 -> 8 (alarm:llm-latency-high ALARM" in text
    assert "the same state change again, by SNS: a duplicate delivery, already handled" in text
    assert "copies 8 -> 7 (alarm:llm-invocations-low ALARM" in text
    assert out["runs"] > 600
    assert (
        "llm-test-forgotten: mark (no invocations for 1440 minutes) -> marked delete@2026-11-27T23:00:00Z"
        in text
    )
    assert (
        "llm-test-forgotten: delete (no invocations for 1440 minutes) -> deleted (snapshot" in text
    )
    # 8 reconcile writes (two of them releases of copies nobody called for 15 minutes), 3 alarm steps
    # (the duplicate wrote nothing), mark, delete
    assert out["writes"] == 13


def test_override_set_and_clear(
    local_emulator: tuple[str, Path],
    aws_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, policy = local_emulator
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    argv = [
        "override",
        "llm",
        "--policy",
        str(policy),
        "--min",
        "5",
        "--until",
        until,
        "--why",
        "launch",
        "--table",
        "sagescale-StateTable",
        "--json",
    ]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["override"]["min"] == 5
    done = subprocess.run(
        [
            SCRIPT,
            "replay",
            "ReconcileFunction",
            str(EVENTS / "reconcile-target.json"),
            "--endpoint-url",
            url,
            "--policy",
            str(policy),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    llm = json.loads(done.stdout)["targets"]["llm"]
    assert (llm["to"], llm["reasons"]) == (
        5,
        ["override:" + os.environ.get("USER", "operator") + " launch"],
    )
    assert (
        main(
            [
                "override",
                "llm",
                "--policy",
                str(policy),
                "--clear",
                "--table",
                "sagescale-StateTable",
            ]
        )
        == 0
    )
    assert "override cleared" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--min", "2", "--until", "2020-01-01T00:00:00Z", "--table", "t"], "in the past"),
        (["--min", "2", "--table", "t"], "--until"),
        (["--min", "2", "--until", "2099-01-01T00:00:00Z"], "--table"),
    ],
)
def test_override_bad_input(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    words: str,
) -> None:
    monkeypatch.delenv("SAGESCALE_STATE_TABLE", raising=False)
    code = main(["override", "llm", "--policy", str(ROOT / "examples" / "llm-retail.yaml"), *extra])
    assert code == 2
    assert words in capsys.readouterr().err


def _wake(env: Any, tmp_path: Path, at: str) -> tuple[int, str]:
    from tests.emulated import POLICY

    policy = tmp_path / "wake-policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    code = main(
        [
            "wake",
            "llm",
            "--policy",
            str(policy),
            "--table",
            env.runtime.settings.state_table,
            "--now",
            at,
        ]
    )
    return code, ""


def test_wake_on_a_target_that_is_not_idle_does_nothing_but_say_so(
    env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`wake` on a target in its working hours held 1 copy until the next morning."""
    code, _ = _wake(env, tmp_path, "2026-11-24T12:00:00-05:00")
    out = capsys.readouterr().out
    assert code == 0 and "not idle (min 1 now: min); nothing to wake" in out
    assert env.runtime.store.get("llm").override is None


def test_wake_keeps_a_larger_override_and_prints_the_policys_zone(
    env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`wake` replaced an operator's override (min 5 became min 1) and printed the time in UTC."""
    from datetime import datetime, timedelta

    from core.bounds import Override
    from tests.emulated import NY

    night = datetime(2026, 11, 24, 23, 0, tzinfo=NY)
    code, _ = _wake(env, tmp_path, night.isoformat())
    assert (
        code == 0
        and "min 1 until 2026-11-25T07:00:00-05:00 (America/New_York" in capsys.readouterr().out
    )
    env.runtime.store.set_override(
        "llm", Override(5, night + timedelta(hours=3), "oncall", "incident")
    )
    code, _ = _wake(env, tmp_path, (night + timedelta(minutes=5)).isoformat())
    out = capsys.readouterr().out
    assert code == 0 and "not idle (min 5 now: override:oncall incident); nothing to wake" in out
    kept = env.runtime.store.get("llm").override
    assert kept is not None and (kept.min, kept.by) == (5, "oncall")


def test_local_env_prints_every_variable_a_tool_needs(local_emulator: tuple[str, Path]) -> None:
    """`sagescale local` printed only AWS_ENDPOINT_URL, and that alone fails (no region, no
    credentials). `--env` prints every variable as export lines, for eval "$(sagescale local --env)"."""
    url, _ = local_emulator
    port = url.rsplit(":", 1)[1]
    lines = subprocess.run(
        [SCRIPT, "local", "--env", "--port", port],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    values = dict(line.removeprefix("export ").split("=", 1) for line in lines)
    assert values["AWS_ENDPOINT_URL"] == url and values["AWS_DEFAULT_REGION"] == "us-east-1"
    clean = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
    } | values  # nothing else of AWS's
    check = "import boto3, os; print(boto3.client('dynamodb').describe_table(TableName=os.environ['SAGESCALE_STATE_TABLE'])['Table']['TableStatus'])"
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, env=clean, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ACTIVE"


def test_every_command_has_json(capsys: pytest.CaptureFixture[str]) -> None:
    """Every command that reports takes --json (delete, restore and wake did not)."""
    from sagescale.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    lacking = [name for name, p in sub.choices.items() if "--json" not in p._option_string_actions]
    assert lacking == []


def test_wake_json(env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.emulated import POLICY

    policy = tmp_path / "wake-policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    assert (
        main(
            [
                "wake",
                "llm",
                "--policy",
                str(policy),
                "--table",
                env.runtime.settings.state_table,
                "--at",
                "2026-11-24T12:00:00-05:00",
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "wake" and doc["ok"] is True and "nothing to wake" in doc["lines"][0]
