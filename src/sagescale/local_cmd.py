"""Local commands: ``replay`` (the ``sam local invoke`` stand-in), ``local`` (the emulator) and ``demo``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.policy import load_policy
from sagescale.common import (
    UsageError,
)


def cmd_replay(args: argparse.Namespace) -> int:
    from sagescale.replay import EventFileError, TemplateError, replay

    try:
        done = replay(
            args.function,
            args.event,
            endpoint_url=args.endpoint_url,
            policy=args.policy,
            template=args.template,
            populate=args.populate,
            deliver_queues=args.deliver,
        )
    except (EventFileError, TemplateError) as exc:
        raise UsageError(str(exc)) from None
    if done.seeded:
        print(f"seeded: {', '.join(done.seeded)}", file=sys.stderr)
    print(json.dumps(done.as_dict(), indent=2, default=str))
    invocation = done.invocation
    if not invocation.ok:
        print(
            f"sagescale: {args.function} failed: {invocation.error_type}: {invocation.error_message}",
            file=sys.stderr,
        )
    for error in done.target_errors:
        print(f"sagescale: {args.function}: target in error: {error}", file=sys.stderr)
    for delivery in done.deliveries or []:
        if delivery.failed:
            where = ", ".join(_where(b) for b in delivery.failed)
            share = (
                ""
                if len(delivery.bodies) == 1
                else f" ({len(delivery.failed)} of {len(delivery.bodies)} in the batch)"
            )
            print(
                f"sagescale: {delivery.source.function_id}: failed for {where}{share}; its {delivery.source.queue_id} message is left on the queue for the next try",
                file=sys.stderr,
            )
    return 0 if done.ok else 1


def _where(body: Any) -> str:
    """A work item's account-region, for a message about it."""
    if isinstance(body, dict) and "account" in body:
        return f"{body['account']}/{body.get('region', '')}" if body["account"] else "home"
    return "a message"


def env_lines(url: str, stack: Any) -> str:
    """``export`` lines with every variable a tool needs for the emulator at ``url``: the endpoint,
    the region (both spellings), dummy credentials, and the stack's table and topic."""
    from sagescale.stack import REGION

    values = {
        "AWS_ENDPOINT_URL": url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SAGESCALE_STATE_TABLE": stack.physical_name("StateTable"),
        "SAGESCALE_TOPIC_ARN": stack.arn("NotificationTopic"),
    }
    return "\n".join(f"export {k}={v}" for k, v in values.items())


def cmd_local(args: argparse.Namespace) -> int:
    import signal
    import threading

    from core.aws.clients import AwsClients
    from sagescale.emulator import start_server
    from sagescale.replay import patched_environ
    from sagescale.seed import seed_policy
    from sagescale.stack import ACCOUNT, REGION, Stack, default_template

    stack = Stack(args.template or default_template())
    if args.env:  # for `eval "$(sagescale local --env)"` against an emulator already running
        lines = env_lines(f"http://127.0.0.1:{args.port}", stack)
        print(
            json.dumps(
                dict(line.removeprefix("export ").split("=", 1) for line in lines.splitlines()),
                indent=2,
            )
            if args.json
            else lines
        )
        return 0
    policy = load_policy(args.populate) if args.populate else None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server = start_server(port=args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on port {args.port}: {exc.strerror}") from None
    with (
        server,
        patched_environ(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": REGION,
            }
        ),
    ):
        clients = AwsClients(endpoint_url=server.url)
        created = stack.create_resources(clients)
        seeded = seed_policy(clients, policy, trusted_account=ACCOUNT) if policy is not None else []
        print(server.url, flush=True)
        print(
            f"emulator listening on {server.url} (region {REGION}); stack resources: "
            + ", ".join(f"{k}={v}" for k, v in created.items()),
            file=sys.stderr,
            flush=True,
        )
        if seeded:
            print(f"seeded: {', '.join(seeded)}", file=sys.stderr, flush=True)
        print(
            f'point tools at it (paste these, or eval "$(sagescale local --env --port {server.port})" in another shell); stop with Ctrl-C:',
            file=sys.stderr,
        )
        print(env_lines(server.url, stack), file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sagescale.demo import run_demo

    run_demo(sys.stdout, as_json=args.json)
    return 0
