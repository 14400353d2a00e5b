"""Every command of the CLI, declared in one place: its arguments and the function that runs it.

Shared argument kinds (the policy, "as if at this time") come from ``sagescale.common``;
the commands live in their modules and import no parser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sagescale.common import add_member_profile, add_place, add_policy, add_time
from sagescale.doctor import cmd_doctor
from sagescale.local_cmd import cmd_demo, cmd_local, cmd_replay
from sagescale.ops import SHIPPED_POLICY, cmd_delete, cmd_janitor, cmd_restore, cmd_status, cmd_wake
from sagescale.policy_cmd import cmd_calendar, cmd_override, cmd_plan, cmd_schema, cmd_validate
from sagescale.rehearse_cmd import cmd_rehearse
from sagescale.simulate_cmd import cmd_simulate, cmd_trace
from sagescale.tune_cmd import cmd_tune


def declare(sub: Any) -> None:
    """Add every subcommand to ``sub`` (an ``add_subparsers`` action)."""
    # -- policy_cmd
    p = sub.add_parser("validate", help="validate a policy file")
    add_policy(p, positional=True)
    p.add_argument(
        "--member-role-name",
        default="sagescale-member",
        metavar="NAME",
        help="the stack's MemberRoleName: every member account's role must have this name (default: the template's, sagescale-member)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("plan", help="effective bounds of every target at a time")
    add_policy(p, positional=True)
    add_time(p, "ISO 8601 time with offset (default: now)")
    p.add_argument("--target", help="only this target")
    add_place(p, "only the targets that live")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("calendar", help="every change of effective bounds in a date range")
    add_policy(p, positional=True)
    p.add_argument(
        "--from", dest="from_", required=True, help="first DATE (local midnight) or ISO time"
    )
    p.add_argument("--to", required=True, help="last DATE (inclusive) or ISO time (exclusive)")
    p.add_argument(
        "--plot",
        metavar="PNG",
        help="also write the bounds as a heat map, one row per target (needs matplotlib)",
    )
    p.add_argument("--target", help="only this target")
    add_place(p, "only the targets that live")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_calendar)

    p = sub.add_parser("override", help="set or clear an operator override of a target's minimum")
    p.add_argument("target")
    add_policy(p, positional=False, required=True, help="the policy (to check the target name)")
    p.add_argument("--min", type=int, help="minimum while the override holds")
    p.add_argument("--until", help="ISO 8601 expiry with offset")
    p.add_argument("--by", help="who (default: $USER)")
    p.add_argument("--why", help="reason, shown in decisions")
    p.add_argument("--clear", action="store_true", help="remove the override")
    add_place(p, "(checked against where the target lives)")
    p.add_argument("--table", help="state table (default: $SAGESCALE_STATE_TABLE)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_override)

    p = sub.add_parser(
        "schema", help="write the policy's JSON Schema (for editors: yaml-language-server)"
    )
    p.add_argument(
        "--json", action="store_true", help="accepted for uniformity: the schema is JSON"
    )
    p.add_argument("--out", help="file to write (default: stdout)")
    p.set_defaults(func=cmd_schema)

    # -- local_cmd
    p = sub.add_parser(
        "replay",
        help="invoke a function of template.yaml with an event file, as sam local invoke does",
    )
    p.add_argument(
        "--json", action="store_true", help="accepted for uniformity: the output is always JSON"
    )
    p.add_argument("function", help="logical id in template.yaml, e.g. ReconcileFunction")
    p.add_argument("event", help="event JSON file, e.g. events/reconcile-tick.json")
    p.add_argument(
        "--endpoint-url",
        help="AWS endpoint (e.g. a running 'sagescale local'); default: an embedded emulator",
    )
    p.add_argument("--policy", help="policy file instead of the one shipped with the function")
    p.add_argument(
        "--template", type=Path, help="template (default: template.yaml of this checkout)"
    )
    p.add_argument(
        "--populate",
        action="store_true",
        help="first create, on the embedded emulator, the endpoints, components and member-account roles --policy names",
    )
    p.add_argument(
        "--deliver",
        action="store_true",
        help="then deliver what the invocation put on the stack's queues (a tick's work items, one per account-region) to the functions they trigger, as Lambda's SQS triggers do",
    )
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser(
        "local", help="run the local AWS emulator with the stack's tables, topics and queues"
    )
    p.add_argument("--json", action="store_true", help="with --env, the variables as a JSON object")
    p.add_argument(
        "--port",
        type=int,
        default=4566,
        help="port on 127.0.0.1 (default 4566; 0 picks a free one)",
    )
    p.add_argument(
        "--populate",
        metavar="POLICY",
        help="also create the endpoints and inference components this policy names, where they live, and its member accounts' roles",
    )
    p.add_argument(
        "--env",
        action="store_true",
        help='print the export lines for an emulator on --port and exit (eval "$(sagescale local --env)")',
    )
    p.add_argument(
        "--template", type=Path, help="template (default: template.yaml of this checkout)"
    )
    p.set_defaults(func=cmd_local)

    p = sub.add_parser("demo", help="a scripted Thanksgiving week on the embedded emulator")
    p.add_argument("--json", action="store_true", help="machine-readable timeline")
    p.set_defaults(func=cmd_demo)

    # -- ops
    p = sub.add_parser(
        "janitor", help="find forgotten endpoints: report, or mark/notify/delete with --apply"
    )
    p.add_argument(
        "--policy",
        default=str(SHIPPED_POLICY),
        help="policy file (default: the one shipped with the functions)",
    )
    p.add_argument(
        "--apply",
        action="store_true",
        help="act: mark, notify, delete after the grace period (default: dry run)",
    )
    add_time(p, "evaluate as if at this ISO 8601 time: a what-if that never acts")
    p.add_argument("--endpoint", help="only this endpoint")
    p.add_argument("--table", help="state table for snapshots (default: $SAGESCALE_STATE_TABLE)")
    p.add_argument("--topic", help="SNS topic for notifications (default: $SAGESCALE_TOPIC_ARN)")
    add_place(p, "sweep")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_janitor)

    p = sub.add_parser(
        "delete", help="safe manual delete: snapshot, delete in order, verify nothing is left"
    )
    p.add_argument("endpoint")
    p.add_argument(
        "--with-config-and-models",
        action="store_true",
        help="also delete the endpoint config and models",
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--timeout",
        type=int,
        default=30,
        help="minutes to wait for inference components to go (default 30)",
    )
    p.add_argument(
        "--snapshot-dir",
        default="sagescale-snapshots",
        help="where the snapshot JSON is written (default ./sagescale-snapshots)",
    )
    p.add_argument(
        "--table",
        help="also store the snapshot in this state table (default: $SAGESCALE_STATE_TABLE)",
    )
    p.add_argument(
        "--policy",
        default=str(SHIPPED_POLICY),
        help="policy whose protect tags and targets are respected (default: the shipped one)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="delete even an endpoint with a protect tag or one a policy target manages",
    )
    add_place(p, "delete")
    add_member_profile(p, "delete")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser(
        "wake",
        help="bring a target up now (unpark it) and hold it at >= 1 until its idle window ends",
    )
    p.add_argument("target")
    p.add_argument(
        "--policy",
        default=str(SHIPPED_POLICY),
        help="policy file (default: the one shipped with the functions)",
    )
    p.add_argument("--table", help="state table (default: $SAGESCALE_STATE_TABLE)")
    add_time(p, "as if at this ISO 8601 time")
    add_place(p, "(checked against where the target lives)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_wake)

    p = sub.add_parser("restore", help="recreate a deleted endpoint from its snapshot")
    p.add_argument("endpoint")
    p.add_argument(
        "--from",
        dest="from_file",
        help="snapshot JSON file (default: the latest snapshot in the state table)",
    )
    p.add_argument("--table", help="state table (default: $SAGESCALE_STATE_TABLE)")
    p.add_argument(
        "--policy",
        default=str(SHIPPED_POLICY),
        help="policy naming the member accounts (with --account)",
    )
    add_place(p, "restore")
    add_member_profile(p, "restore")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser(
        "status",
        help="what the controller is doing now: every target's bounds, copies, last action, override, next change; the janitor's marks",
    )
    p.add_argument(
        "--policy",
        default=str(SHIPPED_POLICY),
        help="policy file (default: the one shipped with the functions)",
    )
    p.add_argument("--table", help="state table (default: $SAGESCALE_STATE_TABLE)")
    p.add_argument("--target", help="only this target")
    add_time(p, "as if at this ISO 8601 time (default: now)")
    add_place(p, "only the targets that live")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    # -- simulate_cmd
    from core.sim.traces import KINDS

    def trace_run(p: Any, sim_config_help: str, plot_help: str) -> None:
        """The arguments simulate and rehearse share: the policy, the trace, the model and its overrides."""
        add_policy(p, positional=True)
        p.add_argument(
            "--trace",
            required=True,
            help="CSV with columns timestamp,requests (requests per minute)",
        )
        p.add_argument("--target", help="the policy's target (needed when it has several)")
        p.add_argument("--sim-config", help=sim_config_help)
        p.add_argument(
            "--capacity-per-copy",
            dest="capacity_per_copy",
            type=float,
            help="requests per minute one copy serves (overrides the config)",
        )
        p.add_argument(
            "--instance-type", dest="instance_type", help="instance type (overrides the config)"
        )
        p.add_argument(
            "--price-per-hour",
            dest="price_per_hour",
            type=float,
            help="USD per instance-hour (overrides the price table)",
        )
        p.add_argument(
            "--copy-start",
            dest="copy_start_minutes",
            type=int,
            help="minutes until a copy serves on a running instance",
        )
        p.add_argument(
            "--instance-start",
            dest="instance_start_minutes",
            type=int,
            help="minutes until a copy serves on a new instance",
        )
        p.add_argument(
            "--prices",
            help='JSON price table {"prices": {type: usd_per_hour}} instead of the shipped one',
        )
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--plot", metavar="PNG", help=plot_help)

    p = sub.add_parser(
        "simulate", help="replay a traffic trace against the policy and baselines, and price it"
    )
    trace_run(
        p,
        "YAML with the simulation parameters (capacity, instance type, alarms...); see docs/simulator.md",
        "write a plot of demand and each strategy's capacity (needs matplotlib)",
    )
    p.add_argument(
        "--static",
        type=int,
        default=4,
        metavar="N",
        help="copies of the static baseline (default 4)",
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "doctor",
        help="the live deployment against the policy: what would stop it from working or from saving money",
    )
    add_policy(p, positional=False, required=True)
    p.add_argument("--target", help="only this target")
    add_place(p, "examine the targets that live")
    p.add_argument(
        "--stack",
        default="sagescale",
        help="the controller's stack name, which its wake alarms carry (default: sagescale)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser(
        "rehearse",
        help="run the stack's real functions in a closed loop on the emulator over a trace, beside simulate",
    )
    trace_run(
        p,
        "YAML with the simulation parameters, as simulate reads it (mode: bounds registers a scalable target with target tracking)",
        "write a plot of demand and the rehearsed and simulated capacity (needs matplotlib)",
    )
    p.set_defaults(func=cmd_rehearse)

    p = sub.add_parser(
        "trace", help="generate a synthetic traffic trace (deterministic with --seed)"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="with --out, print a summary of the written trace as JSON",
    )
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--out", help="CSV file to write (default: stdout)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--start",
        help="first day, YYYY-MM-DD (default: 2026-11-23 for holiday-week, else 2026-09-14)",
    )
    p.add_argument("--days", type=int, default=7)
    p.add_argument(
        "--mean",
        type=float,
        default=100.0,
        help="average requests per minute, spike excluded (default 100)",
    )
    p.add_argument(
        "--peak",
        type=float,
        default=10_000.0,
        help="spike peak in requests per minute (default 10000)",
    )
    p.add_argument(
        "--timezone",
        default="America/New_York",
        help="zone of the day shape and the written timestamps",
    )
    p.add_argument(
        "--spike-at",
        action="append",
        metavar="TIME",
        help="an unannounced spike to --peak at this ISO 8601 time with offset, day or night (repeatable); replaces unannounced-spike's own, is added to holiday-week's doorbuster",
    )
    p.add_argument(
        "--spike-minutes",
        type=int,
        default=20,
        metavar="N",
        help="minutes a placed spike holds its peak (default 20; it ramps over 3 and decays over 30)",
    )
    p.set_defaults(func=cmd_trace)

    # -- tune_cmd
    p = sub.add_parser(
        "tune", help="search the policy's parameters on traces (optuna) and write the best policy"
    )
    add_policy(p, positional=True)
    p.add_argument(
        "--trace",
        action="append",
        required=True,
        help="CSV trace (repeat for several; the constraint holds on each)",
    )
    p.add_argument("--target", help="the policy's target (needed when it has several)")
    p.add_argument(
        "--sim-config", help="YAML with the simulation parameters; see docs/simulator.md"
    )
    p.add_argument(
        "--min-served",
        type=float,
        action="append",
        required=True,
        metavar="F",
        help="served fraction every trace must reach, e.g. 0.999; or repeat it, one per --trace in order",
    )
    p.add_argument(
        "--trials",
        type=int,
        default=40,
        help="trials (default 40; the first is the policy as it is)",
    )
    p.add_argument(
        "--seed", type=int, default=1, help="sampler seed: the same seed gives the same trials"
    )
    p.add_argument(
        "--jobs", type=int, help="worker processes (default: the cores, at most two per trace)"
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="TUNED.yaml",
        help="where to write the tuned policy (comments kept)",
    )
    p.add_argument(
        "--plot", metavar="PNG", help="write the trials and the Pareto front (needs matplotlib)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    for name in (
        "capacity_per_copy",
        "instance_type",
        "price_per_hour",
        "copy_start_minutes",
        "instance_start_minutes",
        "prices",
    ):
        p.set_defaults(**{name: None})
    p.set_defaults(func=cmd_tune)
