"""Shared test setup.

The whole suite runs with the host time zone set to a non-UTC zone (with DST
and a half-hour offset), so a hidden dependence on the machine's zone fails.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

if os.environ.get("TZ", "UTC") in ("", "UTC", "Etc/UTC"):
    os.environ["TZ"] = "Australia/Adelaide"
time.tzset()

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EVENTS = ROOT / "events"


import pytest  # noqa: E402

from tests import aws_calls  # noqa: E402
from tests.emulated import (  # noqa: E402,F401 - shared fixtures; the last one is autouse
    any_env,
    aws_env,
    env,
    http_env,
    responses_match_their_shapes,
)


@pytest.fixture(scope="session", autouse=True)
def record_aws_calls() -> object:
    """Record each function's AWS calls for tests/test_iam.py (see tests/aws_calls.py)."""
    yield from aws_calls.install()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """tests/test_iam.py judges the calls the rest of the suite recorded: it runs last."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/test_iam.py"))
    collected = {item.nodeid.split("::", 1)[0] for item in items}
    aws_calls.WHOLE_SUITE = all(
        f"tests/{path.name}" in collected for path in (ROOT / "tests").glob("test_*.py")
    )
