"""The janitor's fleet reader: every endpoint's facts in bulk, and one endpoint authoritatively.

Reads are in bulk: endpoints and inference components 100 a page, tags through the
Resource Groups Tagging API 100 a page, which endpoints had any ``Invocations`` data from
``ListMetrics`` (500 a page; it covers two weeks, hence ``idle_for`` <= 14 days), and the
sums from ``GetMetricData`` 500 queries a call. Before a deletion one endpoint is read
again with DescribeEndpoint and ListTags, not the eventually consistent tagging API.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from core.aws.paging import pages
from core.janitor import EndpointFacts, managed_endpoints
from core.policy import Policy

log = logging.getLogger("sagescale.janitor")


class FleetReader:
    """Reads every endpoint's facts in bulk (see the module docstring for the calls)."""

    def __init__(self, sagemaker: Any, tagging: Any, cloudwatch: Any) -> None:
        self.sagemaker = sagemaker
        self.tagging = tagging
        self.cloudwatch = cloudwatch

    def read(self, policy: Policy, now: datetime, only: str | None = None) -> list[EndpointFacts]:
        endpoints = pages(self.sagemaker.list_endpoints, "Endpoints", MaxResults=100)
        if only is not None:
            endpoints = [e for e in endpoints if e["EndpointName"] == only]
        if not endpoints:
            return []
        components: dict[str, list[str]] = {}
        for ic in pages(
            self.sagemaker.list_inference_components, "InferenceComponents", MaxResults=100
        ):
            components.setdefault(ic["EndpointName"], []).append(ic["InferenceComponentName"])
        tags = self.endpoint_tags()
        invocations, unknown = self._invocations(
            {e["EndpointName"] for e in endpoints}, components, now, policy.janitor.idle_for
        )
        managed = managed_endpoints(policy, components)
        return [
            EndpointFacts(
                name=e["EndpointName"],
                arn=e["EndpointArn"],
                status=e["EndpointStatus"],
                created=e["CreationTime"]
                if e["CreationTime"].tzinfo
                else e["CreationTime"].replace(tzinfo=UTC),
                tags=None if tags is None else tags.get(e["EndpointArn"], {}),
                invocations=None
                if e["EndpointName"] in unknown
                else invocations.get(e["EndpointName"], 0.0),
                inference_components=tuple(components.get(e["EndpointName"], [])),
                managed_by=managed.get(e["EndpointName"]),
            )
            for e in endpoints
        ]

    def endpoint_tags(self) -> dict[str, dict[str, str]] | None:
        """Tags of every tagged endpoint (untagged ones are absent); ``None`` if they cannot be read."""
        try:
            mappings = pages(
                self.tagging.get_resources,
                "ResourceTagMappingList",
                token_in="PaginationToken",
                token_out="PaginationToken",
                ResourceTypeFilters=["sagemaker:endpoint"],
                ResourcesPerPage=100,
            )
        except (ClientError, BotoCoreError) as exc:
            log.error("cannot read endpoint tags (%s): nothing is marked or deleted", exc)
            return None
        return {
            m["ResourceARN"]: {t["Key"]: t["Value"] for t in m.get("Tags", [])} for m in mappings
        }

    def _invocations(
        self,
        endpoints: set[str],
        components: dict[str, list[str]],
        now: datetime,
        idle_for: int,
        metric_filter: dict[str, Any] | None = None,
    ) -> tuple[dict[str, float], set[str]]:
        """Sum of ``Invocations`` per endpoint over the last ``idle_for`` minutes (absent: none), and the
        endpoints whose sums are unknown because a query did not come back complete (fail closed)."""
        owner = {ic: ep for ep, ics in components.items() for ic in ics}
        queries: list[tuple[str, dict[str, Any]]] = []
        for metric in pages(
            self.cloudwatch.list_metrics,
            "Metrics",
            Namespace="AWS/SageMaker",
            MetricName="Invocations",
            **(metric_filter or {}),
        ):
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            endpoint = (
                dims.get("EndpointName")
                if "EndpointName" in dims
                else owner.get(dims.get("InferenceComponentName", ""))
            )
            if endpoint in endpoints:
                queries.append((endpoint, metric))
        sums: dict[str, float] = {}
        unknown: set[str] = set()
        start = now - timedelta(minutes=idle_for)
        period = (
            3600 if idle_for >= 60 else 60
        )  # hourly sums; CloudWatch rounds the start down: a wider, safer window
        for i in range(0, len(queries), 500):
            batch = queries[i : i + 500]
            request = [
                {
                    "Id": f"q{j}",
                    "MetricStat": {"Metric": m, "Period": period, "Stat": "Sum"},
                    "ReturnData": True,
                }
                for j, (_, m) in enumerate(batch)
            ]
            for result in pages(
                self.cloudwatch.get_metric_data,
                "MetricDataResults",
                MetricDataQueries=request,
                StartTime=start,
                EndTime=now,
            ):
                endpoint = batch[int(result["Id"][1:])][0]
                if result.get("StatusCode", "Complete") not in (
                    "Complete",
                    "PartialData",
                ) or result.get("Messages"):
                    unknown.add(endpoint)
                sums[endpoint] = sums.get(endpoint, 0.0) + float(sum(result.get("Values", [])))
        return sums, unknown

    def read_one(self, policy: Policy, name: str, now: datetime) -> EndpointFacts | None:
        """One endpoint read authoritatively, just before a deletion: DescribeEndpoint, ListTags
        (not the eventually consistent tagging API), its components, and its metrics up to ``now``."""
        from core.aws.snapshot import is_gone

        try:
            ep = self.sagemaker.describe_endpoint(EndpointName=name)
        except ClientError as exc:
            if is_gone(exc):
                return None
            raise
        try:
            tags: dict[str, str] | None = {
                t["Key"]: t["Value"]
                for t in pages(self.sagemaker.list_tags, "Tags", ResourceArn=ep["EndpointArn"])
            }
        except ClientError:
            tags = None
        ics = [
            c["InferenceComponentName"]
            for c in pages(
                self.sagemaker.list_inference_components,
                "InferenceComponents",
                EndpointNameEquals=name,
            )
        ]
        components = {name: ics}
        sums, unknown = self._invocations(
            {name},
            components,
            now,
            policy.janitor.idle_for,
            {"Dimensions": [{"Name": "EndpointName", "Value": name}]},
        )
        for ic in ics:
            ic_sums, ic_unknown = self._invocations(
                {name},
                components,
                now,
                policy.janitor.idle_for,
                {"Dimensions": [{"Name": "InferenceComponentName", "Value": ic}]},
            )
            sums[name] = sums.get(name, 0.0) + ic_sums.get(name, 0.0)
            unknown |= ic_unknown
        created = (
            ep["CreationTime"]
            if ep["CreationTime"].tzinfo
            else ep["CreationTime"].replace(tzinfo=UTC)
        )
        return EndpointFacts(
            name=name,
            arn=ep["EndpointArn"],
            status=ep["EndpointStatus"],
            created=created,
            tags=tags,
            invocations=None if unknown else sums.get(name, 0.0),
            inference_components=tuple(ics),
            managed_by=managed_endpoints(policy, components).get(name),
        )
