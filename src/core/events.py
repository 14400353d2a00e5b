"""Parsers of the events the functions accept. One parser per shape, shared by every function."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.policy import format_location


class EventError(ValueError):
    """An event that cannot be handled; the message names the problem. The invocation fails."""


class ReconcileRequest(BaseModel):
    """A reconcile run: the scheduler's tick, or a manual ``{"target": NAME}`` / ``{"dry_run": true}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(default="manual", description="Who asked: sagescale.schedule for the scheduler's tick.")
    action: str = Field(default="reconcile", pattern="^reconcile$")
    target: str | None = Field(default=None, min_length=1, description="Only this target.")
    dry_run: bool = Field(default=False, description="Decide and report, write nothing.")


def parse_reconcile_event(event: Any) -> ReconcileRequest:
    """Validate a reconcile event; raises ``EventError`` naming the bad field."""
    if not isinstance(event, dict):
        raise EventError(f"a reconcile event is a JSON object, got {type(event).__name__}")
    try:
        return ReconcileRequest.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(f"{format_location(tuple(e['loc'])) or 'event'}: {e['msg']}" for e in exc.errors(include_url=False))
        raise EventError(f"bad reconcile event: {problems}") from None
