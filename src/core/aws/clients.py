"""The one factory of AWS clients: created lazily, with retries configured, never at import."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sns import SNSClient

RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=5, read_timeout=30
)


class AwsClients:
    """Lazily created clients sharing one session. Honours AWS_REGION, profiles and AWS_ENDPOINT_URL."""

    def __init__(
        self,
        session: boto3.Session | None = None,
        *,
        endpoint_url: str | None = None,
        config: Config | None = None,
    ) -> None:
        self._session = session
        self._endpoint_url = endpoint_url
        self._config = config or RETRY_CONFIG

    @property
    def endpoint_url(self) -> str | None:
        """The endpoint every client is pointed at (the local emulator), if one is set."""
        return self._endpoint_url

    @cached_property
    def session(self) -> boto3.Session:
        return self._session or boto3.Session()

    def client(self, service: str) -> Any:
        kwargs: dict[str, Any] = {"config": self._config}
        if self._endpoint_url:
            kwargs["endpoint_url"] = self._endpoint_url
        return self.session.client(service, **kwargs)  # type: ignore[call-overload]

    @cached_property
    def sagemaker(self) -> SageMakerClient:
        return self.client("sagemaker")  # type: ignore[no-any-return]

    @cached_property
    def autoscaling(self) -> ApplicationAutoScalingClient:
        return self.client("application-autoscaling")  # type: ignore[no-any-return]

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return self.client("dynamodb")  # type: ignore[no-any-return]

    @cached_property
    def cloudwatch(self) -> CloudWatchClient:
        return self.client("cloudwatch")  # type: ignore[no-any-return]

    @cached_property
    def sns(self) -> SNSClient:
        return self.client("sns")  # type: ignore[no-any-return]
