"""Sample events (``events/``) re-dated or renamed: for the demo and the tests.

Keeps the exact shapes AWS sends: only the alarm name, the state and the state-change
time are changed, in whichever of the three shapes the sample is.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from sagescale.replay import load_event

EVENTS = Path(__file__).resolve().parent.parent.parent / "events"


def _renamed(arn: str, alarm: str) -> str:
    """An alarm ARN (``arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME``) with another name."""
    head, sep, _ = arn.partition(":alarm:")
    return f"{head}{sep}{alarm}" if sep else arn


def alarm_sample(
    name: str,
    *,
    at: str | None = None,
    alarm: str | None = None,
    state: str | None = None,
    events: Path = EVENTS,
) -> Any:
    """``events/NAME`` with another state-change time (``...+0000``), alarm name (in its ARN too) or state."""
    doc = copy.deepcopy(load_event(events / name))
    if "Records" in doc:
        message = json.loads(doc["Records"][0]["Sns"]["Message"])
        message.update(
            {
                k: v
                for k, v in {
                    "StateChangeTime": at,
                    "AlarmName": alarm,
                    "NewStateValue": state,
                }.items()
                if v
            }
        )
        if alarm and "AlarmArn" in message:
            message["AlarmArn"] = _renamed(message["AlarmArn"], alarm)
        doc["Records"][0]["Sns"]["Message"] = json.dumps(message)
        return doc
    data = doc["alarmData"] if "alarmData" in doc else doc["detail"]
    if at:
        data["state"]["timestamp"] = at
    if alarm:
        data["alarmName"] = alarm
        if "alarmArn" in doc:
            doc["alarmArn"] = _renamed(doc["alarmArn"], alarm)
        if "resources" in doc:
            doc["resources"] = [_renamed(r, alarm) for r in doc["resources"]]
    if state:
        data["state"]["value"] = state
    return doc
