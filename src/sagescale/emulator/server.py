"""The emulator over HTTP: moto's server app plus a small control API.

Everything moto serves is served unchanged. Requests under ``/_sagescale/`` drive the
:class:`~sagescale.emulator.control.Emulator` from another process (``sagescale local``
plus a test or a demo script):

==========================  ==============================================================
``GET  /_sagescale/state``  ``{"now": ISO time, "update_delay_seconds": n}``
``POST /_sagescale/clock``  ``{"now": ISO time}`` or ``{"advance_seconds": n}`` (freezes the
                            clock, then moves it) or ``{"reset": true}`` (system clock)
``POST /_sagescale/delay``  ``{"seconds": n}``
``POST /_sagescale/fail``   ``{"kind": "endpoint" | "inference-component", "name": ...,
                            "reason": ..., "rollback": false, "region": optional}``
``POST /_sagescale/reset``  clock, delay and inference components back to their defaults
``POST /_sagescale/faults``  ``{"operation": "dynamodb:UpdateItem", "error": "ThrottlingException",
                            "times": 1, "after": 0}``: let ``after`` calls through, then fail
                            ``times``; ``GET`` lists them with their counts, ``DELETE`` clears
``POST /_sagescale/latency``  ``{"seconds": n}`` added to every request
``POST /_sagescale/rate-limits``  ``{"limits": {"sagemaker:DescribeInferenceComponent": 20}}``
                            (requests per second; above, ``ThrottlingException``)
==========================  ==============================================================

:class:`RemoteControl` is a client for these routes.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from .control import Emulator, ManualClock, control

CONTROL_PREFIX = "/_sagescale/"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ControlMiddleware:
    """WSGI middleware: answers ``/_sagescale/*`` itself, passes the rest to moto."""

    def __init__(self, app: WSGIApp, emulator: Emulator = control) -> None:
        self._app = app
        self._emulator = emulator
        # moto's backends are not thread-safe: a DynamoDB conditional write is a check and
        # a write that two threads can interleave. AWS makes each request atomic; so do we,
        # by serving one AWS request at a time (the server still accepts them concurrently).
        self._serial = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if not path.startswith(CONTROL_PREFIX):
            with self._serial:
                return list(self._app(environ, start_response))
        try:
            body = self._handle(environ["REQUEST_METHOD"], path[len(CONTROL_PREFIX) :], environ)
            status = "200 OK"
        except LookupError as error:
            body, status = {"error": str(error)}, "404 Not Found"
        except (ValueError, TypeError, KeyError) as error:
            body, status = {"error": f"{type(error).__name__}: {error}"}, "400 Bad Request"
        payload = json.dumps(body).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]

    def _handle(self, method: str, route: str, environ: dict[str, Any]) -> dict[str, Any]:
        emulator = self._emulator
        if method == "GET" and route == "state":
            return self._state()
        if route == "faults" and method in ("GET", "DELETE"):
            if method == "DELETE":
                emulator.clear_faults()
            return {"faults": [f.as_dict() for f in emulator.faults]}
        routes: dict[str, Callable[[dict[str, Any]], None]] = {
            "clock": self._clock,
            "delay": self._delay,
            "fail": self._fail,
            "faults": self._fault,
            "latency": self._latency,
            "rate-limits": self._rate_limits,
            "reset": self._reset,
        }
        post = routes.get(route)
        if method != "POST" or post is None:
            raise LookupError(f"no route {method} {CONTROL_PREFIX}{route}")
        post(_read_json(environ))
        return (
            {"faults": [f.as_dict() for f in emulator.faults]}
            if route == "faults"
            else self._state()
        )

    def _clock(self, request: dict[str, Any]) -> None:
        emulator = self._emulator
        if request.get("reset"):
            emulator.reset_clock()
        elif "now" in request:
            emulator.set_clock(ManualClock(datetime.fromisoformat(request["now"])))
        elif "advance_seconds" in request:
            clock = ManualClock(emulator.now())
            clock.advance(timedelta(seconds=float(request["advance_seconds"])))
            emulator.set_clock(clock)
        else:
            raise ValueError('expected "now", "advance_seconds" or "reset"')

    def _reset(self, _: dict[str, Any]) -> None:
        self._emulator.reset()

    def _delay(self, request: dict[str, Any]) -> None:
        self._emulator.update_delay = timedelta(seconds=float(request["seconds"]))

    def _fail(self, request: dict[str, Any]) -> None:
        fail = {
            "endpoint": self._emulator.fail_endpoint,
            "inference-component": self._emulator.fail_inference_component,
        }[request["kind"]]
        fail(
            request["name"],
            request["reason"],
            rollback=bool(request.get("rollback", False)),
            region=request.get("region"),
            account_id=request.get("account_id"),
        )

    def _fault(self, request: dict[str, Any]) -> None:
        self._emulator.add_fault(
            str(request["operation"]),
            str(request["error"]),
            times=int(request.get("times", 1)),
            after=int(request.get("after", 0)),
            message=request.get("message"),
        )

    def _latency(self, request: dict[str, Any]) -> None:
        self._emulator.latency = timedelta(seconds=float(request["seconds"]))

    def _rate_limits(self, request: dict[str, Any]) -> None:
        limits = request["limits"]
        if not isinstance(limits, dict) or any(
            ":" not in str(k) or float(v) <= 0 for k, v in limits.items()
        ):
            raise ValueError('limits must be {"service:Operation": requests per second > 0}')
        self._emulator.rate_limits = {str(k): float(v) for k, v in limits.items()}

    def _state(self) -> dict[str, Any]:
        return {
            "now": self._emulator.now().isoformat(),
            "update_delay_seconds": self._emulator.update_delay.total_seconds(),
            "latency_seconds": self._emulator.latency.total_seconds(),
            "rate_limits": dict(self._emulator.rate_limits),
            "faults": [f.as_dict() for f in self._emulator.faults],
        }


def _read_json(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    data = json.loads(raw or b"{}")
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    return data


class RunningServer:
    """A moto server with the SageMaker extensions, running in a daemon thread."""

    def __init__(self, server: BaseWSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The port the server listens on (the chosen one when started with port 0)."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL to pass as ``endpoint_url`` to boto3 clients."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def reset(self) -> None:
        """Forget everything the server holds: moto's backends (its reset route) and the
        extensions' state (this process's :data:`~sagescale.emulator.control.control`)."""
        urllib.request.urlopen(
            urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10
        ).read()
        control.reset()

    def stop(self) -> None:
        """Stop serving and wait for the thread to end (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_server(port: int = 0, host: str = "127.0.0.1") -> RunningServer:
    """Start moto's server with the SageMaker extensions installed; returns once listening.

    ``port=0`` picks a free port (see :attr:`RunningServer.url`). The server shares this
    process's moto backends and :data:`~sagescale.emulator.control.control`.
    """
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    from ._install import install_extensions

    class QuietRequestHandler(MotoRequestHandler):
        """No access-log line per request: the controller makes thousands of them."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

    install_extensions()
    app = ControlMiddleware(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(
        target=server.serve_forever, name=f"sagescale-emulator-{server.port}", daemon=True
    )
    thread.start()
    return RunningServer(server, thread)


class RemoteControl:
    """Drives the control routes of an emulator server at ``url`` (another process)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self._base = url.rstrip("/") + CONTROL_PREFIX
        self._timeout = timeout

    def state(self) -> dict[str, Any]:
        """The server's clock and update delay."""
        return self._call("GET", "state")

    def set_time(self, when: datetime) -> dict[str, Any]:
        """Freeze the server's clock at ``when`` (timezone-aware)."""
        if when.tzinfo is None:
            raise ValueError("when must be timezone-aware")
        return self._call("POST", "clock", {"now": when.isoformat()})

    def advance(self, delta: timedelta) -> dict[str, Any]:
        """Freeze the server's clock and move it forward by ``delta``."""
        return self._call("POST", "clock", {"advance_seconds": delta.total_seconds()})

    def reset_clock(self) -> dict[str, Any]:
        """Give the server its system clock back."""
        return self._call("POST", "clock", {"reset": True})

    def set_update_delay(self, delay: timedelta) -> dict[str, Any]:
        """Set how long changes stay in their transitional status."""
        return self._call("POST", "delay", {"seconds": delay.total_seconds()})

    def fail(self, kind: str, name: str, reason: str, *, rollback: bool = False) -> dict[str, Any]:
        """Inject a failure (``kind`` is ``"endpoint"`` or ``"inference-component"``)."""
        body = {"kind": kind, "name": name, "reason": reason, "rollback": rollback}
        return self._call("POST", "fail", body)

    def reset(self) -> dict[str, Any]:
        """Reset the server's extension state."""
        return self._call("POST", "reset", {})

    def add_fault(
        self, operation: str, error: str, *, times: int = 1, after: int = 0
    ) -> list[dict[str, Any]]:
        """Fail ``times`` calls of ``operation`` (``service:Operation``) with ``error``, after ``after`` go through."""
        faults: list[dict[str, Any]] = self._call(
            "POST",
            "faults",
            {"operation": operation, "error": error, "times": times, "after": after},
        )["faults"]
        return faults

    def faults(self) -> list[dict[str, Any]]:
        """The injected faults, with the calls each has seen and failed."""
        faults: list[dict[str, Any]] = self._call("GET", "faults")["faults"]
        return faults

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def set_latency(self, latency: timedelta) -> dict[str, Any]:
        """Add ``latency`` to every emulated request."""
        return self._call("POST", "latency", {"seconds": latency.total_seconds()})

    def set_rate_limits(self, limits: dict[str, float]) -> dict[str, Any]:
        """Throttle each ``service:Operation`` above its requests per second (replaces the limits)."""
        return self._call("POST", "rate-limits", {"limits": limits})

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self._base + route,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                result: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise RuntimeError(f"emulator control {route} failed: {error.code} {detail}") from error
        return result
