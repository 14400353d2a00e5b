"""Invoke a function of template.yaml with an event file, the way ``sam local invoke`` does:
the handler named in the template, the template's environment, a Lambda context, and AWS
pointed at the emulator (an embedded one unless ``endpoint_url`` is given).

With ``deliver``, what the invocation left on the stack's queues (the work items of a tick
fanned out over accounts and regions) is then delivered the way Lambda's SQS event source
mappings deliver it: batches of the template's ``BatchSize`` to the function the queue
triggers, successes deleted, a reported failure (``batchItemFailures``) or a failed
invocation leaving its messages on the queue for the next try.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagescale.stack import ACCOUNT, REGION, QueueSource, Stack, TemplateError, default_template

MAX_DELIVERIES = (
    1000  # batches per replay: a worker that keeps enqueuing work is stopped, not followed forever
)


class EventFileError(ValueError):
    """An event file that cannot be read as JSON."""


def load_event(path: str | Path) -> Any:
    """Read an event file (JSON), as ``sam local invoke -e`` does. The one loader of ``events/``."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EventFileError(f"cannot read event file {p}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise EventFileError(f"event file {p} is not JSON: {exc}") from None


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "replay"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_s * 1000


@dataclass(frozen=True)
class Invocation:
    """The outcome of one replayed invocation: the return value, or the error as Lambda reports it."""

    result: Any = None
    error_type: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_type is None

    def as_dict(self) -> Any:
        if self.ok:
            return self.result
        return {"errorType": self.error_type, "errorMessage": self.error_message}


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def function_environment(
    stack: Stack, function_id: str, endpoint_url: str, policy: Path | None
) -> dict[str, str]:
    """The template's environment for the function, pointed at the emulator."""
    env = dict(stack.function(function_id).environment)
    if policy is not None:
        env["SAGESCALE_POLICY_FILE"] = str(policy.resolve())
        env["SAGESCALE_POLICY_PARAMETER"] = ""
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": stack.physical_name(function_id),
        }
    )
    env.setdefault("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID", "testing"))
    env.setdefault("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
    return env


def invoke(stack: Stack, function_id: str, event: Any, env: Mapping[str, str]) -> Invocation:
    """Import the handler named in the template and call it with ``event`` under ``env``."""
    spec = stack.function(function_id)
    module_name, _, attr = spec.handler.rpartition(".")
    code_dir = str((stack.path.parent / spec.code_uri).resolve())
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    from handlers.runtime import reset_runtime

    with patched_environ(env), ExitStack() as restore:
        reset_runtime()
        restore.callback(reset_runtime)
        try:
            module = importlib.import_module(module_name)
            handler = getattr(module, attr)
            _logs_to_stderr(module, restore)
            context = LambdaContext(stack.physical_name(function_id), spec.memory, spec.timeout)
            with redirect_stdout(
                sys.stderr
            ):  # what the function prints (EMF metrics) is log output
                return Invocation(result=handler(event, context))
        except Exception as exc:  # reported the way Lambda reports a failed invocation
            return Invocation(error_type=type(exc).__name__, error_message=str(exc))


def _logs_to_stderr(module: Any, restore: ExitStack) -> None:
    """Send the function's log lines to stderr, as ``sam local invoke`` does, keeping stdout for the result."""
    import logging

    from aws_lambda_powertools import Logger

    for value in vars(module).values():
        if isinstance(value, Logger) and isinstance(
            value.registered_handler, logging.StreamHandler
        ):
            stream_handler = value.registered_handler
            previous = stream_handler.setStream(sys.stderr)
            if previous is not None:
                restore.callback(stream_handler.setStream, previous)


@dataclass(frozen=True)
class Delivery:
    """One batch a queue delivered to its function: the work items, the outcome, what failed."""

    source: QueueSource
    bodies: list[Any]
    invocation: Invocation
    failed: list[Any]  # the bodies of the messages left on the queue

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.source.function_id,
            "queue": self.source.queue_id,
            "messages": len(self.bodies),
            "items": self.bodies,
            "failed": self.failed,
            "result": self.invocation.as_dict(),
        }


@dataclass(frozen=True)
class Replay:
    """A replayed invocation and, with ``deliver``, the batches its queues delivered after it."""

    invocation: Invocation
    deliveries: list[Delivery] | None = None
    seeded: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.invocation.ok
            and not any(d.failed for d in self.deliveries or [])
            and not self.target_errors
        )

    @property
    def target_errors(self) -> list[str]:
        """``target: message`` of every target a function reported in error (an invocation that
        succeeded can still have failed a target: a typo in an endpoint name, a Failed component)."""
        results = [self.invocation.result] + [d.invocation.result for d in self.deliveries or []]
        found: list[str] = []
        for result in results:
            found += _target_errors(result)
        return found

    def as_dict(self) -> Any:
        if self.deliveries is None:
            return self.invocation.as_dict()
        return {
            "result": self.invocation.as_dict(),
            "deliveries": [d.as_dict() for d in self.deliveries],
        }


def _target_errors(result: Any) -> list[str]:
    """The targets in error in a function's response: reconcile's (``errors`` naming ``targets``,
    per account-region under ``places``) and the alarm function's (a step whose outcome is ``error``)."""
    if not isinstance(result, dict):
        return []
    found: list[str] = []
    targets = result.get("targets")
    for name in result.get("errors") or []:
        detail = targets.get(name, {}) if isinstance(targets, dict) else {}
        found.append(
            f"{name}: {detail.get('message') or '; '.join(detail.get('notes', [])) or 'error'}"
        )
    for place in result.get("places") or []:
        found += _target_errors(place)
    for alarm in result.get("alarms") or []:
        for step in alarm.get("targets", []) if isinstance(alarm, dict) else []:
            if isinstance(step, dict) and step.get("outcome") == "error":
                found.append(f"{step.get('target')}: {step.get('note', 'error')}")
    return found


