"""Reading every page of an AWS list call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def pages(
    method: Callable[..., Any],
    key: str,
    token_in: str = "NextToken",
    token_out: str = "NextToken",
    **kwargs: Any,
) -> list[Any]:
    """All ``key`` items of ``method(**kwargs)``, following its pagination token."""
    items: list[Any] = []
    token: str | None = None
    while True:
        resp = method(**kwargs, **({token_in: token} if token else {}))
        items.extend(resp.get(key, []))
        token = resp.get(token_out)
        if not token:
            return items
