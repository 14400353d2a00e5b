"""``sagescale doctor``: the live deployment against the policy, on the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.aws.clients import AwsClients
from core.policy import loads_policy
from sagescale.cli import main
from sagescale.emulator import emulated_aws
from sagescale.seed import seed_target

POLICY = """
version: 1
timezone: UTC
targets:
  llm:
    inference_component: llm-ic
    min: 1
    max: 8
    idle: [{days: Sat-Sun}]
    wake: true
  big:
    inference_component: big-ic
    min: 20
    max: 24
  typo:
    inference_component: llm-icc
    min: 1
    max: 2
  web:
    endpoint: web-ep
    min: 1
    max: 2
    idle: [{days: Sat-Sun}]
"""


def findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str = POLICY
) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    code = main(["doctor", "--policy", str(policy), "--json"])
    out: dict[str, list[dict[str, Any]]] = {}
    for f in json.loads(capsys.readouterr().out)["findings"]:
        out.setdefault(f["target"], []).append(f)
    return code, out


@pytest.fixture
def deployed(aws_env: None) -> Any:
    with emulated_aws():
        clients = AwsClients()
        policy = loads_policy(POLICY)
        for name in ("llm", "big", "web"):
            seed_target(clients.sagemaker, policy.targets[name], copies=1)
        yield clients


def test_doctor_reports_what_stops_the_policy_and_exits_1_on_an_error(
    deployed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, found = findings(tmp_path, capsys)
    assert code == 1
    codes = {t: sorted(f["code"] for f in fs) for t, fs in found.items()}
    assert codes["typo"] == ["target-missing"]
    assert "did you mean llm-ic?" in found["typo"][0]["message"]
    assert codes["big"] == [
        "min-cannot-be-placed"
    ]  # 20 copies of 1 GPU: 5 ml.g5.12xlarge, the endpoint may have 4
    assert codes["llm"] == [
        "wake-alarm-missing"
    ]  # managed scaling down to 0: its instances follow it
    assert codes["web"] == ["realtime-cannot-sleep"]
    assert all(
        f["severity"] in ("error", "warning") and f["fix"] for fs in found.values() for f in fs
    )


def test_doctor_finds_instances_that_cannot_be_released_and_scheduled_actions(
    deployed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_instances import unmanage_endpoint

    unmanage_endpoint(deployed.sagemaker, "llm-ic-endpoint")
    deployed.autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/llm-ic",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        MinCapacity=1,
        MaxCapacity=4,
    )
    deployed.autoscaling.put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="nightly",
        ResourceId="inference-component/llm-ic",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        Schedule="cron(0 20 * * ? *)",
        ScalableTargetAction={"MinCapacity": 0, "MaxCapacity": 1},
    )
    only_llm = POLICY.split("  big:")[0]
    code, found = findings(tmp_path, capsys, only_llm)
    assert code == 0  # warnings only
    by_code = {f["code"]: f for f in found["llm"]}
    # without managed scaling the endpoint keeps its one instance: 4 copies fit, not the 8 of max
    assert set(by_code) == {
        "instances-kept",
        "scheduled-actions-fight",
        "wake-alarm-missing",
        "max-cannot-be-placed",
    }
    assert "aws sagemaker create-endpoint-config" in by_code["instances-kept"]["fix"]
    assert "nightly" in by_code["scheduled-actions-fight"]["message"]
    capsys.readouterr()
    assert main(["doctor", "--policy", str(tmp_path / "policy.yaml")]) == 0
    text = capsys.readouterr().out
    assert (
        "WARNING llm: instances-kept" in text
        and "fix: aws sagemaker create-endpoint-config" in text
    )
