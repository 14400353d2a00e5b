"""Create, on the emulator, the SageMaker resources a policy names: a model, an endpoint
config, an endpoint and (for inference-component targets) the inference component, each in
its target's account and region; and, in every member account the policy names, the roles
member-role.yaml would make there, so that the controller can assume them.

For ``sagescale local --populate``, the demo and the tests; never used against real AWS.
"""

from __future__ import annotations

from typing import Any

from core.aws.accounts import Accounts
from core.aws.clients import AwsClients
from core.policy import Policy, Target

ROLE = "arn:aws:iam::123456789012:role/sagescale-emulated-sagemaker"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4-tgi3.0-gpu-py311-cu124-ubuntu22.04"


def seed_target(
    sagemaker: Any,
    target: Target,
    *,
    copies: int | None = None,
    instance_type: str = "ml.g5.12xlarge",
    needs: dict[str, Any] | None = None,
    max_instances: int = 4,
) -> None:
    """Create the endpoint (and inference component) behind ``target``, ``copies`` copies/instances;
    a component's copies need ``needs`` (``ComputeResourceRequirements``; default 1 GPU, 4 cores,
    16 GiB) on an endpoint whose managed instance scaling goes from 0 to ``max_instances``."""
    count = target.min if copies is None else copies
    if target.resource_kind == "inference_component":
        selector = target.selector
        # a selector stands for a component the sagemaker SDK named with a timestamp
        name = (
            target.component
            or f"{selector.model if selector and selector.model else 'llm'}-2026-11-24-12-00-00-000"
        )
        endpoint = selector.endpoint if selector else f"{name}-endpoint"
        model = selector.model if selector and selector.model else f"{name}-model"
        sagemaker.create_model(
            ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName=endpoint,
            ExecutionRoleArn=ROLE,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "InstanceType": instance_type,
                    "InitialInstanceCount": 1,
                    "ManagedInstanceScaling": {
                        "Status": "ENABLED",
                        "MinInstanceCount": 0,
                        "MaxInstanceCount": max_instances,
                    },
                    "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)
        sagemaker.create_inference_component(
            InferenceComponentName=name,
            EndpointName=endpoint,
            VariantName="AllTraffic",
            Specification={
                "ModelName": model,
                "ComputeResourceRequirements": needs
                or {
                    "NumberOfAcceleratorDevicesRequired": 1,
                    "NumberOfCpuCoresRequired": 4,
                    "MinMemoryRequiredInMb": 16384,
                },
            },
            RuntimeConfig={"CopyCount": count},
        )
        return
    endpoint = target.endpoint or ""
    model = f"{endpoint}-model"
    sagemaker.create_model(
        ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}
    )
    variant: dict[str, Any] = {
        "VariantName": target.variant_name,
        "ModelName": model,
        "InstanceType": instance_type,
        "InitialInstanceCount": max(count, 1),
    }
    config: dict[str, Any] = {"EndpointConfigName": endpoint, "ProductionVariants": [variant]}
    if target.kind == "async":
        config["AsyncInferenceConfig"] = {
            "OutputConfig": {"S3OutputPath": f"s3://sagescale-emulated/{endpoint}/"}
        }
    sagemaker.create_endpoint_config(**config)
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)


def seed_members(policy: Policy, trusted_account: str) -> list[str]:
    """Create, in each member account of ``policy``, the member role (and the janitor's, for an
    account the janitor sweeps) trusting ``trusted_account`` with the account's ExternalId, as
    member-role.yaml does; their ARNs. Needs the emulator in this process (``control``)."""
    from sagescale.emulator import control

    swept = set(policy.janitor.accounts or [])
    made = []
    for name, account in policy.accounts.items():
        role_name = account.role.rsplit("/", 1)[-1]
        for suffix in ("", "-janitor") if name in swept else ("",):
            made.append(
                control.create_member_role(
                    account.account_id,
                    role_name + suffix,
                    trusted_account,
                    external_id=account.external_id,
                )
            )
    return made


def seed_policy(clients: AwsClients, policy: Policy, *, trusted_account: str) -> list[str]:
    """Seed every target of ``policy`` where it lives, after the member roles that reach it;
    returns what was created, member roles first, targets as ``[account/region/]resource``."""
    made = seed_members(policy, trusted_account)
    accounts = Accounts(
        clients, policy.accounts, endpoint_url=clients.endpoint_url
    )  # the emulator's, in every account
    for name, target in policy.targets.items():
        place = policy.place(name)
        seed_target(accounts.clients(place).sagemaker, target)
        made.append(
            target.resource
            if place.is_home
            else f"{place.account}/{place.region}/{target.resource}"
        )
    return made
