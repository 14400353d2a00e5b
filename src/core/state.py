"""What sagescale remembers about one target, and its JSON document form (stored by ``core.aws.state``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from core.bounds import Override, Surge

MAX_STEPS = 200  # alarm steps kept per target: enough to recognise any duplicate delivery


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
    resource: str | None = None  # which resource this state is of (an inference component's ARN and creation time)

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
        return replace(self, resource=identity, surges=(), cooldowns={}, pending=None, applied_min=None)

    def to_doc(self) -> dict[str, Any]:
        return {
            "last_action": self.last_action,
            "override": _override_doc(self.override),
            "surges": [{"min": s.min, "until": s.until.isoformat(), "alarm": s.alarm} for s in self.surges],
            "pending": self.pending,
            "cooldowns": self.cooldowns,
            "applied_min": self.applied_min,
            "steps": list(self.steps[-MAX_STEPS:]),
            "parked": self.parked,
            "resource": self.resource,
        }

    @classmethod
    def from_doc(cls, name: str, version: int, doc: dict[str, Any]) -> TargetState:
        ov = doc.get("override")
        return cls(
            name=name,
            version=version,
            last_action=doc.get("last_action"),
            override=Override(ov["min"], datetime.fromisoformat(ov["until"]), ov.get("by", "operator"), ov.get("why", "")) if ov else None,
            surges=tuple(Surge(s["min"], datetime.fromisoformat(s["until"]), s["alarm"]) for s in doc.get("surges", [])),
            pending=doc.get("pending"),
            cooldowns=dict(doc.get("cooldowns", {})),
            applied_min=doc.get("applied_min"),
            steps=tuple(doc.get("steps", [])),
            parked=doc.get("parked"),
            resource=doc.get("resource"),
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
