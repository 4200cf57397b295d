"""OnpremTeamEnvironment: one team's environment on an existing Kubernetes cluster (built
by kubespray or k3s, docs/onprem-handoff.md), composed from components/onprem/ and the
provider-neutral components/k8s/.

What replaces the AWS pieces:
* the cluster is given: one Kubernetes provider from the configured kubeconfig (a path, or
  the contents as a Pulumi secret); no cloud provider exists in this composition at all;
* EKS access entries: the team's group (`tenancy.group`) is whatever the cluster's
  authentication (OIDC, client certificates) asserts, and the same namespaced RoleBindings
  bind it;
* Pod Identity: static object-store keys per workload in Secrets of its namespace;
* S3 and RDS: MinIO and CloudNativePG in a platform data namespace (restricted Pod
  Security, default-deny policies, ingress only from the team's namespaces on the two
  service ports, from the operator and from monitoring), or external endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.aws.mlflow_db import AUTH_DATABASE_SUFFIX, postgres_uri
from components.aws.team_access import ServiceAccountGrant
from components.k8s.cert_manager import CertManager, CertManagerArgs
from components.k8s.kserve import KServe, KServeArgs
from components.k8s.mlflow import MlflowServer, MlflowServerArgs, StaticS3Access
from components.k8s.team_serving import TeamServing, TeamServingArgs
from components.k8s.tenancy import (
    EgressAllowance,
    TeamTenancy,
    TeamTenancyArgs,
    fence_policy_specs,
    ownership_labels,
    pod_security_labels,
)
from components.onprem.certificates import certificate
from components.onprem.cloudnativepg import BackupTarget, PostgresCluster, PostgresClusterArgs
from components.onprem.minio import MinioObjectStore, MinioObjectStoreArgs
from mlplat.config import (
    ARTIFACTS_PURPOSE,
    MLFLOW_SERVICE_ACCOUNT,
    BucketAccessLevel,
    BucketGrantConfig,
    Env,
    EnvironmentConfig,
    PodSecurityLevel,
)
from mlplat.config.onprem import MINIO_API_PORT, POSTGRES_PORT

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:compositions/onprem:OnpremTeamEnvironment"

#: Bucket purpose and MinIO grant of the database's backups.
BACKUPS_PURPOSE = "backups"
BACKUPS_GRANT = "metadata-backups"
HTTPS_PORT = 443
#: Ports of CloudNativePG's instance manager the operator calls.
CNPG_STATUS_PORT = 8000


@dataclass(frozen=True)
class OnpremTeamEnvironmentArgs:
    """Inputs of an OnpremTeamEnvironment."""

    config: EnvironmentConfig
    """The validated environment config with `substrate: onprem`."""
    stack: str
    """Pulumi stack name; recorded in the `mlplat.io/stack` label."""


def data_namespace_policies(
    team_namespaces: list[str], operator_namespace: str, monitoring_namespace: str,
    egress: list[EgressAllowance],
) -> dict[str, dict[str, Any]]:
    """NetworkPolicies of the data namespace: the common fences plus traffic within it, the
    team's namespaces to the two service ports, the operator and monitoring in."""
    every_pod: dict[str, Any] = {}
    team = {"namespaceSelector": {"matchExpressions": [{
        "key": "kubernetes.io/metadata.name", "operator": "In",
        "values": sorted(team_namespaces)}]}}
    return {
        **fence_policy_specs(egress),
        "allow-same-namespace": {
            "podSelector": every_pod, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": every_pod}]}],
            "egress": [{"to": [{"podSelector": every_pod}]}],
        },
        "allow-from-team": {
            "podSelector": every_pod, "policyTypes": ["Ingress"],
            "ingress": [{"from": [team], "ports": [
                {"protocol": "TCP", "port": MINIO_API_PORT},
                {"protocol": "TCP", "port": POSTGRES_PORT}]}],
        },
        "allow-from-operator": {
            "podSelector": every_pod, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": operator_namespace}}}],
                "ports": [{"protocol": "TCP", "port": CNPG_STATUS_PORT},
                          {"protocol": "TCP", "port": POSTGRES_PORT}]}],
        },
        "allow-from-monitoring": {
            "podSelector": every_pod, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": monitoring_namespace}}}]}],
        },
    }


