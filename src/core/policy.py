"""The policy file (v1): pydantic models, loading, and errors that name their field path.

The docstrings of the public fields are user documentation: the README's policy
reference is checked against them (``tests/test_docs.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from core.timewindows import WallTime, load_zone, parse_days

_FIELD_MARK = "\x00"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_SAGEMAKER_NAME_RE = re.compile(
    r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
)  # endpoints, variants, inference components
MAX_POLICY_BYTES = 8_000_000  # a policy file larger than this is refused before it is parsed (10,000 targets take about 1 MB)
MAX_DEPTH = 32  # YAML nesting a policy may have (it needs about 6)
MAX_CAPACITY = (
    10_000  # copies or instances: far above any fleet, well inside Application Auto Scaling's int32
)
WAKE_ALARM_PREFIX = "sagescale-wake-"
BURST_ALARM_PREFIX = "sagescale-burst-"
_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ALARM_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:cloudwatch:[a-z]{2}(-[a-z]+)+-\d:\d{12}:alarm:.{1,255}$"
)


class PolicyError(ValueError):
    """A policy that cannot be run. ``problems`` is a list of ``(field path, message)``."""

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        lines = [f"{where}{path}: {msg}" if path else f"{where}{msg}" for path, msg in problems]
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[Any, ...]:  # picklable, so it crosses process boundaries intact
        return (type(self), (self.problems, self.source))


def _fail(field: str, message: str) -> ValueError:
    """A ``ValueError`` raised in a model validator that points at one of the model's fields."""
    return ValueError(f"{_FIELD_MARK}{field}{_FIELD_MARK}{message}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_zone(value: str | None) -> str | None:
    if value is not None:
        if value not in _iana_zones():
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as America/New_York)"
            )
        load_zone(value)
    return value


@cache
def _iana_zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    # the system's zone directory also holds host-dependent links such as "localtime"
    return frozenset(available_timezones()) - {
        "localtime",
        "posixrules",
        "posix/localtime",
        "right/localtime",
        "Factory",
    }


def _check_sagemaker_name(value: str | None) -> str | None:
    if value is not None and not _SAGEMAKER_NAME_RE.match(value):
        raise ValueError(
            f"{value!r} is not a SageMaker name: letters, digits and '-', at most 63, starting and ending with a letter or digit"
        )
    return value


def _check_time(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            'times must be quoted strings such as "20:00" (YAML reads 20:00 as a number)'
        )
    if isinstance(value, str):
        return str(WallTime.parse(value))  # canonical HH:MM
    return value


def _check_days(value: Any) -> Any:
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if isinstance(value, str):
        parse_days(value)
    return value


class DateEvent(_Model):
    """An explicit event of a calendar: one day (``date``) or an inclusive range (``from``/``to``)."""

    date_: date | None = Field(
        default=None, alias="date", description="The event's day, e.g. 2026-11-27."
    )
    from_: date | None = Field(
        default=None, alias="from", description="First day of a multi-day event."
    )
    to: date | None = Field(default=None, description="Last day (inclusive) of a multi-day event.")
    name: str = Field(
        min_length=1, description="Shown in reasons, e.g. `floor:retail Black Friday`."
    )

    @model_validator(mode="after")
    def _one_shape(self) -> DateEvent:
        if self.date_ is not None:
            if self.from_ is not None or self.to is not None:
                raise _fail("date", "give either date, or from and to, not both")
        elif self.from_ is None or self.to is None:
            raise _fail("date", "give date, or both from and to")
        elif self.to < self.from_:
            raise _fail("to", f"{self.to} is before from {self.from_}")
        return self

    @property
    def first(self) -> date:
        return self.date_ if self.date_ is not None else self.from_  # type: ignore[return-value]

    @property
    def last(self) -> date:
        return self.date_ if self.date_ is not None else self.to  # type: ignore[return-value]


