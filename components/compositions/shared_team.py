"""A shared-mode team environment (`cluster.mode: shared`): the team's own resources on a
platform stack's cluster and RDS instance (ADR 0004, ADR 0008).

What the team owns and this component creates: its AWS provider (its tags), buckets, the
namespaces and access on the shared cluster, its database and login role on the shared RDS
instance (made by a setup Job in the platform's setup namespace, see below) and its MLflow
server. What it reads from the platform: plain facts from the platform's validated stack
file (cluster name, Kubernetes version, VPC CIDR, setup namespace, master user name: they
shape resource definitions, so they must be known when the program runs) and deploy-time
outputs through a `StackReference` (kubeconfig as a secret, cluster ARN, database endpoint,
master secret ARN, database key ARN). A deployed platform whose cluster name or setup
namespace differs from its stack file fails the tenant's run: deploy the platform first.

The RDS master secret never reaches a team namespace: the team's setup Job runs in the
platform's setup namespace (which the platform creates, with restricted Pod Security), under
its own Pod Identity role allowed to read that one secret; the team's namespaces get only
the team user's password, inside MLflow's database URI.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.metadata_db import POSTGRES_PORT
from components.aws.mlflow_db import MlflowDatabase, MlflowDatabaseArgs
from components.aws.object_store import ObjectStore, ObjectStoreArgs
from components.aws.team_access import (
    POD_IDENTITY_AGENT,
    PodIdentityCluster,
    ServiceAccountGrant,
    TeamAccess,
    TeamAccessArgs,
)
from components.compositions.platform import PlatformReference
from components.k8s.mlflow import MlflowServer, MlflowServerArgs
from components.k8s.tenancy import EgressAllowance, TeamTenancy, TeamTenancyArgs, ownership_labels
from mlplat.config import (
    ARTIFACTS_PURPOSE,
    MLFLOW_SERVICE_ACCOUNT,
    BucketAccessLevel,
    BucketGrantConfig,
    Env,
    EnvironmentConfig,
)

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:compositions/shared_team:SharedTeamEnvironment"


@dataclass(frozen=True)
class SharedTeamEnvironmentArgs:
    """Inputs of a SharedTeamEnvironment."""

    config: EnvironmentConfig
    """The team's validated config (`cluster.mode: shared`)."""
    stack: str
    """Pulumi stack name; recorded in the `mlplat-stack` tag."""
    platform: EnvironmentConfig
    """The platform's validated config (mlplat.stackrefs.load_platform)."""


def service_account_grants(config: EnvironmentConfig) -> list[ServiceAccountGrant]:
    """The team's service accounts and their buckets, plus MLflow's own account
    (read-write under its prefix of the artifacts bucket, nothing else)."""
    assert config.tenancy is not None
    namespace_of = {ns.purpose: ns.name_in(config.name) for ns in config.tenancy.namespaces}
    grants = [ServiceAccountGrant(n, namespace_of[sa.namespace], sa.buckets)
              for n, sa in sorted(config.tenancy.service_accounts.items())]
    if config.mlflow is not None:
        grants.append(ServiceAccountGrant(
            MLFLOW_SERVICE_ACCOUNT, config.mlflow.namespace_in(config.name),
            {ARTIFACTS_PURPOSE: BucketGrantConfig(access=BucketAccessLevel.READ_WRITE,
                                                  prefixes=[config.mlflow.artifacts_prefix])},
        ))
    return grants


