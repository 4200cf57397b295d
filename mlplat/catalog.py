"""Facts about AWS that config validation and components rely on, read from data files
shipped with mlplat (each names its source and the date it was checked):

- mlplat/data/instance_types.yaml: GPU instance types (accelerator, GPU count, vCPUs,
  memory) and the general-purpose families allowed for system nodes (architecture, sizes);
- mlplat/data/regions.yaml: region codes and their partitions;
- mlplat/data/db_instance_classes.yaml: RDS DB instance classes for the metadata database.

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
from typing import Any, Literal

import yaml

Architecture = Literal["x86_64", "arm64"]


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


@dataclass(frozen=True)
class InstanceCatalog:
    """Instance types as shipped in mlplat/data/instance_types.yaml."""

    source: str
    checked: str
    gpu: Mapping[str, GpuInstanceType]
    """GPU instance type name -> facts (all NVIDIA GPU types are x86_64)."""
    general: Mapping[str, Architecture]
    """General-purpose instance type name -> architecture."""


@dataclass(frozen=True)
class RegionCatalog:
    """AWS regions and their partitions, as shipped in mlplat/data/regions.yaml."""

    source: str
    checked: str
    partitions: Mapping[str, str]
    """Region code -> partition (`aws`, `aws-us-gov`, `aws-cn`)."""

    def partition_of(self, region: str) -> str | None:
        return self.partitions.get(region)


@dataclass(frozen=True)
class DbInstanceClassCatalog:
    """RDS DB instance classes as shipped in mlplat/data/db_instance_classes.yaml."""

    source: str
    checked: str
    classes: frozenset[str]
    """Every accepted class, e.g. `db.t4g.medium`."""


def _data(name: str) -> Any:
    return yaml.safe_load(resources.files("mlplat").joinpath("data", name).read_text())


def _load_instance_types() -> InstanceCatalog:
    document = _data("instance_types.yaml")
    gpu = {
        f"{family}.{size}": GpuInstanceType(
            f"{family}.{size}",
            family,
            Accelerator(entry["accelerator"]),
            gpus=facts["gpus"],
            vcpus=facts["vcpus"],
            memory_gib=facts["memory_gib"],
        )
        for family, entry in document["gpu"].items()
        for size, facts in entry["sizes"].items()
    }
    general: dict[str, Architecture] = {
        f"{family}.{size}": entry["architecture"]
        for family, entry in document["general"].items()
        for size in entry["sizes"]
    }
    return InstanceCatalog(
        source=str(document["source"]),
        checked=str(document["checked"]),
        gpu=MappingProxyType(gpu),
        general=MappingProxyType(general),
    )


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


def _load_db_instance_classes() -> DbInstanceClassCatalog:
    document = _data("db_instance_classes.yaml")
    classes = frozenset(
        f"db.{family}.{size}"
        for family, sizes in document["families"].items()
        for size in sizes
    )
    return DbInstanceClassCatalog(
        source=str(document["source"]), checked=str(document["checked"]), classes=classes
    )


INSTANCE_TYPES: InstanceCatalog = _load_instance_types()
REGIONS: RegionCatalog = _load_regions()
DB_INSTANCE_CLASSES: DbInstanceClassCatalog = _load_db_instance_classes()

GPU_INSTANCE_TYPES: Mapping[str, GpuInstanceType] = INSTANCE_TYPES.gpu

GPU_FAMILIES: dict[str, Accelerator] = {
    t.family: t.accelerator for t in GPU_INSTANCE_TYPES.values()
}

#: General-purpose instance family -> architecture (system nodes and CPU pools).
GENERAL_FAMILIES: Mapping[str, Architecture] = MappingProxyType(
    {name.partition(".")[0]: arch for name, arch in INSTANCE_TYPES.general.items()}
)


def lookup(instance_type: str) -> GpuInstanceType | None:
    """The catalog entry for an exact instance type, or None when it carries no known GPU."""
    return GPU_INSTANCE_TYPES.get(instance_type)


def types_in_family(family: str) -> list[GpuInstanceType]:
    """All catalogued sizes of one instance family, smallest GPU count first."""
    return sorted(
        (t for t in GPU_INSTANCE_TYPES.values() if t.family == family),
        key=lambda t: (t.gpus, t.vcpus),
    )


def architecture(instance_type: str) -> Architecture | None:
    """CPU architecture of a catalogued instance type, None when it is not catalogued."""
    if instance_type in GPU_INSTANCE_TYPES:
        return "x86_64"
    return INSTANCE_TYPES.general.get(instance_type)


#: vCPUs of the named sizes; `<n>xlarge` has 4n. AWS keeps this ratio across the general
#: families catalogued here (burstable `nano`..`small` have 2 vCPUs, like `large`).
_NAMED_SIZE_VCPUS: Mapping[str, int] = MappingProxyType(
    {"nano": 2, "micro": 2, "small": 2, "medium": 1, "large": 2, "xlarge": 4})


def size_vcpus(size: str) -> int | None:
    """vCPUs of a size name (`large` 2, `4xlarge` 16); None for names without a rule."""
    if size in _NAMED_SIZE_VCPUS:
        return _NAMED_SIZE_VCPUS[size]
    count = size.removesuffix("xlarge")
    return 4 * int(count) if count != size and count.isdigit() else None


def vcpus(instance_type: str) -> int | None:
    """vCPUs of a catalogued instance type; a `metal` size has as many as the family's
    largest virtualised size (`metal-48xl` as a 48xlarge). None when not catalogued."""
    if instance_type in GPU_INSTANCE_TYPES:
        return GPU_INSTANCE_TYPES[instance_type].vcpus
    if instance_type not in INSTANCE_TYPES.general:
        return None
    family, _, size = instance_type.partition(".")
    if size.startswith("metal-"):
        return size_vcpus(size.removeprefix("metal-").replace("xl", "xlarge"))
    if size == "metal":
        sizes = [name.partition(".")[2] for name in INSTANCE_TYPES.general
                 if name.partition(".")[0] == family]
        return max(v for s in sizes if (v := size_vcpus(s)) is not None)
    return size_vcpus(size)


def general_types_in_family(family: str) -> list[str]:
    """All catalogued general-purpose instance types of one family."""
    return [name for name in INSTANCE_TYPES.general if name.partition(".")[0] == family]