class Calendar(_Model):
    """Days that matter: public holidays of a country (and subdivision) and explicit dates."""

    country: str | None = Field(
        default=None, description="ISO 3166 country code for public holidays, e.g. US."
    )
    subdivision: str | None = Field(
        default=None, description="Subdivision code for regional holidays, e.g. NY."
    )
    dates: list[DateEvent] = Field(default_factory=list, description="Explicit days or day ranges.")

    @model_validator(mode="after")
    def _check(self) -> Calendar:
        if self.country is None and not self.dates:
            raise _fail("country", "a calendar needs a country, dates, or both")
        if self.subdivision is not None and self.country is None:
            raise _fail("subdivision", "a subdivision needs a country")
        if self.country is not None:
            import holidays

            supported = holidays.list_supported_countries()
            if self.country not in supported:
                raise _fail(
                    "country",
                    f"no public holidays known for country {self.country!r} (use an ISO 3166 code such as US)",
                )
            subdivisions = supported[self.country]
            if self.subdivision is not None and self.subdivision not in subdivisions:
                raise _fail(
                    "subdivision",
                    f"{self.country} has no subdivision {self.subdivision!r} (known: {', '.join(subdivisions) or 'none'})",
                )
        return self


class IdleWindow(_Model):
    """A recurring window in which the target may scale to zero (or park)."""

    days: Annotated[
        str, Field(description="Days the window starts on: `Mon`, `Mon-Fri`, `Fri-Mon`, `Mon,Wed`.")
    ] = "Mon-Sun"
    from_: str | None = Field(
        default=None,
        alias="from",
        description="Local start time HH:MM (inclusive); omit for the whole day.",
    )
    to: str | None = Field(
        default=None,
        description="Local end time HH:MM (exclusive); earlier than `from` crosses midnight.",
    )
    timezone: str | None = Field(
        default=None, description="IANA zone of this window; default: the file's."
    )

    _days = field_validator("days", mode="before")(_check_days)
    _times = field_validator("from_", "to", mode="before")(_check_time)
    _zone = field_validator("timezone")(_check_zone)

    @model_validator(mode="after")
    def _check_span(self) -> IdleWindow:
        _check_from_to(self.from_, self.to)
        return self

    @property
    def label(self) -> str:
        return _window_label(self.days, self.from_, self.to)


class PeakShare(_Model):
    """Headroom sized by the recent peak: `ceil(fraction x busiest minute / per_copy)` copies."""

    fraction: float = Field(
        gt=0,
        le=2,
        description="Share of the recent peak to hold ready (0.5: half the copies the busiest minute needed).",
    )
    per_copy: float = Field(gt=0, le=1e9, description="Requests per minute one copy serves.")
    days: StrictInt = Field(
        default=7,
        ge=1,
        le=14,
        description="How far back the peak is read: the busiest minute of demand (Invocations + NoCapacityInvocationFailures) in the last `days` days.",
    )


class Headroom(IdleWindow):
    """Extra copies above the minimum in a chosen window: pay to drop fewer requests at a spike.

    Each copy costs its instance-hours for as long as the window lasts."""

    copies: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_CAPACITY,
        description="Copies (or instances) added to the effective minimum while the window holds (the largest, if several); max still caps it.",
    )
    of_peak: PeakShare | None = Field(
        default=None,
        description="Instead of `copies`: a share of the recent peak, read from CloudWatch at every reconcile run.",
    )

    @model_validator(mode="after")
    def _one_size(self) -> Headroom:
        if (self.copies is None) == (self.of_peak is None):
            raise _fail("copies", "give exactly one of copies or of_peak")
        return self

    def extra(self, peak: float | None) -> int:
        """The copies this window adds, given the recent peak (requests per minute; unknown: none)."""
        if self.copies is not None:
            return self.copies
        if self.of_peak is None or not peak:
            return 0
        return math.ceil(self.of_peak.fraction * peak / self.of_peak.per_copy - 1e-9)


def _check_from_to(start: str | None, end: str | None) -> None:
    if (start is None) != (end is None):
        raise _fail(
            "to" if end is None else "from", "give both from and to, or neither (whole day)"
        )
    if start is not None and end is not None:
        first, last = WallTime.parse(start).minutes % 1440, WallTime.parse(end).minutes % 1440
        if first == last:
            raise _fail(
                "to",
                f"from {start} and to {end} are the same time of day; omit both for a whole day",
            )
        if WallTime.parse(start).minutes == 1440:
            raise _fail("from", "24:00 is only allowed as an end time")


