"""Parking a classic real-time variant (DESIGN.md section 5): the opt-in tag, the outcomes, the result.

The work (snapshot, delete, recreate, restore scaling) is ``core.aws.parking``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from core.decide import TRANSITIONAL

PARK_TAG = "sagescale:park"
ParkOutcome = Literal[
    "parked", "still-parked", "unparking", "unparked", "waiting", "running", "refused", "error"
]


@dataclass
class ParkingResult:
    at: datetime
    outcomes: dict[str, tuple[ParkOutcome, str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "targets": {n: {"outcome": o, "message": m} for n, (o, m) in self.outcomes.items()},
        }


def park_step(
    endpoint: str,
    parked: dict[str, Any] | None,
    *,
    idle: bool,
    exists: bool,
    status: str | None,
    tags: dict[str, str],
    dry_run: bool,
) -> tuple[ParkOutcome | Literal["park", "unpark"], str]:
    """What the park function does next for one ``park: true`` target. Pure.

    ``parked`` is the target's parking record (``None`` while it runs), ``idle`` whether its
    effective minimum is 0 now, and ``exists``/``status``/``tags`` what SageMaker says of the
    endpoint. ``park`` and ``unpark`` are the two actions; anything else is an outcome.
    """
    if parked is None:
        if not idle or not exists:
            return "running", ""
        if tags.get(PARK_TAG) != "true":
            return (
                "refused",
                f"idle window, but {endpoint} is not tagged {PARK_TAG}=true: not parked",
            )
        if status != "InService":
            return "waiting", f"{endpoint} is {status}; parked once InService"
        if dry_run:
            return "waiting", "dry run: would park"
        return "park", ""
    if (
        parked.get("phase") == "parking" and exists
    ):  # a park that stopped half-way: finish it, or undo it
        if not idle:
            return (
                ("waiting", f"{endpoint} is {status}") if status in TRANSITIONAL else ("unpark", "")
            )
        return ("waiting", "dry run: would finish parking") if dry_run else ("park", "")
    if idle and not exists:
        return "still-parked", f"parked since {parked.get('at')}"
    if exists and status in TRANSITIONAL:
        return "waiting", f"{endpoint} is {status}"
    if dry_run:
        return "waiting", "dry run: would bring it back"
    return "unpark", ""
