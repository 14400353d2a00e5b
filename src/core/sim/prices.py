"""Price model: the shipped, dated price table and user-supplied tables."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from core.sim.base import SimConfigError


@cache
def price_table() -> dict[str, Any]:
    """The shipped, dated price table (``core/data/prices.json``)."""
    data: dict[str, Any] = json.loads(
        resources.files("core").joinpath("data/prices.json").read_text(encoding="utf-8")
    )
    return data


def parse_prices(data: Any, source: str) -> dict[str, float]:
    """A price table ``{"prices": {type: usd_per_hour}}`` (the shipped file's shape)."""
    prices = data.get("prices") if isinstance(data, dict) else None
    if not isinstance(prices, dict) or not prices:
        raise SimConfigError(
            f"{source}: a price table is a JSON object with a non-empty 'prices' mapping"
        )
    out: dict[str, float] = {}
    for name, value in prices.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise SimConfigError(
                f"{source}: prices.{name}: must be a positive number, got {value!r}"
            )
        out[str(name)] = float(value)
    return out
