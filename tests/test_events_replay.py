"""Every sample event in events/ replays through `sagescale replay` against the emulator with
its documented effect (the table in the README)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from core.policy import loads_policy
from sagescale.cli import main
from sagescale.emulator import start_server
from sagescale.seed import seed_target
from tests.conftest import EVENTS

# a policy whose bounds do not depend on the time of day, so the replay (which runs at the
# real current time, as a deployed function does) has a fixed expected effect
POLICY = """
version: 1
timezone: America/New_York
targets:
  llm:
    inference_component: llm-ic
    min: 1
    max: 8
    alarms:
      - {alarm: llm-latency-high, change: 2}
      - {alarm: llm-invocations-low, change: -1}
      - {alarm: llm-overloaded, change: 1}
    wake: true
    burst: {per_copy: 1300}
"""

# event file -> (function, copies before, copies after)
EFFECTS = {
    "reconcile-tick.json": ("ReconcileFunction", 0, 1),
    "reconcile-target.json": ("ReconcileFunction", 0, 1),
    "reconcile-dry-run.json": ("ReconcileFunction", 0, 0),
    "reconcile-work.json": ("ReconcileFunction", 0, 1),
    "alarm-eventbridge-alarm.json": ("AlarmFunction", 1, 3),
    "alarm-lambda-action.json": ("AlarmFunction", 1, 3),
    "alarm-sns-alarm.json": ("AlarmFunction", 1, 3),
    "alarm-sns-composite.json": ("AlarmFunction", 1, 2),
    "alarm-eventbridge-ok.json": ("AlarmFunction", 1, 1),
    "alarm-unknown.json": ("AlarmFunction", 1, 1),
    "alarm-wake.json": ("AlarmFunction", 0, 1),
    "alarm-burst.json": ("AlarmFunction", 1, 5),
}


# janitor event -> (verdict on the forgotten endpoint, whether it is marked afterwards, endpoints
# judged); a work-queue batch answers with its failures, not the verdicts (None)
JANITOR_EFFECTS = {
    "janitor-tick.json": ("mark", True, 2),
    "janitor-dry-run.json": ("mark", False, 2),
    "janitor-endpoint.json": ("mark", False, 1),
    "janitor-work.json": (None, True, None),
}
JANITOR_POLICY = """
version: 1
targets:
  llm:
    inference_component: llm-ic
    min: 1
    max: 2
janitor:
  idle_for: 60
  grace: 60
  dry_run: false
"""


def test_every_event_file_has_a_documented_effect() -> None:
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted([*EFFECTS, *JANITOR_EFFECTS])
    readme = (EVENTS.parent / "README.md").read_text(encoding="utf-8")
    for name in [*EFFECTS, *JANITOR_EFFECTS]:
        assert f"`events/{name}`" in readme, f"README's events table misses {name}"


@pytest.fixture
def seeded(tmp_path: Path, aws_env: None) -> Iterator[tuple[str, Path, object]]:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY)
    with start_server() as server:
        server.reset()
        sagemaker = boto3.client("sagemaker", endpoint_url=server.url)
        yield server.url, policy_file, sagemaker
        server.reset()


@pytest.mark.parametrize("name", sorted(EFFECTS))
def test_event_replays_with_its_effect(
    name: str, seeded: tuple[str, Path, object], capsys: pytest.CaptureFixture[str]
) -> None:
    url, policy_file, sagemaker = seeded
    function, before, after = EFFECTS[name]
    seed_target(sagemaker, loads_policy(POLICY).targets["llm"], copies=before)
    code = main(
        [
            "replay",
            function,
            str(EVENTS / name),
            "--endpoint-url",
            url,
            "--policy",
            str(policy_file),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    json.loads(out)
    copies = sagemaker.describe_inference_component(InferenceComponentName="llm-ic")[
        "RuntimeConfig"
    ]["DesiredCopyCount"]  # type: ignore[attr-defined]
    assert copies == after


@pytest.mark.parametrize("name", sorted(JANITOR_EFFECTS))
def test_janitor_event_replays_with_its_effect(
    name: str, seeded: tuple[str, Path, object], capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    from sagescale.emulator import ManualClock, control

    url, policy_file, sagemaker = seeded
    policy_file.write_text(JANITOR_POLICY)
    control.set_clock(ManualClock(datetime.now(UTC) - timedelta(days=2)))  # created two days ago
    seed_target(
        sagemaker,
        loads_policy(
            "version: 1\ntargets:\n  f: {endpoint: llm-test-forgotten, min: 1, max: 1}\n"
        ).targets["f"],
    )
    seed_target(
        sagemaker, loads_policy(JANITOR_POLICY).targets["llm"]
    )  # managed by the policy: kept
    control.reset_clock()
    verdict, marked, judged = JANITOR_EFFECTS[name]
    code = main(
        [
            "replay",
            "JanitorFunction",
            str(EVENTS / name),
            "--endpoint-url",
            url,
            "--policy",
            str(policy_file),
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    if verdict is None:
        assert out == {"batchItemFailures": []}
    else:
        verdicts = {e["endpoint"]: e["action"] for e in out["endpoints"]}
        assert len(verdicts) == judged
        assert verdicts["llm-test-forgotten"] == verdict
        if judged == 2:
            assert verdicts["llm-ic-endpoint"] == "keep"
    arn = sagemaker.describe_endpoint(EndpointName="llm-test-forgotten")["EndpointArn"]  # type: ignore[attr-defined]
    tags = {t["Key"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}  # type: ignore[attr-defined]
    assert ("sagescale:janitor" in tags) == marked
