"""Typed configuration of one team environment (the `mlplat:` namespace of a stack file).

A stack file `stacks/Pulumi.<stack>.yaml` holds structured Pulumi config:

    config:
      aws:region: eu-west-1
      mlplat:team: vision
      mlplat:env: dev
      mlplat:tags: {cost-center: cc-1234}
      mlplat:network: {...}
      mlplat:cluster: {...}
      mlplat:gpuPools: [...]

Keys are camelCase, as Pulumi config conventionally is. Everything is parsed into the
pydantic models below: unknown keys are errors, every field is documented, and rules that
span fields (prod needs NAT per AZ, a GPU pool's instance types must all carry its
accelerator, ...) are checked here, once, before any resource is declared. Errors are
raised as `ConfigError` whose message names the stack file and the full field path.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from mlplat import catalog
from mlplat.catalog import Accelerator

CONFIG_NAMESPACE = "mlplat"

#: Kubernetes minor versions this release of mlplat pins add-ons and AMIs for.
SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = ("1.32", "1.33", "1.34")

#: CloudWatch Logs accepts only these retention periods (days).
CLOUDWATCH_RETENTION_DAYS: frozenset[int] = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
     2557, 2922, 3288, 3653}
)

_DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]{0,28}[a-z0-9])?$")
_DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+s)?$")
_IAM_ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_TAG_KEY = re.compile(r"^[\w.:/=+@ -]{1,128}$")


class ConfigError(ValueError):
    """Invalid stack configuration. The message names the file and the field path."""


class _Model(BaseModel):
    """Base of every config model: camelCase keys in YAML, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=False,
        frozen=True,
        use_enum_values=False,
    )


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError(
            "must be a DNS label: lowercase letters, digits and '-', starting with a letter, "
            "at most 30 characters"
        )
    return value


def _duration(value: str) -> str:
    if not value or not _DURATION.match(value):
        raise ValueError("must be a duration such as '30s', '10m' or '720h'")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Duration = Annotated[str, AfterValidator(_duration)]


class Env(StrEnum):
    """Environment tier. `prod` switches on the strictest defaults."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class NatMode(StrEnum):
    """How private subnets reach the internet."""

    PER_AZ = "per-az"
    SINGLE = "single"


class CapacityType(StrEnum):
    """EC2 purchase option for GPU nodes, as Karpenter's `karpenter.sh/capacity-type`."""

    SPOT = "spot"
    ON_DEMAND = "on-demand"


class PoolPurpose(StrEnum):
    """What a GPU pool is for; drives labels and default disruption behaviour."""

    TRAINING = "training"
    SERVING = "serving"


# --------------------------------------------------------------------------- network


class FlowLogsConfig(_Model):
    """VPC flow logs, always on; only their retention is tunable."""

    retention_days: int = Field(
        default=90,
        description="Days CloudWatch keeps VPC flow logs (a CloudWatch-allowed value).",
    )
    traffic_type: str = Field(
        default="ALL",
        pattern="^(ALL|ACCEPT|REJECT)$",
        description="Which traffic to log: ALL, ACCEPT or REJECT.",
    )

    @field_validator("retention_days")
    @classmethod
    def _allowed_retention(cls, value: int) -> int:
        if value not in CLOUDWATCH_RETENTION_DAYS:
            allowed = ", ".join(str(v) for v in sorted(CLOUDWATCH_RETENTION_DAYS))
            raise ValueError(f"{value} is not a CloudWatch retention period; use one of {allowed}")
        return value


class NetworkConfig(_Model):
    """The team VPC: private and public subnets over several availability zones."""

    vpc_cidr: str = Field(
        default="10.40.0.0/16",
        description="IPv4 CIDR of the VPC, a /16 to /20 private range.",
    )
    availability_zones: int = Field(
        default=3, ge=2, le=6, description="How many availability zones to spread subnets over."
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
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"not an IPv4 network CIDR: {exc}") from None
        if not net.is_private:
            raise ValueError(f"{value} is not a private (RFC 1918) range")
        if not 16 <= net.prefixlen <= 20:
            raise ValueError(f"prefix length must be /16 to /20, got /{net.prefixlen}")
        return value


# --------------------------------------------------------------------------- cluster


