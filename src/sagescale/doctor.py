"""``sagescale doctor``: the live deployment against the policy, and everything that would stop the
policy from working or from saving money. Read-only; the operator's own credentials (or, for a
member account, its member role).

Each finding is ``{code, severity, target, message, fix}``; ``error`` means the policy cannot work
as written (exit 1), ``warning`` that it works but costs or risks more than it says.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from core.alarms import wake_alarm_name
from core.aws.paging import pages
from core.aws.scaling import ScalingAdapter, scalable_dimension
from core.aws.wake import alarms_named
from core.instances import Instances, instances_kept, may_sleep, superseded
from core.policy import Policy, Target

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    target: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def examine(policy: Policy, names: list[str], clients: Any, *, stack: str) -> list[Finding]:
    """The findings of ``names`` (targets living where ``clients`` reach)."""
    adapter = ScalingAdapter(clients.sagemaker, clients.autoscaling)
    resolved, unresolved = adapter.resolve({n: policy.targets[n] for n in names})
    scalable = adapter.scalable_targets(resolved)
    hosts: dict[str, Instances | None] = {}
    wake_names = [wake_alarm_name(n, stack) for n, t in resolved.items() if t.wake]
    present = alarms_named(clients.cloudwatch, wake_names) if wake_names else {}
    found: list[Finding] = []
    for name in names:
        target = resolved.get(name)
        if target is None:
            found.append(_missing(name, policy.targets[name], unresolved[name], clients))
            continue
        observed = adapter.observe(target, scalable.get(target.resource))
        if not observed.exists:
            found.append(_missing(name, target, f"{target.resource} does not exist", clients))
            continue
        found += _sleeping(name, target, adapter, observed.host, observed.desired, hosts)
        older = adapter.superseded.get(name)
        if older and observed.host is not None:
            w = superseded(observed.host[0], older)
            found.append(
                Finding(
                    w.code,
                    "warning",
                    name,
                    w.problem,
                    f"delete them once the new one serves: {w.fix}",
                )
            )
        found += _placement(name, target, adapter, observed.host, hosts, clients)
        found += _autoscaling(name, target, scalable.get(target.resource) is not None, clients)
        if target.wake and wake_alarm_name(name, stack) not in present:
            found.append(
                Finding(
                    "wake-alarm-missing",
                    "warning",
                    name,
                    f"no wake alarm {wake_alarm_name(name, stack)}: a request at 0 copies fails until the next scheduled change brings a copy",
                    f"reconcile creates it at its next run (stack {stack}); if it never appears, read the reconcile function's logs (or pass --stack with your stack's name)",
                )
            )
    return found


def _missing(name: str, target: Target, why: str, clients: Any) -> Finding:
    wanted = (
        target.selector.endpoint
        if target.selector is not None
        else (target.component or target.endpoint or "")
    )
    try:
        if target.selector is not None or target.resource_kind != "inference_component":
            existing = [
                e["EndpointName"] for e in pages(clients.sagemaker.list_endpoints, "Endpoints")
            ]
        else:
            existing = [
                c["InferenceComponentName"]
                for c in pages(clients.sagemaker.list_inference_components, "InferenceComponents")
            ]
    except (ClientError, BotoCoreError):
        existing = []
    close = difflib.get_close_matches(wanted, existing, n=3, cutoff=0.6)
    hint = (
        f"did you mean {', '.join(close)}?"
        if close
        else (
            f"existing: {', '.join(sorted(existing)[:5])}"
            if existing
            else "nothing of that kind exists here"
        )
    )
    return Finding(
        "target-missing",
        "error",
        name,
        f"{why}; {hint}",
        "correct the name in the policy, or deploy the resource; check --account/--region",
    )


def _sleeping(
    name: str,
    target: Target,
    adapter: ScalingAdapter,
    host: tuple[str, str] | None,
    desired: int | None,
    hosts: dict[str, Instances | None],
) -> Iterator[Finding]:
    if target.is_realtime and target.idle and not target.park:
        yield Finding(
            "realtime-cannot-sleep",
            "warning",
            name,
            f"{target.resource} is a real-time variant: it holds 1 instance in its idle windows (it cannot run 0), so they save nothing below that",
            "set park: true (the idle window deletes the endpoint after a snapshot and recreates it after), or move the model to an inference component",
        )
    if host is None or not may_sleep(target, desired):
        return
    kept = instances_kept(adapter.instances(host, hosts), 0)
    if kept is not None:
        yield Finding(
            kept.code,
            "warning",
            name,
            f"the policy takes it to 0 copies, but {kept.problem}",
            kept.fix,
        )


def _placement(
    name: str,
    target: Target,
    adapter: ScalingAdapter,
    host: tuple[str, str] | None,
    hosts: dict[str, Instances | None],
    clients: Any,
) -> Iterator[Finding]:
    """Whether the policy's copies fit on the instances the endpoint may have."""
    from core.sim.packing import CopyNeeds, copies_per_instance, instance_table

    if host is None or target.component is None:
        return
    instances = adapter.instances(host, hosts)
    if instances is None or instances.instance_type is None:
        return
    spec = instance_table().get(instances.instance_type)
    if spec is None:
        return
    req = (
        clients.sagemaker.describe_inference_component(InferenceComponentName=target.component)
        .get("Specification", {})
        .get("ComputeResourceRequirements", {})
    )
    needs = CopyNeeds(
        num_accelerators=int(req.get("NumberOfAcceleratorDevicesRequired", 0) or 0),
        num_cpus=float(req.get("NumberOfCpuCoresRequired", 0) or 0.01),
        memory=int(req.get("MinMemoryRequiredInMb", 1) or 1),
    )
    per_instance = copies_per_instance(needs, spec)
    limit = per_instance * max(instances.max, instances.current)
    most = max([target.max, *(f.min for f in target.floors)])
    if per_instance < 1:
        yield Finding(
            "copy-does-not-fit",
            "error",
            name,
            f"one copy ({needs.num_accelerators} GPU, {needs.num_cpus:g} vCPU, {needs.memory} MB) does not fit on {instances.instance_type}",
            "change the component's ComputeResourceRequirements or the endpoint's instance type",
        )
    elif target.min > limit:
        yield Finding(
            "min-cannot-be-placed",
            "error",
            name,
            f"min {target.min} copies need {math.ceil(target.min / per_instance)} {instances.instance_type} instances ({per_instance} per instance); the endpoint may have {max(instances.max, instances.current)}",
            "raise MaxInstanceCount (ManagedInstanceScaling) or lower min",
        )
    elif most > limit:
        yield Finding(
            "max-cannot-be-placed",
            "warning",
            name,
            f"up to {most} copies need {math.ceil(most / per_instance)} {instances.instance_type} instances ({per_instance} per instance); the endpoint may have {max(instances.max, instances.current)}: copies above {limit} stay unplaced",
            "raise MaxInstanceCount (ManagedInstanceScaling), or lower max and the floors",
        )