def _window_label(days: str, start: str | None, end: str | None) -> str:
    return f"{days} {start}-{end}" if start is not None else days


class Floor(_Model):
    """Pre-scaling: raise the minimum on calendar days (``calendar``) or in a recurring window (``days``)."""

    calendar: str | None = Field(
        default=None, description="Name of a calendar: the floor holds on its event days."
    )
    days: str | None = Field(
        default=None, description="Recurring days, as in idle windows (instead of a calendar)."
    )
    from_: str | None = Field(
        default=None,
        alias="from",
        description="Local start time HH:MM; with a calendar, only these hours of each event day.",
    )
    to: str | None = Field(default=None, description="Local end time HH:MM (exclusive).")
    min: StrictInt = Field(
        ge=1,
        le=MAX_CAPACITY,
        description="The minimum while the floor holds (clamped to the target's max).",
    )
    lead: StrictInt = Field(
        default=0,
        ge=0,
        le=60 * 24 * 14,
        description="Minutes before the start at which the floor begins (warm-up).",
    )
    timezone: str | None = Field(
        default=None, description="IANA zone of this floor; default: the file's."
    )

    _days = field_validator("days", mode="before")(_check_days)
    _times = field_validator("from_", "to", mode="before")(_check_time)
    _zone = field_validator("timezone")(_check_zone)

    @model_validator(mode="after")
    def _check_kind(self) -> Floor:
        if (self.calendar is None) == (self.days is None):
            raise _fail("calendar", "give exactly one of calendar or days")
        _check_from_to(self.from_, self.to)
        return self

    @property
    def label(self) -> str:
        if self.calendar is not None:
            return self.calendar
        return _window_label(self.days or "", self.from_, self.to)


class AlarmRule(_Model):
    """A reactive rule: when ``alarm`` enters ``state``, move the target by ``change``."""

    alarm: str = Field(
        min_length=1,
        max_length=400,
        description="CloudWatch alarm name (an alarm of the controller's own account and region), or a full alarm ARN `arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME` to accept that alarm of another account or region.",
    )
    change: StrictInt = Field(
        ge=-MAX_CAPACITY,
        le=MAX_CAPACITY,
        description="Copies (or instances) to add; negative removes.",
    )
    hold: StrictInt = Field(
        default=30, ge=1, le=60 * 24, description="Minutes a surge floor lasts in bounds mode."
    )
    state: Literal["ALARM", "OK", "INSUFFICIENT_DATA"] = Field(
        default="ALARM", description="Alarm state that triggers the rule."
    )

    @field_validator("alarm")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.startswith("arn:"):
            if not _ALARM_ARN_RE.match(value):
                raise ValueError(
                    f"{value!r} is not a CloudWatch alarm ARN (arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME)"
                )
            return value
        if len(value) > 255:
            raise ValueError("a CloudWatch alarm name has at most 255 characters")
        if value.startswith(WAKE_ALARM_PREFIX):
            raise ValueError(
                f"alarm names starting {WAKE_ALARM_PREFIX!r} are sagescale's own wake alarms; use wake: true"
            )
        if value.startswith(BURST_ALARM_PREFIX):
            raise ValueError(
                f"alarm names starting {BURST_ALARM_PREFIX!r} are sagescale's own burst alarms; use burst: {{per_copy: N}}"
            )
        return value

    @field_validator("change")
    @classmethod
    def _nonzero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("change must not be 0")
        return value


class Cooldown(_Model):
    """Seconds to wait after an alarm-driven change before the next one in the same direction."""

    out: StrictInt = Field(default=60, ge=0, le=86400, description="Seconds after a scale-out.")
    in_: StrictInt = Field(
        default=300, ge=0, le=86400, alias="in", description="Seconds after a scale-in."
    )


class ComponentSelector(_Model):
    """An inference component chosen by its endpoint (and model), resolved afresh on every run.

    The sagemaker SDK names a component with a timestamp, new on every deploy: a policy that
    names it exactly stops working at the next deploy; a selector follows it."""

    endpoint: str = Field(
        description="The endpoint whose inference component this is (the only one there, unless `model` narrows it)."
    )
    model: str | None = Field(
        default=None,
        description="The component's model (`Specification.ModelName`), when the endpoint hosts several.",
    )

    _names = field_validator("endpoint")(_check_sagemaker_name)


