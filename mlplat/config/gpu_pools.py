"""The `mlplat:gpuPools` layer: Karpenter GPU node pools."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

from mlplat import catalog
from mlplat.catalog import Accelerator
from mlplat.config.base import DnsLabel, Duration, _Model

# Karpenter's NodePool CRD pattern for budgets.nodes, applied with fullmatch.
_BUDGET = re.compile(r"(100|[0-9]{1,2})%|[0-9]+")


def _disruption_budget(value: str) -> str:
    if not _BUDGET.fullmatch(value):
        raise ValueError(
            f"{value!r} is neither a node count nor a percentage from 0% to 100%"
        )
    return value


DisruptionBudget = Annotated[str, AfterValidator(_disruption_budget)]


class CapacityType(StrEnum):
    """EC2 purchase option for GPU nodes, as Karpenter's `karpenter.sh/capacity-type`."""

    SPOT = "spot"
    ON_DEMAND = "on-demand"


class PoolPurpose(StrEnum):
    """What a GPU pool is for; drives labels and default disruption behaviour."""

    TRAINING = "training"
    SERVING = "serving"


class GpuPoolConfig(_Model):
    """One Karpenter NodePool of GPU nodes."""

    name: DnsLabel = Field(description="Pool name, unique in the environment (a DNS label).")
    purpose: PoolPurpose = Field(description="`training` or `serving`.")
    accelerator: Accelerator = Field(
        description="NVIDIA accelerator every node in the pool carries (t4, a10g, l4, l40s, "
        "a100, h100, h200)."
    )
    instance_types: list[str] = Field(
        default_factory=list,
        description="Exact EC2 instance types allowed (e.g. g5.2xlarge). At least one of "
        "instanceTypes / instanceFamilies is required.",
    )
    instance_families: list[str] = Field(
        default_factory=list,
        description="EC2 instance families allowed (e.g. g5); every size of the family with "
        "the declared accelerator qualifies.",
    )
    capacity_types: list[CapacityType] = Field(
        default_factory=lambda: [CapacityType.ON_DEMAND],
        min_length=1,
        description="Purchase options: spot and/or on-demand.",
    )
    gpu_limit: int = Field(
        ge=1,
        le=4096,
        description="Upper bound on `nvidia.com/gpu` across all nodes of the pool (Karpenter "
        "NodePool limits).",
    )
    consolidate_after: Duration = Field(
        default="10m",
        description="How long a node must be empty before Karpenter removes it (idle GPU "
        "nodes scale to zero). A duration of hours, minutes, seconds in that order (`90s`, "
        "`1h30m`), at most 2562047h.",
    )
    expire_after: Duration = Field(
        default="720h",
        description="Maximum node lifetime before replacement (AMI/patch refresh); a duration "
        "like `consolidateAfter`.",
    )
    disruption_budget_nodes: DisruptionBudget = Field(
        default="10%",
        description="How many nodes Karpenter may disrupt at once: a count (e.g. `2`) or a "
        "percentage from `0%` to `100%` (Karpenter's own rule).",
    )
    disk_size_gib: int = Field(
        default=200, ge=50, le=16000, description="Encrypted gp3 root volume size in GiB."
    )

    @field_validator("instance_types", "instance_families")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("duplicate entries")
        return values

    @model_validator(mode="after")
    def _instances_carry_accelerator(self) -> Self:
        if not self.instance_types and not self.instance_families:
            raise ValueError("set instanceTypes or instanceFamilies (or both)")
        for index, name in enumerate(self.instance_types):
            entry = catalog.lookup(name)
            if entry is None:
                raise ValueError(f"instanceTypes[{index}]: {name} is not a known GPU instance type")
            if entry.accelerator != self.accelerator:
                raise ValueError(
                    f"instanceTypes[{index}]: {name} carries {entry.accelerator.value}, "
                    f"not the pool's accelerator {self.accelerator.value}"
                )
        for index, family in enumerate(self.instance_families):
            accelerator = catalog.GPU_FAMILIES.get(family)
            if accelerator is None:
                raise ValueError(
                    f"instanceFamilies[{index}]: {family} is not a known GPU instance family"
                )
            if accelerator != self.accelerator:
                raise ValueError(
                    f"instanceFamilies[{index}]: {family} carries {accelerator.value}, "
                    f"not the pool's accelerator {self.accelerator.value}"
                )
        if len(set(self.capacity_types)) != len(self.capacity_types):
            raise ValueError("capacityTypes has duplicate entries")
        smallest = min(t.gpus for t in self.candidate_instance_types())
        if self.gpu_limit < smallest:
            raise ValueError(
                f"gpuLimit {self.gpu_limit} is below the GPU count of the smallest allowed "
                f"instance ({smallest}); no node could ever launch"
            )
        return self

    def candidate_instance_types(self) -> list[catalog.GpuInstanceType]:
        """Every catalogued instance type the pool may launch."""
        chosen = {name: catalog.GPU_INSTANCE_TYPES[name] for name in self.instance_types}
        for family in self.instance_families:
            chosen.update({t.name: t for t in catalog.types_in_family(family)})
        return sorted(chosen.values(), key=lambda t: t.name)
