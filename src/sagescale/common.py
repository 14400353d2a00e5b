"""What every command of the CLI shares: the usage error, the parser class, times, tables, output.

Imports no command, so every command module can import it (``sagescale.cli`` registers the
commands; nothing imports ``sagescale.cli`` but the console script and tests).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, NoReturn

from core.policy import HOME, Place, Policy
from core.timewindows import load_zone, local_to_instant

if TYPE_CHECKING:
    from core.aws.clients import AwsClients


class UsageError(Exception):
    """Bad input from the operator: exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(message)


def parse_instant(text: str, what: str = "time") -> datetime:
    """An ISO 8601 instant with an offset (``Z`` allowed); naive times are refused."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{what} {text!r} is not ISO 8601, e.g. 2026-11-27T05:00:00-05:00"
        ) from None
    if value.tzinfo is None:
        raise UsageError(f"{what} {text!r} has no UTC offset; write e.g. {text}-05:00 or {text}Z")
    return value


def range_edge(text: str, policy: Policy, what: str, *, end: bool) -> datetime:
    """A DATE (local midnight in the policy's zone; an end date is inclusive) or an instant."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return parse_instant(text, what)
    if end:
        day += timedelta(days=1)
    zone = load_zone(policy.timezone)
    return local_to_instant(datetime.combine(day, datetime.min.time()), zone).astimezone(zone)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def emit(args: argparse.Namespace, payload: Any, human: Callable[[], str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2))
    else:
        print(human())


def selected_targets(policy: Policy, wanted: str | None) -> list[str]:
    if wanted is None:
        return list(policy.targets)
    if wanted not in policy.targets:
        known = ", ".join(sorted(policy.targets)) or "none"
        raise UsageError(f"unknown target {wanted!r} (targets in the policy: {known})")
    return [wanted]


def state_table(args: argparse.Namespace, required: bool) -> str | None:
    """The state table from ``--table`` or ``SAGESCALE_STATE_TABLE``; with ``required``, a usage error if neither."""
    table: str | None = getattr(args, "table", None) or os.environ.get("SAGESCALE_STATE_TABLE")
    if required and not table:
        raise UsageError(
            "name the state table with --table or SAGESCALE_STATE_TABLE (the stack output StateTableName)"
        )
    return table


def percent(fraction: float) -> str:
    """A served fraction as a percentage that never rounds a shortfall up to 100 % (99.996 %, not 100 %)."""
    for digits in (3, 4, 5, 6):
        text = f"{fraction * 100:.{digits}f}"
        if fraction >= 1 or float(text) < 100:
            return f"{text}%"
    return f"{fraction * 100:.6f}%"


class ProgressBar:
    """A one-line progress bar on a terminal (nothing otherwise); no dependency."""

    def __init__(
        self, stream: IO[str], label: str, *, width: int = 30, force: bool = False
    ) -> None:
        self.stream = stream
        self.label = label
        self.width = width
        self.enabled = force or (hasattr(stream, "isatty") and stream.isatty())
        self._shown = -1
        self._started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        percent = min(100, done * 100 // total)
        if percent == self._shown:
            return
        self._shown = percent
        filled = self.width * percent // 100
        elapsed = time.monotonic() - self._started
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}% {elapsed:5.1f}s"
        )
        if percent >= 100:
            self.stream.write("\n")
        self.stream.flush()


