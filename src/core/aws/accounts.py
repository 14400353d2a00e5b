"""Clients for member accounts: the controller assumes each account's member role with STS.

A member account is reached through the role ``member-role.yaml`` creates there, which trusts
only the controller's function roles (and asks for the account's ``external_id``, if the policy
names one). Credentials are kept for their lifetime and refreshed before they expire
(botocore's refreshable credentials); every client has adaptive retries. A role that cannot be
assumed raises ``AccountError`` for that account, and the caller reports it for its regions
while the others go on.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.credentials import CredentialProvider, RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import get_session

from core.aws.clients import AwsClients
from core.policy import Account, Place

SESSION_SECONDS = 3600


class AccountError(RuntimeError):
    """A member account that cannot be reached (its role cannot be assumed)."""


class _Given(CredentialProvider):
    """A credential provider that hands out credentials made elsewhere (the assumed role's)."""

    METHOD = "sts-assume-role"
    CANONICAL_NAME = "sagescale-member-role"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self.credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self.credentials


class Accounts:
    """Clients per place (account-region): the controller's own, or a member account's through its role."""

    def __init__(
        self,
        home: AwsClients,
        accounts: Mapping[str, Account],
        *,
        session_name: str = "sagescale",
        endpoint_url: str | None = None,
        role_suffix: str = "",
    ) -> None:
        self.home = home
        self.role_suffix = (
            role_suffix  # "-janitor": the janitor's own member role, beside the member role
        )
        self.accounts = dict(accounts)
        self.session_name = session_name[:64]
        self.endpoint_url = endpoint_url
        self._credentials: dict[str, RefreshableCredentials] = {}
        self._clients: dict[Place, AwsClients] = {}
        self._lock = threading.Lock()  # a worker may serve several places from threads
        self.assumed = 0  # AssumeRole calls made (for the benchmark and the tests)

    def clients(self, place: Place) -> AwsClients:
        """The clients of ``place``; ``AccountError`` if its account's role cannot be assumed."""
        if place.is_home:
            return self.home
        with self._lock:
            found = self._clients.get(place)
            if found is None:
                session = boto3.Session(
                    botocore_session=self._session(place), region_name=place.region
                )
                found = self._clients[place] = AwsClients(session, endpoint_url=self.endpoint_url)
            return found

    def _session(self, place: Place) -> Any:
        account = self.accounts.get(place.account)
        if account is None:
            raise AccountError(f"unknown account {place.account!r}")
        credentials = self._credentials.get(place.account)
        if credentials is None:
            credentials = self._credentials[place.account] = (
                RefreshableCredentials.create_from_metadata(
                    metadata=self._assume(place.account, account),
                    refresh_using=lambda: self._assume(place.account, account),
                    method=f"sts-assume-role{self.role_suffix}:{self.session_name}",
                )
            )
        botocore_session = get_session()
        # shared by every region of the account, refreshed before expiry; ahead of the environment's own
        botocore_session.get_component("credential_provider").insert_before(
            "env", _Given(credentials)
        )
        return botocore_session

    def _assume(self, name: str, account: Account) -> dict[str, str]:
        role = account.role + self.role_suffix
        kwargs: dict[str, Any] = {
            "RoleArn": role,
            "RoleSessionName": self.session_name,
            "DurationSeconds": SESSION_SECONDS,
        }
        if account.external_id:
            kwargs["ExternalId"] = account.external_id
        try:
            found = self.home.client("sts").assume_role(**kwargs)["Credentials"]
        except (ClientError, BotoCoreError) as exc:
            raise AccountError(
                f"account {name} ({account.account_id}): cannot assume {role}: {exc}"
            ) from exc
        self.assumed += 1
        return {
            "access_key": found["AccessKeyId"],
            "secret_key": found["SecretAccessKey"],
            "token": found["SessionToken"],
            "expiry_time": found["Expiration"].isoformat(),
        }