class OnpremTeamEnvironment(pulumi.ComponentResource):
    """The team's namespaces, object store, metadata database and MLflow server on an
    existing on-prem cluster."""

    k8s_provider: k8s.Provider
    data_namespace: str
    object_store: MinioObjectStore | None
    metadata_db: PostgresCluster | None
    tenancy: TeamTenancy | None
    mlflow: MlflowServer | None
    bucket_names: dict[str, str]
    """Purpose -> bucket name (MinIO or the external endpoint's)."""

    def __init__(
        self, name: str, args: OnpremTeamEnvironmentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        config = args.config
        onprem = config.onprem
        assert onprem is not None  # config requires it on substrate onprem
        self._config, self._onprem, self._stack = config, onprem, args.stack
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=(onprem.kubeconfig_path if onprem.kubeconfig is None
                        else pulumi.Output.secret(onprem.kubeconfig.get_secret_value())),
            context=onprem.context,
            # The cluster is the same whatever path or credentials reach it: changing them
            # must not replace every object.
            cluster_identifier=config.name,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._child = pulumi.ResourceOptions(parent=self, providers=[self.k8s_provider])
        self._labels = ownership_labels(config.team, config.env.value, args.stack)
        self.data_namespace = onprem.data_namespace_in(config.name)
        tenancy = config.tenancy
        self._team_namespaces = {ns.purpose: ns.name_in(config.name)
                                 for ns in (tenancy.namespaces if tenancy else [])}
        self.object_store, self.metadata_db = None, None
        self.tenancy, self.mlflow = None, None
        self.bucket_names = {}
        self._credentials: dict[str, str] = {}
        self._ca_secret: str | None = None

        uses_data_namespace = bool(
            (onprem.object_store and onprem.object_store.minio)
            or (onprem.metadata_db and onprem.metadata_db.cloudnativepg))
        namespace: pulumi.Input[str] = self.data_namespace
        if uses_data_namespace:
            namespace = self._data_namespace(name)
        self._object_store(name, namespace)
        self._database(name, namespace)
        if tenancy is not None:
            self._tenancy(name)
            if config.mlflow is not None:
                self._mlflow(name)
        # --- serving layer (components/k8s/kserve.py): an existing ingress controller.
        if config.serving is not None:
            self._serving(name)
        self.register_outputs({"data_namespace": self.data_namespace,
                               "bucket_names": self.bucket_names})

    # ------------------------------------------------------------------ pieces

    def _data_namespace(self, name: str) -> pulumi.Output[str]:
        config, onprem = self._config, self._onprem
        namespace = k8s.core.v1.Namespace(
            f"{name}-data-namespace",
            # A platform namespace, not a team's (no `mlplat.io/team`: the team's quota and
            # RBAC do not apply; its members get no access here).
            metadata={"name": self.data_namespace, "labels": {
                "app.kubernetes.io/managed-by": "mlplat", "mlplat.io/stack": self._stack,
                **pod_security_labels(PodSecurityLevel.RESTRICTED, onprem.kubernetes_version)}},
            opts=self._child,
        )
        egress = [EgressAllowance("api-server", onprem.api_server_cidr, onprem.api_server_port)]
        egress += self._external_egress()
        database = onprem.metadata_db
        operator = (database.cloudnativepg.operator_namespace
                    if database and database.cloudnativepg else "cnpg-system")
        monitoring = config.tenancy.monitoring_namespace if config.tenancy else "monitoring"
        policies = data_namespace_policies(list(self._team_namespaces.values()), operator,
                                           monitoring, egress)
        for policy_name, spec in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-data-{policy_name}",
                metadata={"name": policy_name, "namespace": namespace.metadata.name,
                          "labels": self._labels},
                spec=spec, opts=self._child,
            )
        return cast(pulumi.Output[str], namespace.metadata.name)

    def _external_egress(self) -> list[EgressAllowance]:
        """Egress to external data services on private networks."""
        onprem, egress = self._onprem, []
        external_store = onprem.object_store.external if onprem.object_store else None
        if external_store is not None and external_store.cidr is not None:
            egress.append(EgressAllowance("object-store", external_store.cidr, HTTPS_PORT))
        external_db = onprem.metadata_db.external if onprem.metadata_db else None
        if external_db is not None:
            egress.append(EgressAllowance("metadata-db", external_db.cidr, external_db.port))
        return egress

    def _grants(self) -> list[ServiceAccountGrant]:
        """Who needs object-store credentials: team service accounts with buckets, the
        MLflow server, the database's backups."""
        config, onprem = self._config, self._onprem
        grants = []
        if config.tenancy is not None:
            grants += [ServiceAccountGrant(n, self._team_namespaces[sa.namespace], sa.buckets)
                       for n, sa in sorted(config.tenancy.service_accounts.items())
                       if sa.buckets]
        if config.mlflow is not None:
            grants.append(ServiceAccountGrant(
                MLFLOW_SERVICE_ACCOUNT, config.mlflow.namespace_in(config.name),
                {ARTIFACTS_PURPOSE: BucketGrantConfig(
                    access=BucketAccessLevel.READ_WRITE,
                    prefixes=[config.mlflow.artifacts_prefix])}))
        if onprem.metadata_db is not None and onprem.metadata_db.cloudnativepg is not None:
            grants.append(ServiceAccountGrant(
                BACKUPS_GRANT, self.data_namespace,
                {BACKUPS_PURPOSE: BucketGrantConfig(access=BucketAccessLevel.READ_WRITE)}))
        return grants

    def _object_store(self, name: str, namespace: pulumi.Input[str]) -> None:
        config, onprem = self._config, self._onprem
        if config.object_store is None or onprem.object_store is None:
            return
        purposes = sorted(config.object_store.buckets)
        if onprem.metadata_db is not None and onprem.metadata_db.cloudnativepg is not None:
            purposes.append(BACKUPS_PURPOSE)
        minio, external = onprem.object_store.minio, onprem.object_store.external
        if minio is not None:
            self.object_store = MinioObjectStore(
                f"{name}-minio",
                MinioObjectStoreArgs(
                    settings=minio, tls=onprem.tls, environment=config.name,
                    namespace=namespace, namespace_name=self.data_namespace,
                    purposes=purposes, grants=self._grants(), labels=self._labels,
                ),
                self._child,
            )
            self.bucket_names = dict(self.object_store.bucket_names)
            self._credentials = dict(self.object_store.credentials_secrets)
            self._endpoint, self._region = self.object_store.endpoint_url, "us-east-1"
            self._ca_secret = self.object_store.tls_secret
            return
        assert external is not None  # config: exactly one of minio and external
        self.bucket_names = dict(external.bucket_names)
        self._endpoint, self._region = external.endpoint, external.region
        # One key pair for the whole environment (an external store's own IAM decides what
        # it may do), copied into each namespace that needs it.
        for grant in self._grants():
            secret_name = f"{grant.name}-s3"
            k8s.core.v1.Secret(
                f"{name}-{grant.name}-s3",
                metadata={"name": secret_name, "namespace": grant.namespace,
                          "labels": self._labels},
                type="Opaque",
                string_data={
                    "AWS_ACCESS_KEY_ID": pulumi.Output.secret(
                        external.access_key_id.get_secret_value()),
                    "AWS_SECRET_ACCESS_KEY": pulumi.Output.secret(
                        external.secret_access_key.get_secret_value()),
                },
                opts=self._child,
            )
            self._credentials[grant.name] = secret_name

    def _database(self, name: str, namespace: pulumi.Input[str]) -> None:
        config, onprem = self._config, self._onprem
        database = onprem.metadata_db
        if database is None:
            return
        role = config.mlflow.database_name(config.team, config.env.value) if config.mlflow \
            else f"{config.team}_{config.env.value}".replace("-", "_")
        if database.cloudnativepg is not None:
            prod = config.env is Env.PROD
            cnpg = database.cloudnativepg
            self.metadata_db = PostgresCluster(
                f"{name}-postgres",
                PostgresClusterArgs(
                    settings=cnpg, tls=onprem.tls, cluster_name=f"{config.name}-metadata",
                    namespace=namespace, namespace_name=self.data_namespace, role_name=role,
                    instances=cnpg.effective_instances(prod),
                    retention_days=cnpg.effective_retention_days(prod),
                    backup=BackupTarget(
                        destination_path=f"s3://{self.bucket_names[BACKUPS_PURPOSE]}/"
                                         f"{config.name}-metadata",
                        endpoint_url=self._endpoint,
                        credentials_secret=self._credentials[BACKUPS_GRANT],
                        ca_secret=self._ca_secret,
                    ),
                    labels=self._labels,
                    credentials_version=config.mlflow.credentials_version if config.mlflow
                    else 1,
                ),
                self._child,
            )
            self._backend = self.metadata_db.backend_store_uri
            self._auth = self.metadata_db.auth_database_uri
            self._db_egress = EgressAllowance("metadata-db", None, POSTGRES_PORT,
                                              namespace=self.data_namespace)
            return
        external = database.external
        assert external is not None  # config: exactly one of cloudnativepg and external
        password = external.password.get_secret_value()
        self._backend = pulumi.Output.secret(postgres_uri(
            external.username, password, external.host, external.port, role))
        self._auth = pulumi.Output.secret(postgres_uri(
            external.username, password, external.host, external.port,
            f"{role}{AUTH_DATABASE_SUFFIX}"))
        self._db_egress = EgressAllowance("metadata-db", external.cidr, external.port)

    def _tenancy(self, name: str) -> None:
        config, onprem = self._config, self._onprem
        tenancy = config.tenancy
        assert tenancy is not None
        egress = [e for e in self._external_egress() if e.name == "object-store"]
        store = onprem.object_store
        if store is not None and store.minio is not None:
            egress.append(EgressAllowance("object-store", None, MINIO_API_PORT,
                                          namespace=self.data_namespace))
        if onprem.metadata_db is not None:
            egress.append(self._db_egress)
        self.tenancy = TeamTenancy(
            f"{name}-tenancy",
            TeamTenancyArgs(
                environment=config.name, team=config.team, env=config.env.value,
                stack=self._stack, namespaces=tenancy.namespaces,
                group=tenancy.effective_group(config.name),
                service_accounts={n: sa.namespace for n, sa in tenancy.service_accounts.items()},
                kubernetes_version=onprem.kubernetes_version,
                monitoring_namespace=tenancy.monitoring_namespace,
                ingress_namespace=tenancy.ingress_namespace,
                extra_egress=tuple(egress),
            ),
            self._child,
        )

    def _mlflow(self, name: str) -> None:
        config = self._config
        settings = config.mlflow
        assert settings is not None and self.bucket_names
        destination = (f"s3://{self.bucket_names[ARTIFACTS_PURPOSE]}/"
                       f"{settings.artifacts_prefix}").rstrip("/")
        self.mlflow = MlflowServer(
            f"{name}-mlflow",
            MlflowServerArgs(
                settings=settings,
                namespace=settings.namespace_in(config.name),
                labels=self._labels,
                replicas=settings.effective_replicas(config.env is Env.PROD),
                backend_store_uri=self._backend,
                auth_database_uri=self._auth,
                artifacts_destination=destination,
                static_s3=StaticS3Access(
                    endpoint_url=self._endpoint,
                    credentials_secret=self._credentials[MLFLOW_SERVICE_ACCOUNT],
                    region=self._region,
                    ca_secret=self._mlflow_ca(name),
                ),
            ),
            pulumi.ResourceOptions(parent=self, providers=[self.k8s_provider],
                                   depends_on=[self.tenancy] if self.tenancy else None),
        )

    def _mlflow_ca(self, name: str) -> str | None:
        """MinIO's issuer CA in MLflow's namespace: a client certificate from the same
        issuer, whose Secret carries the issuer's `ca.crt` (cert-manager copies it there)."""
        if self._ca_secret is None:
            return None
        config, onprem = self._config, self._onprem
        assert config.mlflow is not None
        secret = "mlflow-s3-ca"
        certificate(
            f"{name}-mlflow-ca", secret_name=secret,
            namespace=config.mlflow.namespace_in(config.name), labels=self._labels,
            tls=onprem.tls, usages=["client auth"], common_name=f"mlflow.{config.name}",
            opts=pulumi.ResourceOptions(parent=self, provider=self.k8s_provider,
                                        depends_on=[self.tenancy] if self.tenancy else None),
        )
        return secret

    # ------------------------------------------------------------------ serving layer

    def _serving(self, name: str) -> None:
        """cert-manager, KServe (RawDeployment) with the runtimes, and the team's serving
        namespaces. Traffic enters through the cluster's existing ingress controller (config
        requires `ingress.controller: existing` here), whose namespace tenancy admits."""
        config = self._config
        serving = config.serving
        assert serving is not None
        cert_manager = CertManager(f"{name}-cert-manager", CertManagerArgs(), self._child)
        KServe(f"{name}-kserve", KServeArgs(
            runtimes=serving.runtimes, ingress_class=serving.ingress.class_name,
            domain=serving.ingress.domain, autoscaling=serving.autoscaling,
            depends_on=[cert_manager]), self._child)
        if config.tenancy is None:
            return
        TeamServing(f"{name}-serving", TeamServingArgs(
            namespaces=serving.namespace_names(config.tenancy, config.name),
            max_unavailable=serving.max_unavailable, load_balancer_sources=(),
            labels=self._labels, environment=config.name,
            max_replicas=serving.autoscaling.max_replicas),
            pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
                depends_on=[self.tenancy] if self.tenancy else None)))


def exports(environment: OnpremTeamEnvironment) -> Mapping[str, Any]:
    """What the stack exports on-prem (never a credential)."""
    out: dict[str, Any] = {"data_namespace": environment.data_namespace,
                           "buckets": environment.bucket_names}
    if environment.tenancy is not None:
        out["team_namespaces"] = environment.tenancy.namespaces
    if environment.metadata_db is not None:
        out["metadata_db_host"] = environment.metadata_db.host
    if environment.mlflow is not None:
        out["mlflow_service"] = environment.mlflow.service_name
    return out