class WakeSizing(_Model):
    """How many copies a wake from zero orders: what the rejected requests need, not 1."""

    per_copy: float = Field(
        gt=0,
        le=1e9,
        description="Requests per minute one copy serves: a wake orders ceil(rejected requests in the alarm's minute / per_copy) copies, at least 1, at most max.",
    )


class Burst(_Model):
    """Go at once to the copies that demand needs when it exceeds what the serving copies serve.

    Reconcile keeps a CloudWatch metric-math alarm on ``(Invocations + NoCapacityInvocationFailures)
    / per_copy - serving copies`` (``Invocations / InvocationsPerCopy``): it fires when demand needs
    at least one copy more than serves, in the minute after the datapoint, whatever the cooldown.
    The alarm function then orders the serving copies plus the excess (direct mode), or holds that
    as a surge floor (bounds mode), and re-arms the alarm, so a burst that outgrows the order fires
    again a minute later."""

    per_copy: float = Field(
        gt=0,
        le=1e9,
        description="Requests per minute one copy serves: demand / per_copy is the copies demand needs (below capacity leaves headroom).",
    )
    panic: float = Field(
        default=1.0,
        ge=1,
        le=10,
        description="When demand is at least twice what the serving copies serve (a ramp), order this many times the copies it needs, at most max.",
    )
    hold: StrictInt = Field(
        default=15,
        ge=1,
        le=1440,
        description="Bounds mode: minutes the surge floor holds (target tracking scales in below it after).",
    )


