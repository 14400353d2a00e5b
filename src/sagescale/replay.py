"""Invoke a function of template.yaml with an event file, the way ``sam local invoke`` does:
the handler named in the template, the template's environment, a Lambda context, and AWS
pointed at the emulator (an embedded one unless ``endpoint_url`` is given)."""

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

from sagescale.stack import ACCOUNT, REGION, Stack, TemplateError, default_template


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


def function_environment(stack: Stack, function_id: str, endpoint_url: str, policy: Path | None) -> dict[str, str]:
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
            with redirect_stdout(sys.stderr):  # what the function prints (EMF metrics) is log output
                return Invocation(result=handler(event, context))
        except Exception as exc:  # reported the way Lambda reports a failed invocation
            return Invocation(error_type=type(exc).__name__, error_message=str(exc))


def _logs_to_stderr(module: Any, restore: ExitStack) -> None:
    """Send the function's log lines to stderr, as ``sam local invoke`` does, keeping stdout for the result."""
    import logging

    from aws_lambda_powertools import Logger

    for value in vars(module).values():
        if isinstance(value, Logger) and isinstance(value.registered_handler, logging.StreamHandler):
            stream_handler = value.registered_handler
            previous = stream_handler.setStream(sys.stderr)
            if previous is not None:
                restore.callback(stream_handler.setStream, previous)


def replay(
    function_id: str,
    event_file: str | Path,
    *,
    endpoint_url: str | None = None,
    policy: str | Path | None = None,
    template: Path | None = None,
) -> Invocation:
    """Replay ``event_file`` through ``function_id``; starts an embedded emulator without ``endpoint_url``."""
    stack = Stack(template or default_template())
    stack.function(function_id)  # fail early on an unknown function
    event = load_event(event_file)
    policy_path = Path(policy) if policy is not None else None
    if policy_path is not None and not policy_path.is_file():
        raise EventFileError(f"no policy file at {policy_path}")
    with ExitStack() as stack_ctx:
        if endpoint_url is None:
            from sagescale.emulator import start_server

            server = stack_ctx.enter_context(start_server())
            endpoint_url = server.url
        env = function_environment(stack, function_id, endpoint_url, policy_path)
        from core.aws.clients import AwsClients

        with patched_environ(env):
            stack.create_resources(AwsClients(endpoint_url=endpoint_url))
        return invoke(stack, function_id, event, env)


__all__ = ["EventFileError", "Invocation", "LambdaContext", "TemplateError", "invoke", "load_event", "replay"]
