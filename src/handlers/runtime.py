"""What a warm function keeps between invocations: settings, clients, the policy. Built on first use."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

from core.aws.accounts import Accounts
from core.aws.alarms import Reach
from core.aws.burst import BurstAlarms
from core.aws.clients import AwsClients
from core.aws.fanout import reach_at
from core.aws.fleet import FleetReader
from core.aws.janitor import JanitorActions
from core.aws.parking import Parking
from core.aws.peaks import PeakReader
from core.aws.scaling import ScalingAdapter
from core.aws.snapshot import Clients as SnapshotClients
from core.aws.state import StateStore
from core.aws.wake import WakeAlarms
from core.policy import HOME, Place, Policy, PolicyError, loads_policy
from handlers.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    clients: AwsClients
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    _policy: Policy | None = field(default=None, init=False, repr=False)
    _policy_text: str | None = field(default=None, init=False, repr=False)
    _accounts: Accounts | None = field(default=None, init=False, repr=False)
    _janitor_accounts: Accounts | None = field(default=None, init=False, repr=False)

    @property
    def policy(self) -> Policy:
        """The policy: from the package file (read once), or from the SSM parameter, read again
        when Powertools' cache of it is older than ``policy_max_age`` seconds, so an update reaches
        warm functions within that time. A changed parameter that is not a valid policy is logged
        and the last valid policy kept; on a cold start it fails the invocation."""
        name = self.settings.policy_parameter
        if name is None:
            if self._policy is None:
                self._policy = self.settings.load_policy(self.clients).check_home(
                    self.settings.home
                )
            return self._policy
        text = self._parameters.get(name, max_age=self.settings.policy_max_age)
        if not isinstance(text, str):
            raise PolicyError([("", f"SSM parameter {name} does not hold text")], f"ssm:{name}")
        if text != self._policy_text:
            try:
                self._policy = loads_policy(text, f"ssm:{name}").check_home(
                    self.settings.home, f"ssm:{name}"
                )
            except PolicyError as exc:
                if self._policy is None:
                    raise
                logging.getLogger("sagescale").error(
                    "policy parameter %s changed to an invalid policy; the last valid one stays in force: %s",
                    name,
                    exc,
                )
            self._policy_text = text
        assert self._policy is not None
        return self._policy

    @policy.setter
    def policy(self, value: Policy) -> None:
        """Use ``value`` (an operator tool or a test); a policy in SSM is read again when it changes."""
        self._policy = value.check_home(self.settings.home)

    @cached_property
    def _parameters(self) -> Any:
        from aws_lambda_powertools.utilities.parameters import (
            SSMProvider,  # only when a parameter is used
        )

        return SSMProvider(boto3_client=self.clients.client("ssm"))

    @cached_property
    def store(self) -> StateStore:
        return StateStore(self.settings.state_table, self.clients.dynamodb)

    @cached_property
    def scaling(self) -> ScalingAdapter:
        return ScalingAdapter(self.clients.sagemaker, self.clients.autoscaling)

    @cached_property
    def fleet(self) -> FleetReader:
        return FleetReader(
            self.clients.sagemaker,
            self.clients.client("resourcegroupstaggingapi"),
            self.clients.cloudwatch,
        )

    @cached_property
    def snapshot_clients(self) -> SnapshotClients:
        return SnapshotClients(
            self.clients.sagemaker, self.clients.autoscaling, self.clients.cloudwatch
        )

    def janitor_actions(
        self, *, deadline: Callable[[], bool], place: Place = HOME
    ) -> JanitorActions:
        """The janitor's writes (marks, notifications, snapshot and teardown), stopping at ``deadline``;
        in a member account through its janitor role, with the snapshots' keys of that place."""
        if place.is_home:
            return JanitorActions(self.snapshot_clients, self.store, self.notify, deadline=deadline)
        clients = self.janitor_accounts.clients(place)
        return JanitorActions(
            SnapshotClients(clients.sagemaker, clients.autoscaling, clients.cloudwatch),
            self.store.at(self.policy, place),
            self.notify,
            deadline=deadline,
        )

    def fleet_at(self, place: Place) -> FleetReader:
        """The janitor's reader of the fleet at ``place`` (a member account's through its janitor role)."""
        if place.is_home:
            return self.fleet
        clients = self.janitor_accounts.clients(place)
        return FleetReader(
            clients.sagemaker, clients.client("resourcegroupstaggingapi"), clients.cloudwatch
        )

    @property
    def janitor_accounts(self) -> Accounts:
        """Like ``accounts``, through each member account's janitor role (``<role>-janitor``)."""
        wanted = self.policy.accounts
        if self._janitor_accounts is None or self._janitor_accounts.accounts != wanted:
            self._janitor_accounts = Accounts(
                self.clients,
                wanted,
                session_name=f"sagescale-{self.settings.stack_name or 'controller'}-janitor",
                endpoint_url=self.clients.endpoint_url,
                role_suffix="-janitor",
            )
        return self._janitor_accounts

    @cached_property
    def parking(self) -> Parking:
        return Parking(self.snapshot_clients, self.store)

    def notify(self, subject: str, message: str) -> None:
        """Publish to the notification topic, if one is configured."""
        if self.settings.topic_arn:
            self.clients.sns.publish(
                TopicArn=self.settings.topic_arn, Subject=subject[:99], Message=message
            )

    @cached_property
    def wake_alarms(self) -> WakeAlarms:
        return WakeAlarms(
            self.clients.cloudwatch, self.clients.autoscaling, self.settings.stack_name
        )

    @property
    def accounts(self) -> Accounts:
        """Clients per account-region: the controller's own, or a member account's through its
        role; built again when the policy's accounts change (credentials are kept meanwhile)."""
        wanted = self.policy.accounts
        if self._accounts is None or self._accounts.accounts != wanted:
            self._accounts = Accounts(
                self.clients,
                wanted,
                session_name=f"sagescale-{self.settings.stack_name or 'controller'}",
                endpoint_url=self.clients.endpoint_url,
            )
        return self._accounts

    def reach(self, target: str) -> Reach:
        """What acts on ``target`` where it lives: here, or in its member account."""
        place = self.policy.place(target)
        if place.is_home:
            return Reach(self.scaling, self.store, self.burst_alarms.rearm)
        return reach_at(self.policy, place, self.accounts, self.store, self.settings.stack_name)

    @cached_property
    def peaks(self) -> PeakReader:
        return PeakReader(self.clients.cloudwatch)

    @cached_property
    def burst_alarms(self) -> BurstAlarms:
        return BurstAlarms(self.clients.cloudwatch, self.settings.stack_name)

    def idempotency(self) -> tuple[BasePersistenceLayer, IdempotencyConfig]:
        """Powertools Idempotency in the state table: one record per alarm state change, kept a day.

        Built per invocation (cheap: the client is shared), as the layer keeps per-call state.
        """
        persistence = DynamoDBPersistenceLayer(
            table_name=self.settings.state_table,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value="idempotency#alarm",
            expiry_attr="expires_at",
            boto3_client=self.clients.dynamodb,
        )
        config = IdempotencyConfig(
            event_key_jmespath="key",
            expires_after_seconds=24 * 3600,
            raise_on_no_idempotency_key=True,
        )
        return persistence, config


_current: Runtime | None = None


def get_runtime() -> Runtime:
    """The cached runtime, built from the environment on first use."""
    global _current
    if _current is None:
        _current = Runtime(Settings.from_env(), AwsClients())
    return _current


def reset_runtime(runtime: Runtime | None = None) -> None:
    """Drop (or replace) the cached runtime: after the environment changed, or in tests."""
    global _current
    _current = runtime
