"""Settings of the functions, read once from the environment into a frozen, validated object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.aws.clients import AwsClients
from core.policy import Policy, load_policy

CODE_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    """A missing or bad environment variable; the message names it."""


@dataclass(frozen=True)
class Settings:
    state_table: str
    policy_file: Path | None
    policy_parameter: str | None
    topic_arn: str | None
    notify_actions: bool = False
    tracer: bool = False
    account_id: str | None = None
    region: str | None = None
    policy_max_age: int = 60  # seconds a policy read from SSM is kept before it is read again
    stack_name: str = ""  # in the names of the alarms and policies the functions create
    paused: bool = False  # the pause switch: observe and log, write nothing
    work_queue_url: str | None = None  # the fan-out queue: one work item per account-region

    @property
    def home(self) -> tuple[str, str] | None:
        """The function's own ``(account, region)``, whose alarms the rules accept by name."""
        return (self.account_id, self.region) if self.account_id and self.region else None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        table = env.get("SAGESCALE_STATE_TABLE", "").strip()
        if not table:
            raise SettingsError("SAGESCALE_STATE_TABLE is not set: the name of the state table")
        parameter = env.get("SAGESCALE_POLICY_PARAMETER", "").strip() or None
        file_text = env.get("SAGESCALE_POLICY_FILE", "").strip()
        if not file_text and parameter is None:
            raise SettingsError(
                "set SAGESCALE_POLICY_FILE (a path in the package) or SAGESCALE_POLICY_PARAMETER (an SSM parameter)"
            )
        policy_file = None
        if file_text:
            policy_file = Path(file_text)
            if not policy_file.is_absolute():
                policy_file = CODE_ROOT / policy_file
            if parameter is None and not policy_file.is_file():
                raise SettingsError(f"SAGESCALE_POLICY_FILE: no file at {policy_file}")
        flags = {}
        for variable in ("SAGESCALE_NOTIFY_ACTIONS", "SAGESCALE_TRACER", "SAGESCALE_PAUSED"):
            value = env.get(variable, "false").strip().lower()
            if value not in ("true", "false", ""):
                raise SettingsError(f"{variable} must be true or false, got {value!r}")
            flags[variable] = value == "true"
        topic = env.get("SAGESCALE_TOPIC_ARN", "").strip() or None
        account = env.get("SAGESCALE_ACCOUNT_ID", "").strip() or None
        if account is not None and not (len(account) == 12 and account.isdigit()):
            raise SettingsError(
                f"SAGESCALE_ACCOUNT_ID must be a 12-digit account id, got {account!r}"
            )
        region = (
            env.get("SAGESCALE_REGION")
            or env.get("AWS_REGION")
            or env.get("AWS_DEFAULT_REGION")
            or ""
        ).strip() or None
        max_age_text = env.get("SAGESCALE_POLICY_MAX_AGE", "60").strip() or "60"
        if not max_age_text.isdigit() or int(max_age_text) > 86400:
            raise SettingsError(
                f"SAGESCALE_POLICY_MAX_AGE must be seconds from 0 to 86400, got {max_age_text!r}"
            )
        stack = env.get("SAGESCALE_STACK_NAME", "").strip()
        queue = env.get("SAGESCALE_WORK_QUEUE_URL", "").strip() or None
        if queue is not None and not queue.startswith(("https://", "http://")):
            raise SettingsError(f"SAGESCALE_WORK_QUEUE_URL must be an SQS queue URL, got {queue!r}")
        return cls(
            table,
            policy_file,
            parameter,
            topic,
            flags["SAGESCALE_NOTIFY_ACTIONS"],
            flags["SAGESCALE_TRACER"],
            account,
            region,
            int(max_age_text),
            stack,
            flags["SAGESCALE_PAUSED"],
            queue,
        )

    def load_policy(self, clients: AwsClients) -> Policy:
        """The policy from the package file (the SSM parameter is the runtime's, with its cache)."""
        if self.policy_file is None:
            raise SettingsError(
                "no policy file: the policy is in SSM parameter " + str(self.policy_parameter)
            )
        return load_policy(self.policy_file)