def _autoscaling(name: str, target: Target, registered: bool, clients: Any) -> Iterator[Finding]:
    """Application Auto Scaling settings that fight the policy's bounds."""
    if target.mode == "direct" and registered:
        yield Finding(
            "direct-mode-fights",
            "error",
            name,
            f"mode direct, but {target.resource} has a scalable target: its policies undo every count sagescale writes",
            "use mode: auto (or bounds), or deregister the scalable target",
        )
    if not registered:
        return
    try:
        actions = list(
            pages(
                clients.autoscaling.describe_scheduled_actions,
                "ScheduledActions",
                ServiceNamespace="sagemaker",
                ResourceId=target.resource,
                ScalableDimension=scalable_dimension(target),
            )
        )
    except (ClientError, BotoCoreError):
        actions = []
    if actions:
        yield Finding(
            "scheduled-actions-fight",
            "warning",
            name,
            f"{len(actions)} Application Auto Scaling scheduled action(s) ({', '.join(a['ScheduledActionName'] for a in actions)}) set MinCapacity/MaxCapacity of {target.resource} and overwrite the policy's bounds",
            "delete them (aws application-autoscaling delete-scheduled-action ...) and write them as floors or idle windows in the policy",
        )


def render(findings: list[Finding], checked: int) -> str:
    if not findings:
        return f"doctor: {checked} target(s) checked, nothing found"
    lines = [
        f"doctor: {checked} target(s) checked, {sum(f.severity == 'error' for f in findings)} error(s), {sum(f.severity == 'warning' for f in findings)} warning(s)"
    ]
    for f in findings:
        lines += [
            f"{f.severity.upper():7s} {f.target}: {f.code}",
            f"        {f.message}",
            f"        fix: {f.fix}",
        ]
    return "\n".join(lines)


def cmd_doctor(args: Any) -> int:
    """Examine every target of the policy (or those at ``--account``/``--region``); exit 1 on an error."""
    import json

    from core.aws.accounts import AccountError, Accounts
    from core.aws.clients import AwsClients
    from core.policy import load_policy
    from sagescale.common import chosen_place, selected_targets

    policy = load_policy(args.policy)
    names = selected_targets(policy, args.target)
    if args.account is not None or args.region is not None:
        place = chosen_place(args, policy)
        names = [n for n in names if policy.place(n) == place]
    home = AwsClients()
    findings: list[Finding] = []
    for place, here in policy.places().items():
        wanted = [n for n in names if n in here]
        if not wanted:
            continue
        try:
            clients = (
                home
                if place.is_home
                else Accounts(
                    home,
                    policy.accounts,
                    session_name="sagescale-doctor",
                    endpoint_url=home.endpoint_url,
                ).clients(place)
            )
            findings += examine(policy, wanted, clients, stack=args.stack)
        except AccountError as exc:
            findings += [
                Finding(
                    "role-unassumable",
                    "error",
                    n,
                    str(exc),
                    "deploy member-role.yaml in that account (StackSets) trusting these credentials, with the account's ExternalId",
                )
                for n in wanted
            ]
    order = {n: i for i, n in enumerate(names)}
    findings.sort(key=lambda f: (order.get(f.target, 0), f.severity != "error"))
    if args.json:
        print(
            json.dumps(
                {"checked": len(names), "findings": [f.as_dict() for f in findings]}, indent=2
            )
        )
    else:
        print(render(findings, len(names)))
    return 1 if any(f.severity == "error" for f in findings) else 0