class SharedTeamEnvironment(pulumi.ComponentResource):
    """One team's buckets, namespaces, access, database and MLflow on a platform."""

    platform: PlatformReference
    k8s_provider: k8s.Provider
    object_store: ObjectStore | None
    tenancy: TeamTenancy | None
    team_access: TeamAccess | None
    mlflow_database: MlflowDatabase | None
    mlflow: MlflowServer | None

    def __init__(self, name: str, args: SharedTeamEnvironmentArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        config, platform = args.config, args.platform
        assert config.cluster.platform_stack is not None and platform.platform is not None
        tags = config.effective_tags(args.stack)
        aws_provider = aws.Provider(
            f"{name}-aws", region=config.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
            opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, providers=[aws_provider])
        self.platform = PlatformReference.read(
            f"{name}-platform", config.cluster.platform_stack, pulumi.ResourceOptions(parent=self))
        pulumi.Output.all(self.platform.cluster_name, self.platform.setup_namespace).apply(
            lambda v: _check_deployed(v[0], v[1], platform))
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.platform.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self))
        cluster = PodIdentityCluster(
            environment=config.name, cluster_name=platform.name,
            cluster_name_output=self.platform.cluster_name,
            cluster_arn=self.platform.cluster_arn)

        self.object_store = None
        if config.object_store is not None:
            self.object_store = ObjectStore(
                f"{name}-objects",
                ObjectStoreArgs(settings=config.object_store, environment=config.name,
                                ephemeral=config.ephemeral, tags=tags),
                child)
        self.tenancy, self.team_access = None, None
        self.mlflow_database, self.mlflow = None, None
        if config.tenancy is None:
            self.register_outputs({})
            return
        egress = [POD_IDENTITY_AGENT]
        if config.mlflow is not None:  # the team's database lives on the platform's RDS
            egress.append(EgressAllowance("metadata-db", platform.network.vpc_cidr,
                                          POSTGRES_PORT))
        group = config.tenancy.effective_group(config.name)
        self.tenancy = TeamTenancy(
            f"{name}-tenancy",
            TeamTenancyArgs(
                environment=config.name, team=config.team, env=config.env.value,
                stack=args.stack, namespaces=config.tenancy.namespaces, group=group,
                service_accounts={n: sa.namespace
                                  for n, sa in config.tenancy.service_accounts.items()},
                kubernetes_version=platform.cluster.kubernetes_version,
                monitoring_namespace=config.tenancy.monitoring_namespace,
                ingress_namespace=config.tenancy.ingress_namespace,
                extra_egress=tuple(egress),
            ),
            pulumi.ResourceOptions(parent=self, providers=[self.k8s_provider]))
        store = self.object_store
        assert config.tenancy.team_role_arn is not None  # config requires it on substrate aws
        self.team_access = TeamAccess(
            f"{name}-team-access",
            TeamAccessArgs(
                cluster=cluster, team_role_arn=config.tenancy.team_role_arn, group=group,
                service_accounts=service_account_grants(config),
                bucket_arns=store.bucket_arns if store is not None else None,
                store_key_arn=store.kms_key_arn if store is not None else None,
                tags=tags),
            child)
        if config.mlflow is not None:
            self._mlflow(name, args, cluster, tuple(egress), aws_provider)
        self.register_outputs({})

    def _mlflow(self, name: str, args: SharedTeamEnvironmentArgs, cluster: PodIdentityCluster,
                egress: tuple[EgressAllowance, ...], aws_provider: aws.Provider) -> None:
        """The team's database on the platform's RDS (setup Job in the platform's setup
        namespace, which the platform owns) and its MLflow server in a team namespace."""
        config, platform = args.config, args.platform
        settings, store, db = config.mlflow, self.object_store, platform.metadata_db
        assert settings is not None and store is not None and db is not None
        labels = ownership_labels(config.team, config.env.value, args.stack)
        self.mlflow_database = MlflowDatabase(
            f"{name}-mlflow-db",
            MlflowDatabaseArgs(
                settings=settings, cluster=cluster,
                role_name=settings.database_name(config.team, config.env.value),
                labels=labels, kubernetes_version=platform.cluster.kubernetes_version,
                db_address=self.platform.metadata_db_address,
                db_port=self.platform.metadata_db_port,
                master_username=db.master_username,
                master_secret_arn=self.platform.metadata_db_secret_arn,
                db_key_arn=self.platform.metadata_db_kms_key_arn,
                egress=egress, tags=config.effective_tags(args.stack),
                owns_namespace=False),
            pulumi.ResourceOptions(parent=self, providers=[aws_provider, self.k8s_provider]))
        destination = store.bucket_names.apply(
            lambda names: f"s3://{names[ARTIFACTS_PURPOSE]}/{settings.artifacts_prefix}"
            .rstrip("/"))
        self.mlflow = MlflowServer(
            f"{name}-mlflow",
            MlflowServerArgs(
                settings=settings, namespace=settings.namespace_in(config.name),
                labels=labels, replicas=settings.effective_replicas(config.env is Env.PROD),
                backend_store_uri=self.mlflow_database.backend_store_uri,
                auth_database_uri=self.mlflow_database.auth_database_uri,
                artifacts_destination=destination),
            pulumi.ResourceOptions(parent=self, providers=[self.k8s_provider],
                                   depends_on=[self.tenancy] if self.tenancy else None))


def _check_deployed(cluster_name: str, setup_namespace: str,
                    platform: EnvironmentConfig) -> None:
    """The deployed platform must be the one its stack file describes."""
    assert platform.platform is not None
    expected = (platform.name, platform.platform.setup_namespace)
    if (cluster_name, setup_namespace) != expected:
        raise pulumi.RunError(
            f"the deployed platform has cluster {cluster_name!r} and setup namespace "
            f"{setup_namespace!r}, its stack file says {expected[0]!r} and {expected[1]!r}: "
            "deploy the platform stack first")
