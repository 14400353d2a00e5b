"""What sagescale remembers about one target, and its JSON document form (stored by ``core.aws.state``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from core.bounds import Override, Surge

MAX_STEPS = 200


@dataclass(frozen=True)
class PendingStep:
    """An alarm step (a wake, a burst, a rule's change) its resource could not take when it came
    (``Updating``): the count it asked for, applied by reconcile once the resource can take it,
    until ``until`` (the rule's hold)."""

    count: int
    direction: Literal["out", "in"]
    until: datetime
    alarm: str = ""

    def to_doc(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "direction": self.direction,
            "until": self.until.isoformat(),
            "alarm": self.alarm,
        }

    def applied_to(self, count: int) -> int:
        """``count`` moved by this step: at least its count for a scale-out, at most for a scale-in."""
        return (
            max(count, self.count) if self.direction == "out" else min(count, self.count)
        )  # alarm steps kept per target: enough to recognise any duplicate delivery


@dataclass(frozen=True)
class TargetState:
    """What sagescale remembers about one target."""

    name: str
    version: int = 0
    last_action: dict[str, Any] | None = None
    override: Override | None = None
    surges: tuple[Surge, ...] = ()
    pending: dict[str, Any] | None = None
    cooldowns: dict[str, str] = field(default_factory=dict)
    applied_min: int | None = None
    steps: tuple[dict[str, Any], ...] = ()
    parked: dict[str, Any] | None = None
    resource: str | None = (
        None  # which resource this state is of (an inference component's ARN and creation time)
    )
    pending_step: dict[str, Any] | None = (
        None  # an alarm step the resource could not take yet: {count, direction, until, alarm}
    )
    warned: tuple[
        str, ...
    ] = ()  # the warning codes notified and still true (each is notified once while it lasts)
    intent: dict[str, Any] | None = (
        None  # an alarm step's write, recorded before it is made: {key, action, count, scalable, surges}
    )

    def step_pending(self, now: datetime) -> PendingStep | None:
        """The alarm step waiting for the resource, unless it has expired."""
        doc = self.pending_step
        if not doc:
            return None
        step = PendingStep(
            int(doc["count"]),
            doc["direction"],
            datetime.fromisoformat(doc["until"]),
            str(doc.get("alarm", "")),
        )
        return step if step.until > now else None

    def with_step(self, step: PendingStep, now: datetime) -> TargetState:
        """This state with ``step`` waiting: merged with one already waiting in the same direction
        (the larger scale-out, the smaller scale-in), replacing one in the other direction."""
        current = self.step_pending(now)
        if current is not None and current.direction == step.direction:
            count = (
                max(current.count, step.count)
                if step.direction == "out"
                else min(current.count, step.count)
            )
            step = PendingStep(count, step.direction, max(current.until, step.until), step.alarm)
        return replace(self, pending_step=step.to_doc())

    def for_resource(self, identity: str | None) -> TargetState:
        """This state as it applies to the resource ``identity`` (``None``: unknown, kept as is).

        State belongs to the resource, not to the target's name: when the component behind a
        target was replaced (a redeploy under a new name, or deleted and created again), its
        surges, cooldowns, deferred decision and applied minimum do not carry over. The operator's
        override, the last action and the alarm steps seen (for duplicates) stay with the target.
        """
        if identity is None or self.resource == identity:
            return self
        if self.resource is None:
            return replace(self, resource=identity)
        return replace(
            self,
            resource=identity,
            surges=(),
            cooldowns={},
            pending=None,
            applied_min=None,
            pending_step=None,
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "last_action": self.last_action,
            "override": _override_doc(self.override),
            "surges": [
                {"min": s.min, "until": s.until.isoformat(), "alarm": s.alarm} for s in self.surges
            ],
            "pending": self.pending,
            "cooldowns": self.cooldowns,
            "applied_min": self.applied_min,
            "steps": list(self.steps[-MAX_STEPS:]),
            "parked": self.parked,
            "resource": self.resource,
            "pending_step": self.pending_step,
            "warned": list(self.warned),
            "intent": self.intent,
        }

    @classmethod
    def from_doc(cls, name: str, version: int, doc: dict[str, Any]) -> TargetState:
        ov = doc.get("override")
        return cls(
            name=name,
            version=version,
            last_action=doc.get("last_action"),
            override=Override(
                ov["min"],
                datetime.fromisoformat(ov["until"]),
                ov.get("by", "operator"),
                ov.get("why", ""),
            )
            if ov
            else None,
            surges=tuple(
                Surge(s["min"], datetime.fromisoformat(s["until"]), s["alarm"])
                for s in doc.get("surges", [])
            ),
            pending=doc.get("pending"),
            cooldowns=dict(doc.get("cooldowns", {})),
            applied_min=doc.get("applied_min"),
            steps=tuple(doc.get("steps", [])),
            parked=doc.get("parked"),
            resource=doc.get("resource"),
            pending_step=doc.get("pending_step"),
            warned=tuple(doc.get("warned", [])),
            intent=doc.get("intent"),
        )

    def applied(self, key: str) -> bool:
        """Whether the alarm state change ``key`` has already moved this target."""
        return any(step.get("key") == key for step in self.steps)


def _override_doc(ov: Override | None) -> dict[str, Any] | None:
    if ov is None:
        return None
    doc = asdict(ov)
    doc["until"] = ov.until.isoformat()
    return doc