class Waiting:
    """A ``sleep`` that says, on a terminal, what it waits for and for how long (nothing otherwise):
    for ``delete`` and ``restore`` waiting on SageMaker."""

    def __init__(self, stream: IO[str], label: str, *, force: bool = False) -> None:
        self.stream = stream
        self.label = label
        self.enabled = force or (hasattr(stream, "isatty") and stream.isatty())
        self._started = time.monotonic()
        self._drawn = False

    def __call__(self, seconds: float) -> None:
        if self.enabled:
            self._drawn = True
            self.stream.write(
                f"\r{self.label}: waiting on SageMaker, {time.monotonic() - self._started:5.0f} s"
            )
            self.stream.flush()
        time.sleep(seconds)

    def done(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def add_policy(
    parser: argparse.ArgumentParser,
    *,
    positional: bool,
    default: str | None = None,
    required: bool = False,
    help: str = "the policy file",
) -> None:
    """The policy, passed the same way to every command: ``--policy FILE`` everywhere (and, where
    DESIGN.md's command line has it, as the first argument too)."""
    if positional:
        parser.add_argument("policy", nargs="?", help=f"{help} (or --policy FILE)")
        parser.add_argument("--policy", dest="policy_option", metavar="FILE", help=help)
    else:
        parser.add_argument("--policy", default=default, required=required, help=help)


def add_time(parser: argparse.ArgumentParser, help: str) -> None:
    """The one flag for "as if at this time": ``--at TIME`` (``--now`` is the same flag)."""
    parser.add_argument("--at", "--now", dest="at", metavar="TIME", help=help)


def settle_arguments(args: argparse.Namespace) -> None:
    """After parsing: the policy given either way, and not both ways differently."""
    if hasattr(args, "policy_option"):
        if args.policy and args.policy_option and args.policy != args.policy_option:
            raise UsageError(
                f"two policies given ({args.policy} and --policy {args.policy_option}); give one"
            )
        args.policy = args.policy or args.policy_option
        if not args.policy:
            raise UsageError("give the policy file: POLICY or --policy FILE")


# -- member accounts: where a command acts -------------------------------------------------------


def add_place(parser: argparse.ArgumentParser, what: str = "act") -> None:
    """``--account NAME`` and ``--region REGION``: a member account (a name under ``accounts:``) and one of its regions."""
    parser.add_argument(
        "--account",
        help=f"{what} in this member account (its name under accounts: in the policy; default: the controller's own)",
    )
    parser.add_argument("--region", help="the member account's region (needed when it has several)")


def chosen_place(args: argparse.Namespace, policy: Policy, target: str | None = None) -> Place:
    """The account-region ``--account``/``--region`` name, checked against the policy; for a target,
    where it lives (the flags, if given, must agree)."""
    account, region = getattr(args, "account", None), getattr(args, "region", None)
    if target is not None:
        place = policy.place(target)
        if account is not None and (account, region or place.region) != (
            place.account,
            place.region,
        ):
            raise UsageError(
                f"target {target} lives in {place}, not in {account}/{region or '?'} (drop --account/--region: the policy says where it is)"
            )
        if account is None and region is not None and region != place.region:
            raise UsageError(f"target {target} lives in {place}; --region {region} does not match")
        return place
    if account is None:
        if region is not None:
            raise UsageError(
                "--region needs --account: the controller's own account is used in its own region"
            )
        return HOME
    known = ", ".join(sorted(policy.accounts)) or "none"
    if account not in policy.accounts:
        raise UsageError(
            f"--account {account!r} is not under accounts: in the policy (accounts: {known})"
        )
    regions = policy.accounts[account].regions
    if region is None:
        if len(regions) > 1:
            raise UsageError(
                f"--account {account} has several regions ({', '.join(regions)}): give --region"
            )
        region = regions[0]
    if region not in regions:
        raise UsageError(
            f"--region {region!r} is not listed for account {account} (its regions: {', '.join(regions)})"
        )
    return Place(account, region)


def add_member_profile(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--member-profile",
        metavar="PROFILE",
        help=f"with --account: {what} with your own credentials in the member account (this AWS profile); "
        "sagescale's member roles cannot, on purpose. The state table stays the controller's (your default credentials)",
    )


def place_clients(
    policy: Policy, place: Place, *, janitor: bool = False, profile: str | None = None
) -> AwsClients:
    """The clients of ``place``: the caller's own; or a member account's through its member role
    (``janitor``: the member janitor role, which may mark, snapshot and delete what carries the
    mark); or, with ``profile``, the caller's own credentials there, checked to be that account's."""
    from botocore.exceptions import BotoCoreError, ClientError

    from core.aws.accounts import AccountError, Accounts
    from core.aws.clients import AwsClients

    home = AwsClients()
    if place.is_home:
        return home
    if profile is not None:
        import boto3

        try:
            clients = AwsClients(
                boto3.Session(profile_name=profile, region_name=place.region),
                endpoint_url=home.endpoint_url,
            )
            found = clients.client("sts").get_caller_identity()["Account"]
        except (ClientError, BotoCoreError) as exc:
            raise UsageError(f"--member-profile {profile}: {exc}") from None
        wanted = policy.accounts[place.account].account_id
        if found != wanted:
            raise UsageError(
                f"--member-profile {profile} is account {found}, not {place.account} ({wanted})"
            )
        return clients
    try:
        reach = Accounts(
            home,
            policy.accounts,
            session_name="sagescale-cli",
            endpoint_url=home.endpoint_url,
            role_suffix="-janitor" if janitor else "",
        )
        return reach.clients(place)
    except AccountError as exc:
        raise UsageError(
            f"{exc} (is member-role.yaml deployed there, trusting these credentials?)"
        ) from None
