"""The price table `mlplat cost` reads (mlplat/data/prices.yaml), typed.

Every price is looked up here and nowhere else, so a type or class the table lacks is one
clear error (`PriceError`, naming the table and the key) instead of a silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mlplat import catalog
from mlplat.core.paths import REPO_ROOT

PRICE_TABLE = REPO_ROOT / "mlplat" / "data" / "prices.yaml"

class PriceError(ValueError):
    """A price the table does not have, or a table that cannot be read."""


@dataclass(frozen=True)
class ServicePrices:
    """Per-region prices of the managed services an environment pays for by the hour."""

    eks_cluster_hour: float
    nat_gateway_hour: float
    interface_endpoint_hour: float
    kms_key_month: float
    ebs_gp3_gib_month: float
    rds_gp3_gib_month: float
    cloudwatch_alarm_month: float
    secret_month: float
    public_ipv4_hour: float


@dataclass(frozen=True)
class RegionPrices:
    """Everything priced in one region, with where and when the figures were read."""

    region: str
    checked: str
    sources: dict[str, str]
    hours_per_month: int
    spot_discount: float
    services: ServicePrices
    _ec2_multiplier: float
    _rds_multiplier: float
    _ec2_instances: dict[str, float]
    _ec2_per_vcpu: dict[str, float]
    _rds_instances: dict[str, float]
    _rds_per_vcpu: dict[str, float]

    def ec2_hour(self, instance_type: str) -> float:
        """On-demand price of one instance-hour of `instance_type` in this region."""
        base = _linear_price(instance_type, self._ec2_instances, self._ec2_per_vcpu,
                             catalog.vcpus(instance_type), "ec2")
        return round(base * self._ec2_multiplier, 6)

    def rds_hour(self, instance_class: str, *, multi_az: bool) -> float:
        """Price of one hour of an RDS for PostgreSQL instance (twice with a standby)."""
        name = instance_class.removeprefix("db.")
        family, _, size = name.partition(".")
        per_vcpu = {f"db.{family}": self._rds_per_vcpu[family]} \
            if family in self._rds_per_vcpu else {}
        base = _linear_price(f"db.{name}", self._rds_instances, per_vcpu,
                             catalog.size_vcpus(size), "rds")
        return round(base * self._rds_multiplier * (2 if multi_az else 1), 6)

    def monthly(self, hourly: float) -> float:
        return hourly * self.hours_per_month


def _linear_price(name: str, explicit: dict[str, float], per_vcpu: dict[str, float],
                  vcpus: int | None, table: str) -> float:
    """An explicitly listed price, else the family's per-vCPU price times the vCPUs."""
    if name in explicit:
        return explicit[name]
    family = name.rpartition(".")[0]
    if family in per_vcpu and vcpus:
        return per_vcpu[family] * vcpus
    raise PriceError(f"{_shown()}: no {table} price for {name!r} (add it under `{table}:`)")


def _shown() -> str:
    from mlplat.stackfile import display_path

    return display_path(PRICE_TABLE)


@cache
def _table(path: Path) -> dict[str, Any]:
    # Shipped data, read with the safe loader.
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "regions" not in data:
        raise PriceError(f"{path}: not a price table (needs `regions`)")
    return data


def region_prices(region: str, path: Path = PRICE_TABLE) -> RegionPrices:
    """The prices of `region`; PriceError when the table has no such region."""
    data = _table(path)
    regions = data["regions"]
    if region not in regions:
        raise PriceError(f"{_shown()}: no prices for region {region!r} (priced regions: "
                         f"{', '.join(sorted(regions))}); add it under `regions:`")
    entry = regions[region]
    services = entry["services"]
    return RegionPrices(
        region=region,
        checked=str(entry["checked"]),
        sources=dict(data["sources"]),
        hours_per_month=int(data["hours_per_month"]),
        spot_discount=float(data["assumptions"]["spotDiscount"]),
        services=ServicePrices(
            eks_cluster_hour=services["eksClusterHour"],
            nat_gateway_hour=services["natGatewayHour"],
            interface_endpoint_hour=services["interfaceEndpointHour"],
            kms_key_month=services["kmsKeyMonth"],
            ebs_gp3_gib_month=services["ebsGp3GibMonth"],
            rds_gp3_gib_month=services["rdsGp3GibMonth"],
            cloudwatch_alarm_month=services["cloudwatchAlarmMonth"],
            secret_month=services["secretMonth"],
            public_ipv4_hour=services["publicIpv4Hour"],
        ),
        _ec2_multiplier=float(entry["ec2Multiplier"]),
        _rds_multiplier=float(entry["rdsMultiplier"]),
        _ec2_instances=dict(data["ec2"]["instances"]),
        _ec2_per_vcpu=dict(data["ec2"]["perVcpu"]),
        _rds_instances=dict(data["rds"]["instances"]),
        _rds_per_vcpu=dict(data["rds"]["perVcpu"]),
    )
