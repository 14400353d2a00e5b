"""The SAM template, read the way ``sam local invoke`` reads it: functions, their environment,
and the stack's tables, topics and queues, which the emulator creates on start.

Physical names are deterministic (``sagescale-<LogicalId>``) so a ``sagescale local``
process and a ``sagescale replay`` process agree on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REGION = "us-east-1"
ACCOUNT = "123456789012"
PARTITION = "aws"
NAME_PREFIX = "sagescale"


class _NoValue(str):
    """``AWS::NoValue``: the list item or property it stands for is left out."""


NO_VALUE = _NoValue()


class TemplateError(ValueError):
    """The template lacks something replay needs; the message names it."""


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (``!Ref``, ``!Sub``, ``!GetAtt`` ...) as their long forms."""


def _cfn_constructor(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_constructor)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    code_uri: str
    environment: dict[str, str]
    timeout: int
    memory: int


@dataclass(frozen=True)
class QueueSource:
    """An SQS event of a function: Lambda's event source mapping from a queue of the stack."""

    function_id: str
    queue_id: str  # the queue's logical id
    batch_size: int
    reports_failures: bool  # FunctionResponseTypes: [ReportBatchItemFailures]


class Stack:
    """A parsed template with deterministic physical names for its resources."""

    def __init__(self, template: Path) -> None:
        self.path = template
        try:
            doc = yaml.load(template.read_text(encoding="utf-8"), Loader=_CfnLoader)
        except OSError as exc:
            raise TemplateError(f"cannot read template {template}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise TemplateError(f"template {template} is not YAML: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
            raise TemplateError(f"template {template} has no Resources mapping")
        self.doc: dict[str, Any] = doc
        self.resources: dict[str, Any] = self.doc.get("Resources", {})
        self.parameters = {
            k: str(v.get("Default", "")) for k, v in self.doc.get("Parameters", {}).items()
        }

    # -- names -----------------------------------------------------------------

    def physical_name(self, logical_id: str) -> str:
        return f"{NAME_PREFIX}-{logical_id}"

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        if kind == "AWS::DynamoDB::Table":
            return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        if kind == "AWS::SNS::Topic":
            return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}"
        if kind == "AWS::SQS::Queue":
            return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}"
        if kind == "AWS::Serverless::Function":
            return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}"
        return f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:{kind}/{name}"

    def ref(self, logical_id: str) -> str:
        if logical_id in self.parameters:
            return self.parameters[logical_id]
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::StackName": NAME_PREFIX,
            "AWS::NoValue": NO_VALUE,
        }
        if logical_id in pseudo:
            return pseudo[logical_id]
        if logical_id not in self.resources:
            raise TemplateError(
                f"!Ref {logical_id}: no such parameter or resource in {self.path.name}"
            )
        kind = self.resources[logical_id]["Type"]
        if kind in ("AWS::SNS::Topic",):
            return self.arn(logical_id)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.physical_name(logical_id)}"
        return self.physical_name(logical_id)

    # -- intrinsic functions -----------------------------------------------------

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.doc.get("Conditions", {})[name]))

    def resolve(self, value: Any) -> Any:
        """Evaluate the intrinsic functions replay needs (Ref, GetAtt, Sub, If, Not, Equals, Join)."""
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            intrinsic = self._intrinsics().get(key)
            if intrinsic is not None:
                return intrinsic(arg)
        return {
            k: r for k, r in ((k, self.resolve(v)) for k, v in value.items()) if r is not NO_VALUE
        }

    def _intrinsics(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": self.ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": lambda arg: (
                self._substitute(arg, {})
                if isinstance(arg, str)
                else self._substitute(arg[0], self.resolve(arg[1]))
            ),
            "Fn::If": lambda arg: self.resolve(arg[1] if self.condition(arg[0]) else arg[2]),
            "Fn::Not": lambda arg: not self.resolve(arg[0]),
            "Fn::Equals": lambda arg: self.resolve(arg[0]) == self.resolve(arg[1]),
            "Fn::Join": lambda arg: str(arg[0]).join(str(self.resolve(v)) for v in arg[1]),
            "Condition": self.condition,
        }

    def _get_att(self, arg: Any) -> str:
        logical, attr = arg if isinstance(arg, list) else str(arg).split(".", 1)
        if attr == "Arn":
            return self.arn(logical)
        if attr == "QueueName":
            return self.physical_name(logical)
        return self.ref(logical)

    def _substitute(self, text: str, extra: dict[str, Any]) -> str:
        out, i = "", 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                out += text[i:]
                break
            end = text.index("}", start)
            out += text[i:start]
            name = text[start + 2 : end]
            if name in extra:
                out += str(extra[name])
            elif "." in name:
                out += self._get_att(name.split(".", 1))
            else:
                out += self.ref(name)
            i = end + 1
        return out

    # -- functions ---------------------------------------------------------------

    def function_ids(self) -> list[str]:
        return [
            k for k, v in self.resources.items() if v.get("Type") == "AWS::Serverless::Function"
        ]

    def function(self, logical_id: str) -> FunctionSpec:
        if (
            logical_id not in self.resources
            or self.resources[logical_id].get("Type") != "AWS::Serverless::Function"
        ):
            known = ", ".join(self.function_ids()) or "none"
            raise TemplateError(
                f"no function {logical_id!r} in {self.path.name} (functions: {known})"
            )
        globals_ = self.doc.get("Globals", {}).get("Function", {})
        props = self.resources[logical_id].get("Properties", {})
        env = dict(globals_.get("Environment", {}).get("Variables", {}))
        env.update(props.get("Environment", {}).get("Variables", {}))
        environment = {k: str(self.resolve(v)) for k, v in env.items()}
        return FunctionSpec(
            logical_id=logical_id,
            handler=str(props.get("Handler") or globals_.get("Handler")),
            code_uri=str(props.get("CodeUri") or globals_.get("CodeUri") or "."),
            environment=environment,
            timeout=int(props.get("Timeout") or globals_.get("Timeout") or 3),
            memory=int(props.get("MemorySize") or globals_.get("MemorySize") or 128),
        )

    def queue_sources(self) -> list[QueueSource]:
        """Every SQS event of the template's functions, as Lambda polls them."""
        out = []
        for function_id in self.function_ids():
            for event in (
                self.resources[function_id].get("Properties", {}).get("Events") or {}
            ).values():
                if event.get("Type") != "SQS":
                    continue
                props = event.get("Properties", {})
                queue = props.get("Queue")
                target = queue.get("Fn::GetAtt") if isinstance(queue, dict) else None
                if target is None:
                    raise TemplateError(
                        f"{function_id}: an SQS event's Queue is not !GetAtt <queue>.Arn of this template"
                    )
                queue_id = target[0] if isinstance(target, list) else str(target).split(".", 1)[0]
                out.append(
                    QueueSource(
                        function_id,
                        queue_id,
                        int(props.get("BatchSize", 10)),
                        "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    )
                )
        return out

    # -- emulated resources -----------------------------------------------------

    def create_resources(self, clients: Any) -> dict[str, str]:
        """Create the stack's tables, topics and queues through ``clients`` (an ``AwsClients``); idempotent."""
        created: dict[str, str] = {}
        for logical_id, res in self.resources.items():
            kind, props = res.get("Type"), res.get("Properties", {})
            name = self.physical_name(logical_id)
            if kind == "AWS::DynamoDB::Table":
                existing = clients.dynamodb.list_tables().get("TableNames", [])
                if name not in existing:
                    clients.dynamodb.create_table(
                        TableName=name,
                        AttributeDefinitions=props["AttributeDefinitions"],
                        KeySchema=props["KeySchema"],
                        BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
                    )
                created[logical_id] = name
            elif kind == "AWS::SNS::Topic":
                created[logical_id] = clients.sns.create_topic(Name=name)["TopicArn"]
            elif kind == "AWS::SQS::Queue":
                created[logical_id] = clients.client("sqs").create_queue(QueueName=name)["QueueUrl"]
        return created


def default_template() -> Path:
    """``template.yaml`` of the checkout this package runs from (or of the current directory)."""
    here = Path(__file__).resolve().parent.parent.parent / "template.yaml"
    if here.is_file():
        return here
    return Path.cwd() / "template.yaml"
