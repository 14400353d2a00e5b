"""Per-target state in DynamoDB: last action, overrides, surges, deferred decisions.

One item per target (``pk = target#NAME``, or ``target#ACCOUNT/REGION/NAME`` for a target of a
member account, ``sk = state``) holding a JSON document
and a ``version``. Every write is conditional on the version read, so two
concurrent runs cannot lose an update; a conflict is retried on fresh data.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from core.bounds import Override
from core.policy import Place, Policy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
from core.state import TargetState


class StateConflict(RuntimeError):
    """A conditional write kept losing to concurrent writers."""


class SnapshotTooLarge(RuntimeError):
    """A snapshot that does not fit a DynamoDB item even compressed: nothing is deleted."""


class LockTimeout(RuntimeError):
    """Another writer held a target's lock for longer than we would wait."""


class StateStore:
    """Conditional read-modify-write of target state in one DynamoDB table."""

    def __init__(
        self, table: str, dynamodb: DynamoDBClient, *, max_attempts: int = 8, scope: str = ""
    ) -> None:
        self.table = table
        self.dynamodb = dynamodb
        self.max_attempts = max_attempts
        self.scope = scope  # "ACCOUNT/REGION/" for the targets of a member account: their keys carry where they live

    def in_scope(self, account_id: str, region: str) -> StateStore:
        """The same table, for the targets of account ``account_id`` in ``region``."""
        return StateStore(
            self.table,
            self.dynamodb,
            max_attempts=self.max_attempts,
            scope=f"{account_id}/{region}/",
        )

    def at(self, policy: Policy, place: Place) -> StateStore:
        """The state of ``place``'s targets: this store for the controller's own, else the member account's keys."""
        return (
            self
            if place.is_home
            else self.in_scope(policy.accounts[place.account].account_id, place.region)
        )

    def _pk(self, name: str) -> str:
        return f"target#{self.scope}{name}"

    def _key(self, name: str) -> dict[str, Any]:
        return {"pk": {"S": self._pk(name)}, "sk": {"S": "state"}}

    def get(self, name: str) -> TargetState:
        item = self.dynamodb.get_item(
            TableName=self.table, Key=self._key(name), ConsistentRead=True
        ).get("Item")
        return self._parse(name, item)

    def load(self, names: Sequence[str]) -> dict[str, TargetState]:
        """State of many targets with BatchGetItem (100 keys a call); absent ones are fresh."""
        found: dict[str, TargetState] = {n: TargetState(n) for n in names}
        pending = [self._key(n) for n in names]
        while pending:
            chunk, pending = pending[:100], pending[100:]
            request: dict[str, Any] = {self.table: {"Keys": chunk, "ConsistentRead": True}}
            pause = 0.05
            while request:
                resp = self.dynamodb.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(self.table, []):
                    name = item["pk"]["S"].removeprefix(self._pk(""))
                    found[name] = self._parse(name, item)
                request = dict(resp.get("UnprocessedKeys") or {})
                if request:  # throttled keys: back off before asking again
                    time.sleep(pause * (1 + random.random()))
                    pause = min(pause * 2, 1.0)
        return found

    @staticmethod
    def _parse(name: str, item: dict[str, Any] | None) -> TargetState:
        if not item:
            return TargetState(name)
        return TargetState.from_doc(name, int(item["version"]["N"]), json.loads(item["doc"]["S"]))

    def update(
        self,
        name: str,
        change: Callable[[TargetState], TargetState | None],
        known: TargetState | None = None,
    ) -> TargetState:
        """Apply ``change`` to the state and write it if the version is unchanged; retry on conflict.

        ``change`` returns the new state, or ``None`` to write nothing. ``known`` is state
        just read (its version guards the first attempt); later attempts read afresh.
        """
        for attempt in range(self.max_attempts):
            current = known if attempt == 0 and known is not None else self.get(name)
            new = change(current)
            if new is None:
                return current
            new = replace(new, version=current.version + 1)
            condition = "attribute_not_exists(pk)" if current.version == 0 else "version = :v"
            values = {":v": {"N": str(current.version)}} if current.version else None
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "Item": {
                    **self._key(name),
                    "version": {"N": str(new.version)},
                    "doc": {"S": json.dumps(new.to_doc(), sort_keys=True)},
                },
                "ConditionExpression": condition,
            }
            if values:
                kwargs["ExpressionAttributeValues"] = values
            try:
                self.dynamodb.put_item(**kwargs)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    continue
                raise
            return new
        raise StateConflict(f"state of {name} changed under {self.max_attempts} attempts in a row")

    @contextmanager
    def lock(
        self, name: str, *, lease_seconds: int = 60, wait_seconds: float = 30.0
    ) -> Iterator[str]:
        """Hold the target's write lock: a leased item, taken with a conditional put, released by its owner.

        Serialises the read-decide-write of alarm steps and reconcile writes on one target,
        so concurrent invocations cannot lose a step or push past ``max``. Release ends the
        lease; a crashed holder's lease expires after ``lease_seconds``.
        """
        owner = uuid.uuid4().hex
        key = {"pk": {"S": self._pk(name)}, "sk": {"S": "lock"}}
        deadline = time.monotonic() + wait_seconds
        pause = 0.01
        while True:
            now_ms = int(time.time() * 1000)
            try:
                self.dynamodb.put_item(
                    TableName=self.table,
                    Item={
                        **key,
                        "owner": {"S": owner},
                        "lease_until": {"N": str(now_ms + lease_seconds * 1000)},
                        "expires_at": {"N": str(now_ms // 1000 + 86400)},
                    },
                    # "owner = :me": a retried acquire whose first attempt was applied (its
                    # response lost) must not wait for its own lease
                    ConditionExpression="attribute_not_exists(pk) OR lease_until < :now OR #o = :me",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={":now": {"N": str(now_ms)}, ":me": {"S": owner}},
                )
                break
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                if time.monotonic() > deadline:
                    raise LockTimeout(
                        f"target {name} stayed locked for {wait_seconds:.0f} s"
                    ) from None
                time.sleep(pause * (1 + random.random()))
                pause = min(pause * 2, 0.25)
        try:
            yield owner
        finally:
            try:  # release: end the lease (an update, so no delete permission is needed)
                self.dynamodb.update_item(
                    TableName=self.table,
                    Key=key,
                    UpdateExpression="SET lease_until = :zero",
                    ConditionExpression="#o = :owner",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={":owner": {"S": owner}, ":zero": {"N": "0"}},
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise

    # -- alarm state changes ----------------------------------------------------------------

    def alarm_seen(self, origin: str, changed_at: str) -> str | None:
        """Record that the alarm ``origin`` (``ACCOUNT/REGION/NAME``) changed state at ``changed_at``
        (``YYYY-MM-DDTHH:MM:SS.mmm+0000``, which sorts as time does), unless a later change of it was
        recorded already: then that change's time is returned, and this one is stale. One
        conditional write: two deliveries racing cannot both pass an older one."""
        key = {"pk": {"S": f"alarm#{origin}"}, "sk": {"S": "seen"}}
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={**key, "changed_at": {"S": changed_at}},
                ConditionExpression="attribute_not_exists(pk) OR changed_at <= :t",
                ExpressionAttributeValues={":t": {"S": changed_at}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            item = (
                self.dynamodb.get_item(TableName=self.table, Key=key, ConsistentRead=True).get(
                    "Item"
                )
                or {}
            )
            return str(item.get("changed_at", {}).get("S", "")) or changed_at
        return None

    # -- snapshots and janitor records ------------------------------------------------------

    def put_snapshot(self, snapshot: dict[str, Any]) -> str:
        """Store an endpoint snapshot (compressed when large); returns its key (the time it was taken)."""
        text = json.dumps(snapshot, sort_keys=True, default=str)
        # the sort key: UTC time (sorts right whatever the caller's offset) and a unique suffix
        taken = (
            datetime.fromisoformat(snapshot["taken_at"])
            .astimezone(UTC)
            .strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        )
        key = f"{taken}#{uuid.uuid4().hex[:8]}"
        item: dict[str, Any] = {
            "pk": {"S": f"snapshot#{self.scope}{snapshot['endpoint']}"},
            "sk": {"S": key},
        }
        if len(text) > 100_000:
            packed = base64.b64encode(gzip.compress(text.encode())).decode()
            if len(packed) > 380_000:
                raise SnapshotTooLarge(
                    f"snapshot of {snapshot['endpoint']} is {len(packed)} bytes compressed; a DynamoDB item holds 400 KB"
                )
            item["gz"] = {"S": packed}
        else:
            item["doc"] = {"S": text}
        self.dynamodb.put_item(TableName=self.table, Item=item)
        return key

    def snapshot(self, endpoint: str, key: str | None = None) -> dict[str, Any] | None:
        """The snapshot of ``endpoint`` taken at ``key``, or its latest one; ``None`` if there is none."""
        if key is not None:
            item = self.dynamodb.get_item(
                TableName=self.table,
                Key={"pk": {"S": f"snapshot#{self.scope}{endpoint}"}, "sk": {"S": key}},
                ConsistentRead=True,
            ).get("Item")
        else:
            items = self.dynamodb.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"snapshot#{self.scope}{endpoint}"}},
                ScanIndexForward=False,
                Limit=1,
                ConsistentRead=True,
            ).get("Items", [])
            item = items[0] if items else None
        if not item:
            return None
        text = (
            gzip.decompress(base64.b64decode(item["gz"]["S"])).decode()
            if "gz" in item
            else item["doc"]["S"]
        )
        doc: dict[str, Any] = json.loads(text)
        return doc

    def record(self, kind: str, name: str) -> dict[str, Any] | None:
        """A small JSON record (e.g. a janitor deletion in progress) of this store's account-region, or ``None``."""
        item = self.dynamodb.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"{kind}#{self.scope}{name}"}, "sk": {"S": kind}},
            ConsistentRead=True,
        ).get("Item")
        return json.loads(item["doc"]["S"]) if item else None

    def put_record(self, kind: str, name: str, doc: dict[str, Any] | None) -> None:
        """Write (or with ``None`` clear) a record; cleared records keep an empty document."""
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"{kind}#{self.scope}{name}"},
                "sk": {"S": kind},
                "doc": {"S": json.dumps(doc, sort_keys=True, default=str)},
            },
        )

    def set_override(self, name: str, override: Override | None) -> TargetState:
        """Set (or with ``None`` clear) the operator override of a target."""
        return self.update(name, lambda s: replace(s, override=override))
