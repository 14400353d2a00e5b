"""STS as strict as AWS about AssumeRole.

moto 5.2 lets anyone assume any role ARN, existing or not: a controller that could not reach a
member account on AWS would reach it here. This extension refuses, with AWS's ``AccessDenied``,
an ``AssumeRole`` whose role does not exist in its account, or whose trust policy does not let
the caller's account in (a principal of the account's root, its id, or one of its roles), or
whose ``sts:ExternalId`` condition the request does not meet. Conditions on the organisation
(``aws:PrincipalOrgID``) are taken as met: the emulator has no organisation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.models import STSBackend

from ._patching import PatchSet


class AccessDenied(STSClientError):
    def __init__(self, message: str) -> None:
        super().__init__("AccessDenied", message)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _trusts(document: dict[str, Any], caller: str, external_id: str | None) -> bool:
    for statement in _as_list(document.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        actions = _as_list(statement.get("Action", []))
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principals = (
            _as_list(statement.get("Principal", {}).get("AWS", []))
            if isinstance(statement.get("Principal"), dict)
            else _as_list(statement.get("Principal"))
        )
        if not any(
            p in ("*", caller, f"arn:aws:iam::{caller}:root")
            or str(p).startswith(f"arn:aws:iam::{caller}:role/")
            for p in principals
        ):
            continue
        wanted = statement.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
        if wanted is not None and external_id not in _as_list(wanted):
            continue
        return True
    return False


def _wrap_assume_role(original: Callable[..., Any]) -> Callable[..., Any]:
    def assume_role(
        self: STSBackend,
        region_name: str,
        role_session_name: str,
        role_arn: str,
        policy: str,
        duration: int,
        external_id: str,
    ) -> Any:
        caller = self.account_id
        parts = role_arn.split(":", 5)
        denied = AccessDenied(
            f"User: arn:aws:iam::{caller}:root is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
        if len(parts) != 6 or not parts[5].startswith("role/"):
            raise denied
        account, name = parts[4], parts[5].rsplit("/", 1)[-1]
        role = next(
            (r for r in iam_backends[account]["aws"].roles.values() if r.name == name), None
        )
        if role is None:
            raise denied
        document = role.assume_role_policy_document
        trust = json.loads(unquote(document) if isinstance(document, str) else json.dumps(document))
        if not _trusts(trust, caller, external_id):
            raise denied
        return original(
            self, region_name, role_session_name, role_arn, policy, duration, external_id
        )

    return assume_role


def install(patches: PatchSet) -> None:
    patches.set(STSBackend, "assume_role", _wrap_assume_role(STSBackend.assume_role))
