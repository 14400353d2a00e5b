"""What an endpoint's instances cost, and whether they follow its copies to zero. Pure.

AWS bills the instances of an endpoint, not the copies of its inference components. An
endpoint releases instances that hold no copies only with ``ManagedInstanceScaling`` enabled,
and releases the last one only with ``MinInstanceCount: 0`` (ProductionVariantManagedInstanceScaling:
"MinInstanceCount ... Minimum value of 0"; an endpoint without it keeps the instances it was
created with). A controller that takes copies to 0 on any other endpoint saves nothing: it says
so with an ``instances-kept`` warning, the instances still billed, their price, and the fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from core.policy import Target

INSTANCES_KEPT = "instances-kept"
SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Instances:
    """An endpoint variant's instances, as DescribeEndpoint and DescribeEndpointConfig report them."""

    endpoint: str
    variant: str
    instance_type: str | None
    current: int
    managed: bool
    min: int
    max: int
    role: str | None = None  # the endpoint config's execution role, for the fix's command

    @property
    def follow_to_zero(self) -> bool:
        """Whether the endpoint releases its last instance when it holds no copies."""
        return self.managed and self.min == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "min": self.min,
            "max": self.max,
            "managed": self.managed,
            "instance_type": self.instance_type,
        }


@dataclass(frozen=True)
class TargetWarning:
    """Something that stops a target's policy from working or from saving money: what is wrong
    (``problem``) and what fixes it (``fix``), and the two as one sentence (``message``)."""

    code: str
    problem: str
    fix: str
    lead: str = ""  # what comes before the problem in the message
    fix_lead: str = "Fix: "

    @property
    def message(self) -> str:
        return f"{self.lead}{self.problem} {self.fix_lead}{self.fix}"

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@cache
def _prices() -> dict[str, float]:
    data = json.loads(
        resources.files("core").joinpath("data/prices.json").read_text(encoding="utf-8")
    )
    return {str(k): float(v) for k, v in data.get("prices", {}).items()}


def hourly_price(instance_type: str | None) -> float | None:
    """USD per instance-hour from the shipped, dated price table (``None``: not in it)."""
    return _prices().get(instance_type or "")


def cost_per_hour(instances: Instances) -> float | None:
    """What the instances bill per hour now."""
    price = hourly_price(instances.instance_type)
    return None if price is None else round(price * instances.current, 4)


def fix_command(instances: Instances) -> str:
    """The AWS CLI calls that let the endpoint release its instances: a new endpoint config with
    managed instance scaling down to 0, and an update of the endpoint to it."""
    new_config = f"{instances.endpoint}-managed"
    variant = {
        "VariantName": instances.variant,
        "InstanceType": instances.instance_type or "INSTANCE_TYPE",
        "InitialInstanceCount": 1,
        "ManagedInstanceScaling": {
            "Status": "ENABLED",
            "MinInstanceCount": 0,
            "MaxInstanceCount": max(instances.max, instances.current, 1),
        },
        "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
    }
    return (
        f"aws sagemaker create-endpoint-config --endpoint-config-name {new_config} "
        f"--execution-role-arn {instances.role or 'ROLE_ARN'} --production-variants '{json.dumps([variant], separators=(',', ':'))}' "
        f"&& aws sagemaker update-endpoint --endpoint-name {instances.endpoint} --endpoint-config-name {new_config}"
    )


def may_sleep(target: Target, desired: int | None) -> bool:
    """Whether the target holds 0 copies now, or may (``min: 0``, or an idle window)."""
    return (desired or 0) == 0 or target.min == 0 or bool(target.idle)


def instances_kept(instances: Instances | None, copies: int) -> TargetWarning | None:
    """The warning when ``copies`` (what the target holds after the decision) is 0 and the
    endpoint's instances cannot follow it: they keep billing."""
    if instances is None or copies > 0 or instances.current <= 0 or instances.follow_to_zero:
        return None
    why = (
        "ManagedInstanceScaling is not enabled"
        if not instances.managed
        else f"ManagedInstanceScaling keeps MinInstanceCount {instances.min}"
    )
    kept = (
        instances.current
        if not instances.managed
        else min(instances.current, max(instances.min, 1))
    )
    price = hourly_price(instances.instance_type)
    cost = f"${price * kept:,.2f}/h" if price is not None else "price unknown"
    return TargetWarning(
        INSTANCES_KEPT,
        f"{kept} {instances.instance_type or 'instance'} instance(s) of endpoint {instances.endpoint} keep billing ({cost}): {why}.",
        fix_command(instances),
        lead="0 copies, but ",
    )


def superseded(endpoint: str, names: list[str]) -> TargetWarning:
    """The warning for older components a redeploy left on the endpoint: they keep their copies."""
    deletes = " && ".join(
        f"aws sagemaker delete-inference-component --inference-component-name {n}" for n in names
    )
    return TargetWarning(
        SUPERSEDED,
        f"endpoint {endpoint} still hosts {len(names)} older deployment(s) of this target's model: {', '.join(names)}. "
        f"sagescale manages the newest and leaves these alone: they keep their copies and the instances under them.",
        deletes,
        fix_lead="Once the new one serves, delete them: ",
    )
