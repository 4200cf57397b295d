"""The `mlplat:tenancy` layer: a team's namespaces, access, quotas and service accounts.

It covers namespaces with Pod Security Admission, quotas and container defaults, the
Kubernetes group the team's IAM role maps to, the service accounts its workloads run as and
the buckets each may use, and the namespaces of the shared services allowed to reach team
pods.

Field names describe tenancy, not EKS: the same block serves a dedicated cluster, a shared
platform cluster and (later) on-prem. The one AWS-only field (`teamRoleArn`) says so. Rules
that span layers (service accounts may only name buckets the object store has, the team role
must be in the region's partition) live in environment.py.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

from mlplat.config.base import DnsLabel, _Model
from mlplat.config.cluster import IAM_ROLE_ARN
from mlplat.config.object_store import Purpose

#: Kubernetes names a namespace with an RFC 1123 label of at most 63 characters; `<team>-<env>`
#: is at most 38, so a namespace purpose gets the rest after the `-`.
NAMESPACE_PURPOSE_MAX = 24

# Applied with fullmatch (`match` with `$` lets a trailing newline through).
_NAMESPACE_PURPOSE = re.compile(rf"[a-z]([a-z0-9-]{{0,{NAMESPACE_PURPOSE_MAX - 2}}}[a-z0-9])?")
#: Kubernetes quantities mlplat accepts: a plain decimal with an optional binary or decimal
#: suffix (`500m`, `2`, `1.5`, `512Mi`, `10Gi`, `1G`); no exponents, no signs.
_QUANTITY = re.compile(r"(\d+(?:\.\d+)?)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?")
_QUANTITY_FACTORS: dict[str, Decimal] = {
    "": Decimal(1), "m": Decimal("0.001"),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "P": Decimal(10) ** 15,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50,
}
#: S3 key prefixes a service account may be limited to: `/`-separated segments of safe key
#: characters ending in `/`, so `team/` never matches `team-other/...`; no IAM wildcards.
_S3_PREFIX = re.compile(r"(?:[A-Za-z0-9!_.'()-]+/)+")
#: Kubernetes group names EKS refuses in an access entry (`system:`) or keeps for itself.
RESERVED_GROUP_PREFIXES: tuple[str, ...] = ("system:", "eks:", "amazon:", "aws:")
_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]{0,62}")


def quantity_value(value: str) -> Decimal:
    """The numeric value of a Kubernetes quantity accepted by `Quantity` (`512Mi` ->
    536870912)."""
    found = _QUANTITY.fullmatch(value)
    if found is None:
        raise ValueError(f"{value!r} is not a Kubernetes quantity such as '500m', '2', "
                         "'512Mi' or '10Gi'")
    number, suffix = found.groups()
    return Decimal(number) * _QUANTITY_FACTORS[suffix or ""]


def _quantity(value: str) -> str:
    if quantity_value(value) <= 0:
        raise ValueError(f"{value!r} must be greater than zero")
    return value


#: A Kubernetes resource quantity, greater than zero.
Quantity = Annotated[str, AfterValidator(_quantity)]


def _not_above(lower_field: str, lower: str, upper_field: str, upper: str, why: str) -> None:
    """Refuse quantity `lower` above `upper`, naming both fields and why it matters."""
    if quantity_value(lower) > quantity_value(upper):
        raise ValueError(f"{lower_field} ({lower}) exceeds {upper_field} ({upper}); {why}")


def _namespace_purpose(value: str) -> str:
    if not _NAMESPACE_PURPOSE.fullmatch(value) or "--" in value:
        raise ValueError(
            f"namespace purpose {value!r} must be 1 to {NAMESPACE_PURPOSE_MAX} lowercase "
            "letters, digits and single '-', starting with a letter and not ending with '-'"
        )
    return value


NamespacePurpose = Annotated[str, AfterValidator(_namespace_purpose)]


def _s3_prefix(value: str) -> str:
    if not _S3_PREFIX.fullmatch(value) or len(value) > 512 or ".." in value.split("/"):
        raise ValueError(
            f"prefix {value!r} must be '/'-separated segments of letters, digits and "
            "!_.'()- ending in '/' (e.g. 'models/'), at most 512 characters, no wildcards"
        )
    return value


S3Prefix = Annotated[str, AfterValidator(_s3_prefix)]


class PodSecurityLevel(StrEnum):
    """Pod Security Standard a namespace enforces. `privileged` is not offered for teams."""

    RESTRICTED = "restricted"
    BASELINE = "baseline"


class BucketAccessLevel(StrEnum):
    """What a service account may do with a bucket (the S3 actions each level grants are
    listed in docs/components/tenancy.md)."""

    READ = "read"
    READ_WRITE = "read-write"


class QuotaConfig(_Model):
    """The ResourceQuota of a namespace (NodePorts are always 0).

    A NodePort opens its port on every node of the cluster, outside the namespace's network
    policies, so it is never offered; everything else is sized here."""

    requests_cpu: Quantity = Field(
        default="16", description="Sum of CPU requests (`requests.cpu`)."
    )
    limits_cpu: Quantity = Field(default="32", description="Sum of CPU limits (`limits.cpu`).")
    requests_memory: Quantity = Field(
        default="64Gi", description="Sum of memory requests (`requests.memory`)."
    )
    limits_memory: Quantity = Field(
        default="64Gi", description="Sum of memory limits (`limits.memory`)."
    )
    gpus: int = Field(
        default=0, ge=0, le=10000,
        description="NVIDIA GPUs pods may request together (`requests.nvidia.com/gpu`). "
        "Default 0: a namespace uses GPUs only when this says how many.",
    )
    pods: int = Field(default=100, ge=1, le=10000, description="Pods (any phase but finished).")
    persistent_volume_claims: int = Field(
        default=20, ge=0, le=1000, description="PersistentVolumeClaims."
    )
    requests_storage: Quantity = Field(
        default="1Ti", description="Sum of storage requested by PersistentVolumeClaims."
    )
    load_balancers: int = Field(
        default=0, ge=0, le=20,
        description="Services of type LoadBalancer (each creates a cloud load balancer). "
        "Default 0: traffic enters through the ingress controller.",
    )

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Self:
        for name in ("Cpu", "Memory"):
            _not_above(f"requests{name}", getattr(self, f"requests_{name.lower()}"),
                       f"limits{name}", getattr(self, f"limits_{name.lower()}"),
                       "pods could never use the requested quota")
        return self


class ContainerDefaultsConfig(_Model):
    """Requests and limits a container gets when it states none (a LimitRange).

    Without them a namespace with a quota refuses every pod that does not state its
    resources."""

    cpu_request: Quantity = Field(default="100m", description="Default CPU request.")
    memory_request: Quantity = Field(default="256Mi", description="Default memory request.")
    cpu_limit: Quantity = Field(
        default="2",
        description="Default CPU limit. A container requesting more CPU than this must state "
        "its own limit (Kubernetes refuses a request above the limit).",
    )
    memory_limit: Quantity = Field(default="1Gi", description="Default memory limit.")

    @model_validator(mode="after")
    def _request_within_limit(self) -> Self:
        for resource in ("cpu", "memory"):
            _not_above(f"{resource}Request", getattr(self, f"{resource}_request"),
                       f"{resource}Limit", getattr(self, f"{resource}_limit"),
                       "Kubernetes refuses such a LimitRange")
        return self


class NamespaceConfig(_Model):
    """One team namespace: `<team>-<env>` itself, or `<team>-<env>-<purpose>`."""

    purpose: NamespacePurpose | None = Field(
        default=None,
        description="Absent: the namespace `<team>-<env>`. Set: `<team>-<env>-<purpose>` "
        f"(1 to {NAMESPACE_PURPOSE_MAX} of `a-z 0-9 -`).",
    )
    pod_security: PodSecurityLevel = Field(
        default=PodSecurityLevel.RESTRICTED,
        description="Pod Security Standard enforced on pods: `restricted` (default) or, as a "
        "visible opt-in, `baseline` (which still audits and warns at `restricted`). "
        "`privileged` is never allowed for a team namespace.",
    )
    quota: QuotaConfig = Field(default_factory=QuotaConfig, description="The ResourceQuota.")
    container_defaults: ContainerDefaultsConfig = Field(
        default_factory=ContainerDefaultsConfig,
        description="Default container requests and limits (a LimitRange).",
    )

    @field_validator("pod_security", mode="before")
    @classmethod
    def _never_privileged(cls, value: Any) -> Any:
        if value == "privileged":
            raise ValueError("'privileged' is never allowed for a team namespace; use "
                             "'restricted' or, as an exception, 'baseline'")
        return value

    @model_validator(mode="after")
    def _defaults_fit_the_quota(self) -> Self:
        for resource in ("cpu", "memory"):
            _not_above(f"containerDefaults.{resource}Limit",
                       getattr(self.container_defaults, f"{resource}_limit"),
                       f"quota.limits{resource.capitalize()}",
                       getattr(self.quota, f"limits_{resource}"),
                       "no pod relying on the default would fit")
        return self

    def name_in(self, environment: str) -> str:
        """The namespace's name in environment `<team>-<env>`."""
        return environment if self.purpose is None else f"{environment}-{self.purpose}"


