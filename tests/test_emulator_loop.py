"""The emulator's side of the closed loop, checked against what AWS documents: alarms that start in
INSUFFICIENT_DATA and evaluate (metric math, missing data, CloudWatch's reason words), Application
Auto Scaling that does not move a resource in progress, copies placed on instances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from core.aws.burst import burst_alarm_definition
from core.events import datapoint
from core.policy import loads_policy
from sagescale.emulator import ManualClock, autoscaling_ext, cloudwatch_ext, mock
from sagescale.emulator.capacity import StartupModel

T0 = datetime(2026, 9, 15, 12, 0, tzinfo=UTC)
DIMS = [{"Name": "InferenceComponentName", "Value": "llm-ic"}]


def clients() -> tuple[Any, Any, Any]:
    return tuple(
        boto3.client(s, region_name="us-east-1")
        for s in ("cloudwatch", "sagemaker", "application-autoscaling")
    )  # type: ignore[return-value]


def put(name: str, value: float, at: datetime) -> None:
    cloudwatch_ext.put_metric("123456789012", "us-east-1", "AWS/SageMaker", name, DIMS, value, at)


def test_a_new_alarm_starts_in_insufficient_data_and_keeps_its_state_when_put_again(
    aws_env: None,
) -> None:
    """moto starts alarms in OK; PutMetricAlarm documents INSUFFICIENT_DATA, and an update keeps the state."""
    with mock(clock=ManualClock(T0)):
        cw, _, _ = clients()
        args = {
            "AlarmName": "a",
            "Namespace": "AWS/SageMaker",
            "MetricName": "Invocations",
            "Dimensions": DIMS,
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 10.0,
            "ComparisonOperator": "GreaterThanThreshold",
        }
        cw.put_metric_alarm(**args)
        assert (
            cw.describe_alarms(AlarmNames=["a"])["MetricAlarms"][0]["StateValue"]
            == "INSUFFICIENT_DATA"
        )
        put("Invocations", 50, T0)
        result = cloudwatch_ext.evaluate(T0 + timedelta(minutes=2))
        assert [e["detail"]["state"]["value"] for e in result.events] == ["ALARM"]
        cw.put_metric_alarm(**args | {"Threshold": 20.0})
        assert cw.describe_alarms(AlarmNames=["a"])["MetricAlarms"][0]["StateValue"] == "ALARM"


def test_missing_data_follows_treat_missing_data(aws_env: None) -> None:
    with mock(clock=ManualClock(T0)):
        cw, _, _ = clients()
        for treat in ("missing", "notBreaching", "breaching"):
            cw.put_metric_alarm(
                AlarmName=treat,
                Namespace="AWS/SageMaker",
                MetricName="Invocations",
                Dimensions=DIMS,
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1.0,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                TreatMissingData=treat,
            )
        cloudwatch_ext.evaluate(
            T0 + timedelta(minutes=5)
        )  # no datapoint at all: an idle endpoint publishes none
        states = {a["AlarmName"]: a["StateValue"] for a in cw.describe_alarms()["MetricAlarms"]}
        assert states == {
            "missing": "INSUFFICIENT_DATA",
            "notBreaching": "OK",
            "breaching": "ALARM",
        }


def test_the_burst_alarm_evaluates_its_metric_math_and_names_its_datapoint_as_cloudwatch_does(
    aws_env: None,
) -> None:
    target = loads_policy(
        "version: 1\ntargets:\n  llm: {inference_component: llm-ic, min: 1, max: 8, burst: {per_copy: 1000}}\n"
    ).targets["llm"]
    with mock(clock=ManualClock(T0)):
        cw, _, _ = clients()
        cw.put_metric_alarm(**burst_alarm_definition("llm", target, "s"))
        put("Invocations", 5000, T0)  # 5,000 requests on 2 serving copies: 3 copies more are needed
        put("InvocationsPerCopy", 2500, T0)
        result = cloudwatch_ext.evaluate(T0 + timedelta(minutes=2))
        (event,) = result.events
        assert event["detail"]["state"]["value"] == "ALARM"
        assert datapoint(event["detail"]["state"]["reason"]) == pytest.approx(3.0)
        quiet = cloudwatch_ext.evaluate(
            T0 + timedelta(minutes=5)
        )  # FILL(.., 0): idle minutes read 0, not missing
        assert [e["detail"]["state"]["value"] for e in quiet.events] == ["OK"]


def test_application_auto_scaling_does_not_move_a_component_in_progress(aws_env: None) -> None:
    """RegisterScalableTarget and scaling activities leave a resource that is not active as it is."""
    from sagescale.seed import seed_target

    clock = ManualClock(T0)
    with mock(clock=clock) as emulator:
        cw, sm, aas = clients()
        target = loads_policy(
            "version: 1\ntargets:\n  llm: {inference_component: llm-ic, min: 1, max: 4}\n"
        ).targets["llm"]
        seed_target(sm, target, copies=1)
        resource, dim = (
            "inference-component/llm-ic",
            "sagemaker:inference-component:DesiredCopyCount",
        )
        aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=dim,
            MinCapacity=1,
            MaxCapacity=4,
        )
        arn = aas.put_scaling_policy(
            PolicyName="p",
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=dim,
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
                "Cooldown": 60,
            },
        )["PolicyARN"]
        cw.put_metric_alarm(
            AlarmName="w",
            Namespace="AWS/SageMaker",
            MetricName="NoCapacityInvocationFailures",
            Dimensions=DIMS,
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[arn],
        )
        emulator.startup = StartupModel(
            copy_start=timedelta(minutes=3), instance_start=timedelta(minutes=10)
        )
        put("NoCapacityInvocationFailures", 7, T0)
        clock.set(T0 + timedelta(minutes=2))
        actions = cloudwatch_ext.evaluate(clock()).autoscaling
        assert [autoscaling_ext.invoke_policy(alarm, a, clock()) for alarm, a in actions] == [
            "scaled 1->2"
        ]
        clock.set(
            T0 + timedelta(minutes=3, seconds=30)
        )  # the alarm still in ALARM invokes again a minute later: blocked
        put("NoCapacityInvocationFailures", 7, T0 + timedelta(minutes=1))
        actions = cloudwatch_ext.evaluate(clock()).autoscaling
        assert [autoscaling_ext.invoke_policy(alarm, a, clock()) for alarm, a in actions] == [
            "blocked: Updating"
        ]
        aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=dim,
            MinCapacity=3,
            MaxCapacity=4,
        )
        ic = sm.describe_inference_component(InferenceComponentName="llm-ic")
        assert (
            ic["RuntimeConfig"]["DesiredCopyCount"] == 2
        )  # not active: the new minimum does not move it
        assert (
            ic["RuntimeConfig"]["CurrentCopyCount"] == 1
        )  # the new copy starts (copy start: 3 minutes on the running instance)
        clock.set(T0 + timedelta(minutes=12))
        ic = sm.describe_inference_component(InferenceComponentName="llm-ic")
        assert (ic["InferenceComponentStatus"], ic["RuntimeConfig"]["CurrentCopyCount"]) == (
            "InService",
            2,
        )
        endpoint = sm.describe_endpoint(EndpointName=ic["EndpointName"])
        assert (
            endpoint["ProductionVariants"][0]["CurrentInstanceCount"] == 1
        )  # four 1-GPU copies fit on the 4-GPU instance


def test_copies_that_do_not_fit_stay_unplaced_without_managed_instance_scaling(
    aws_env: None,
) -> None:
    clock = ManualClock(T0)
    with mock(clock=clock) as emulator:
        _, sm, _ = clients()
        role = "arn:aws:iam::123456789012:role/r"
        sm.create_model(ModelName="m", ExecutionRoleArn=role, PrimaryContainer={"Image": "x"})
        sm.create_endpoint_config(
            EndpointConfigName="e",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "InstanceType": "ml.g5.12xlarge",
                    "InitialInstanceCount": 1,
                }
            ],
        )
        sm.create_endpoint(EndpointName="e", EndpointConfigName="e")
        sm.create_inference_component(
            InferenceComponentName="ic",
            EndpointName="e",
            VariantName="AllTraffic",
            Specification={
                "ModelName": "m",
                "ComputeResourceRequirements": {
                    "NumberOfAcceleratorDevicesRequired": 4,
                    "NumberOfCpuCoresRequired": 8,
                    "MinMemoryRequiredInMb": 5120,
                },
            },
            RuntimeConfig={"CopyCount": 1},
        )
        emulator.startup = StartupModel()
        sm.update_inference_component_runtime_config(
            InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 3}
        )
        clock.set(T0 + timedelta(hours=1))
        runtime = sm.describe_inference_component(InferenceComponentName="ic")["RuntimeConfig"]
        assert (runtime["DesiredCopyCount"], runtime["CurrentCopyCount"]) == (
            3,
            1,
        )  # one 4-GPU instance holds one 4-GPU copy
        assert (
            sm.describe_endpoint(EndpointName="e")["ProductionVariants"][0]["CurrentInstanceCount"]
            == 1
        )