def _body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """ReceiveMessage's messages as Lambda's SQS event source mapping hands them to the function."""
    records = []
    for m in messages:
        attributes = {
            k: m.get("Attributes", {}).get(k)
            for k in (
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp",
            )
        }
        message_attributes = {
            name: {
                "stringValue": a.get("StringValue"),
                "binaryValue": a.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": a["DataType"],
            }
            for name, a in m.get("MessageAttributes", {}).items()
        }
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {k: v for k, v in attributes.items() if v is not None},
                "messageAttributes": message_attributes,
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3],
            }
        )
    return {"Records": records}


def deliver(stack: Stack, endpoint_url: str, policy: Path | None) -> list[Delivery]:
    """Deliver what waits on the stack's queues to the functions they trigger, until no queue
    has a message that was not tried in this replay; the messages that failed are visible again
    on their queue afterwards, as after Lambda's visibility timeout (nothing is lost)."""
    from core.aws.clients import AwsClients

    sources = stack.queue_sources()
    if not sources:
        return []
    with patched_environ(function_environment(stack, sources[0].function_id, endpoint_url, policy)):
        sqs = AwsClients(endpoint_url=endpoint_url).client(
            "sqs"
        )  # keeps the region and credentials it was made with
    urls = {
        s.queue_id: sqs.get_queue_url(QueueName=stack.physical_name(s.queue_id))["QueueUrl"]
        for s in sources
    }
    deliveries: list[Delivery] = []
    retry: list[
        tuple[str, str]
    ] = []  # (queue url, receipt handle) of the failed messages, hidden until the end
    try:
        while len(deliveries) < MAX_DELIVERIES:
            batches = 0
            for source in sources:
                url = urls[source.queue_id]
                messages = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=min(source.batch_size, 10),
                    VisibilityTimeout=43200,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    continue
                batches += 1
                env = function_environment(stack, source.function_id, endpoint_url, policy)
                invocation = invoke(
                    stack, source.function_id, sqs_event(messages, stack.arn(source.queue_id)), env
                )
                failed_ids = _failed_ids(source, invocation, messages)
                failed = [m for m in messages if m["MessageId"] in failed_ids]
                done = [m for m in messages if m["MessageId"] not in failed_ids]
                if done:
                    sqs.delete_message_batch(
                        QueueUrl=url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                            for i, m in enumerate(done)
                        ],
                    )
                retry += [(url, m["ReceiptHandle"]) for m in failed]
                deliveries.append(
                    Delivery(
                        source,
                        [_body(m["Body"]) for m in messages],
                        invocation,
                        [_body(m["Body"]) for m in failed],
                    )
                )
            if batches == 0:
                break
    finally:
        for url, receipt in retry:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
    return deliveries


def _failed_ids(
    source: QueueSource, invocation: Invocation, messages: list[dict[str, Any]]
) -> set[str]:
    """The messages Lambda leaves on the queue: all of a failed invocation, else those it reported."""
    if not invocation.ok:
        return {m["MessageId"] for m in messages}
    if not source.reports_failures or not isinstance(invocation.result, dict):
        return set()
    return {
        str(f.get("itemIdentifier"))
        for f in invocation.result.get("batchItemFailures") or []
        if isinstance(f, dict)
    }


def replay(
    function_id: str,
    event_file: str | Path,
    *,
    endpoint_url: str | None = None,
    policy: str | Path | None = None,
    template: Path | None = None,
    populate: bool = False,
    deliver_queues: bool = False,
) -> Replay:
    """Replay ``event_file`` through ``function_id``; starts an embedded emulator without
    ``endpoint_url`` (and, with ``populate``, creates on it what ``policy`` names: its
    endpoints and components where they live, and the member accounts' roles)."""
    stack = Stack(template or default_template())
    stack.function(function_id)  # fail early on an unknown function
    event = load_event(event_file)
    policy_path = Path(policy) if policy is not None else None
    if policy_path is not None and not policy_path.is_file():
        raise EventFileError(f"no policy file at {policy_path}")
    if populate and (policy_path is None or endpoint_url is not None):
        raise EventFileError(
            "--populate needs --policy and the embedded emulator (for a running one: sagescale local --populate POLICY)"
        )
    with ExitStack() as stack_ctx:
        if endpoint_url is None:
            from sagescale.emulator import start_server

            server = stack_ctx.enter_context(start_server())
            endpoint_url = server.url
            server.reset()  # the embedded emulator starts empty and is left so
            stack_ctx.callback(server.reset)
        env = function_environment(stack, function_id, endpoint_url, policy_path)
        from core.aws.clients import AwsClients

        seeded: list[str] = []
        with patched_environ(env):
            clients = AwsClients(endpoint_url=endpoint_url)
            stack.create_resources(clients)
            if populate and policy_path is not None:
                from core.policy import load_policy
                from sagescale.seed import seed_policy

                seeded = seed_policy(clients, load_policy(policy_path), trusted_account=ACCOUNT)
        invocation = invoke(stack, function_id, event, env)
        if not deliver_queues:
            return Replay(invocation, seeded=seeded)
        return Replay(invocation, deliver(stack, endpoint_url, policy_path), seeded=seeded)


__all__ = [
    "Delivery",
    "EventFileError",
    "Invocation",
    "LambdaContext",
    "Replay",
    "TemplateError",
    "deliver",
    "invoke",
    "load_event",
    "replay",
    "sqs_event",
]
