"""What every function does with its result: logs, metrics and notifications, in one place.

Each handler makes one call into core and hands the result to :func:`publish`, which logs
each decision or verdict, counts it in CloudWatch embedded metrics (``handlers.observe``),
notifies the topic when the stack asks for it, and returns the JSON-ready response.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import singledispatch
from typing import Any

from aws_lambda_powertools import Logger

from core.alarms import AlarmOutcome
from core.aws.reconcile import ReconcileResult
from core.decide import Decision
from core.events import AlarmRecord
from core.instances import INSTANCES_KEPT
from core.janitor import JanitorResult, summarize
from core.parking import ParkingResult
from core.policy import Place
from handlers.observe import capacity, count
from handlers.runtime import Runtime

logger = Logger(service="sagescale")


@dataclass(frozen=True)
class AlarmReport:
    """One alarm state change and what it did to each target it moves."""

    record: AlarmRecord
    outcomes: list[AlarmOutcome]
    request_id: str

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "alarm": r.alarm,
            "state": r.state,
            "key": r.key,
            "request_id": self.request_id,
            "targets": [o.as_dict() for o in self.outcomes],
        }


@dataclass(frozen=True)
class FanOut:
    """A tick that fanned out: the account-regions it enqueued, one work item each."""

    at: datetime
    places: list[Place]
    sent: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "enqueued": self.sent,
            "places": [str(p) for p in self.places],
        }


def _change(decision: Decision) -> str:
    unit = "copies" if decision.resource.startswith("inference-component/") else "instances"
    if decision.scalable is not None and decision.action == "set_bounds":
        before = decision.observed.scalable
        was = f"{before.min}..{before.max}" if before else "unregistered"
        return f"scalable target {was} -> {decision.scalable.min}..{decision.scalable.max} {unit}"
    return f"{decision.observed.desired} -> {decision.count} {unit}"


def action_message(actions: list[tuple[str, Decision, str]], stack: str = "") -> tuple[str, str]:
    """Subject and body of a scaling notification: what happened to which resource, why, and the
    commands to inspect or undo it."""
    first, decision, why = actions[0]
    subject = (
        f"sagescale: {first} {_change(decision)} ({why})"
        if len(actions) == 1
        else f"sagescale: {len(actions)} scaling actions ({', '.join(a[0] for a in actions)})"
    )
    body = []
    for name, d, cause in actions:
        body += [
            f"{name} ({d.resource}): {_change(d)}",
            f"  triggered by: {cause}; bounds now {d.bounds.min}..{d.bounds.max} because {', '.join(d.bounds.reasons)}",
            f"  inspect: sagescale status --target {name}",
            f"  hold it: sagescale override {name} --min N --until TIME --policy POLICY"
            + (f"   (stack {stack})" if stack else ""),
        ]
    return subject, "\n".join(body)


def _notify_actions(runtime: Runtime, actions: list[tuple[str, Decision, str]]) -> None:
    """Publish applied scaling actions, when the stack asks for it (``NotifyScalingActions``):
    ``(target, decision, why)`` each, written for people (see ``action_message``)."""
    if actions and runtime.settings.notify_actions:
        runtime.notify(*action_message(actions, runtime.settings.stack_name))


def publish(result: Any, runtime: Runtime) -> dict[str, Any]:
    """Log, count and notify ``result``; returns the function's response."""
    if runtime.settings.paused:
        logger.warning("paused: decided and logged, nothing written (the stack's Paused parameter)")
    return _publish(result, runtime)


@singledispatch
def _publish(result: Any, runtime: Runtime) -> dict[str, Any]:
    raise TypeError(f"nothing publishes a {type(result).__name__}")


@_publish.register
def _(result: ReconcileResult, runtime: Runtime) -> dict[str, Any]:
    applied = {
        n: o
        for n, o in result.outcomes.items()
        if o.outcome == "applied" and o.decision is not None
    }
    count("ScalingActions", len(applied))
    _notify_actions(
        runtime, [(n, d, "schedule") for n, o in applied.items() if (d := o.decision) is not None]
    )
    count("Deferred", sum(o.outcome == "deferred" for o in result.outcomes.values()))
    count("ReconcileErrors", len(result.errors))
    count(
        "InstancesKept",
        sum(any(w.code == INSTANCES_KEPT for w in o.warnings) for o in result.outcomes.values()),
    )
    fresh = [(n, w) for n, o in result.outcomes.items() for w in o.fresh]
    if fresh:  # each is notified once while it holds (the state remembers it)
        subject = (
            f"sagescale: {fresh[0][0]}: {fresh[0][1].code}"
            if len(fresh) == 1
            else f"sagescale: {len(fresh)} warnings"
        )
        runtime.notify(subject, "\n\n".join(f"{n}: {w.message}" for n, w in fresh))
    for name, outcome in result.outcomes.items():
        for warning in outcome.warnings:
            logger.warning(
                "target warning",
                extra={"target": name, "code": warning.code, "detail": warning.message},
            )
        decision = outcome.decision
        if decision is not None and not result.dry_run:
            wanted = decision.count if decision.count is not None else decision.observed.desired
            if wanted is not None:
                capacity(name, wanted)
        record = outcome.as_dict()
        if outcome.outcome == "error":
            logger.error("decision", extra={"decision": record})
        elif decision is not None and decision.observed.failure_reason:
            logger.warning(
                "decision: the last update of this resource failed", extra={"decision": record}
            )
        else:
            logger.info("decision", extra={"decision": record})
    return result.as_dict()


@_publish.register
def _(fan: FanOut, runtime: Runtime) -> dict[str, Any]:
    logger.info("fan-out", extra={"enqueued": fan.sent, "places": [str(p) for p in fan.places]})
    count("WorkItems", fan.sent)
    return fan.as_dict()


@_publish.register
def _(report: AlarmReport, runtime: Runtime) -> dict[str, Any]:
    for outcome in report.outcomes:
        logger.info("alarm step", extra={"step": outcome.as_dict()})
        if outcome.outcome == "applied":
            count(
                "WakeFromZero" if outcome.wake else "Bursts" if outcome.burst else "ScalingActions"
            )
    alarm = report.record

    def kind(o: AlarmOutcome) -> str:
        return "wake" if o.wake else "burst" if o.burst else "alarm"

    _notify_actions(
        runtime,
        [
            (o.target, o.decision, f"{kind(o)} {alarm.alarm} {alarm.state}")
            for o in report.outcomes
            if o.outcome == "applied" and o.decision is not None
        ],
    )
    return report.as_dict()


@_publish.register
def _(result: JanitorResult, runtime: Runtime) -> dict[str, Any]:
    for verdict in result.verdicts:
        logger.info(
            "janitor verdict",
            extra={"verdict": verdict.as_dict(), "done": result.done.get(verdict.endpoint)},
        )
    logger.info(
        "janitor summary", extra={"summary": summarize(result.verdicts), "dry_run": result.dry_run}
    )
    count("JanitorMarked", sum(d.startswith("marked") for d in result.done.values()))
    count("JanitorDeleted", sum(d.startswith("deleted") for d in result.done.values()))
    count("JanitorErrors", sum(d.startswith("error") for d in result.done.values()))
    return result.as_dict()


@_publish.register
def _(result: ParkingResult, runtime: Runtime) -> dict[str, Any]:
    for name, (outcome, message) in result.outcomes.items():
        logger.info("parking", extra={"target": name, "outcome": outcome, "detail": message})
    count("Parked", sum(o == "parked" for o, _ in result.outcomes.values()))
    count("Unparked", sum(o == "unparked" for o, _ in result.outcomes.values()))
    return result.as_dict()
