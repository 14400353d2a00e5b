"""Fault injection into any AWS operation of the emulator, in process and over HTTP (the control API)."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sagescale.emulator import RemoteControl, control, mock, start_server

ONE_ATTEMPT = Config(
    retries={"mode": "standard", "total_max_attempts": 1}
)  # no retry hides the fault
TABLE = {
    "TableName": "t",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}


def put(ddb: Any, n: int) -> None:
    ddb.put_item(TableName="t", Item={"pk": {"S": str(n)}})


def test_a_fault_lets_after_calls_through_then_fails_times_calls(aws_env: None) -> None:
    with mock():
        ddb = boto3.client("dynamodb", region_name="us-east-1", config=ONE_ATTEMPT)
        ddb.create_table(**TABLE)
        fault = control.add_fault(
            "dynamodb:PutItem", "ProvisionedThroughputExceededException", times=2, after=1
        )
        put(ddb, 1)  # let through
        for n in (2, 3):
            with pytest.raises(ClientError) as info:
                put(ddb, n)
            assert info.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
        put(ddb, 4)
        assert (fault.seen, fault.injected) == (3, 2)
        assert sorted(i["pk"]["S"] for i in ddb.scan(TableName="t")["Items"]) == [
            "1",
            "4",
        ]  # a failed write lands nowhere
        ddb.get_item(TableName="t", Key={"pk": {"S": "1"}})  # other operations are untouched


def test_the_control_api_injects_lists_and_clears_faults_over_http(aws_env: None) -> None:
    with start_server() as server:
        server.reset()
        remote = RemoteControl(server.url)
        ddb = boto3.client(
            "dynamodb", region_name="us-east-1", endpoint_url=server.url, config=ONE_ATTEMPT
        )
        ddb.create_table(**TABLE)
        # the documented curl call
        done = subprocess.run(
            [
                "curl",
                "-s",
                "-X",
                "POST",
                f"{server.url}/_sagescale/faults",
                "-d",
                json.dumps(
                    {
                        "operation": "dynamodb:UpdateItem",
                        "error": "ThrottlingException",
                        "times": 1,
                        "after": 0,
                    }
                ),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        assert json.loads(done.stdout)["faults"][0]["operation"] == "dynamodb:UpdateItem"
        with pytest.raises(ClientError) as info:
            ddb.update_item(
                TableName="t",
                Key={"pk": {"S": "a"}},
                UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"S": "1"}},
            )
        assert info.value.response["Error"]["Code"] == "ThrottlingException"
        ddb.update_item(
            TableName="t",
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"S": "1"}},
        )
        (listed,) = remote.faults()
        assert (listed["seen"], listed["injected"]) == (
            1,
            1,
        )  # calls judged while it was live, and failed
        remote.set_latency(timedelta(milliseconds=5))
        remote.set_rate_limits({"dynamodb:GetItem": 50})
        state = remote.state()
        assert state["latency_seconds"] == 0.005 and state["rate_limits"] == {
            "dynamodb:GetItem": 50.0
        }
        remote.clear_faults()
        assert remote.faults() == []
        remote.reset()
        assert remote.state()["latency_seconds"] == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"operation": "PutItem", "error": "X"}, "service:Operation"),
        ({"operation": "dynamodb:PutItem", "error": "X", "times": 0}, "times"),
    ],
)
def test_a_bad_fault_is_refused_with_its_reason(body: dict[str, Any], words: str) -> None:
    with start_server() as server:
        done = subprocess.run(
            ["curl", "-s", "-X", "POST", f"{server.url}/_sagescale/faults", "-d", json.dumps(body)],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        assert words in json.loads(done.stdout)["error"]