class Target(_Model):
    """One scalable resource: an inference component (copies) or an endpoint variant (instances)."""

    inference_component: str | ComponentSelector | None = Field(
        default=None,
        description="Inference component (capacity in copies): its name, or `{endpoint: NAME, model: NAME}` to select the component on that endpoint afresh on every run.",
    )
    endpoint: str | None = Field(
        default=None, description="Endpoint name (capacity in instances of `variant`)."
    )
    variant: str | None = Field(
        default=None, description="Production variant of `endpoint`; default AllTraffic."
    )

    _names = field_validator("endpoint", "variant")(_check_sagemaker_name)

    @field_validator("inference_component")
    @classmethod
    def _component_name(
        cls, value: str | ComponentSelector | None
    ) -> str | ComponentSelector | None:
        return _check_sagemaker_name(value) if isinstance(value, str) else value

    kind: Literal["realtime", "async"] | None = Field(
        default=None, description="Endpoint targets: realtime (default) or async."
    )
    park: bool = Field(
        default=False,
        description="Real-time endpoints: delete (after a snapshot) in idle windows, recreate after.",
    )
    min: StrictInt = Field(
        ge=0,
        le=MAX_CAPACITY,
        description="Minimum outside idle windows (>= 1 for a real-time endpoint).",
    )
    max: StrictInt = Field(
        ge=1, le=MAX_CAPACITY, description="Hard ceiling, never exceeded by anything."
    )
    mode: Literal["auto", "bounds", "direct"] = Field(
        default="auto",
        description="bounds: write Application Auto Scaling limits; direct: write the count; auto: bounds if a scalable target exists.",
    )
    cooldown: Cooldown = Field(
        default_factory=Cooldown, description="Cooldowns for alarm-driven changes."
    )
    idle: list[IdleWindow] = Field(
        default_factory=list, description="Windows in which the target may go to 0."
    )
    floors: list[Floor] = Field(
        default_factory=list,
        description="Pre-scaling floors; the largest active one wins, even in an idle window.",
    )
    headroom: list[Headroom] = Field(
        default_factory=list,
        description="Windows with extra copies above the effective minimum (rather pay than drop).",
    )
    alarms: list[AlarmRule] = Field(default_factory=list, description="Reactive alarm rules.")
    wake: bool | WakeSizing = Field(
        default=False,
        description="Scale out from zero on the first rejected request: `true` orders 1 copy, `{per_copy: N}` the copies the rejected rate needs.",
    )
    burst: Burst | None = Field(
        default=None,
        description="Burst rule: when demand exceeds what the serving copies serve, go at once to the copies it needs.",
    )
    account: str | None = Field(
        default=None,
        description="The member account (a name under `accounts:`) the resource lives in; default: the controller's own.",
    )
    region: str | None = Field(
        default=None,
        description="The region of the resource, one of its account's regions; default: the account's only region, or for the controller's own account its region.",
    )

    @model_validator(mode="after")
    def _check(self) -> Target:
        if (self.inference_component is None) == (self.endpoint is None):
            raise _fail(
                "inference_component", "give exactly one of inference_component or endpoint"
            )
        if self.inference_component is not None:
            for name in ("variant", "kind", "park"):
                if name in self.model_fields_set:
                    raise _fail(name, "only for endpoint targets")
        if self.park and self.kind == "async":
            raise _fail("park", "only real-time endpoints park; an async endpoint scales to 0")
        if self.min > self.max:
            raise _fail("min", f"min {self.min} is above max {self.max}")
        if self.is_realtime and self.min < 1:
            raise _fail(
                "min",
                "a real-time endpoint needs min >= 1 (use idle windows with park: true to go to 0)",
            )
        if self.wake and self.is_realtime:
            raise _fail(
                "wake",
                "a real-time variant cannot wake on a rejected request; use an async endpoint or an inference component",
            )
        if self.burst is not None and self.resource_kind == "async":
            raise _fail(
                "burst",
                "an async endpoint queues its requests: scale it on its backlog (alarms) and wake, not on a burst of invocations",
            )
        seen: set[tuple[str, str]] = set()
        for i, rule in enumerate(self.alarms):
            if (rule.alarm, rule.state) in seen:
                raise _fail(
                    f"alarms[{i}].alarm",
                    f"alarm {rule.alarm!r} in state {rule.state} appears twice",
                )
            seen.add((rule.alarm, rule.state))
        return self

    @property
    def resource_kind(self) -> Literal["inference_component", "realtime", "async"]:
        """What is scaled: an inference component, or a real-time or async endpoint variant."""
        if self.inference_component is not None:
            return "inference_component"
        return self.kind or "realtime"

    @property
    def is_realtime(self) -> bool:
        return self.resource_kind == "realtime"

    @property
    def variant_name(self) -> str:
        return self.variant or "AllTraffic"

    @property
    def zero_when_idle(self) -> bool:
        """Whether an idle window takes the target to 0 (else to 1)."""
        return not self.is_realtime or self.park

    @property
    def component(self) -> str | None:
        """The inference component's name, once known (``None`` for a selector not yet resolved,
        and for endpoint targets)."""
        return self.inference_component if isinstance(self.inference_component, str) else None

    @property
    def selector(self) -> ComponentSelector | None:
        """The component selector, if the target selects its component by endpoint."""
        return (
            self.inference_component
            if isinstance(self.inference_component, ComponentSelector)
            else None
        )

    def resolved(self, component: str) -> Target:
        """This target with its selector resolved to the component named ``component``."""
        return self.model_copy(update={"inference_component": component})

    @property
    def resource(self) -> str:
        """A readable resource id: ``inference-component/NAME`` or ``endpoint/EP/variant/V``;
        for an unresolved selector, ``inference-component/?endpoint=EP[&model=M]``."""
        if self.selector is not None:
            return f"inference-component/?endpoint={self.selector.endpoint}" + (
                f"&model={self.selector.model}" if self.selector.model else ""
            )
        if self.inference_component is not None:
            return f"inference-component/{self.inference_component}"
        return f"endpoint/{self.endpoint}/variant/{self.variant_name}"


