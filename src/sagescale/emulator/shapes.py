"""Checking responses against botocore's output shapes, strictly.

botocore's parser is lenient: it drops ``null`` members and members the shape does not
have, and passes wrong scalar types through. A response that AWS would never send can
therefore parse cleanly. :func:`shape_errors` checks a value against a shape without that
leniency, either as parsed (``wire=False``: timestamps are datetimes, blobs bytes) or as
the raw JSON body on the wire (``wire=True``: timestamps are epoch seconds, blobs base64
text, and ``null`` is an error wherever it appears).

:class:`ResponseChecker` is a botocore ``before-parse`` handler that applies the wire check
to every successful JSON response a client receives; :meth:`ResponseChecker.install` adds
it to every botocore session created afterwards (the way moto adds its own handler)::

    checker = ResponseChecker().install()
    ...  # any boto3 client, in-process (moto) or over HTTP
    assert not checker.errors
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

import botocore.handlers
from botocore.model import OperationModel, Shape

_PARSED_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "timestamp": (datetime,),
    "blob": (bytes,),
}
_WIRE_TYPES = {**_PARSED_TYPES, "timestamp": (int, float), "blob": (str,)}


def shape_errors(value: Any, shape: Shape, path: str = "$", *, wire: bool = False) -> list[str]:
    """Every way ``value`` departs from ``shape``: missing required members, members the
    shape lacks, ``None``/``null``, wrong types, values outside enums and length/range limits.
    """
    if value is None:
        return [f"{path}: null (AWS omits a member it has no value for)"]
    kind = shape.type_name
    if kind == "structure":
        return _structure_errors(value, shape, path, wire=wire)
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected list, got {type(value).__name__}"]
        member = shape.member  # type: ignore[attr-defined]
        return [
            error
            for index, item in enumerate(value)
            for error in shape_errors(item, member, f"{path}[{index}]", wire=wire)
        ]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected map, got {type(value).__name__}"]
        errors = []
        for key, item in value.items():
            errors += shape_errors(key, shape.key, f"{path}<key>", wire=wire)  # type: ignore[attr-defined]
            errors += shape_errors(item, shape.value, f"{path}[{key!r}]", wire=wire)  # type: ignore[attr-defined]
        return errors
    return _scalar_errors(value, shape, path, wire=wire)


def _structure_errors(value: Any, shape: Shape, path: str, *, wire: bool) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected structure {shape.name}, got {type(value).__name__}"]
    members: dict[str, Shape] = shape.members  # type: ignore[attr-defined]
    names = {
        (member.serialization.get("name", name) if wire else name): name
        for name, member in members.items()
    }
    errors = [
        f"{path}.{name}: required member missing"
        for name in shape.required_members
        if not any(names[key] == name for key in value if key in names)
    ]
    for key, item in value.items():
        if not wire and path == "$" and key == "ResponseMetadata":
            continue
        if key not in names:
            errors.append(f"{path}.{key}: not a member of {shape.name}")
        else:
            errors += shape_errors(item, members[names[key]], f"{path}.{key}", wire=wire)
    return errors


def _scalar_errors(value: Any, shape: Shape, path: str, *, wire: bool) -> list[str]:
    kind = shape.type_name
    types = (_WIRE_TYPES if wire else _PARSED_TYPES).get(kind)
    if types is None:
        return [f"{path}: unchecked shape type {kind}"]
    if not isinstance(value, types) or (kind != "boolean" and isinstance(value, bool)):
        return [f"{path}: expected {kind}, got {type(value).__name__} {value!r}"]
    errors = []
    enum = getattr(shape, "enum", None) or []
    if enum and value not in enum:
        errors.append(f"{path}: {value!r} not in enum {shape.name}")
    if kind in ("timestamp", "blob"):
        return errors
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    measure = len(value) if isinstance(value, str) else value
    if low is not None and measure < low:
        errors.append(f"{path}: {value!r} below min {low}")
    if high is not None and measure > high:
        errors.append(f"{path}: {value!r} above max {high}")
    return errors


class ResponseShapeError(AssertionError):
    """A response that does not match its operation's output shape."""


class ResponseChecker:
    """A ``before-parse`` handler: checks each successful JSON response body, strictly.

    Every violation is recorded in :attr:`errors` and raised as
    :class:`ResponseShapeError` from the client call, so it fails the caller even when
    the caller would swallow a ``ClientError``. ``services`` limits the check to those
    botocore service names (all by default).
    """

    def __init__(self, services: Collection[str] | None = None) -> None:
        self.services = None if services is None else frozenset(services)
        self.errors: list[str] = []
        self.checked: list[str] = []

    def __call__(
        self, operation_model: OperationModel, response_dict: dict[str, Any], **_: Any
    ) -> None:
        service = operation_model.service_model.service_name
        if self.services is not None and service not in self.services:
            return
        if not 200 <= int(response_dict.get("status_code", 0)) < 300:
            return
        model = operation_model.service_model
        protocol = getattr(model, "resolved_protocol", None) or model.metadata.get("protocol")
        body = response_dict.get("body") or b""
        if protocol != "json" or not isinstance(body, bytes):
            return  # the awsJson protocols only: their whole response is the body
        operation = f"{service}.{operation_model.name}"
        self.checked.append(operation)
        problems = self.problems(operation_model, body)
        if problems:
            message = f"{operation} response does not match its shape:\n" + "\n".join(problems)
            self.errors.append(message)
            raise ResponseShapeError(message)

    @staticmethod
    def problems(operation_model: OperationModel, body: bytes) -> list[str]:
        """What is wrong with ``body`` as a response of ``operation_model``."""
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError as error:
            return [f"$: not JSON ({error})"]
        shape = operation_model.output_shape
        if shape is None:
            return [] if data == {} else [f"$: the operation has no output, got {data!r}"]
        return shape_errors(data, shape, wire=True)

    def install(self) -> ResponseChecker:
        """Check the responses of every botocore session created from now on."""
        entry = ("before-parse", self)
        if entry not in botocore.handlers.BUILTIN_HANDLERS:
            botocore.handlers.BUILTIN_HANDLERS.append(entry)
        return self

    def uninstall(self) -> None:
        """Stop checking sessions created from now on (existing ones keep the handler)."""
        entry = ("before-parse", self)
        while entry in botocore.handlers.BUILTIN_HANDLERS:
            botocore.handlers.BUILTIN_HANDLERS.remove(entry)
