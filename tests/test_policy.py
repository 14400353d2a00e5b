"""Policy validation: every error names its field path; YAML pitfalls are handled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.policy import PolicyError, load_policy, loads_policy, parse_policy
from tests.conftest import EXAMPLES


def base(**target: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"inference_component": "ic", "min": 1, "max": 4}
    body.update(target)
    return {"version": 1, "timezone": "America/New_York", "targets": {"llm": body}}


def problems_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(PolicyError) as info:
        parse_policy(data)
    return info.value.problems


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({**base(), "bogus": 1}, "bogus", "unknown key"),
        (base(bogus=1), "targets.llm.bogus", "unknown key"),
        ({**base(), "timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        (base(min=5, max=4), "targets.llm.min", "above max"),
        (base(idle=[{"days": "Mon-Fry"}]), "targets.llm.idle[0].days", "unknown day"),
        (
            base(idle=[{"days": "Mon", "from": "20:00", "to": "20:00"}]),
            "targets.llm.idle[0].to",
            "same time",
        ),
        (
            base(idle=[{"days": "Mon", "from": "20:00"}]),
            "targets.llm.idle[0].to",
            "both from and to",
        ),
        (
            base(idle=[{"days": "Mon", "from": 1200, "to": "07:00"}]),
            "targets.llm.idle[0].from",
            "quoted",
        ),
        (
            base(idle=[{"days": "Mon", "timezone": "Nowhere/Town"}]),
            "targets.llm.idle[0].timezone",
            "unknown time zone",
        ),
        (
            base(floors=[{"calendar": "nope", "min": 2}]),
            "targets.llm.floors[0].calendar",
            "unknown calendar",
        ),
        (
            base(floors=[{"calendar": "x", "days": "Mon", "min": 2}]),
            "targets.llm.floors[0].calendar",
            "exactly one",
        ),
        (
            base(floors=[{"days": "Mon", "min": 2, "lead": -1}]),
            "targets.llm.floors[0].lead",
            "greater than or equal",
        ),
        (
            base(floors=[{"days": "Mon", "min": 0}]),
            "targets.llm.floors[0].min",
            "greater than or equal",
        ),
        (
            base(alarms=[{"alarm": "a", "change": 0}]),
            "targets.llm.alarms[0].change",
            "must not be 0",
        ),
        (
            base(alarms=[{"alarm": "a", "change": 1}, {"alarm": "a", "change": 2}]),
            "targets.llm.alarms[1].alarm",
            "twice",
        ),
        (base(mode="sideways"), "targets.llm.mode", "bounds"),
        (base(variant="AllTraffic"), "targets.llm.variant", "only for endpoint"),
        (
            base(inference_component=None, endpoint="ep", min=0),
            "targets.llm.min",
            "real-time endpoint needs min >= 1",
        ),
        (
            base(inference_component=None, endpoint="ep", wake=True),
            "targets.llm.wake",
            "cannot wake",
        ),
        (
            base(inference_component=None, endpoint="ep", kind="async", park=True),
            "targets.llm.park",
            "only real-time",
        ),
        (base(inference_component=None), "targets.llm.inference_component", "exactly one"),
        ({**base(), "version": 2}, "version", "1"),
        ({"timezone": "UTC"}, "version", "required"),
        (
            {**base(), "calendars": {"c": {"country": "XX"}}},
            "calendars.c.country",
            "no public holidays",
        ),
        (
            {**base(), "calendars": {"c": {"country": "US", "subdivision": "ZZ"}}},
            "calendars.c.subdivision",
            "ZZ",
        ),
        ({**base(), "calendars": {"c": {}}}, "calendars.c.country", "needs a country"),
        (
            {
                **base(),
                "calendars": {
                    "c": {"dates": [{"from": "2026-12-26", "to": "2026-12-24", "name": "x"}]}
                },
            },
            "calendars.c.dates[0].to",
            "before",
        ),
        ({**base(), "janitor": {"idle_for": 5}}, "janitor.idle_for", "greater than or equal"),
        # regressions from review: accepted before, cannot be run
        (base(inference_component=""), "targets.llm.inference_component", "not a SageMaker name"),
        (
            base(inference_component=None, endpoint="e/variant/x"),
            "targets.llm.endpoint",
            "not a SageMaker name",
        ),
        (base(max=99999999999999999999999), "targets.llm.max", "less than or equal"),
        (base(min=True), "targets.llm.min", "valid integer"),
        (base(min="1"), "targets.llm.min", "valid integer"),
        ({**base(), "timezone": "localtime"}, "timezone", "unknown time zone"),
        (
            base(alarms=[{"alarm": "sagescale-wake-llm", "change": 1}]),
            "targets.llm.alarms[0].alarm",
            "wake: true",
        ),
        (
            base(idle=[{"days": "Mon", "from": "0:00", "to": "24:00"}]),
            "targets.llm.idle[0].to",
            "same time of day",
        ),
        (
            {**base(), "targets": {"bad name": {"inference_component": "x", "min": 1, "max": 2}}},
            "targets.bad name",
            "use letters",
        ),
        (
            {**base(), "calendars": {"c": {"dates": [{"date": "2026-02-30", "name": "x"}]}}},
            "calendars.c.dates[0].date",
            "date",
        ),
    ],
)
def test_errors_name_the_field_path(data: dict[str, Any], path: str, words: str) -> None:
    problems = problems_of(data)
    assert any(p == path and words in msg for p, msg in problems), problems


def test_two_targets_on_one_resource_are_rejected() -> None:
    data = base()
    data["targets"]["other"] = {"inference_component": "ic", "min": 1, "max": 2}
    problems = problems_of(data)
    assert problems[0][0] == "targets.other" and "already managed" in problems[0][1]


def test_error_message_lists_every_problem_with_source() -> None:
    text = "version: 1\ntimezone: Bad/Zone\ntargets:\n  llm: {inference_component: x, min: 1, max: 2, typo: 3}\n"
    with pytest.raises(PolicyError) as info:
        loads_policy(text, "p.yaml")
    message = str(info.value)
    assert "p.yaml: timezone: unknown time zone 'Bad/Zone'" in message
    assert "p.yaml: targets.llm.typo: unknown key" in message


def test_yaml_norway_and_unquoted_times_stay_strings() -> None:
    """YAML 1.1 reads NO as false and 20:00 as 1200; the policy loader does not."""
    text = """