class Account(_Model):
    """A member account the controller reaches by assuming a role there (member-role.yaml)."""

    role: str = Field(
        description="ARN of the member role the controller assumes: arn:aws:iam::ACCOUNT:role/NAME (member-role.yaml, deployed with StackSets)."
    )
    regions: list[str] = Field(
        min_length=1, max_length=40, description="Regions the controller manages in this account."
    )
    external_id: str | None = Field(
        default=None,
        min_length=2,
        max_length=1224,
        pattern=r"^[\w+=,.@:/-]+$",
        description="The ExternalId the member role's trust policy requires (sts:ExternalId).",
    )

    @field_validator("role")
    @classmethod
    def _role_arn(cls, value: str) -> str:
        if not _ROLE_ARN_RE.match(value):
            raise ValueError(f"{value!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
        return value

    @field_validator("regions")
    @classmethod
    def _region_names(cls, value: list[str]) -> list[str]:
        for region in value:
            if not _REGION_RE.match(region):
                raise ValueError(f"{region!r} is not an AWS region name (like us-east-1)")
        if len(set(value)) != len(value):
            raise ValueError("a region is listed twice")
        return value

    @property
    def account_id(self) -> str:
        """The 12-digit account id, from the role's ARN."""
        match = _ROLE_ARN_RE.match(self.role)
        assert match is not None
        return match.group(1)


class Janitor(_Model):
    """The janitor: finds forgotten endpoints, marks them, deletes them after a grace period."""

    idle_for: StrictInt = Field(
        default=1440,
        ge=60,
        le=20160,
        description="Minutes without invocations before an endpoint is a candidate (at most 14 days: what CloudWatch can prove).",
    )
    grace: StrictInt = Field(
        default=2880, ge=60, le=60 * 24 * 90, description="Minutes between mark and delete."
    )
    protect: dict[str, str] = Field(
        default_factory=lambda: {"sagescale:keep": "true"},
        description="Tags that forbid deletion; keys and values compare without case.",
    )
    dry_run: bool = Field(
        default=True, description="Report only; set false (or pass --apply) to mark and delete."
    )
    include_managed: bool = Field(
        default=False, description="Also collect endpoints that a policy target manages."
    )
    accounts: list[str] | None = Field(
        default=None,
        description="Member accounts (names under `accounts:`) whose regions the janitor also sweeps; default: only the controller's own account and region.",
    )


@dataclass(frozen=True, order=True)
class Place:
    """An account-region: a member account by its policy name, or the controller's own (``HOME``, empty names)."""

    account: str = ""
    region: str = ""

    @property
    def is_home(self) -> bool:
        return not self.account

    def __str__(self) -> str:
        return "home" if self.is_home else f"{self.account}/{self.region}"


HOME = Place()


class Policy(_Model):
    """A sagescale policy file, version 1."""

    version: Literal[1] = Field(description="Policy format version; 1.")
    timezone: str = Field(
        default="UTC", description="IANA time zone, the default for every window and floor."
    )
    calendars: dict[str, Calendar] = Field(
        default_factory=dict, description="Named calendars used by floors."
    )
    targets: dict[str, Target] = Field(
        default_factory=dict, description="Scalable resources by name."
    )
    janitor: Janitor = Field(default_factory=Janitor, description="Janitor settings.")
    accounts: dict[str, Account] = Field(
        default_factory=dict,
        description="Member accounts by name: the role to assume in each and its regions.",
    )

    _zone = field_validator("timezone")(_check_zone)

    @model_validator(mode="after")
    def _cross_check(self) -> Policy:
        for section, names in (
            ("targets", self.targets),
            ("calendars", self.calendars),
            ("accounts", self.accounts),
        ):
            for name in names:
                if not _NAME_RE.match(name):
                    raise _fail(
                        f"{section}.{name}",
                        f"name {name!r}: use letters, digits, '-', '_' or '.' (at most 63)",
                    )
        resources: dict[str, str] = {}
        for name, target in self.targets.items():
            for i, floor in enumerate(target.floors):
                if floor.calendar is not None and floor.calendar not in self.calendars:
                    known = ", ".join(sorted(self.calendars)) or "none defined"
                    raise _fail(
                        f"targets.{name}.floors[{i}].calendar",
                        f"unknown calendar {floor.calendar!r} (known: {known})",
                    )
            self._check_place(name, target)
            where = self.place(name)
            other = resources.setdefault(f"{where}/{target.resource}", name)
            if other != name:
                raise _fail(
                    f"targets.{name}", f"{target.resource} is already managed by target {other!r}"
                )
        self._check_accounts()
        return self

    def _check_accounts(self) -> None:
        known = ", ".join(sorted(self.accounts)) or "none defined"
        for i, account in enumerate(self.janitor.accounts or []):
            if account not in self.accounts:
                raise _fail(
                    f"janitor.accounts[{i}]", f"unknown account {account!r} (accounts: {known})"
                )
            if account in (self.janitor.accounts or [])[:i]:
                raise _fail(
                    f"janitor.accounts[{i}]",
                    f"account {account!r} is listed twice (it would be swept twice at once)",
                )
        seen: dict[str, str] = {}
        for label, member in self.accounts.items():
            other = seen.setdefault(member.account_id, label)
            if other != label:
                raise _fail(
                    f"accounts.{label}.role",
                    f"account {member.account_id} is already named {other!r}",
                )

    def _check_place(self, name: str, target: Target) -> None:
        if target.account is None:
            if target.region is not None:
                raise _fail(
                    f"targets.{name}.region",
                    "give account too: the controller's own account is managed in its own region (name it under accounts: with a member role to reach its other regions)",
                )
            return
        if target.park:
            raise _fail(
                f"targets.{name}.park",
                "parking runs in the controller's own account only (a member role deletes nothing); scale the target with idle windows instead",
            )
        account = self.accounts.get(target.account)
        if account is None:
            known = ", ".join(sorted(self.accounts)) or "none defined"
            raise _fail(
                f"targets.{name}.account", f"unknown account {target.account!r} (accounts: {known})"
            )
        if target.region is None and len(account.regions) > 1:
            raise _fail(
                f"targets.{name}.region",
                f"account {target.account!r} has several regions ({', '.join(account.regions)}); name one",
            )
        if target.region is not None and target.region not in account.regions:
            raise _fail(
                f"targets.{name}.region",
                f"region {target.region!r} is not listed for account {target.account!r} (its regions: {', '.join(account.regions)})",
            )

    def place(self, name: str) -> Place:
        """Where target ``name`` lives: its account's name and region, or the controller's own (``HOME``)."""
        target = self.targets[name]
        if target.account is None:
            return HOME
        return Place(target.account, target.region or self.accounts[target.account].regions[0])

    def places(self) -> dict[Place, list[str]]:
        """The policy's targets by where they live, the controller's own place first: one unit of work each."""
        out: dict[Place, list[str]] = {}
        for name in sorted(self.targets, key=lambda n: self.place(n) != HOME):
            out.setdefault(self.place(name), []).append(name)
        return out

    def at_place(self, place: Place) -> Policy:
        """This policy with only the targets that live at ``place`` (what the janitor keeps there)."""
        return self.model_copy(
            update={"targets": {n: t for n, t in self.targets.items() if self.place(n) == place}}
        )

    def check_home(self, home: tuple[str, str] | None, source: str | None = None) -> Policy:
        """This policy, if no member account-region is the controller's own (``home``: its account
        and region), which the policy alone cannot know; else ``PolicyError`` naming it. Targets
        there belong without ``account``: the janitor there keeps only those as managed."""
        if home is not None:
            for name, account in self.accounts.items():
                if account.account_id == home[0] and home[1] in account.regions:
                    raise PolicyError(
                        [
                            (
                                f"accounts.{name}.regions",
                                f"account {account.account_id} in {home[1]} is the controller's own: "
                                "leave its targets there without account (its other regions may stay listed)",
                            )
                        ],
                        source,
                    )
        return self

    def check_member_role(self, role_name: str, source: str | None = None) -> Policy:
        """This policy, if every member account's role is named ``role_name`` (no path): the stack's
        ``MemberRoleName``, the only role its functions may assume (``iam::*:role/NAME``); else
        ``PolicyError`` naming each account whose role the stack would be refused."""
        problems = []
        for name, account in self.accounts.items():
            resource = account.role.split(":", 5)[-1]
            if resource != f"role/{role_name}":
                problems.append(
                    (
                        f"accounts.{name}.role",
                        f"{account.role} is not the role the stack may assume (role/{role_name}, its MemberRoleName): "
                        "deploy member-role.yaml with that name, or give the stack's MemberRoleName",
                    )
                )
        if problems:
            raise PolicyError(problems, source)
        return self

    def janitor_places(self) -> list[Place]:
        """Where the janitor sweeps: the controller's own account and region, then every region of
        each account it names."""
        return [
            HOME,
            *(Place(a, r) for a in self.janitor.accounts or [] for r in self.accounts[a].regions),
        ]

    def with_targets(self, targets: Mapping[str, Target]) -> Policy:
        """This policy with some targets replaced (component selectors resolved for one run)."""
        return self.model_copy(update={"targets": {**self.targets, **targets}})

    @cached_property
    def memo(self) -> dict[str, Any]:
        """Data derived from this policy, computed once by the modules that use it (``core.bounds``
        keeps each target's compiled schedule here). The policy itself never changes."""
        return {}


# ---------------------------------------------------------------------------
# Loading


class _PolicyLoader(yaml.SafeLoader):
    """YAML 1.2-like scalars: ``NO`` (Norway), ``on`` and ``20:00`` stay strings; duplicate keys are errors;
    nesting deeper than ``MAX_DEPTH`` is refused before it can exhaust the stack."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested deeper than {MAX_DEPTH} levels (line {mark.line + 1}); a policy needs a handful",
                    mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (line {mark.line + 1}): the last one would win silently",
                    mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# dates stay strings (pydantic parses them and names the field of a bad one); only true/false are booleans
_PolicyLoader.yaml_implicit_resolvers = {
    key: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:timestamp")
    ]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_PolicyLoader.add_implicit_resolver(
    # at most 18 digits: a longer one stays a string and fails validation with its field path
    # (Python refuses to convert integers of more than 4,300 digits, and none is meaningful here)
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]{0,17}))$"),
    list("-+0123456789"),
)


def format_location(loc: tuple[int | str, ...]) -> str:
    """``('targets', 'llm', 'floors', 0, 'lead')`` -> ``targets.llm.floors[0].lead``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for err in exc.errors(include_url=False):
        path = format_location(tuple(err["loc"]))
        msg = err["msg"]
        if err["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
            if msg.startswith(_FIELD_MARK):
                _, field, msg = msg.split(_FIELD_MARK, 2)
                path = f"{path}.{field}" if path and not field.startswith("targets.") else field
        elif err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required"
        problems.append((path, msg))
    return problems


def parse_policy(data: Any, source: str | None = None) -> Policy:
    """Validate already-parsed policy data; raises ``PolicyError``."""
    if not isinstance(data, dict):
        raise PolicyError([("", "a policy is a mapping with version, targets, ...")], source)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_problems(exc), source) from None


def loads_policy(text: str, source: str | None = None) -> Policy:
    """Parse and validate policy YAML (or JSON) text; raises ``PolicyError``."""
    return parse_policy(policy_data(text, source), source)


def policy_data(text: str, source: str | None = None) -> Any:
    """Policy YAML (or JSON) text as plain data, read with the policy's own YAML rules (times stay
    strings, duplicate keys and deep nesting are refused); not yet validated."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_POLICY_BYTES:
        raise PolicyError(
            [
                (
                    "",
                    f"the policy is {size:,} bytes; the limit is {MAX_POLICY_BYTES:,} (10,000 targets take about 1 MB)",
                )
            ],
            source,
        )
    try:
        data = yaml.load(text, Loader=_PolicyLoader)
    except yaml.YAMLError as exc:
        raise PolicyError([("", f"not valid YAML: {exc}")], source) from None
    except (
        RecursionError,
        ValueError,
    ) as exc:  # defence in depth: the loader's own limits come first
        raise PolicyError(
            [("", f"cannot read the policy: {type(exc).__name__}: {exc}")], source
        ) from None
    return data


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; raises ``PolicyError`` (also for an unreadable file)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise PolicyError(
                [("", f"the policy file is {size:,} bytes; the limit is {MAX_POLICY_BYTES:,}")],
                str(p),
            )
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([("", f"cannot read policy file: {exc.strerror}")], str(p)) from None
    return loads_policy(text, str(p))
