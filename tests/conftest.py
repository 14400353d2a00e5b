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


from tests.emulated import (  # noqa: E402,F401 - shared fixtures; the last one is autouse
    any_env,
    aws_env,
    env,
    http_env,
    responses_match_their_shapes,
)
