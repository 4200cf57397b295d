"""The `mlplat:network` layer: the team VPC."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator

from mlplat.config import cidrs
from mlplat.config.base import RetentionDays, _Model

#: The subnet layout (components/aws/network.py) has room for six AZs.
MAX_AVAILABILITY_ZONES = 6


class NatMode(StrEnum):
    """How private subnets reach the internet."""

    PER_AZ = "per-az"
    SINGLE = "single"


class FlowLogsConfig(_Model):
    """VPC flow logs, always on; only their retention is tunable."""

    retention_days: RetentionDays = Field(
        default=90,
        description="Days CloudWatch keeps VPC flow logs (a CloudWatch-allowed value).",
    )
    traffic_type: str = Field(
        default="ALL",
        pattern="^(ALL|ACCEPT|REJECT)$",
        description="Which traffic to log: ALL, ACCEPT or REJECT.",
    )


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
