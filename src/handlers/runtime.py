"""What a warm function keeps between invocations: settings, clients, the policy. Built on first use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from core.clients import AwsClients
from core.policy import Policy
from core.scaling import ScalingAdapter
from core.state import StateStore
from handlers.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    clients: AwsClients
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @cached_property
    def policy(self) -> Policy:
        return self.settings.load_policy(self.clients)

    @cached_property
    def store(self) -> StateStore:
        return StateStore(self.settings.state_table, self.clients.dynamodb)

    @cached_property
    def scaling(self) -> ScalingAdapter:
        return ScalingAdapter(self.clients.sagemaker, self.clients.autoscaling)


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
