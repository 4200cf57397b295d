"""The whole environment (`EnvironmentConfig`) and how it is loaded from a stack file or from
the running Pulumi program.

A stack file `stacks/Pulumi.<stack>.yaml` holds structured Pulumi config:

    config:
      aws:region: eu-west-1
      mlplat:team: vision
      mlplat:env: dev
      mlplat:tags: {cost-center: cc-1234}
      mlplat:network: {...}
      mlplat:cluster: {...}
      mlplat:gpuPools: [...]
      mlplat:cpuPools: [...]      # optional: Karpenter pools without GPUs
      mlplat:blockStorage: {...}  # optional: the default StorageClass's settings
      mlplat:sharedFilesystem: {...}  # optional: absent means no shared file system
      mlplat:objectStore: {...}   # optional: absent means no buckets
      mlplat:metadataDb: {...}    # optional: absent means no database
      mlplat:tenancy: {...}       # optional: absent means no team namespaces or access
      mlplat:mlflow: {...}        # optional: absent means no MLflow server
      mlplat:monitoring: {...}    # optional: absent means no monitoring stack
      mlplat:training: {...}      # optional: absent means no GPU queues or training operator
      mlplat:serving: {...}       # optional: absent means no model serving
      mlplat:platform: {...}      # optional: this stack is a platform for shared-mode teams

Keys are camelCase, as Pulumi config conventionally is. Everything is parsed into the
pydantic models below: unknown keys are errors, every field is documented, and rules that
span fields (prod needs NAT per AZ, a GPU pool's instance types must all carry its
accelerator, ...) are checked here, once, before any resource is declared. Errors are
raised as `ConfigError` whose message names the stack file and the full field path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from mlplat import catalog
from mlplat.config import cidrs
from mlplat.config.base import CONFIG_NAMESPACE, ConfigError, DnsLabel, Env, _Model
from mlplat.config.block_storage import BlockStorageConfig, ReclaimPolicy
from mlplat.config.cluster import ClusterConfig
from mlplat.config.cpu_pools import CpuPoolConfig
from mlplat.config.gpu_pools import GpuPoolConfig
from mlplat.config.metadata_db import MIN_PROD_BACKUP_RETENTION_DAYS, MetadataDbConfig
from mlplat.config.mlflow import (
    ARTIFACTS_PURPOSE,
    MLFLOW_SERVICE_ACCOUNT,
    PROD_REPLICAS,
    MlflowConfig,
)
from mlplat.config.monitoring import MonitoringConfig, fit_to_the_environment
from mlplat.config.network import NatMode, NetworkConfig
from mlplat.config.object_store import ObjectStoreConfig
from mlplat.config.onprem import OnpremConfig, Substrate, has_onprem_database, onprem_problems
from mlplat.config.platform import ClusterMode, PlatformConfig
from mlplat.config.serving import IngressController, ServingConfig, check_serving
from mlplat.config.shared_filesystem import SharedFilesystemConfig
from mlplat.config.tenancy import TenancyConfig
from mlplat.config.training import TrainingConfig, check_training
from mlplat.core.errors import broken_rules, format_validation_errors

#: Karpenter's interruption queue is named `<team>-<env>` + this suffix; SQS caps queue names.
INTERRUPTION_QUEUE_SUFFIX = "-karpenter"
SQS_QUEUE_NAME_MAX = 80

#: Tag key prefixes AWS reserves (`aws:`) or Karpenter sets itself on the instances it launches
#: and refuses in EC2NodeClass.spec.tags; environment tags reach every node class.
RESERVED_TAG_PREFIXES: tuple[str, ...] = (
    "aws:",
    "kubernetes.io/cluster/",
    "karpenter.sh/nodepool",
    "karpenter.sh/nodeclaim",
    "karpenter.k8s.aws/ec2nodeclass",
    "eks:eks-cluster-name",
)

#: Tags mlplat sets on every taggable resource (`effective_tags`); `team` and `env` may also
#: be given (they must match), the others may not.
MLPLAT_TAGS: tuple[str, ...] = ("team", "env", "managed-by", "mlplat-stack")
#: AWS allows 50 user tags per resource (`aws:` tags do not count).
AWS_MAX_TAGS = 50
#: Most tags added on top of the environment's to one resource: mlplat's Name and subnet
#: discovery tags (5 on a private subnet), Karpenter's on the instances it launches (Name,
#: karpenter.sh/nodepool, karpenter.sh/nodeclaim, karpenter.k8s.aws/ec2nodeclass,
#: kubernetes.io/cluster/<name>, eks:eks-cluster-name, plus mlplat.io/pool = 7), with room
#: to spare; tests/unit/test_environment_plan.py checks the demo plan stays within it.
TAGS_ADDED_PER_RESOURCE = 10

# Applied with `fullmatch` (`match` with `$` lets a trailing newline through). Tag keys and
# values: letters, digits, spaces and `_ . : / = + - @` (AWS's tag character set).
_TAG_KEY = re.compile(r"[\w.:/=+@ -]{1,128}")
_TAG_VALUE = re.compile(r"[\w.:/=+@ -]{0,256}")


REQUIRED_TAGS: tuple[str, ...] = ("team", "env", "cost-center")


class EnvironmentConfig(_Model):
    """A complete team environment: network, cluster, GPU pools and data stores."""

    team: DnsLabel = Field(description="Owning team; names resources and tags them.")
    env: Env = Field(description="Environment tier: dev, staging or prod.")
    # --- substrate (issue #10): which composition builds the environment. The on-prem
    # layer and its rules live in mlplat/config/onprem.py.
    substrate: Substrate = Field(
        default=Substrate.AWS,
        description="Where the environment runs: `aws` (default; EKS, S3, RDS) or `onprem` "
        "(an existing cluster given by `mlplat:onprem`, MinIO, CloudNativePG). AWS-only "
        "layers are refused on `onprem`.",
    )
    onprem: OnpremConfig | None = Field(
        default=None,
        description="The on-prem cluster and data services; required on substrate `onprem`, "
        "refused on `aws`.",
    )
    # --- end substrate
    region: str | None = Field(
        default=None,
        validate_default=True,  # absent is an error on substrate aws
        description="AWS region, from `aws:region`: one of the regions listed in "
        "mlplat/data/regions.yaml (AWS's region table, with the date it was checked). "
        "Required on substrate `aws`, refused on `onprem`."
    )
    tags: dict[str, str] = Field(
        description="Tags on every taggable resource. Must include `cost-center`; `team` and "
        "`env` are filled in from the fields of the same name and must match if given. Keys "
        "starting with " + ", ".join(f"`{p}`" for p in RESERVED_TAG_PREFIXES) + " are reserved "
        "(AWS or Karpenter set them), as are `managed-by` and `mlplat-stack` (mlplat sets them). "
        "Keys up to 128 and values up to 256 characters of letters, digits, spaces and "
        "`_ . : / = + - @`. AWS allows 50 tags per resource; mlplat keeps "
        f"{TAGS_ADDED_PER_RESOURCE} of them for tags it, EKS and Karpenter add, so at most "
        f"{AWS_MAX_TAGS - TAGS_ADDED_PER_RESOURCE - len(MLPLAT_TAGS)} besides `team` and `env`."
    )
    network: NetworkConfig = Field(default_factory=NetworkConfig, description="The VPC.")
    cluster: ClusterConfig = Field(default_factory=ClusterConfig, description="The EKS cluster.")
    gpu_pools: list[GpuPoolConfig] = Field(
        default_factory=list, description="Karpenter GPU node pools."
    )
    cpu_pools: list[CpuPoolConfig] = Field(
        default_factory=list,
        description="Karpenter CPU node pools (no GPUs), beside the GPU pools.",
    )
    block_storage: BlockStorageConfig = Field(
        default_factory=BlockStorageConfig,
        description="The default StorageClass `gp3-encrypted` (EBS gp3, the environment's "
        "volume KMS key).",
    )
    protect_data: bool | None = Field(
        default=None,
        description="Deletion protection on stateful resources. Defaults to true in prod and "
        "false elsewhere; set explicitly to override (visible in the plan).",
    )
    ephemeral: bool = Field(
        default=False,
        description="The environment is disposable (CI, previews): `pulumi destroy` deletes "
        "its buckets with their contents and takes no final database snapshot. Refused in "
        "prod and together with `protectData: true`.",
    )
    object_store: ObjectStoreConfig | None = Field(
        default=None,
        description="Buckets per purpose (datasets, artifacts, ...). Absent: no object store; "
        "`{}` gives the defaults.",
    )
    metadata_db: MetadataDbConfig | None = Field(
        default=None,
        description="PostgreSQL metadata database. Absent: no database; `{}` gives the "
        "defaults.",
    )
    shared_filesystem: SharedFilesystemConfig | None = Field(
        default=None,
        description="EFS file system for training data shared by the team's pods, with the "
        "EFS CSI driver and StorageClass `efs-shared`. Absent (default): none; `{}` gives "
        "the defaults.",
    )
    tenancy: TenancyConfig | None = Field(
        default=None,
        description="The team's namespaces, access, quotas, network isolation and service "
        "accounts. Absent: no team namespaces and no team access (admins only).",
    )
    mlflow: MlflowConfig | None = Field(
        default=None,
        description="MLflow tracking server and model registry in a team namespace, behind "
        "MLflow's basic-auth app; needs metadataDb, objectStore with an `artifacts` bucket "
        "and tenancy. Absent: none; `{}` gives the defaults.",
    )

    # ------------------------------------------------------------ monitoring (issue #12)
    monitoring: MonitoringConfig | None = Field(
        default=None,
        description="Cluster-wide metrics, alerting, dashboards and log shipping "
        "(kube-prometheus-stack, DCGM exporter, metrics-server, Fluent Bit). Absent: none; "
        "`{}` gives the defaults.",
    )

    @field_validator("monitoring")
    @classmethod
    def _monitoring_fits_the_environment(
        cls, value: MonitoringConfig | None, info: ValidationInfo
    ) -> MonitoringConfig | None:
        if value is not None:
            environment = (f"{info.data['team']}-{info.data['env'].value}"
                           if "team" in info.data and "env" in info.data else None)
            return fit_to_the_environment(value, info.data.get("tenancy"), environment)
        return value
    # ------------------------------------------------------------ end monitoring
    # --- training and serving layers: cross-layer rules live in their own modules.
    training: TrainingConfig | None = Field(
        default=None,
        description="Kueue GPU queues (cluster-wide flavors, the team's ClusterQueue and "
        "LocalQueues in the tenancy namespaces) and the JobSet operator. Absent: no queueing "
        "and no training operator.",
    )
    serving: ServingConfig | None = Field(
        default=None,
        description="KServe in RawDeployment mode with model server runtimes and internal "
        "ingress. Absent: no model serving; `{}` gives the defaults.",
    )

    @field_validator("training")
    @classmethod
    def _training_fits_the_environment(
        cls, value: TrainingConfig | None, info: ValidationInfo
    ) -> TrainingConfig | None:
        if value is not None and info.data.get("substrate") is Substrate.ONPREM:
            raise ValueError("is not available on substrate 'onprem' yet: GPU queues are "
                             "built on the Karpenter GPU pools (mlplat:gpuPools), which are "
                             "AWS-only")
        if value is not None and "gpu_pools" in info.data:
            check_training(value, info.data["gpu_pools"])
        return value

    @field_validator("serving")
    @classmethod
    def _serving_fits_the_environment(
        cls, value: ServingConfig | None, info: ValidationInfo
    ) -> ServingConfig | None:
        if value is not None and "tenancy" in info.data and "env" in info.data:
            if (info.data.get("substrate") is Substrate.ONPREM
                    and value.ingress.controller is IngressController.AWS_LOAD_BALANCER):
                raise ValueError("ingress.controller aws-load-balancer is AWS-only; on "
                                 "substrate 'onprem' set ingress.controller: existing and "
                                 "ingress.className to the cluster's IngressClass")
            network = info.data.get("network")
            check_serving(value, info.data["tenancy"], info.data["env"] is Env.PROD,
                          network.internet_facing_load_balancers if network else None)
        return value
    # --- end of training and serving layers

    # ---- shared or dedicated (ADR 0008) -------------------------------------------------
    platform: PlatformConfig | None = Field(
        default=None,
        description="This stack is a platform: its cluster and metadata database host the "
        "teams whose stacks set `cluster.mode: shared` and name it in "
        "`cluster.platformStack`. Needs metadataDb (the shared RDS instance); has no "
        "tenancy or mlflow of its own. Absent: an ordinary team stack.",
    )

    @model_validator(mode="after")
    def _shared_or_dedicated(self) -> Self:
        """What a shared-mode team or a platform may not declare (each broken rule names
        its field)."""
        problems: list[str] = []
        if self.cluster.mode is ClusterMode.SHARED:
            given = self.model_fields_set
            for name in ("network", "gpu_pools", "cpu_pools", "block_storage",
                         "shared_filesystem", "metadata_db", "platform"):
                if name in given:
                    problems.append(
                        f"{self._alias(name)}: not allowed in shared mode; it belongs to the "
                        f"platform stack ({self.cluster.platform_stack}), remove it")
        if self.platform is not None:
            for name in ("tenancy", "mlflow"):
                if getattr(self, name) is not None:
                    problems.append(
                        f"{name}: not allowed on a platform stack; teams land on it from "
                        "their own shared-mode stacks")
            if self.metadata_db is None:
                problems.append("platform: needs metadataDb; the RDS instance that holds the "
                                "tenants' databases")
        if problems:
            raise broken_rules("environment", problems)
        return self

    @classmethod
    def _alias(cls, name: str) -> str:
        return cls.model_fields[name].alias or name

    @property
    def shared(self) -> bool:
        """The team lands on a platform stack's cluster (`cluster.mode: shared`)."""
        return self.cluster.mode is ClusterMode.SHARED

    @field_validator("ephemeral")
    @classmethod
    def _ephemeral_not_in_prod(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("env") is Env.PROD:
            raise ValueError("a prod environment cannot be ephemeral (its data would be "
                             "deleted with the stack)")
        if value and info.data.get("protect_data") is True:
            raise ValueError("contradicts protectData: true; set one of them")
        return value

    @field_validator("metadata_db")
    @classmethod
    def _prod_database(
        cls, value: MetadataDbConfig | None, info: ValidationInfo
    ) -> MetadataDbConfig | None:
        if value is None:
            return value
        if "--" in str(info.data.get("team", "")):
            raise ValueError(
                f"team {info.data['team']!r} contains '--', which RDS refuses in the database "
                "identifier (<team>-<env>-metadata)"
            )
        if info.data.get("env") is Env.PROD:
            if value.multi_az is False:
                raise ValueError("multiAz is false; prod requires a Multi-AZ database")
            days = value.backup_retention_days
            if days is not None and days < MIN_PROD_BACKUP_RETENTION_DAYS:
                raise ValueError(
                    f"backupRetentionDays is {days}; prod requires at "
                    f"least {MIN_PROD_BACKUP_RETENTION_DAYS}"
                )
        return value

    @field_validator("tenancy")
    @classmethod
    def _tenancy_fits_the_environment(
        cls, value: TenancyConfig | None, info: ValidationInfo
    ) -> TenancyConfig | None:
        """Rules between `tenancy` and the layers declared before it (checked only when those
        parsed; their own errors are reported on their own paths)."""
        if value is None:
            return value
        arn = value.team_role_arn
        cluster = info.data.get("cluster")
        if cluster is not None and arn in cluster.admin_role_arns:
            raise ValueError(
                "teamRoleArn is also in cluster.adminRoleArns; EKS allows one access entry "
                "per role, and a team role must not be cluster admin"
            )
        if "team" in info.data and "env" in info.data:
            environment = f"{info.data['team']}-{info.data['env'].value}"
            own = {ns.name_in(environment) for ns in value.namespaces}
            for key, name in (("monitoringNamespace", value.monitoring_namespace),
                              ("ingressNamespace", value.ingress_namespace)):
                if name in own:
                    raise ValueError(f"{key} ({name}) is one of the team's own namespaces")
        if "object_store" not in info.data:
            return value  # objectStore itself is invalid and reported on its own path
        store = info.data["object_store"]
        purposes = set(store.buckets) if store is not None else set()
        for name, account in sorted(value.service_accounts.items()):
            for purpose in account.buckets:
                if purpose not in purposes:
                    known = ", ".join(sorted(purposes)) or "none: objectStore is absent"
                    raise ValueError(
                        f"serviceAccounts.{name}.buckets.{purpose}: objectStore has no bucket "
                        f"of that purpose (buckets: {known})"
                    )
        return value

    @field_validator("mlflow")
    @classmethod
    def _mlflow_fits_the_environment(
        cls, value: MlflowConfig | None, info: ValidationInfo
    ) -> MlflowConfig | None:
        """MLflow's backend, artifact store and namespace come from other layers (checked
        only when those parsed; their own errors are reported on their own paths)."""
        if value is None:
            return value
        cluster = info.data.get("cluster")
        shared = cluster is not None and cluster.mode is ClusterMode.SHARED
        for key, field, what in (("metadata_db", "metadataDb", "its backend store"),
                                 ("object_store", "objectStore", "its artifact store"),
                                 ("tenancy", "tenancy", "where it runs")):
            if shared and key == "metadata_db":
                continue  # shared mode: the platform's database, reached by reference
            if key == "metadata_db" and has_onprem_database(info.data):
                continue  # on-prem the database is mlplat:onprem.metadataDb
            if key in info.data and info.data[key] is None:
                raise ValueError(f"needs mlplat:{field} ({what}), which is absent")
        store = info.data.get("object_store")
        if store is not None and ARTIFACTS_PURPOSE not in store.buckets:
            raise ValueError(
                f"needs an objectStore bucket of purpose {ARTIFACTS_PURPOSE!r} (buckets: "
                f"{', '.join(sorted(store.buckets))})"
            )
        tenancy = info.data.get("tenancy")
        if tenancy is not None:
            purposes = [ns.purpose for ns in tenancy.namespaces]
            if value.namespace not in purposes:
                raise ValueError(
                    f"namespace {value.namespace or '<main>'!r} is not one of "
                    f"tenancy.namespaces (purposes: "
                    f"{', '.join(sorted(str(p or '<main>') for p in purposes))})"
                )
            if MLFLOW_SERVICE_ACCOUNT in tenancy.service_accounts:
                raise ValueError(
                    f"tenancy.serviceAccounts.{MLFLOW_SERVICE_ACCOUNT} is reserved for the "
                    "MLflow server; rename it"
                )
            if "team" in info.data and "env" in info.data:
                environment = f"{info.data['team']}-{info.data['env'].value}"
                own = {ns.name_in(environment) for ns in tenancy.namespaces}
                if value.platform_namespace in own:
                    raise ValueError(
                        f"platformNamespace ({value.platform_namespace}) is one of the "
                        "team's own namespaces; the database master secret must stay out of "
                        "them"
                    )
        if (info.data.get("env") is Env.PROD and value.replicas is not None
                and value.replicas < PROD_REPLICAS):
            raise ValueError(
                f"replicas is {value.replicas}; prod runs at least {PROD_REPLICAS}"
            )
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("substrate", Substrate.AWS) is Substrate.AWS:
                raise ValueError("required field is missing")
            return value
        if catalog.REGIONS.partition_of(value) is None:
            raise ValueError(
                f"{value!r} is not an AWS region (see mlplat/data/regions.yaml, checked "
                f"{catalog.REGIONS.checked}); e.g. eu-west-1"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tag_keys(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            if not _TAG_KEY.fullmatch(key):
                raise ValueError(f"tag key {key!r} is not a valid AWS tag key")
            if key.lower().startswith(RESERVED_TAG_PREFIXES):
                raise ValueError(
                    f"tag key {key!r} is reserved: AWS or Karpenter sets it on launched "
                    "instances (and Karpenter refuses it in EC2NodeClass.spec.tags)"
                )
            if key in MLPLAT_TAGS[2:]:
                raise ValueError(f"tag key {key!r} is set by mlplat on every resource")
            if not _TAG_VALUE.fullmatch(value):
                raise ValueError(
                    f"tag {key!r}: value {value[:40]!r} is not an AWS tag value (at most 256 "
                    "letters, digits, spaces and _ . : / = + - @)"
                )
        own = len(set(tags) - set(MLPLAT_TAGS))
        room = AWS_MAX_TAGS - TAGS_ADDED_PER_RESOURCE - len(MLPLAT_TAGS)
        if own > room:
            raise ValueError(
                f"{own} tags here plus the {len(MLPLAT_TAGS)} mlplat sets on every resource and "
                f"up to {TAGS_ADDED_PER_RESOURCE} more on some exceed AWS's {AWS_MAX_TAGS} tags "
                f"per resource; at most {room} fit"
            )
        if "cost-center" not in tags or not tags["cost-center"].strip():
            raise ValueError("missing required tag 'cost-center'")
        return tags

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        problems: list[str] = onprem_problems(self)  # every broken rule, not the first
        for key, expected in (("team", self.team), ("env", self.env.value)):
            if key in self.tags and self.tags[key] != expected:
                problems.append(
                    f"tags.{key} is {self.tags[key]!r} but {key} is {expected!r}; they must match"
                )
        if self.env is Env.PROD and self.network.nat_mode is not NatMode.PER_AZ:
            problems.append("network.natMode must be 'per-az' in prod (multi-AZ NAT)")
        if self.env is Env.PROD and self.cluster.endpoint.public_access:
            problems.append("cluster.endpoint.publicAccess is not allowed in prod")
        partition = catalog.REGIONS.partition_of(self.region or "")
        role_arns: dict[str, str] = {f"cluster.adminRoleArns[{index}]": arn
                     for index, arn in enumerate(self.cluster.admin_role_arns)}
        if self.tenancy is not None and self.tenancy.team_role_arn is not None:
            role_arns["tenancy.teamRoleArn"] = self.tenancy.team_role_arn
        for path, arn in role_arns.items():
            arn_partition = arn.split(":", 2)[1]
            if partition is not None and arn_partition != partition:
                problems.append(
                    f"{path} is in partition {arn_partition!r} but "
                    f"aws:region {self.region!r} is in {partition!r}"
                )
        vpc = cidrs.parse(self.network.vpc_cidr)
        for index, value in enumerate(self.cluster.endpoint.private_access_cidrs):
            if cidrs.parse(value).overlaps(vpc):
                problems.append(
                    f"cluster.endpoint.privateAccessCidrs[{index}] ({value}) overlaps "
                    f"network.vpcCidr ({self.network.vpc_cidr}); list networks outside the VPC "
                    "(its nodes and pods are allowed already)"
                )
        # --- hardening: team namespaces never get host access (docs/security.md)
        if self.tenancy is not None:
            team = {ns.name_in(self.name) for ns in self.tenancy.namespaces}
            for index, value in enumerate(self.cluster.privileged_namespaces):
                if value in team:
                    problems.append(
                        f"cluster.privilegedNamespaces[{index}] ({value}) is a team namespace; "
                        "team pods never get host access"
                    )
        # ---
        queue_name = f"{self.name}{INTERRUPTION_QUEUE_SUFFIX}"
        if len(queue_name) > SQS_QUEUE_NAME_MAX:
            problems.append(
                f"team and env make the interruption queue name {queue_name!r} "
                f"({len(queue_name)} characters); SQS allows {SQS_QUEUE_NAME_MAX}"
            )
        # NodePools and EC2NodeClasses are cluster-scoped: GPU and CPU pools share one
        # name space.
        names = [pool.name for pool in self.gpu_pools] + [pool.name for pool in self.cpu_pools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"gpuPools/cpuPools: duplicate pool names {duplicates}")
        if (
            self.env is Env.PROD
            and self.block_storage.reclaim_policy is ReclaimPolicy.DELETE
            and self.protect_data is not False
        ):
            problems.append(
                "blockStorage.reclaimPolicy is Delete in prod; use Retain, or set "
                "protectData: false to accept losing volumes with their claims"
            )
        shared = self.shared_filesystem
        if (
            self.env is Env.PROD
            and shared is not None
            and shared.backup is False
            and self.protect_data is not False
        ):
            problems.append(
                "sharedFilesystem.backup is false in prod; prod file systems are backed up "
                "unless protectData is explicitly false"
            )
        if problems:
            raise broken_rules("environment", problems)
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


def _field_path(loc: tuple[int | str, ...]) -> str:
    """`('network', 'flowLogs', 'retentionDays')` -> `mlplat:network.flowLogs.retentionDays`;
    `('region',)` -> `aws:region` (the one field read from another namespace)."""
    if not loc:
        return f"{CONFIG_NAMESPACE}:"
    head, *rest = loc
    path = "aws:region" if head == "region" else f"{CONFIG_NAMESPACE}:{head}"
    for part in rest:
        if part == "[key]":  # pydantic's marker for "the key of this map entry"
            continue
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_environment(raw: Mapping[str, Any], source: str) -> EnvironmentConfig:
    """Build an EnvironmentConfig from a mapping of un-namespaced keys
    (`team`, `env`, `region`, `network`, ...). `source` names the stack file in errors."""
    try:
        return EnvironmentConfig.model_validate(dict(raw))
    except ValidationError as error:
        lines = format_validation_errors(source, error, EnvironmentConfig,
                                         field_path=_field_path)
        raise ConfigError("\n".join(lines)) from None


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
    # Pulumi hands every value over as a string, non-string ones JSON-encoded: `null`,
    # `false`, `5` arrive as "null", "false", "5". Decode them for every field that is not
    # a string itself (a team may well be called "null"); objects and lists for any key.
    string_fields = {f"{CONFIG_NAMESPACE}:{info.alias or name}"
                     for name, info in EnvironmentConfig.model_fields.items()
                     if isinstance(info.annotation, type) and issubclass(info.annotation, str)}
    decoded: dict[str, Any] = {}
    for key, value in values.items():
        structured = key.startswith(f"{CONFIG_NAMESPACE}:") and key not in string_fields
        if isinstance(value, str) and (structured or value[:1] in ("{", "[")):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        decoded[key] = value
    source = f"stacks/Pulumi.{pulumi.get_stack()}.yaml"
    try:
        return environment_from_stack_config(decoded, source)
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
