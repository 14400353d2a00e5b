"""Reversible attribute patches on moto's classes and modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class _Applied:
    owner: Any
    name: str
    original: Any


class PatchSet:
    """Records each attribute it replaces so that :meth:`undo` restores the original."""

    def __init__(self) -> None:
        self._applied: list[_Applied] = []

    def __bool__(self) -> bool:
        return bool(self._applied)

    def set(self, owner: Any, name: str, value: Any) -> None:
        """Set ``owner.name = value``, remembering what was there."""
        # Read the raw attribute (``__dict__``), not ``getattr``: that keeps staticmethod
        # wrappers intact and tells an inherited attribute from one defined on ``owner``.
        original = vars(owner).get(name, _MISSING)
        self._applied.append(_Applied(owner, name, original))
        setattr(owner, name, value)

    def undo(self) -> None:
        """Restore every patched attribute, newest first."""
        while self._applied:
            applied = self._applied.pop()
            if applied.original is _MISSING:
                delattr(applied.owner, applied.name)
            else:
                setattr(applied.owner, applied.name, applied.original)