class BucketGrantConfig(_Model):
    """What one service account may do in one bucket of the object store."""

    access: BucketAccessLevel = Field(
        description="`read` (get and list objects) or `read-write` (also put, delete — which "
        "in a versioned bucket only adds a delete marker — and multipart uploads)."
    )
    prefixes: list[S3Prefix] = Field(
        default_factory=list,
        description="Key prefixes the grant is limited to (e.g. `models/`), each ending in "
        "`/`. Empty: the whole bucket.",
    )

    @field_validator("prefixes")
    @classmethod
    def _unique_prefixes(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("duplicate prefixes")
        return values


class ServiceAccountConfig(_Model):
    """A service account for the team's workloads, with an IAM role when it uses buckets.

    The role comes through EKS Pod Identity and grants exactly `buckets`."""

    namespace: NamespacePurpose | None = Field(
        default=None,
        description="Purpose of the namespace it lives in (one of `namespaces[].purpose`); "
        "absent: the namespace `<team>-<env>`.",
    )
    buckets: dict[Purpose, BucketGrantConfig] = Field(
        default_factory=dict,
        description="Buckets of `mlplat:objectStore` by purpose and what the account may do "
        "there; KMS use of the store's key follows (decrypt for read, data keys for write, "
        "only through S3). Empty: no IAM role at all.",
    )


def _default_namespaces() -> list[NamespaceConfig]:
    return [NamespaceConfig()]


class TenancyConfig(_Model):
    """A team's namespaces, access, quotas, network isolation and service accounts.

    Absent from a stack: no team namespaces and no team access (cluster admins only)."""

    team_role_arn: str | None = Field(
        default=None,
        description="AWS only (required there, refused on-prem, where the cluster's own "
        "authentication puts people in `group`): the IAM role the team's people assume "
        "(`arn:<partition>:iam::<account>:role/<path/>name`). It gets an EKS access entry "
        "mapping it to `group` and nothing else: what the group may do is the namespaced "
        "RBAC below. Must be in the region's partition and not one of "
        "`cluster.adminRoleArns`.",
    )
    group: str | None = Field(
        default=None,
        description="Kubernetes group the team role is mapped to and that the namespaced "
        "RoleBindings name. Default `<team>-<env>:members`. Up to 63 of `A-Za-z0-9:._-`; "
        "`system:`, `eks:`, `amazon:` and `aws:` prefixes are reserved.",
    )
    namespaces: list[NamespaceConfig] = Field(
        default_factory=_default_namespaces, min_length=1,
        description="The team's namespaces. Default: one namespace `<team>-<env>` with the "
        "default quota, `restricted` pod security and default-deny network policies.",
    )
    service_accounts: dict[DnsLabel, ServiceAccountConfig] = Field(
        default_factory=dict,
        description="Service accounts by name (e.g. `training`, `serving`). Their API "
        "tokens are not mounted by default.",
    )
    monitoring_namespace: DnsLabel = Field(
        default="monitoring",
        description="Namespace whose pods may reach team pods on any port (metrics scraping).",
    )
    ingress_namespace: DnsLabel = Field(
        default="ingress",
        description="Namespace of the ingress controller, whose pods may reach team pods.",
    )

    @field_validator("team_role_arn")
    @classmethod
    def _role_arn(cls, value: str | None) -> str | None:
        if value is not None and not IAM_ROLE_ARN.fullmatch(value):
            raise ValueError(f"{value!r} is not an IAM role ARN")
        return value

    @field_validator("group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if value.lower().startswith(RESERVED_GROUP_PREFIXES):
            raise ValueError(f"group {value!r} uses a reserved prefix "
                             f"({', '.join(RESERVED_GROUP_PREFIXES)})")
        if not _GROUP.fullmatch(value):
            raise ValueError(f"group {value!r} must be up to 63 of A-Za-z0-9:._- starting "
                             "with a letter or digit")
        return value

    @model_validator(mode="after")
    def _references(self) -> Self:
        purposes = [ns.purpose for ns in self.namespaces]
        if len(set(purposes)) != len(purposes):
            raise ValueError("namespaces: the same namespace is listed twice (purposes "
                             f"{sorted(str(p or '<main>') for p in purposes)})")
        for name, account in self.service_accounts.items():
            if account.namespace not in purposes:
                where = account.namespace or "the main namespace (no purpose)"
                raise ValueError(f"serviceAccounts.{name}.namespace: {where} is not in "
                                 "namespaces")
        for system in (self.monitoring_namespace, self.ingress_namespace):
            if system in ("kube-system", "default", "kube-public", "kube-node-lease"):
                raise ValueError(f"{system!r} cannot be trusted as a monitoring or ingress "
                                 "namespace")
        return self

    def effective_group(self, environment: str) -> str:
        """The Kubernetes group of the team (`group`, else `<team>-<env>:members`)."""
        return self.group or f"{environment}:members"
