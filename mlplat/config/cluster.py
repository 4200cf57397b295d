"""The `mlplat:cluster` layer: the EKS cluster, its API endpoint and system node group."""

from __future__ import annotations

import re
from typing import Self

from pydantic import Field, StrictBool, field_validator, model_validator

from components import versions
from mlplat import catalog
from mlplat.config import cidrs
from mlplat.config.base import DnsLabel, RetentionDays, _Model, effective_log_retention_days
from mlplat.config.platform import ClusterMode, check_stack_reference
from mlplat.core.errors import broken_rules

#: Kubernetes minor versions this release of mlplat pins add-ons and AMIs for (kept with the
#: pins; the audit's EKS rules read it there without importing the config models).
SUPPORTED_KUBERNETES_VERSIONS = versions.SUPPORTED_KUBERNETES_VERSIONS

# IAM: a path of `/`-separated segments, then a role name of at most 64 ASCII characters from
# `A-Za-z0-9_+=,.@-`. Applied with fullmatch.
IAM_ROLE_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:iam::\d{12}:role/(?:[\w+=,.@-]+/){0,64}[\w+=,.@-]{1,64}", re.ASCII
)


class EndpointAccessConfig(_Model):
    """Who can reach the Kubernetes API. Private only, unless explicitly opened."""

    # Strict: a switch that opens the API to the internet is written `true` or `false`;
    # pydantic would also read 1, "yes", "on" or "t" as true.
    public_access: StrictBool = Field(
        default=False,
        description="Opt-in: also expose the API endpoint publicly, only to `publicAccessCidrs`.",
    )
    public_access_cidrs: list[str] = Field(
        default_factory=list,
        description="IPv4 CIDRs allowed to reach the public endpoint (required when "
        "`publicAccess` is true). Internet ranges only (not RFC 1918, loopback, link-local or "
        "CGNAT); 0.0.0.0/0, or items that together cover every IPv4 address, are refused.",
    )

    private_access_cidrs: list[str] = Field(
        default_factory=list,
        description="IPv4 CIDRs outside the VPC (VPN, CI runners, a peered admin VPC) "
        "allowed to reach the private endpoint on 443; `pulumi up` must run from one of them. "
        "Private (RFC 1918) ranges only, none overlapping `network.vpcCidr`.",
    )

    @field_validator("public_access_cidrs")
    @classmethod
    def _public_cidrs(cls, values: list[str]) -> list[str]:
        cidrs.check_allow_list(values, private=False)
        return values

    @field_validator("private_access_cidrs")
    @classmethod
    def _private_cidrs(cls, values: list[str]) -> list[str]:
        cidrs.check_allow_list(values, private=True)
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
        description="EC2 instance types for system nodes: general-purpose types listed in "
        "mlplat/data/instance_types.yaml (no GPU types), all Graviton/arm64 or all x86_64 "
        "(one node group has one architecture).",
    )
    min_size: int = Field(default=2, ge=1, description="Minimum node count.")
    desired_size: int = Field(default=2, ge=1, description="Initial node count.")
    max_size: int = Field(default=4, ge=1, le=50, description="Maximum node count.")
    disk_size_gib: int = Field(
        default=50, ge=20, le=1000, description="Encrypted gp3 root volume size in GiB."
    )

    @field_validator("instance_types")
    @classmethod
    def _catalogued_one_architecture(cls, values: list[str]) -> list[str]:
        for value in values:
            if catalog.lookup(value) is not None:
                raise ValueError(f"{value} is a GPU instance type; use a gpuPools entry for GPUs")
            if catalog.architecture(value) is None:
                raise ValueError(
                    f"{value} is not a known instance type (see mlplat/data/instance_types.yaml, "
                    f"checked {catalog.INSTANCE_TYPES.checked})"
                )
        if len({catalog.architecture(value) for value in values}) > 1:
            raise ValueError(
                f"mixes Graviton (arm64) and x86_64 types ({', '.join(values)}); one node "
                "group needs one architecture"
            )
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

    # ---- shared or dedicated (ADR 0008): the other fields describe a dedicated cluster.
    mode: ClusterMode = Field(
        default=ClusterMode.DEDICATED,
        description="`dedicated`: the stack builds its own network and cluster. `shared`: the "
        "team lands on the cluster and metadata database of `platformStack` (no other "
        "cluster, network, node pool or database settings are allowed).",
    )
    platform_stack: str | None = Field(
        default=None,
        description="Shared mode only (and required there): the platform stack to land on, "
        "as a stack name of this project (`platform`) or `org/project/stack`; offline it "
        "is read from `stacks/Pulumi.<stack>.yaml`, which must have `mlplat:platform`.",
    )

    kubernetes_version: str = Field(
        default="1.33",
        description="Kubernetes minor version; one of the versions this mlplat release pins "
        "add-ons for (a row of the add-on table in components/versions.py).",
    )
    endpoint: EndpointAccessConfig = Field(
        default_factory=EndpointAccessConfig, description="API endpoint exposure."
    )
    admin_role_arns: list[str] = Field(
        default_factory=list,
        description="IAM role ARNs granted cluster-admin through EKS access entries "
        "(`arn:<partition>:iam::<account>:role/<path/>name`, a name of at most 64 of "
        "`A-Za-z0-9_+=,.@-`); no duplicates.",
    )
    system_node_group: SystemNodeGroupConfig = Field(
        default_factory=SystemNodeGroupConfig, description="System node group sizing."
    )
    log_retention_days: RetentionDays | None = Field(
        default=None,
        description="Days CloudWatch keeps control-plane logs. Unset: 365 in prod, 90 in dev "
        "and staging.",
    )
    # Strict: a switch that grants node access is written `true` or `false`.
    node_session_manager: StrictBool = Field(
        default=False,
        description="Opt-in (break-glass): let operators open AWS Systems Manager Session "
        "Manager shells on nodes. Adds a narrow inline policy to the node roles (session "
        "channels and instance registration only; no Parameter Store reads, unlike the "
        "AmazonSSMManagedInstanceCore managed policy). Off: nodes have no SSM permissions.",
    )
    privileged_namespaces: list[DnsLabel] = Field(
        default_factory=list,
        description="Namespaces, besides kube-system and the platform's own system "
        "namespaces (docs/security.md, \"Pod security\"), where the cluster-wide admission "
        "policy allows privileged, hostNetwork, hostPID, hostIPC and hostPath pods. Team "
        "namespaces never belong here.",
    )

    def effective_log_retention_days(self, prod: bool) -> int:
        """Control-plane log retention as deployed: the explicit setting, else the tier's
        default."""
        return effective_log_retention_days(self.log_retention_days, prod)

    @field_validator("platform_stack")
    @classmethod
    def _stack_reference(cls, value: str | None) -> str | None:
        return value if value is None else check_stack_reference(value)

    @model_validator(mode="after")
    def _platform_stack_only_when_shared(self) -> Self:
        shared = self.mode is ClusterMode.SHARED
        if shared and self.platform_stack is None:
            raise ValueError("mode is shared but platformStack is absent; name the platform "
                             "stack to land on")
        if not shared and self.platform_stack is not None:
            raise ValueError("platformStack is set but mode is dedicated; set mode: shared")
        owned = sorted(set(self.model_fields_set) - {"mode", "platform_stack"}) if shared else []
        if owned:
            raise broken_rules("cluster", [
                f"{type(self).model_fields[n].alias or n}: not allowed in shared mode; the "
                f"cluster of the platform stack ({self.platform_stack}) decides it, remove it"
                for n in owned])
        return self

    @field_validator("kubernetes_version")
    @classmethod
    def _supported_version(cls, value: str) -> str:
        if value not in SUPPORTED_KUBERNETES_VERSIONS:
            raise ValueError(
                f"{value!r} is not supported; use one of {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}"
            )
        if value not in versions.ADDON_VERSIONS:
            raise ValueError(
                f"{value!r} has no EKS add-on pins in components/versions.py (pinned: "
                f"{', '.join(sorted(versions.ADDON_VERSIONS))})"
            )
        return value

    @field_validator("admin_role_arns")
    @classmethod
    def _role_arns(cls, values: list[str]) -> list[str]:
        for index, value in enumerate(values):
            if not IAM_ROLE_ARN.fullmatch(value):
                raise ValueError(f"item {index} ({value!r}) is not an IAM role ARN")
        if len(set(values)) != len(values):
            raise ValueError("duplicate role ARNs")
        return values
