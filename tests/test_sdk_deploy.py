"""The newcomer's deployment, made by the real sagemaker SDK (2.x, the ``sdk`` extra) the way the LLM
Engineer's Handbook deploys its model: an inference-component endpoint without managed instance
scaling, four 4-GPU copies asked for on one ml.g5.12xlarge; then a redeploy, which adds a
timestamped component and leaves the old one. The target follows the newest; doctor tells the truth.
Skipped where the SDK is not installed (CI does not install it: about 1 GB)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4-tgi3.0-gpu-py311-cu124-ubuntu22.04"
POLICY = """
version: 1
timezone: UTC
targets:
  twin:
    inference_component: {endpoint: twin}
    min: 1
    max: 4
    idle: [{days: Sat-Sun}]
"""


def deploy(session: Any, role: str) -> None:
    from sagemaker.compute_resource_requirements.resource_requirements import ResourceRequirements
    from sagemaker.enums import EndpointType
    from sagemaker.huggingface import HuggingFaceModel

    model = HuggingFaceModel(
        role=role,
        image_uri=IMAGE,
        env={"HF_MODEL_ID": "mlabonne/TwinLlama-3.1-8B"},
        sagemaker_session=session,
    )
    resources = ResourceRequirements(
        requests={"copies": 4, "num_accelerators": 4, "num_cpus": 8, "memory": 5 * 1024}
    )
    model.deploy(
        instance_type="ml.g5.12xlarge",
        initial_instance_count=1,
        endpoint_name="twin",
        endpoint_type=EndpointType.INFERENCE_COMPONENT_BASED,
        resources=resources,
    )


def test_a_handbook_deployment_and_its_redeploy(
    tmp_path: Path,
    aws_env: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sagemaker = pytest.importorskip(
        "sagemaker", reason="the sagemaker SDK (the 'sdk' extra) is not installed"
    )
    import boto3

    from core.aws.clients import AwsClients
    from handlers import reconcile
    from handlers.runtime import Runtime, reset_runtime
    from handlers.settings import Settings
    from sagescale.cli import main
    from sagescale.emulator import mock
    from sagescale.stack import ACCOUNT, NAME_PREFIX, REGION, Stack, default_template
    from tests.emulated import context

    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    with mock():
        role = boto3.client("iam").create_role(RoleName="sagemaker", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        session = sagemaker.Session(boto_session=boto3.Session(region_name=REGION))
        deploy(session, role)
        sm = boto3.client("sagemaker", region_name=REGION)
        (first,) = [
            c["InferenceComponentName"]
            for c in sm.list_inference_components()["InferenceComponents"]
        ]
        runtime = sm.describe_inference_component(InferenceComponentName=first)["RuntimeConfig"]
        assert runtime == {
            "DesiredCopyCount": 4,
            "CurrentCopyCount": 1,
        }  # one 4-GPU copy per 4-GPU instance, and one instance

        capsys.readouterr()  # the SDK's progress dots
        code = main(["doctor", "--policy", str(policy), "--json"])
        found = {f["code"]: f for f in json.loads(capsys.readouterr().out)["findings"]}
        assert code == 0
        assert set(found) == {"instances-kept", "max-cannot-be-placed"}
        assert "ManagedInstanceScaling is not enabled" in found["instances-kept"]["message"]

        clients = AwsClients()
        names = Stack(default_template()).create_resources(clients)
        settings = Settings(
            names["StateTable"],
            policy,
            None,
            None,
            account_id=ACCOUNT,
            region=REGION,
            stack_name=NAME_PREFIX,
        )
        reset_runtime(Runtime(settings, clients))
        try:
            out = reconcile.handler(
                {"source": "sagescale.schedule", "action": "reconcile"}, context("reconcile")
            )["targets"]["twin"]
            assert out["resource"] == f"inference-component/{first}"

            deploy(session, role)  # the SDK's redeploy: a new component, the old one left
            (newer,) = [
                c["InferenceComponentName"]
                for c in sm.list_inference_components()["InferenceComponents"]
                if c["InferenceComponentName"] != first
            ]
            out = reconcile.handler(
                {"source": "sagescale.schedule", "action": "reconcile"}, context("reconcile")
            )["targets"]["twin"]
            assert out["resource"] == f"inference-component/{newer}" and out["outcome"] != "error"
            assert [w["code"] for w in out["warnings"]] == ["superseded"] and first in out[
                "warnings"
            ][0]["message"]
        finally:
            reset_runtime()
        capsys.readouterr()
        main(["doctor", "--policy", str(policy), "--json"])
        codes = {f["code"] for f in json.loads(capsys.readouterr().out)["findings"]}
        assert "superseded" in codes
