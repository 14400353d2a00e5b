"""The real alarm shapes the tests parse (``events/alarm-*.json`` and ``tests/fixtures/alarms/``),
and every way of giving one part of them a wrong JSON type."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sagescale.replay import load_event
from tests.conftest import EVENTS

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alarms"


def shape_files() -> list[Path]:
    """Every alarm event the tests hold: the operator samples and the parser fixtures."""
    return sorted(EVENTS.glob("alarm-*.json")) + sorted(FIXTURES.glob("*.json"))


def fixture(name: str) -> Any:
    return load_event(FIXTURES / name)


def wrong_values(value: Any) -> list[Any]:
    """JSON values of another type than ``value`` (never null: null means absent)."""
    if isinstance(value, bool):
        return ["yes", 1, [], {}]
    if isinstance(value, str):
        return [7, True, [value], {"value": value}]
    if isinstance(value, int | float):
        return [str(value), [value], {}]
    if isinstance(value, list):
        return ["x", 7, {"0": value[0] if value else None}]
    if isinstance(value, dict):
        return ["x", 7, [value]]
    return []


def _paths(node: Any, at: str) -> Iterator[tuple[str, list[str | int]]]:
    if isinstance(node, dict):
        for key, child in node.items():
            where = f"{at}.{key}" if at else key
            yield where, [key]
            yield from ((p, [key, *rest]) for p, rest in _paths(child, where))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield f"{at}[{i}]", [i]
            yield from ((p, [i, *rest]) for p, rest in _paths(child, f"{at}[{i}]"))


def _set(doc: Any, steps: list[str | int], value: Any) -> None:
    node = doc
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = value


def _get(doc: Any, steps: list[str | int]) -> Any:
    for step in steps:
        doc = doc[step]
    return doc


def mutations(doc: Any) -> Iterator[tuple[str, Any]]:
    """(path, a copy of ``doc`` with the part at path given a wrong type), for every part.

    An SNS record's ``Sns.Message`` is a JSON string: it is mutated both as the string and,
    decoded, in each of its parts (``Records[0].Sns.Message.Trigger.Dimensions[0].value``).
    """
    for path, steps in _paths(doc, ""):
        for wrong in wrong_values(_get(doc, steps)):
            mutated = copy.deepcopy(doc)
            _set(mutated, steps, wrong)
            yield path, mutated
    for i, record in enumerate(doc.get("Records", [])):
        message = json.loads(record["Sns"]["Message"])
        for path, steps in _paths(message, f"Records[{i}].Sns.Message"):
            for wrong in wrong_values(_get(message, steps)):
                inner = copy.deepcopy(message)
                _set(inner, steps, wrong)
                mutated = copy.deepcopy(doc)
                mutated["Records"][i]["Sns"]["Message"] = json.dumps(inner)
                yield path, mutated
