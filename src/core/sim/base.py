"""The simulation config's error and model base, shared by its modules."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SimConfigError(ValueError):
    """A simulation config that cannot be used; the message names the field."""


class SimModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
