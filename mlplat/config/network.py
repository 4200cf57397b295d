"""The `mlplat:network` layer: the team VPC."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import Field, StrictBool, field_validator

from mlplat.config import cidrs
from mlplat.config.base import RetentionDays, _Model, effective_log_retention_days

#: An S3 bucket name (no wildcards: the endpoint policy names whole buckets).
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

#: The subnet layout (components/aws/network.py) has room for six AZs.
MAX_AVAILABILITY_ZONES = 6


class NatMode(StrEnum):
    """How private subnets reach the internet."""

    PER_AZ = "per-az"
    SINGLE = "single"


class FlowLogsConfig(_Model):
    """VPC flow logs, always on; only their retention is tunable."""

    retention_days: RetentionDays | None = Field(
        default=None,
        description="Days CloudWatch keeps VPC flow logs (a CloudWatch-allowed value). "
        "Unset: 365 in prod, 90 in dev and staging.",
    )
    traffic_type: str = Field(
        default="ALL",
        pattern="^(ALL|ACCEPT|REJECT)$",
        description="Which traffic to log: ALL, ACCEPT or REJECT.",
    )

    def effective_retention_days(self, prod: bool) -> int:
        """Retention as deployed: the explicit setting, else the tier's default."""
        return effective_log_retention_days(self.retention_days, prod)


class NetworkConfig(_Model):
    """The team VPC: private and public subnets over several availability zones."""

    vpc_cidr: str = Field(
        default="10.40.0.0/16",
        description="IPv4 CIDR of the VPC, a /16 to /20 inside a private (RFC 1918) range: "
        "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16.",
    )
    availability_zones: int = Field(
        default=3,
        ge=2,
        le=MAX_AVAILABILITY_ZONES,
        description="How many availability zones to spread subnets over.",
    )
    nat_mode: NatMode = Field(
        default=NatMode.PER_AZ,
        description="`per-az`: one NAT gateway per AZ (required in prod); "
        "`single`: one shared NAT gateway (cheaper, one AZ is a single point of failure).",
    )
    flow_logs: FlowLogsConfig = Field(
        default_factory=FlowLogsConfig, description="VPC flow log settings."
    )
    # Strict, like every switch that opens something to the internet.
    internet_facing_load_balancers: StrictBool = Field(
        default=False,
        description="Opt-in: tag the public subnets `kubernetes.io/role/elb` so load "
        "balancers can be internet-facing, and let Services/Ingresses ask for the "
        "`internet-facing` scheme. Off: load balancers are internal only, and an admission "
        "policy rejects Services of type LoadBalancer that are not explicitly internal.",
    )

    s3_endpoint_extra_buckets: list[str] = Field(
        default_factory=list,
        description="Opt-in: names of S3 buckets in OTHER accounts that nodes and pods may "
        "reach through the VPC's S3 gateway endpoint (e.g. a shared dataset bucket). The "
        "endpoint policy always allows this account's buckets and the AWS-owned buckets "
        "nodes need (ECR image layers, Amazon Linux repositories); everything else is denied.",
    )

    @field_validator("s3_endpoint_extra_buckets")
    @classmethod
    def _bucket_names(cls, values: list[str]) -> list[str]:
        for index, value in enumerate(values):
            if not _BUCKET_NAME.fullmatch(value):
                raise ValueError(
                    f"item {index} ({value!r}) is not an S3 bucket name (3-63 of a-z, 0-9, "
                    "'.', '-'; no wildcards)"
                )
        if len(set(values)) != len(values):
            raise ValueError("duplicate bucket names")
        return values

    @field_validator("vpc_cidr")
    @classmethod
    def _private_cidr(cls, value: str) -> str:
        net = cidrs.parse(value)
        if not cidrs.is_rfc1918(net):
            raise ValueError(
                f"{value} is not a private (RFC 1918) range: use 10.0.0.0/8, 172.16.0.0/12 "
                "or 192.168.0.0/16"
            )
        if not 16 <= net.prefixlen <= 20:
            raise ValueError(f"prefix length must be /16 to /20, got /{net.prefixlen}")
        return value
