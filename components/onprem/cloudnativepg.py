"""The environment's metadata database on-prem: a CloudNativePG `Cluster` in the data
namespace, its operator from the pinned chart, TLS from cert-manager, continuous backups to
the object store.

Children of one `mlplat:onprem/cloudnativepg:PostgresCluster`:

* the operator chart (`helm.v3.Release`, pinned), unless the cluster's platform stack runs it
  already (`installOperator: false`);
* the team's login role password, generated (pulumi_random, secret) into a
  `kubernetes.io/basic-auth` Secret that `bootstrap.initdb` creates the role and its
  database `<team>_<env>` from; a `Database` object adds `<team>_<env>_auth` (MLflow
  basic-auth) owned by the same role. There is no superuser access
  (`enableSuperuserAccess: false`), so no master credentials exist to leak;
* a cert-manager `Certificate` for the `-rw`, `-ro` and `-r` services, used as the server
  certificate (`spec.certificates`); plain-text connections are refused in `pg_hba`
  (`hostnossl ... reject`) and TLS 1.3 is the minimum;
* the `Cluster`: `instances` (3 in prod: a primary and two standbys on different nodes,
  required anti-affinity), data checksums, WAL archived continuously and base backups kept
  for the retention window in the object store (`backup.barmanObjectStore`, with the MinIO
  CA and credentials from Secrets), and a `ScheduledBackup` (daily by default, one right
  away).

The CRD field paths written here are listed in CLUSTER_CRD_FIELDS with where they were read;
a test checks every path the component writes is in that table.

Backup method: the in-tree `barmanObjectStore` of operator 1.30. CloudNativePG deprecated it
in 1.26 for the Barman Cloud plugin (a separate chart, an `ObjectStore` CRD and
cert-manager-issued plugin certificates); ADR 0011 says why mlplat starts with the in-tree
method and how it moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.aws.mlflow_db import AUTH_DATABASE_SUFFIX, postgres_uri
from components.k8s.mlflow import SECRET_LENGTH
from components.onprem.certificates import certificate
from components.versions import (
    CLOUDNATIVEPG_CHART,
    CLOUDNATIVEPG_CHART_REPOSITORY,
    CLOUDNATIVEPG_CHART_VERSION,
    CLOUDNATIVEPG_POSTGRES_IMAGE,
)
from mlplat.config.onprem import POSTGRES_PORT, CloudNativePgConfig, TlsConfig

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:onprem/cloudnativepg:PostgresCluster"

CNPG_API = "postgresql.cnpg.io/v1"

#: Field paths (dot-separated, below `spec`) of the CloudNativePG CRDs this module writes,
#: by kind. Read from the CRDs of chart cloudnative-pg 0.29.0 / operator 1.30.0
#: (github.com/cloudnative-pg/charts, charts/cloudnative-pg/templates/crds/crds.yaml at
#: commit b21ad2da, 2026-07-20). Upgrading the operator means re-reading them there.
CLUSTER_CRD_FIELDS: Mapping[str, frozenset[str]] = {
    "Cluster": frozenset({
        "instances", "imageName", "enableSuperuserAccess", "enablePDB",
        "storage", "storage.size", "storage.storageClass",
        "bootstrap", "bootstrap.initdb", "bootstrap.initdb.database",
        "bootstrap.initdb.owner", "bootstrap.initdb.secret", "bootstrap.initdb.secret.name",
        "bootstrap.initdb.dataChecksums",
        "certificates", "certificates.serverTLSSecret", "certificates.serverCASecret",
        "postgresql", "postgresql.parameters", "postgresql.pg_hba",
        "affinity", "affinity.enablePodAntiAffinity", "affinity.podAntiAffinityType",
        "affinity.topologyKey",
        "backup", "backup.retentionPolicy", "backup.barmanObjectStore",
        "backup.barmanObjectStore.destinationPath", "backup.barmanObjectStore.endpointURL",
        "backup.barmanObjectStore.endpointCA", "backup.barmanObjectStore.endpointCA.name",
        "backup.barmanObjectStore.endpointCA.key",
        "backup.barmanObjectStore.s3Credentials",
        "backup.barmanObjectStore.s3Credentials.accessKeyId",
        "backup.barmanObjectStore.s3Credentials.accessKeyId.name",
        "backup.barmanObjectStore.s3Credentials.accessKeyId.key",
        "backup.barmanObjectStore.s3Credentials.secretAccessKey",
        "backup.barmanObjectStore.s3Credentials.secretAccessKey.name",
        "backup.barmanObjectStore.s3Credentials.secretAccessKey.key",
        "backup.barmanObjectStore.wal", "backup.barmanObjectStore.wal.compression",
        "backup.barmanObjectStore.data", "backup.barmanObjectStore.data.compression",
    }),
    "Database": frozenset({"name", "owner", "cluster", "cluster.name", "ensure"}),
    "ScheduledBackup": frozenset({"schedule", "cluster", "cluster.name", "method",
                                  "immediate", "backupOwnerReference"}),
}
#: Keys under these paths are data (PostgreSQL parameters), not CRD fields.
FREE_FORM_FIELDS: frozenset[str] = frozenset({"postgresql.parameters"})

#: PostgreSQL settings every cluster gets. CloudNativePG manages `ssl` itself.
POSTGRES_PARAMETERS: Mapping[str, str] = {
    "ssl_min_protocol_version": "TLSv1.3",
    "password_encryption": "scram-sha-256",
    "log_connections": "on",
    "log_disconnections": "on",
}
#: pg_hba lines placed before the operator's own: no connection without TLS.
PG_HBA: tuple[str, ...] = ("hostnossl all all all reject",)


@dataclass(frozen=True)
class BackupTarget:
    """Where base backups and WAL go: a bucket of the object store."""

    destination_path: str
    """`s3://<backups bucket>/<cluster>`."""
    endpoint_url: str
    credentials_secret: pulumi.Input[str]
    """Secret of the data namespace with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`."""
    ca_secret: str | None
    """Secret of the data namespace whose `ca.crt` signs the endpoint (None: public CA)."""


@dataclass(frozen=True)
class PostgresClusterArgs:
    """Inputs of PostgresCluster, from validated config."""

    settings: CloudNativePgConfig
    """The validated `mlplat:onprem.metadataDb` block."""
    tls: TlsConfig
    """cert-manager issuer the server and client certificates come from."""
    cluster_name: str
    """Name of the `Cluster` (`<team>-<env>-metadata`)."""
    namespace: pulumi.Input[str]
    """The data namespace (created by the composition)."""
    namespace_name: str
    """Its name, known up front (certificate and service names)."""
    role_name: str
    """Team login role and database `<team>_<env>`."""
    instances: int
    """PostgreSQL instances (3 in prod: one primary, two replicas)."""
    retention_days: int
    """Days backups in the object store are kept."""
    backup: BackupTarget
    """Bucket, endpoint and credentials of the backups (the MinIO `backups` bucket)."""
    labels: Mapping[str, str]
    """Ownership labels of every object (ADR 0004)."""
    credentials_version: int = 1
    """Bump to generate a new password for the team role."""


def service_dns_names(cluster: str, namespace: str) -> list[str]:
    """The names of the `-rw`, `-ro` and `-r` services CloudNativePG creates."""
    names = []
    for suffix in ("rw", "ro", "r"):
        service = f"{cluster}-{suffix}"
        names += [service, f"{service}.{namespace}", f"{service}.{namespace}.svc",
                  f"{service}.{namespace}.svc.cluster.local"]
    return names


def cluster_spec(args: PostgresClusterArgs, app_secret: pulumi.Input[str],
                 tls_secret: str) -> dict[str, Any]:
    """`spec` of the Cluster."""
    backup = args.backup
    store: dict[str, Any] = {
        "destinationPath": backup.destination_path,
        "endpointURL": backup.endpoint_url,
        "s3Credentials": {
            "accessKeyId": {"name": backup.credentials_secret, "key": "AWS_ACCESS_KEY_ID"},
            "secretAccessKey": {"name": backup.credentials_secret,
                                "key": "AWS_SECRET_ACCESS_KEY"},
        },
        "wal": {"compression": "gzip"},
        "data": {"compression": "gzip"},
    }
    if backup.ca_secret is not None:
        store["endpointCA"] = {"name": backup.ca_secret, "key": "ca.crt"}
    storage: dict[str, Any] = {"size": f"{args.settings.storage_gib}Gi"}
    if args.settings.storage_class:
        storage["storageClass"] = args.settings.storage_class
    return {
        "instances": args.instances,
        "imageName": CLOUDNATIVEPG_POSTGRES_IMAGE,
        "enableSuperuserAccess": False,
        "enablePDB": True,
        "storage": storage,
        "bootstrap": {"initdb": {"database": args.role_name, "owner": args.role_name,
                                 "secret": {"name": app_secret}, "dataChecksums": True}},
        "certificates": {"serverTLSSecret": tls_secret, "serverCASecret": tls_secret},
        "postgresql": {"parameters": dict(POSTGRES_PARAMETERS), "pg_hba": list(PG_HBA)},
        # Standbys on other nodes than the primary (with one instance: nothing to spread).
        "affinity": {"enablePodAntiAffinity": True,
                     "podAntiAffinityType": "required" if args.instances > 1 else "preferred",
                     "topologyKey": "kubernetes.io/hostname"},
        "backup": {"retentionPolicy": f"{args.retention_days}d", "barmanObjectStore": store},
    }


class PostgresCluster(pulumi.ComponentResource):
    """A TLS-only CloudNativePG cluster with the team's role and databases and continuous
    backups. Pass the cluster's Kubernetes provider in `opts.providers`."""

    host: str
    """The read-write service, `<cluster>-rw.<namespace>.svc`."""
    port: int
    backend_store_uri: pulumi.Output[str]
    """Secret URI of the tracking database."""
    auth_database_uri: pulumi.Output[str]
    """Secret URI of the basic-auth database."""

    def __init__(
        self, name: str, args: PostgresClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings, labels = args.settings, dict(args.labels)

        def meta(object_name: str) -> dict[str, Any]:
            return {"name": object_name, "namespace": args.namespace, "labels": labels}

        depends: list[pulumi.Resource] = []
        if settings.install_operator:
            depends.append(k8s.helm.v3.Release(
                f"{name}-operator",
                name="cnpg",
                chart=CLOUDNATIVEPG_CHART,
                version=CLOUDNATIVEPG_CHART_VERSION,
                repository_opts={"repo": CLOUDNATIVEPG_CHART_REPOSITORY},
                namespace=settings.operator_namespace,
                create_namespace=True,
                atomic=True,
                # Another stack on the same cluster may depend on the CRDs.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            ))
        password = random.RandomPassword(
            f"{name}-password", length=SECRET_LENGTH, special=False,
            keepers={"credentialsVersion": str(args.credentials_version)}, opts=child,
        )
        app_secret = k8s.core.v1.Secret(
            f"{name}-app", metadata=meta(f"{args.cluster_name}-app"),
            type="kubernetes.io/basic-auth",
            string_data={"username": args.role_name, "password": password.result},
            opts=child,
        )
        tls_secret = f"{args.cluster_name}-server-tls"
        depends.append(certificate(
            f"{name}-certificate", secret_name=tls_secret, namespace=args.namespace,
            labels=labels, tls=args.tls, usages=["server auth"],
            dns_names=service_dns_names(args.cluster_name, args.namespace_name), opts=child,
        ))
        cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version=CNPG_API, kind="Cluster",
            metadata=meta(args.cluster_name),
            spec=cluster_spec(args, app_secret.metadata.name, tls_secret),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        cluster_ref = {"name": args.cluster_name}
        auth_db = f"{args.role_name}{AUTH_DATABASE_SUFFIX}"
        k8s.apiextensions.CustomResource(
            f"{name}-auth-database",
            api_version=CNPG_API, kind="Database",
            metadata=meta(f"{args.cluster_name}-auth"),
            spec={"name": auth_db, "owner": args.role_name, "cluster": cluster_ref,
                  "ensure": "present"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster]),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-scheduled-backup",
            api_version=CNPG_API, kind="ScheduledBackup",
            metadata=meta(f"{args.cluster_name}-daily"),
            spec={"schedule": settings.backup_schedule, "cluster": cluster_ref,
                  "method": "barmanObjectStore", "immediate": True,
                  "backupOwnerReference": "self"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster]),
        )
        self.host = f"{args.cluster_name}-rw.{args.namespace_name}.svc"
        self.port = POSTGRES_PORT

        def uri(database: str) -> pulumi.Output[str]:
            return pulumi.Output.secret(password.result.apply(
                lambda value: postgres_uri(args.role_name, value, self.host, self.port,
                                           database)))

        self.backend_store_uri = uri(args.role_name)
        self.auth_database_uri = uri(auth_db)
        self.register_outputs({"host": self.host, "port": self.port})
