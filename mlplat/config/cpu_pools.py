"""The `mlplat:cpuPools` layer: Karpenter node pools for work without GPUs (data
preprocessing, CPU inference, notebooks, controllers of the team's tools).

Labels and taints come from config, so their syntax is checked here against Kubernetes'
rules (qualified names, label values, taint effects) instead of surfacing as an API error
when Karpenter's NodePool is applied.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

from mlplat import catalog
from mlplat.config.base import DnsLabel, Duration, _Model
from mlplat.config.gpu_pools import CapacityType, DisruptionBudget

# Kubernetes' own patterns (apimachinery validation), applied with fullmatch.
_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_SUBDOMAIN_MAX = 253

#: Label key domains mlplat, Kubernetes or Karpenter own: a pool may not set keys in them
#: (Karpenter refuses most of them; the rest would let config impersonate mlplat's labels
#: that Kueue flavors and team quotas select on).
RESERVED_LABEL_DOMAINS: tuple[str, ...] = (
    "kubernetes.io",
    "k8s.io",
    "karpenter.sh",
    "karpenter.k8s.aws",
    "mlplat.io",
)


def _qualified_name(key: str) -> str:
    """A label or taint key: `[prefix/]name`, prefix a DNS subdomain, name at most 63."""
    prefix, slash, name = key.rpartition("/")
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{key!r} is not a Kubernetes qualified name: the name part must be 1-63 "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    if slash and (len(prefix) > _DNS_SUBDOMAIN_MAX or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        raise ValueError(f"{key!r}: the prefix {prefix!r} is not a DNS subdomain")
    domain = prefix.lower()
    for reserved in RESERVED_LABEL_DOMAINS:
        if domain == reserved or domain.endswith(f".{reserved}"):
            raise ValueError(f"{key!r}: the {reserved} domain is reserved")
    return key


def _label_value(value: str) -> str:
    if value and not _NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a Kubernetes label value: at most 63 letters, digits, '-', "
            "'_' or '.', starting and ending with a letter or digit (or empty)"
        )
    return value


QualifiedName = Annotated[str, AfterValidator(_qualified_name)]
LabelValue = Annotated[str, AfterValidator(_label_value)]


class CpuArchitecture(StrEnum):
    """CPU architecture, as the `kubernetes.io/arch` node label spells it."""

    AMD64 = "amd64"
    ARM64 = "arm64"


#: kubernetes.io/arch -> the architecture mlplat/data/instance_types.yaml records.
_CATALOG_ARCHITECTURE = {CpuArchitecture.AMD64: "x86_64", CpuArchitecture.ARM64: "arm64"}


class TaintEffect(StrEnum):
    """The three effects Kubernetes accepts on a node taint."""

    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


class ConsolidationPolicy(StrEnum):
    """Karpenter's disruption.consolidationPolicy."""

    WHEN_EMPTY = "WhenEmpty"
    WHEN_EMPTY_OR_UNDERUTILIZED = "WhenEmptyOrUnderutilized"


class TaintConfig(_Model):
    """A taint every node of the pool carries; only pods tolerating it run there."""

    key: QualifiedName = Field(description="Taint key, a Kubernetes qualified name.")
    value: LabelValue = Field(default="", description="Taint value (label value syntax).")
    effect: TaintEffect = Field(description="NoSchedule, PreferNoSchedule or NoExecute.")


class CpuPoolConfig(_Model):
    """One Karpenter NodePool of CPU-only nodes."""

    name: DnsLabel = Field(
        description="Pool name, unique among gpuPools and cpuPools (a DNS label)."
    )
    architecture: CpuArchitecture = Field(
        default=CpuArchitecture.AMD64,
        description="`amd64` or `arm64` (Graviton); every instance family must match it.",
    )
    instance_families: list[str] = Field(
        min_length=1,
        description="EC2 instance families allowed (e.g. m7i, c7g); each must be a "
        "general-purpose family of mlplat/data/instance_types.yaml of the pool's architecture.",
    )
    capacity_types: list[CapacityType] = Field(
        default_factory=lambda: [CapacityType.ON_DEMAND],
        min_length=1,
        description="Purchase options: spot and/or on-demand.",
    )
    cpu_limit: int = Field(
        ge=1,
        le=100000,
        description="Upper bound on vCPUs across all nodes of the pool (NodePool limits.cpu).",
    )
    labels: dict[QualifiedName, LabelValue] = Field(
        default_factory=dict,
        description="Extra node labels (Kubernetes label syntax). Keys in the kubernetes.io, "
        "k8s.io, karpenter.sh, karpenter.k8s.aws and mlplat.io domains are reserved.",
    )
    taints: list[TaintConfig] = Field(
        default_factory=list,
        description="Node taints; pods must tolerate them to land on the pool.",
    )
    consolidation_policy: ConsolidationPolicy = Field(
        default=ConsolidationPolicy.WHEN_EMPTY_OR_UNDERUTILIZED,
        description="`WhenEmptyOrUnderutilized` (default: CPU work is usually restartable, so "
        "Karpenter may repack it onto fewer nodes) or `WhenEmpty` (only empty nodes go).",
    )
    consolidate_after: Duration = Field(
        default="5m",
        description="How long a node must be empty or underused before Karpenter acts.",
    )
    expire_after: Duration = Field(
        default="720h", description="Maximum node lifetime before replacement."
    )
    disruption_budget_nodes: DisruptionBudget = Field(
        default="10%",
        description="How many nodes Karpenter may disrupt at once: a count or `0%`-`100%`.",
    )
    disk_size_gib: int = Field(
        default=50, ge=20, le=16000, description="Encrypted gp3 root volume size in GiB."
    )

    @field_validator("instance_families")
    @classmethod
    def _known_families(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("duplicate entries")
        general = catalog.GENERAL_FAMILIES
        for index, family in enumerate(values):
            if family not in general:
                raise ValueError(
                    f"[{index}]: {family} is not a general-purpose family of "
                    "mlplat/data/instance_types.yaml"
                )
        return values

    @model_validator(mode="after")
    def _families_match_architecture(self) -> Self:
        general = catalog.GENERAL_FAMILIES
        wanted = _CATALOG_ARCHITECTURE[self.architecture]
        for index, family in enumerate(self.instance_families):
            if general[family] != wanted:
                raise ValueError(
                    f"instanceFamilies[{index}]: {family} is {general[family]}, not the pool's "
                    f"architecture {self.architecture.value}"
                )
        if len(set(self.capacity_types)) != len(self.capacity_types):
            raise ValueError("capacityTypes has duplicate entries")
        # Kubernetes refuses two taints with the same key and effect on one node.
        seen: set[tuple[str, TaintEffect]] = set()
        for index, taint in enumerate(self.taints):
            if (taint.key, taint.effect) in seen:
                raise ValueError(
                    f"taints[{index}]: {taint.key}:{taint.effect.value} appears twice"
                )
            seen.add((taint.key, taint.effect))
        return self