class EndpointAccessConfig(_Model):
    """Who can reach the Kubernetes API. Private only, unless explicitly opened."""

    public_access: bool = Field(
        default=False,
        description="Opt-in: also expose the API endpoint publicly, only to `publicAccessCidrs`.",
    )
    public_access_cidrs: list[str] = Field(
        default_factory=list,
        description="IPv4 CIDRs allowed to reach the public endpoint (required when "
        "`publicAccess` is true; 0.0.0.0/0 is refused).",
    )

    private_access_cidrs: list[str] = Field(
        default_factory=list,
        description="IPv4 CIDRs outside the VPC's nodes (VPN, CI runners, a peered admin VPC) "
        "allowed to reach the private endpoint on 443; `pulumi up` must run from one of them.",
    )

    @field_validator("public_access_cidrs", "private_access_cidrs")
    @classmethod
    def _valid_cidrs(cls, values: list[str]) -> list[str]:
        for index, value in enumerate(values):
            try:
                net = ipaddress.IPv4Network(value, strict=True)
            except ValueError as exc:
                raise ValueError(f"item {index} ({value!r}) is not an IPv4 CIDR: {exc}") from None
            if net.prefixlen == 0:
                raise ValueError(f"item {index}: 0.0.0.0/0 would open the API to everyone")
        return values

    @model_validator(mode="after")
    def _cidrs_only_with_public(self) -> Self:
        if self.public_access and not self.public_access_cidrs:
            raise ValueError("publicAccess is true but publicAccessCidrs is empty")
        if not self.public_access and self.public_access_cidrs:
            raise ValueError("publicAccessCidrs is set but publicAccess is false")
        return self


class SystemNodeGroupConfig(_Model):
    """The small on-demand node group that runs cluster add-ons and controllers."""

    instance_types: list[str] = Field(
        default_factory=lambda: ["m7i.large"],
        min_length=1,
        description="EC2 instance types for system nodes (no GPU types).",
    )
    min_size: int = Field(default=2, ge=1, description="Minimum node count.")
    desired_size: int = Field(default=2, ge=1, description="Initial node count.")
    max_size: int = Field(default=4, ge=1, le=50, description="Maximum node count.")
    disk_size_gib: int = Field(
        default=50, ge=20, le=1000, description="Encrypted gp3 root volume size in GiB."
    )

    @field_validator("instance_types")
    @classmethod
    def _no_gpu_types(cls, values: list[str]) -> list[str]:
        for value in values:
            if catalog.lookup(value) is not None:
                raise ValueError(f"{value} is a GPU instance type; use a gpuPools entry for GPUs")
        return values

    @model_validator(mode="after")
    def _sizes_ordered(self) -> Self:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"need minSize <= desiredSize <= maxSize, got "
                f"{self.min_size} <= {self.desired_size} <= {self.max_size}"
            )
        return self


class ClusterConfig(_Model):
    """The EKS cluster."""

    kubernetes_version: str = Field(
        default="1.33",
        description="Kubernetes minor version; one of the versions this mlplat release pins "
        "add-ons for.",
    )
    endpoint: EndpointAccessConfig = Field(
        default_factory=EndpointAccessConfig, description="API endpoint exposure."
    )
    admin_role_arns: list[str] = Field(
        default_factory=list,
        description="IAM role ARNs granted cluster-admin through EKS access entries.",
    )
    system_node_group: SystemNodeGroupConfig = Field(
        default_factory=SystemNodeGroupConfig, description="System node group sizing."
    )
    log_retention_days: int = Field(
        default=90, description="Days CloudWatch keeps control-plane logs."
    )

    @field_validator("kubernetes_version")
    @classmethod
    def _supported_version(cls, value: str) -> str:
        if value not in SUPPORTED_KUBERNETES_VERSIONS:
            raise ValueError(
                f"{value!r} is not supported; use one of {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}"
            )
        return value

    @field_validator("admin_role_arns")
    @classmethod
    def _role_arns(cls, values: list[str]) -> list[str]:
        for index, value in enumerate(values):
            if not _IAM_ROLE_ARN.match(value):
                raise ValueError(f"item {index} ({value!r}) is not an IAM role ARN")
        if len(set(values)) != len(values):
            raise ValueError("duplicate role ARNs")
        return values

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in CLOUDWATCH_RETENTION_DAYS:
            raise ValueError(f"{value} is not a CloudWatch retention period")
        return value