version: 1
calendars:
  norway: {country: NO}
targets:
  t:
    inference_component: ic
    min: 1
    max: 2
    idle: [{days: Mon, from: 20:00, to: 07:00}]
"""
    policy = loads_policy(text)
    assert policy.calendars["norway"].country == "NO"
    assert policy.targets["t"].idle[0].from_ == "20:00"


@pytest.mark.parametrize("text", ["[1, 2]", "version: [", ""])
def test_not_a_policy(text: str) -> None:
    with pytest.raises(PolicyError):
        loads_policy(text)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "absent.yaml")


def test_example_policies_are_valid() -> None:
    files = sorted(
        p for p in EXAMPLES.glob("*.yaml") if not p.name.endswith(".sim.yaml")
    )  # .sim.yaml: simulation configs
    assert len(files) >= 2
    for path in files:
        load_policy(path)


def test_design_example_policy_is_valid() -> None:
    """The policy of DESIGN.md section 2, verbatim, validates."""
    text = """
version: 1
timezone: America/New_York
calendars:
  retail:
    country: US
    subdivision: NY
    dates:
      - {date: 2026-11-27, name: Black Friday}
      - {from: 2026-12-24, to: 2026-12-26, name: Christmas}
targets:
  llm:
    inference_component: twin-ic
    min: 1
    max: 8
    mode: auto
    cooldown: {out: 60, in: 300}
    idle:
      - {days: Mon-Fri, from: "20:00", to: "07:00"}
      - {days: Sat-Sun}
    floors:
      - {calendar: retail, min: 6, lead: 120}
      - {calendar: retail, from: "09:00", to: "13:00", min: 12, lead: 30}
      - {days: Mon-Fri, from: "08:30", to: "18:00", min: 2}
    alarms:
      - {alarm: llm-latency-high, change: 2, hold: 30}
      - {alarm: llm-idle, change: -1}
    wake: true
janitor:
  idle_for: 1440
  grace: 2880
  protect: {"sagescale:keep": "true"}
  dry_run: true
"""
    policy = loads_policy(text)
    target = policy.targets["llm"]
    assert target.cooldown.in_ == 300 and target.floors[1].lead == 30
    assert policy.calendars["retail"].dates[1].last.isoformat() == "2026-12-26"


def test_duplicate_yaml_keys_are_rejected() -> None:
    """Regression: two `llm:` targets validated, and the first resource went unmanaged."""
    text = "version: 1\ntargets:\n  llm: {inference_component: a, min: 1, max: 2}\n  llm: {inference_component: b, min: 1, max: 2}\n"
    with pytest.raises(PolicyError, match="duplicate key 'llm' \\(line 4\\)"):
        loads_policy(text)


def test_times_are_stored_canonically() -> None:
    policy = parse_policy(base(idle=[{"days": "Mon", "from": " 7:05", "to": "24:00"}]))
    assert (policy.targets["llm"].idle[0].from_, policy.targets["llm"].idle[0].to) == (
        "07:05",
        "24:00",
    )


def test_deep_nesting_is_refused_with_a_message() -> None:
    """A policy nested 10,000 levels deep exhausted the stack: RecursionError, exit 1, instead of 2 with a message."""
    with pytest.raises(PolicyError, match="nested deeper than"):
        loads_policy("version: 1\ntargets: " + "[" * 10_000 + "]" * 10_000)


def test_an_integer_of_thousands_of_digits_fails_with_its_field_path() -> None:
    """An integer of more than 4,300 digits raised ValueError from Python's int() (exit 1)."""
    text = (
        f"version: 1\ntargets:\n  llm: {{inference_component: llm-ic, min: {'9' * 5000}, max: 8}}\n"
    )
    with pytest.raises(PolicyError) as info:
        loads_policy(text)
    assert info.value.problems[0][0] == "targets.llm.min"


def test_a_policy_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    """A multi-megabyte policy was parsed and validated for a minute before failing; now it is refused at once."""
    from core.policy import MAX_POLICY_BYTES

    big = "version: 1\n" + "#" * (MAX_POLICY_BYTES + 1) + "\n"
    with pytest.raises(PolicyError, match="limit is 8,000,000"):
        loads_policy(big)
    path = tmp_path / "big.yaml"
    path.write_text(big, encoding="utf-8")
    with pytest.raises(PolicyError, match="policy file is"):
        load_policy(path)
