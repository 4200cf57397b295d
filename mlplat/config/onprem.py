"""The `mlplat:substrate` switch and the `mlplat:onprem` layer: a team environment on a
Kubernetes cluster that kubespray or k3s built on hosts the Ansible roles prepared.

On this substrate mlplat creates no cloud resources: the cluster is given (a kubeconfig),
the object store is MinIO (installed from its pinned chart) or an external S3-compatible
endpoint, and the metadata database is a CloudNativePG `Cluster` (operator from its pinned
chart) or an external PostgreSQL. Team tenancy and MLflow are the provider-neutral
components of components/k8s/.

Which AWS-only settings an on-prem stack may not carry, and why, is decided here once
(`onprem_problems`, called from EnvironmentConfig's cross-field rule); each message names the
field. Secrets (a kubeconfig's contents, external credentials) are `SecretStr`: their values
never appear in a repr, an error or a plan.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from mlplat.config import cidrs
from mlplat.config.base import DnsLabel, Env, _Model

if TYPE_CHECKING:
    from mlplat.config.environment import EnvironmentConfig

#: PostgreSQL port, and MinIO's S3 API port inside the cluster.
POSTGRES_PORT = 5432
MINIO_API_PORT = 9000
#: A prod metadata database runs this many CloudNativePG instances (one primary, two
#: standbys) and MinIO at least this many erasure-coded servers.
PROD_DB_INSTANCES = 3
MIN_DISTRIBUTED_MINIO_SERVERS = 4
MIN_PROD_BACKUP_RETENTION_DAYS = 7
#: Namespaces a shared on-prem cluster reserves.
_SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "default")


def _exactly_one_of(model: _Model, first: str, second: str) -> None:
    """Refuse both or neither of two alternative fields (named by their YAML keys)."""
    if (getattr(model, first) is None) == (getattr(model, second) is None):
        names = [type(model).model_fields[f].alias or f for f in (first, second)]
        raise ValueError(f"set exactly one of {names[0]} and {names[1]}")


class Substrate(StrEnum):
    """Where an environment runs."""

    AWS = "aws"
    ONPREM = "onprem"


class IssuerKind(StrEnum):
    """cert-manager issuer kinds."""

    CLUSTER_ISSUER = "ClusterIssuer"
    ISSUER = "Issuer"


class TlsConfig(_Model):
    """Where the TLS certificates of MinIO and PostgreSQL come from: a cert-manager issuer
    (cert-manager is a prerequisite of the cluster, docs/onprem-handoff.md)."""

    issuer_name: DnsLabel = Field(
        default="mlplat-ca",
        description="Name of the cert-manager issuer that signs the server certificates "
        "(usually a ClusterIssuer backed by the organisation's CA).",
    )
    issuer_kind: IssuerKind = Field(
        default=IssuerKind.CLUSTER_ISSUER,
        description="`ClusterIssuer` (default) or `Issuer` (then it must live in the data "
        "namespace).",
    )
    duration_hours: int = Field(
        default=2160, ge=24, le=8760,
        description="Lifetime of a server certificate in hours (cert-manager renews it at "
        "two thirds). Default 90 days.",
    )


class MinioMode(StrEnum):
    """How MinIO runs (the chart's `mode`)."""

    DISTRIBUTED = "distributed"
    STANDALONE = "standalone"


class MinioConfig(_Model):
    """MinIO installed from its pinned chart into the environment's data namespace."""

    mode: MinioMode = Field(
        default=MinioMode.DISTRIBUTED,
        description="`distributed` (erasure-coded over `replicas` servers; required in prod) "
        "or `standalone` (one server, one volume: no redundancy).",
    )
    replicas: int = Field(
        default=MIN_DISTRIBUTED_MINIO_SERVERS, ge=MIN_DISTRIBUTED_MINIO_SERVERS, le=32,
        description=f"Servers of a distributed MinIO (at least "
        f"{MIN_DISTRIBUTED_MINIO_SERVERS}, what erasure coding needs); ignored standalone.",
    )
    volume_size_gib: int = Field(
        default=100, ge=1, le=100000, description="Persistent volume per server, GiB."
    )
    storage_class: DnsLabel | None = Field(
        default=None,
        description="StorageClass of the volumes; absent: the cluster's default.",
    )
    memory_request: str = Field(
        default="2Gi", description="Memory request (and limit) of each server."
    )


class ExternalObjectStoreConfig(_Model):
    """An S3-compatible endpoint mlplat does not run (a central MinIO, Ceph RGW, ...)."""

    endpoint: str = Field(
        description="`https://` URL of the S3 API. Plain HTTP is refused.",
    )
    region: str = Field(default="us-east-1", description="Signing region the endpoint expects.")
    cidr: str | None = Field(
        default=None,
        description="Private network of the endpoint: team pods and the database get HTTPS "
        "egress to it (the default egress reaches only public addresses). Absent: the "
        "endpoint has a public address.",
    )
    bucket_names: dict[DnsLabel, str] = Field(
        description="Existing bucket per purpose of `mlplat:objectStore.buckets` (and "
        "`backups` when the database backs up to it).",
    )
    access_key_id: SecretStr = Field(
        description="Access key of the team's credentials (a Pulumi secret: `pulumi config "
        "set --secret --path mlplat:onprem.objectStore.external.accessKeyId`).",
    )
    secret_access_key: SecretStr = Field(
        description="Secret key of the team's credentials (a Pulumi secret).",
    )

    @field_validator("cidr")
    @classmethod
    def _private_endpoint(cls, value: str | None) -> str | None:
        if value is not None and not cidrs.parse(value).is_private:
            raise ValueError(f"{value} is not a private network")
        return value

    @field_validator("endpoint")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://") or len(value) <= len("https://"):
            raise ValueError(f"{value!r} must be an https:// URL (credentials travel with "
                             "every request)")
        return value.rstrip("/")


class OnpremObjectStoreConfig(_Model):
    """The object store of an on-prem environment: exactly one of `minio` and `external`."""

    minio: MinioConfig | None = Field(
        default=None, description="Run MinIO from its pinned chart (`{}` gives defaults).",
    )
    external: ExternalObjectStoreConfig | None = Field(
        default=None, description="Use an existing S3-compatible endpoint.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        _exactly_one_of(self, "minio", "external")
        return self


class CloudNativePgConfig(_Model):
    """A CloudNativePG `Cluster` in the environment's data namespace."""

    install_operator: bool = Field(
        default=True,
        description="Install the pinned CloudNativePG operator chart (cluster-wide, namespace "
        "`cnpg-system`). False when the cluster's platform stack already runs it.",
    )
    operator_namespace: DnsLabel = Field(
        default="cnpg-system",
        description="Namespace of the operator (allowed into the data namespace).",
    )
    instances: int | None = Field(
        default=None, ge=1, le=9,
        description=f"PostgreSQL instances (one primary, the rest streaming standbys). "
        f"Default {PROD_DB_INSTANCES} in prod (where fewer are refused) and 1 elsewhere.",
    )
    storage_gib: int = Field(default=20, ge=1, le=65536, description="Volume per instance, GiB.")
    storage_class: DnsLabel | None = Field(
        default=None, description="StorageClass of the volumes; absent: the cluster's default.",
    )
    backup_retention_days: int | None = Field(
        default=None, ge=1, le=3650,
        description=f"Days of base backups and WAL kept in the object store (the recovery "
        f"window). Default {MIN_PROD_BACKUP_RETENTION_DAYS} in prod (at least that many) and "
        "1 elsewhere.",
    )
    backup_schedule: str = Field(
        default="0 0 2 * * *",
        description="When the daily base backup runs (CloudNativePG's six-field cron, "
        "seconds first). WAL is archived continuously.",
    )

    def effective_instances(self, prod: bool) -> int:
        """Instances as deployed: the explicit setting, else 3 in prod and 1 elsewhere."""
        if self.instances is not None:
            return self.instances
        return PROD_DB_INSTANCES if prod else 1

    def effective_retention_days(self, prod: bool) -> int:
        """Backup retention as deployed."""
        if self.backup_retention_days is not None:
            return self.backup_retention_days
        return MIN_PROD_BACKUP_RETENTION_DAYS if prod else 1


class ExternalPostgresConfig(_Model):
    """A PostgreSQL mlplat does not run. The team's role and databases exist already."""

    host: str = Field(min_length=1, max_length=253, description="Host name of the server.")
    port: int = Field(default=POSTGRES_PORT, ge=1, le=65535, description="TCP port.")
    cidr: str = Field(
        description="Network of the server (team pods get egress to it on `port`); a private "
        "range.",
    )
    username: str = Field(min_length=1, max_length=63, description="Login role of the team.")
    password: SecretStr = Field(
        description="Its password (a Pulumi secret). Connections use `sslmode=require`: the "
        "server must offer TLS.",
    )

    @field_validator("cidr")
    @classmethod
    def _private(cls, value: str) -> str:
        network = cidrs.parse(value)
        if not network.is_private:
            raise ValueError(f"{value} is not a private network")
        return value


class OnpremMetadataDbConfig(_Model):
    """The metadata database of an on-prem environment: exactly one of `cloudnativepg` and
    `external`."""

    cloudnativepg: CloudNativePgConfig | None = Field(
        default=None, description="A CloudNativePG Cluster (`{}` gives defaults).",
    )
    external: ExternalPostgresConfig | None = Field(
        default=None, description="An existing PostgreSQL.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        _exactly_one_of(self, "cloudnativepg", "external")
        return self


class OnpremConfig(_Model):
    """An existing on-prem Kubernetes cluster and the data services mlplat runs on it."""

    kubeconfig_path: str | None = Field(
        default=None,
        description="Path of the kubeconfig the installer produced (kubespray's "
        "`artifacts/admin.conf`, k3s's `/etc/rancher/k3s/k3s.yaml` copied off the server; "
        "docs/onprem-handoff.md). Read by the Kubernetes provider at deploy time only; the "
        "plan shows the path, never the contents. Exactly one of this and `kubeconfig`.",
    )
    kubeconfig: SecretStr | None = Field(
        default=None,
        description="The kubeconfig's contents as a Pulumi secret (`pulumi config set "
        "--secret --path mlplat:onprem.kubeconfig < admin.conf`). Exactly one of this and "
        "`kubeconfigPath`.",
    )
    context: str | None = Field(
        default=None, description="Context of the kubeconfig to use; absent: its current one.",
    )
    kubernetes_version: str = Field(
        default="1.33",
        description="Minor version of the cluster (`1.33`); pins the Pod Security Standards "
        "version of every namespace.",
    )
    api_server_cidr: str = Field(
        description="Private network of the Kubernetes API server (the control-plane "
        "hosts); the database pods may reach it (CloudNativePG's instance manager talks to "
        "the API).",
    )
    api_server_port: int = Field(
        default=6443, ge=1, le=65535, description="Port of the API server (6443 for "
        "kubespray and k3s).",
    )
    data_namespace: DnsLabel | None = Field(
        default=None,
        description="Platform namespace holding MinIO, the database and their credentials "
        "(never a team namespace). Default `<team>-<env>-data`.",
    )
    tls: TlsConfig = Field(default_factory=TlsConfig, description="Server certificates.")
    object_store: OnpremObjectStoreConfig | None = Field(
        default=None,
        description="MinIO or an external endpoint; needed with `mlplat:objectStore`.",
    )
    metadata_db: OnpremMetadataDbConfig | None = Field(
        default=None,
        description="CloudNativePG or an external PostgreSQL; absent: no database.",
    )

    @field_validator("kubernetes_version")
    @classmethod
    def _minor(cls, value: str) -> str:
        major, _, minor = value.partition(".")
        if major != "1" or not minor.isdigit() or not 25 <= int(minor) <= 37:
            raise ValueError(f"{value!r} is not a Kubernetes minor version 1.25 to 1.37")
        return value

    @field_validator("api_server_cidr")
    @classmethod
    def _private_api(cls, value: str) -> str:
        if not cidrs.parse(value).is_private:
            raise ValueError(f"{value} is not a private network")
        return value

    @field_validator("data_namespace")
    @classmethod
    def _not_system(cls, value: str | None) -> str | None:
        if value in _SYSTEM_NAMESPACES:
            raise ValueError(f"{value!r} is a system namespace")
        return value

    @model_validator(mode="after")
    def _one_kubeconfig(self) -> Self:
        _exactly_one_of(self, "kubeconfig_path", "kubeconfig")
        return self

    def data_namespace_in(self, environment: str) -> str:
        """The data namespace's name in environment `<team>-<env>`."""
        return self.data_namespace or f"{environment}-data"


#: Top-level AWS-only layers and why an on-prem stack may not carry them (each would be
#: silently ignored otherwise). `aws:region` is checked as `region`.
_AWS_ONLY_LAYERS: dict[str, tuple[str, str]] = {
    "region": ("aws:region", "no AWS region: nothing is created in AWS"),
    "network": ("mlplat:network", "the VPC; the hosts' network is the installer's"),
    "cluster": ("mlplat:cluster", "the EKS cluster; give mlplat:onprem.kubeconfigPath"),
    "gpu_pools": ("mlplat:gpuPools", "Karpenter GPU pools; GPU hosts come from the "
                  "inventory's gpu_hosts group"),
    "cpu_pools": ("mlplat:cpuPools", "Karpenter CPU pools"),
    "block_storage": ("mlplat:blockStorage", "the EBS StorageClass"),
    "shared_filesystem": ("mlplat:sharedFilesystem", "EFS"),
    "metadata_db": ("mlplat:metadataDb", "RDS options; use mlplat:onprem.metadataDb"),
}


def onprem_problems(config: EnvironmentConfig) -> list[str]:
    """Every rule an environment breaks about its substrate (an empty list: none)."""
    if config.substrate is Substrate.AWS:
        problems = []
        if config.onprem is not None:
            problems.append("mlplat:onprem is set but mlplat:substrate is 'aws'")
        if config.tenancy is not None and config.tenancy.team_role_arn is None:
            problems.append("tenancy.teamRoleArn is required on substrate 'aws' (the IAM "
                            "role the team's people assume)")
        return problems
    problems = [f"{key} is AWS-only ({why}); remove it on substrate 'onprem'"
                for name, (key, why) in _AWS_ONLY_LAYERS.items() if _configured(config, name)]
    onprem = config.onprem
    if onprem is None:
        return [*problems, "mlplat:onprem is required on substrate 'onprem' (the cluster's "
                "kubeconfig and the data services)"]
    if config.tenancy is not None and config.tenancy.team_role_arn is not None:
        problems.append("tenancy.teamRoleArn is AWS-only (an EKS access entry); on-prem the "
                        "team's group (tenancy.group) comes from the cluster's authentication")
    store = config.object_store
    if store is not None:
        if onprem.object_store is None:
            problems.append("mlplat:objectStore needs mlplat:onprem.objectStore (minio or "
                            "external)")
        if store.access_logs != type(store.access_logs)():
            problems.append("objectStore.accessLogs is AWS-only (S3 server access logging)")
        for purpose, bucket in sorted(store.buckets.items()):
            default = type(bucket)()
            for field, info in sorted(type(bucket).model_fields.items()):
                if getattr(bucket, field) == getattr(default, field):
                    continue
                alias = info.alias or field
                problems.append(f"objectStore.buckets.{purpose}.{alias} is AWS-only (S3 "
                                "lifecycle rules); MinIO buckets here are versioned only")
        external = onprem.object_store.external if onprem.object_store else None
        if external is not None:
            for purpose in sorted(set(store.buckets) - set(external.bucket_names)):
                problems.append(f"onprem.objectStore.external.bucketNames has no bucket for "
                                f"purpose {purpose!r}")
    elif onprem.object_store is not None:
        problems.append("onprem.objectStore is set but mlplat:objectStore (the bucket "
                        "purposes) is absent")
    database = onprem.metadata_db
    if database is not None and database.cloudnativepg is not None:
        if onprem.object_store is None:
            problems.append("onprem.metadataDb.cloudnativepg backs up to the object store; "
                            "set mlplat:objectStore and onprem.objectStore")
        elif (onprem.object_store.external is not None
              and "backups" not in onprem.object_store.external.bucket_names):
            problems.append("onprem.objectStore.external.bucketNames needs a 'backups' bucket "
                            "for the database's backups")
        if config.env is Env.PROD:
            cnpg = database.cloudnativepg
            if cnpg.instances is not None and cnpg.instances < PROD_DB_INSTANCES:
                problems.append(f"onprem.metadataDb.cloudnativepg.instances is "
                                f"{cnpg.instances}; prod runs {PROD_DB_INSTANCES}")
            days = cnpg.backup_retention_days
            if days is not None and days < MIN_PROD_BACKUP_RETENTION_DAYS:
                problems.append(f"onprem.metadataDb.cloudnativepg.backupRetentionDays is "
                                f"{days}; prod keeps at least {MIN_PROD_BACKUP_RETENTION_DAYS}")
    minio = onprem.object_store.minio if onprem.object_store else None
    if config.env is Env.PROD and minio is not None and minio.mode is MinioMode.STANDALONE:
        problems.append("onprem.objectStore.minio.mode is standalone; prod runs distributed "
                        "MinIO (erasure coding over several servers)")
    if config.tenancy is not None:
        data = onprem.data_namespace_in(config.name)
        own = {ns.name_in(config.name) for ns in config.tenancy.namespaces}
        if data in own:
            problems.append(f"onprem.dataNamespace ({data}) is one of the team's own "
                            "namespaces; credentials of the data services must stay out of "
                            "them")
    return problems


def _configured(config: EnvironmentConfig, name: str) -> bool:
    """Does the environment set layer `name` to anything but its default? (A layer left at
    its default creates nothing on-prem; one that says more would be silently ignored.)"""
    value = getattr(config, name)
    default = type(config).model_fields[name].get_default(call_default_factory=True)
    return bool(value != default)


def has_onprem_database(data: dict[str, Any]) -> bool:
    """While EnvironmentConfig validates: does an on-prem layer declare a database?"""
    onprem = data.get("onprem")
    return (data.get("substrate") is Substrate.ONPREM and onprem is not None
            and onprem.metadata_db is not None)