# --------------------------------------------------------------------------- GPU pools


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
        "nodes scale to zero).",
    )
    expire_after: Duration = Field(
        default="720h", description="Maximum node lifetime before replacement (AMI/patch refresh)."
    )
    disruption_budget_nodes: str = Field(
        default="10%",
        pattern=r"^(\d+|\d{1,3}%)$",
        description="How many nodes Karpenter may disrupt at once: a count or a percentage.",
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


# --------------------------------------------------------------------------- environment


REQUIRED_TAGS: tuple[str, ...] = ("team", "env", "cost-center")


class EnvironmentConfig(_Model):
    """A complete team environment: network, cluster and GPU pools (more layers follow)."""

    team: DnsLabel = Field(description="Owning team; names resources and tags them.")
    env: Env = Field(description="Environment tier: dev, staging or prod.")
    region: str = Field(description="AWS region, from `aws:region`.")
    tags: dict[str, str] = Field(
        description="Tags on every taggable resource. Must include `cost-center`; `team` and "
        "`env` are filled in from the fields of the same name and must match if given."
    )
    network: NetworkConfig = Field(default_factory=NetworkConfig, description="The VPC.")
    cluster: ClusterConfig = Field(default_factory=ClusterConfig, description="The EKS cluster.")
    gpu_pools: list[GpuPoolConfig] = Field(
        default_factory=list, description="Karpenter GPU node pools."
    )
    protect_data: bool | None = Field(
        default=None,
        description="Deletion protection on stateful resources. Defaults to true in prod and "
        "false elsewhere; set explicitly to override (visible in the plan).",
    )

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region name such as eu-west-1")
        return value

    @field_validator("tags")
    @classmethod
    def _tag_keys(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            if not _TAG_KEY.match(key) or key.lower().startswith("aws:"):
                raise ValueError(f"tag key {key!r} is not a valid AWS tag key")
            if len(value) > 256:
                raise ValueError(f"tag {key!r}: value longer than 256 characters")
        if "cost-center" not in tags or not tags["cost-center"].strip():
            raise ValueError("missing required tag 'cost-center'")
        return tags

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        for key, expected in (("team", self.team), ("env", self.env.value)):
            if key in self.tags and self.tags[key] != expected:
                raise ValueError(
                    f"tags.{key} is {self.tags[key]!r} but {key} is {expected!r}; they must match"
                )
        if self.env is Env.PROD and self.network.nat_mode is not NatMode.PER_AZ:
            raise ValueError("network.natMode must be 'per-az' in prod (multi-AZ NAT)")
        if self.env is Env.PROD and self.cluster.endpoint.public_access:
            raise ValueError("cluster.endpoint.publicAccess is not allowed in prod")
        names = [pool.name for pool in self.gpu_pools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"gpuPools: duplicate pool names {duplicates}")
        return self

    @property
    def name(self) -> str:
        """Environment name used as the prefix of every resource: `<team>-<env>`."""
        return f"{self.team}-{self.env.value}"

    @property
    def deletion_protection(self) -> bool:
        """Effective deletion protection (explicit setting, else on in prod)."""
        return self.env is Env.PROD if self.protect_data is None else self.protect_data

    def effective_tags(self, stack: str) -> dict[str, str]:
        """Tags applied to every taggable resource."""
        return {
            **self.tags,
            "team": self.team,
            "env": self.env.value,
            "managed-by": "mlplat",
            "mlplat-stack": stack,
        }


# --------------------------------------------------------------------------- loading


def _field_path(loc: tuple[int | str, ...]) -> str:
    """`('network', 'flowLogs', 'retentionDays')` -> `mlplat:network.flowLogs.retentionDays`."""
    if not loc:
        return f"{CONFIG_NAMESPACE}:"
    head, *rest = loc
    path = "aws:region" if head == "region" else f"{CONFIG_NAMESPACE}:{head}"
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _format_error(source: str, error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_url=False):
        loc = tuple(p for p in item["loc"] if p not in ("function-after",))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required field is missing"
        lines.append(f"{source}: {_field_path(loc)}: {message}")
    return "\n".join(lines)


def parse_environment(raw: Mapping[str, Any], source: str) -> EnvironmentConfig:
    """Build an EnvironmentConfig from a mapping of un-namespaced keys
    (`team`, `env`, `region`, `network`, ...). `source` names the stack file in errors."""
    try:
        return EnvironmentConfig.model_validate(dict(raw))
    except ValidationError as error:
        raise ConfigError(_format_error(source, error)) from None


def environment_from_stack_config(config: Mapping[str, Any], source: str) -> EnvironmentConfig:
    """Parse the `config:` mapping of a stack file (namespaced keys such as `mlplat:team`,
    `aws:region`). Keys of other namespaces than `mlplat` and `aws:region` are ignored
    (they configure providers); an unknown `mlplat:` key is an error."""
    raw: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = str(key).partition(":")
        if namespace == CONFIG_NAMESPACE:
            raw[name] = value
        elif key == "aws:region":
            raw["region"] = value
    return parse_environment(raw, source)


def load_stack_file(path: Path) -> EnvironmentConfig:
    """Read and validate `stacks/Pulumi.<stack>.yaml`."""
    from mlplat.stackfile import display_path, read_stack_config

    return environment_from_stack_config(read_stack_config(path), display_path(path))


def environment_from_pulumi() -> EnvironmentConfig:
    """Parse the running Pulumi program's config (inside `pulumi up` or the offline engine).

    Raises `pulumi.RunError` (printed by Pulumi without a traceback) naming the stack file.
    """
    import contextlib
    import json

    import pulumi
    from pulumi.runtime import config as runtime_config

    values: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    decoded: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        decoded[key] = value
    source = f"stacks/Pulumi.{pulumi.get_stack()}.yaml"
    try:
        return environment_from_stack_config(decoded, source)
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
