"""Facts about AWS that config validation and components rely on: GPU instance types and
(from the data file mlplat/data/regions.yaml) regions and their partitions.

One table, so that "which accelerator does g5.12xlarge carry and how many" has one answer
for the config validator (a pool's instance types must all carry the declared accelerator),
for Karpenter requirements (instance families) and for limit sanity checks (a pool whose GPU
limit is below its largest instance's GPU count could never launch that instance).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml


class Accelerator(StrEnum):
    """NVIDIA accelerator models offered on EC2, named as Karpenter's
    `karpenter.k8s.aws/instance-gpu-name` label spells them."""

    T4 = "t4"
    A10G = "a10g"
    L4 = "l4"
    L40S = "l40s"
    A100 = "a100"
    H100 = "h100"
    H200 = "h200"


@dataclass(frozen=True)
class GpuInstanceType:
    """One EC2 instance type that carries NVIDIA GPUs."""

    name: str
    family: str
    accelerator: Accelerator
    gpus: int
    vcpus: int
    memory_gib: int


def _family(
    family: str, accelerator: Accelerator, sizes: dict[str, tuple[int, int, int]]
) -> dict[str, GpuInstanceType]:
    return {
        f"{family}.{size}": GpuInstanceType(
            f"{family}.{size}", family, accelerator, gpus, vcpus, mem
        )
        for size, (gpus, vcpus, mem) in sizes.items()
    }


# (gpus, vcpus, memory GiB) per size, from the EC2 instance type documentation.
GPU_INSTANCE_TYPES: dict[str, GpuInstanceType] = {
    **_family("g4dn", Accelerator.T4, {
        "xlarge": (1, 4, 16), "2xlarge": (1, 8, 32), "4xlarge": (1, 16, 64),
        "8xlarge": (1, 32, 128), "12xlarge": (4, 48, 192), "16xlarge": (1, 64, 256),
        "metal": (8, 96, 384),
    }),
    **_family("g5", Accelerator.A10G, {
        "xlarge": (1, 4, 16), "2xlarge": (1, 8, 32), "4xlarge": (1, 16, 64),
        "8xlarge": (1, 32, 128), "12xlarge": (4, 48, 192), "16xlarge": (1, 64, 256),
        "24xlarge": (4, 96, 384), "48xlarge": (8, 192, 768),
    }),
    **_family("g6", Accelerator.L4, {
        "xlarge": (1, 4, 16), "2xlarge": (1, 8, 32), "4xlarge": (1, 16, 64),
        "8xlarge": (1, 32, 128), "12xlarge": (4, 48, 192), "16xlarge": (1, 64, 256),
        "24xlarge": (4, 96, 384), "48xlarge": (8, 192, 768),
    }),
    **_family("g6e", Accelerator.L40S, {
        "xlarge": (1, 4, 32), "2xlarge": (1, 8, 64), "4xlarge": (1, 16, 128),
        "8xlarge": (1, 32, 256), "12xlarge": (4, 48, 384), "16xlarge": (1, 64, 512),
        "24xlarge": (4, 96, 768), "48xlarge": (8, 192, 1536),
    }),
    **_family("p4d", Accelerator.A100, {"24xlarge": (8, 96, 1152)}),
    **_family("p4de", Accelerator.A100, {"24xlarge": (8, 96, 1152)}),
    **_family("p5", Accelerator.H100, {"4xlarge": (1, 16, 256), "48xlarge": (8, 192, 2048)}),
    **_family("p5e", Accelerator.H200, {"48xlarge": (8, 192, 2048)}),
    **_family("p5en", Accelerator.H200, {"48xlarge": (8, 192, 2048)}),
}

GPU_FAMILIES: dict[str, Accelerator] = {
    t.family: t.accelerator for t in GPU_INSTANCE_TYPES.values()
}


def lookup(instance_type: str) -> GpuInstanceType | None:
    """The catalog entry for an exact instance type, or None when it carries no known GPU."""
    return GPU_INSTANCE_TYPES.get(instance_type)


def types_in_family(family: str) -> list[GpuInstanceType]:
    """All catalogued sizes of one instance family, smallest GPU count first."""
    return sorted(
        (t for t in GPU_INSTANCE_TYPES.values() if t.family == family),
        key=lambda t: (t.gpus, t.vcpus),
    )


def is_graviton(instance_type: str) -> bool:
    """m7g.large, c8gd.xlarge, t4g.small, r7gn... -> True (a `g` after the generation
    digit marks AWS Graviton, i.e. arm64)."""
    family = instance_type.split(".", 1)[0]
    for index, char in enumerate(family):
        if char.isdigit():
            return family[index + 1 : index + 2] == "g"
    return False


@dataclass(frozen=True)
class RegionCatalog:
    """AWS regions and their partitions, as shipped in mlplat/data/regions.yaml."""

    source: str
    checked: str
    partitions: Mapping[str, str]
    """Region code -> partition (`aws`, `aws-us-gov`, `aws-cn`)."""

    def partition_of(self, region: str) -> str | None:
        return self.partitions.get(region)


def _data(name: str) -> Any:
    return yaml.safe_load(resources.files("mlplat").joinpath("data", name).read_text())


def _load_regions() -> RegionCatalog:
    document = _data("regions.yaml")
    partitions = {
        region: partition
        for partition, regions in document["regions"].items()
        for region in regions
    }
    return RegionCatalog(
        source=str(document["source"]),
        checked=str(document["checked"]),
        partitions=MappingProxyType(partitions),
    )


REGIONS: RegionCatalog = _load_regions()
