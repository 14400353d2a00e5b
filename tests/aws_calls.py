"""Which AWS actions each function's code really makes, recorded while the suite drives it.

Every function in template.yaml has its handler wrapped for the session: while it runs, each
botocore API call is recorded as an IAM action (``sagemaker:DescribeEndpoint``) under the
function's logical id. ``tests/test_iam.py`` (run last) checks the expanded template's roles
against what was recorded, in both directions.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from botocore.client import BaseClient

from sagescale.stack import Stack, default_template

# botocore service name -> IAM action prefix, where they differ
IAM_PREFIX = {"resourcegroupstaggingapi": "tag"}

# API operations authorised as another IAM action
IAM_ACTION = {"sqs:SendMessageBatch": "sqs:SendMessage"}
MEMBER_ROLE = "MemberRole"  # member-role.yaml's roles: the calls made in member accounts
MEMBER_JANITOR_ROLE = "MemberJanitorRole"

RECORDED: dict[str, set[str]] = defaultdict(set)
WHOLE_SUITE = False  # set by conftest.py when every test file was collected
_function: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sagescale_function", default=None
)


def _wrap_handler(function_id: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        token = _function.set(function_id)
        try:
            return handler(event, context)
        finally:
            _function.reset(token)

    run.__sagescale_recorded__ = True  # type: ignore[attr-defined]
    return run


def install() -> Iterator[None]:
    """Record for the session (a generator for a session-scoped fixture)."""
    stack = Stack(default_template())
    undo: list[Callable[[], None]] = []
    for function_id in stack.function_ids():
        module_name, _, attribute = stack.function(function_id).handler.rpartition(".")
        module = importlib.import_module(module_name)
        original = getattr(module, attribute)
        if not getattr(original, "__sagescale_recorded__", False):
            setattr(module, attribute, _wrap_handler(function_id, original))
            undo.append(lambda m=module, a=attribute, o=original: setattr(m, a, o))
    real = BaseClient._make_api_call

    def recording(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        function_id = _function.get()
        # a call made with a member role's credentials is that role's, not the function's; the
        # CLI's calls through a member role (session "sagescale-cli") are the role's too
        credentials = getattr(self._request_signer, "_credentials", None)
        method, _, session = str(getattr(credentials, "method", None)).partition(":")
        member = {
            "sts-assume-role": MEMBER_ROLE,
            "sts-assume-role-janitor": MEMBER_JANITOR_ROLE,
        }.get(method)
        who = (
            member
            if member is not None and (function_id is not None or session == "sagescale-cli")
            else function_id
        )
        if who is not None:
            service = self.meta.service_model.service_name
            action = f"{IAM_PREFIX.get(service, service)}:{operation}"
            RECORDED[who].add(IAM_ACTION.get(action, action))
        return real(self, operation, params)

    BaseClient._make_api_call = recording  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseClient._make_api_call = real  # type: ignore[method-assign]
        for step in undo:
            step()
