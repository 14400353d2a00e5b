"""What a Lambda loads: no handler imports moto, the sagemaker SDK, matplotlib or the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sagescale.stack import Stack, default_template

FORBIDDEN = ("moto", "sagemaker", "matplotlib", "sagescale", "flask", "werkzeug", "aws_xray_sdk")


def handler_modules() -> list[str]:
    stack = Stack(default_template())
    return sorted({stack.function(f).handler.rpartition(".")[0] for f in stack.function_ids()})


def test_every_function_in_the_template_is_checked() -> None:
    assert handler_modules() == [
        "handlers.alarm",
        "handlers.janitor",
        "handlers.park",
        "handlers.reconcile",
        "handlers.unpark",
    ]


@pytest.mark.parametrize("module", handler_modules())
def test_handler_import_path_is_lean(module: str) -> None:
    code = (
        f"import sys, json; import {module}; "
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(FORBIDDEN)!r}))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_no_client_is_created_at_import() -> None:
    """Importing a handler must not create a boto3 client (nor need credentials or a region)."""
    code = (
        "import os, boto3, botocore.session\n"
        "for k in ('AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID'): os.environ.pop(k, None)\n"
        "made = []\n"
        "orig = botocore.session.Session.create_client\n"
        "botocore.session.Session.create_client = lambda self, *a, **k: made.append(a) or orig(self, *a, **k)\n"
        "import handlers.reconcile, handlers.alarm, handlers.janitor, handlers.park, handlers.unpark\n"
        "print(len(made))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0"


@pytest.mark.parametrize("enabled", [False, True])
def test_tracer_is_loaded_only_when_the_stack_enables_it(
    enabled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    import handlers.runtime
    from handlers.observe import traced

    monkeypatch.setattr(
        handlers.runtime,
        "get_runtime",
        lambda: SimpleNamespace(settings=SimpleNamespace(tracer=enabled)),
    )
    calls = []

    def handler(event: object, context: object) -> str:
        calls.append(event)
        return "done"

    traced_calls: list[object] = []

    class RecordingTracer:
        def __init__(self, service: str) -> None:
            assert service == "sagescale"

        def capture_lambda_handler(self, fn: object) -> object:
            def run(event: object, context: object) -> object:
                traced_calls.append(event)
                return fn(event, context)  # type: ignore[operator]

            return run

    monkeypatch.setattr("aws_lambda_powertools.Tracer", RecordingTracer)
    wrapped = traced(handler)
    context = SimpleNamespace(
        function_name="f", aws_request_id="r", memory_limit_in_mb=128, invoked_function_arn="arn"
    )
    assert wrapped({"n": 1}, context) == "done" and wrapped({"n": 2}, context) == "done"
    assert calls == [{"n": 1}, {"n": 2}]
    assert traced_calls == (calls if enabled else [])
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, handlers.observe; print('aws_xray_sdk' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


def test_tracer_enabled_without_the_xray_sdk_runs_untraced(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from types import SimpleNamespace

    import handlers.runtime
    from handlers.observe import traced

    class MissingSdk:
        def __init__(self, service: str) -> None:
            raise ModuleNotFoundError("No module named 'aws_xray_sdk'")

    monkeypatch.setattr(
        handlers.runtime,
        "get_runtime",
        lambda: SimpleNamespace(settings=SimpleNamespace(tracer=True)),
    )
    monkeypatch.setattr("aws_lambda_powertools.Tracer", MissingSdk)
    wrapped = traced(lambda event, context: ("ran", event))
    assert wrapped({"n": 1}, None) == ("ran", {"n": 1})
    assert "add aws-xray-sdk" in caplog.text
