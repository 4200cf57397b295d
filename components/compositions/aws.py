"""TeamEnvironment on AWS: one team's complete environment, composed from the components in
components/aws/.

The stack program stays thin: it parses config and builds one TeamEnvironment. This
component owns the wiring (which outputs feed which component) and the AWS provider that
every AWS resource of the environment uses (region and default tags from config).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components._lib.log_group import account_context
from components._lib.naming import Tagger
from components.aws.alerts import alarm_topic
from components.aws.block_storage import BlockStorage, BlockStorageArgs
from components.aws.cluster import Cluster, ClusterArgs
from components.aws.cpu_pools import CpuNodePools, CpuNodePoolsArgs
from components.aws.gpu_pools import GpuNodePools, GpuNodePoolsArgs
from components.aws.karpenter import SYSTEM_NODE_SELECTOR
from components.aws.load_balancer_controller import (
    LoadBalancerController,
    LoadBalancerControllerArgs,
)

# monitoring (issue #12)
from components.aws.log_shipping import LogShipping, LogShippingArgs
from components.aws.metadata_db import POSTGRES_PORT, MetadataDb, MetadataDbArgs
from components.aws.mlflow_db import MlflowDatabase, MlflowDatabaseArgs
from components.aws.network import Network, NetworkArgs
from components.aws.object_store import ObjectStore, ObjectStoreArgs
from components.aws.shared_filesystem import SharedFilesystem, SharedFilesystemArgs
from components.aws.team_access import (
    POD_IDENTITY_AGENT,
    PodIdentityCluster,
    ServiceAccountGrant,
    TeamAccess,
    TeamAccessArgs,
)
from components.k8s.cert_manager import CertManager, CertManagerArgs
from components.k8s.kserve import KServe, KServeArgs
from components.k8s.kueue import GpuFlavor, Kueue, KueueArgs
from components.k8s.mlflow import MlflowServer, MlflowServerArgs
from components.k8s.monitoring import TEAM_NAMESPACE_LABEL, MonitoringStack, MonitoringStackArgs
from components.k8s.nvidia_device_plugin import GPU_TAINT
from components.k8s.pod_security import ClusterAdmissionPolicies, ClusterAdmissionPoliciesArgs
from components.k8s.team_queues import TeamQueues, TeamQueuesArgs
from components.k8s.team_serving import TeamServing, TeamServingArgs
from components.k8s.tenancy import (
    EgressAllowance,
    TeamTenancy,
    TeamTenancyArgs,
    ownership_labels,
)
from components.k8s.training_operator import JobSetOperator, JobSetOperatorArgs
from mlplat.config import (
    ARTIFACTS_PURPOSE,
    MLFLOW_SERVICE_ACCOUNT,
    BucketAccessLevel,
    BucketGrantConfig,
    Env,
    EnvironmentConfig,
    IngressController,
    TenancyConfig,
)


@dataclass(frozen=True)
class TeamEnvironmentArgs:
    """Inputs of a TeamEnvironment."""

    config: EnvironmentConfig
    """The validated environment config (see mlplat.config)."""
    stack: str
    """Pulumi stack name; recorded in the `mlplat-stack` tag."""
    alert_rule_groups: Sequence[Mapping[str, Any]] = field(default=())
    """Prometheus rule groups the monitoring stack loads (mlplat.observability.rules)."""


#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:compositions/aws:TeamEnvironment"


class TeamEnvironment(pulumi.ComponentResource):
    """Network, EKS cluster, the default StorageClass, GPU node pools, CPU node pools and
    (when configured) the shared file system, the object store, the
    metadata database, the team's tenancy (namespaces, access) and its MLflow server of one
    team environment."""

    network: Network
    cluster: Cluster
    admission_policies: ClusterAdmissionPolicies
    gpu_node_pools: GpuNodePools
    cpu_node_pools: CpuNodePools | None
    block_storage: BlockStorage
    shared_filesystem: SharedFilesystem | None
    object_store: ObjectStore | None
    metadata_db: MetadataDb | None
    tenancy: TeamTenancy | None
    team_access: TeamAccess | None
    mlflow_database: MlflowDatabase | None
    mlflow: MlflowServer | None
    monitoring: MonitoringStack | None
    # training and serving layers
    kueue: Kueue | None
    jobset: JobSetOperator | None
    team_queues: TeamQueues | None
    cert_manager: CertManager | None
    load_balancer_controller: LoadBalancerController | None
    kserve: KServe | None
    team_serving: TeamServing | None

    def __init__(
        self, name: str, args: TeamEnvironmentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        config = args.config
        tags = config.effective_tags(args.stack)
        cluster_name = config.name

        # One explicit provider: region and tags come from the stack file, never from the
        # ambient AWS profile, and default_tags backs up the explicit per-resource tags.
        aws_provider = aws.Provider(
            f"{name}-aws",
            region=config.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, providers=[aws_provider])

        self.network = Network(
            f"{name}-network",
            NetworkArgs(settings=config.network, cluster_name=cluster_name, tags=tags,
                        prod=config.env is Env.PROD),
            child,
        )
        self.cluster = Cluster(
            f"{name}-cluster",
            ClusterArgs(
                settings=config.cluster,
                cluster_name=cluster_name,
                vpc_id=self.network.vpc_id,
                vpc_cidr=config.network.vpc_cidr,
                private_subnet_ids=self.network.private_subnet_ids,
                private_endpoint_access_cidrs=tuple(
                    config.cluster.endpoint.private_access_cidrs),
                tags=tags,
                deletion_protection=config.deletion_protection,
                prod=config.env is Env.PROD,
            ),
            child,
        )
        # --- cluster-wide admission policies (pod host isolation, internal load balancers)
        self.admission_policies = ClusterAdmissionPolicies(
            f"{name}-admission",
            ClusterAdmissionPoliciesArgs(
                privileged_namespaces=tuple(config.cluster.privileged_namespaces),
                internet_facing_load_balancers=config.network.internet_facing_load_balancers,
            ),
            pulumi.ResourceOptions(parent=self, providers=[self.cluster.k8s_provider]),
        )
        # ---
        self.gpu_node_pools = GpuNodePools(
            f"{name}-gpu",
            GpuNodePoolsArgs(
                pools=config.gpu_pools,
                team=config.team,
                cluster_name=cluster_name,
                cluster_name_output=self.cluster.name,
                cluster_endpoint=self.cluster.endpoint,
                k8s_provider=self.cluster.k8s_provider,
                kms_key_arn=self.cluster.kms_key_arn,
                tags=tags,
                node_session_manager=config.cluster.node_session_manager,
            ),
            child,
        )
        self.cpu_node_pools = None
        if config.cpu_pools:
            self.cpu_node_pools = CpuNodePools(
                f"{name}-cpu",
                CpuNodePoolsArgs(
                    pools=config.cpu_pools,
                    team=config.team,
                    gpu_pools_target=self.gpu_node_pools.node_pool_target,
                ),
                child,
            )
        # One reclaim policy for both StorageClasses (EBS and, if present, EFS).
        reclaim_policy = config.block_storage.effective_reclaim_policy(config.deletion_protection)
        self.block_storage = BlockStorage(
            f"{name}-block-storage",
            BlockStorageArgs(
                environment=cluster_name,
                ebs_csi_role_name=self.cluster.ebs_csi_role_name,
                k8s_provider=self.cluster.k8s_provider,
                reclaim_policy=reclaim_policy,
                tags=tags,
            ),
            child,
        )
        self.shared_filesystem = None
        if config.shared_filesystem is not None:
            self.shared_filesystem = SharedFilesystem(
                f"{name}-shared-fs",
                SharedFilesystemArgs(
                    settings=config.shared_filesystem,
                    environment=cluster_name,
                    cluster_name=cluster_name,
                    cluster_name_output=self.cluster.name,
                    kubernetes_version=config.cluster.kubernetes_version,
                    vpc_id=self.network.vpc_id,
                    private_subnet_ids=self.network.private_subnet_ids,
                    subnet_count=config.network.availability_zones,
                    node_security_group_id=self.cluster.node_security_group_id,
                    k8s_provider=self.cluster.k8s_provider,
                    backup=config.shared_filesystem.effective_backup(config.deletion_protection),
                    reclaim_policy=reclaim_policy,
                    tags=tags,
                ),
                child,
            )
        self.object_store = None
        if config.object_store is not None:
            self.object_store = ObjectStore(
                f"{name}-objects",
                ObjectStoreArgs(
                    settings=config.object_store,
                    environment=cluster_name,
                    ephemeral=config.ephemeral,
                    tags=tags,
                ),
                child,
            )
        self.metadata_db = None
        if config.metadata_db is not None:
            topic = alarm_topic(
                opts=child,
                prefix=name,
                tag=Tagger(tags, name),
                where=account_context(
                    pulumi.InvokeOutputOptions(parent=self, provider=aws_provider)
                ),
                environment=cluster_name,
            )
            prod = config.env is Env.PROD
            self.metadata_db = MetadataDb(
                f"{name}-metadata",
                MetadataDbArgs(
                    settings=config.metadata_db,
                    environment=cluster_name,
                    vpc_id=self.network.vpc_id,
                    private_subnet_ids=self.network.private_subnet_ids,
                    client_security_group_id=self.cluster.node_security_group_id,
                    alarm_topic_arn=topic.arn,
                    multi_az=config.metadata_db.effective_multi_az(prod),
                    backup_retention_days=config.metadata_db.effective_backup_retention_days(
                        prod
                    ),
                    deletion_protection=config.deletion_protection,
                    ephemeral=config.ephemeral,
                    tags=tags,
                ),
                child,
            )
        self.tenancy, self.team_access = None, None
        self.mlflow_database, self.mlflow = None, None
        if config.tenancy is not None:
            egress = self._tenancy(name, args, config.tenancy, child)
            if config.mlflow is not None:
                self._mlflow(name, args, egress, aws_provider)
        # ------------------------------------------------------------ monitoring (issue #12)
        self.monitoring = None
        if config.monitoring is not None:
            self._monitoring(name, args, child)
        # ------------------------------------------------------------ end monitoring
        self._training_and_serving(name, args, aws_provider)
        self.register_outputs({
            "vpc_id": self.network.vpc_id,
            "cluster_name": self.cluster.name,
            "cluster_endpoint": self.cluster.endpoint,
            "gpu_node_pools": self.gpu_node_pools.node_pool_names,
            "cpu_node_pools": self.cpu_node_pools.node_pool_names if self.cpu_node_pools
            else [],
            "storage_class": self.block_storage.storage_class_name,
        })

    def _tenancy(
        self,
        name: str,
        args: TeamEnvironmentArgs,
        tenancy: TenancyConfig,
        aws_opts: pulumi.ResourceOptions,
    ) -> tuple[EgressAllowance, ...]:
        """The team's namespaces in the cluster and its access on AWS. Returns what team
        pods may reach on this substrate besides DNS, their namespace and HTTPS."""
        config = args.config
        group = tenancy.effective_group(config.name)
        namespace_of = {ns.purpose: ns.name_in(config.name) for ns in tenancy.namespaces}
        egress = [POD_IDENTITY_AGENT]
        if config.metadata_db is not None:
            egress.append(EgressAllowance("metadata-db", config.network.vpc_cidr, POSTGRES_PORT))
        grants = [
            ServiceAccountGrant(n, namespace_of[sa.namespace], sa.buckets)
            for n, sa in sorted(tenancy.service_accounts.items())
        ]
        if config.mlflow is not None:
            # The server's own Pod Identity role: read-write under its prefix of the
            # artifacts bucket, nothing else.
            grants.append(ServiceAccountGrant(
                MLFLOW_SERVICE_ACCOUNT, config.mlflow.namespace_in(config.name),
                {ARTIFACTS_PURPOSE: BucketGrantConfig(
                    access=BucketAccessLevel.READ_WRITE,
                    prefixes=[config.mlflow.artifacts_prefix])},
            ))
        self.tenancy = TeamTenancy(
            f"{name}-tenancy",
            TeamTenancyArgs(
                environment=config.name,
                team=config.team,
                env=config.env.value,
                stack=args.stack,
                namespaces=tenancy.namespaces,
                group=group,
                service_accounts={n: sa.namespace for n, sa in tenancy.service_accounts.items()},
                kubernetes_version=config.cluster.kubernetes_version,
                monitoring_namespace=tenancy.monitoring_namespace,
                ingress_namespace=tenancy.ingress_namespace,
                extra_egress=tuple(egress),
            ),
            pulumi.ResourceOptions(parent=self, providers=[self.cluster.k8s_provider]),
        )
        store = self.object_store
        assert tenancy.team_role_arn is not None  # config requires it on substrate aws
        self.team_access = TeamAccess(
            f"{name}-team-access",
            TeamAccessArgs(
                cluster=self._pod_identity_cluster(config),
                team_role_arn=tenancy.team_role_arn,
                group=group,
                service_accounts=grants,
                bucket_arns=store.bucket_arns if store is not None else None,
                store_key_arn=store.kms_key_arn if store is not None else None,
                tags=config.effective_tags(args.stack),
            ),
            aws_opts,
        )
        return tuple(egress)

    def _pod_identity_cluster(self, config: EnvironmentConfig) -> PodIdentityCluster:
        return PodIdentityCluster(
            environment=config.name,
            cluster_name=config.name,
            cluster_name_output=self.cluster.name,
            cluster_arn=self.cluster.arn,
        )

    def _mlflow(
        self,
        name: str,
        args: TeamEnvironmentArgs,
        egress: tuple[EgressAllowance, ...],
        aws_provider: aws.Provider,
    ) -> None:
        """The team's database and user (made by a platform Job) and its MLflow server.
        Config guarantees the database, the artifacts bucket and the namespace exist."""
        config = args.config
        settings, db, store = config.mlflow, self.metadata_db, self.object_store
        assert settings is not None and db is not None and store is not None
        k8s_provider = self.cluster.k8s_provider
        labels = ownership_labels(config.team, config.env.value, args.stack)
        self.mlflow_database = MlflowDatabase(
            f"{name}-mlflow-db",
            MlflowDatabaseArgs(
                settings=settings,
                cluster=self._pod_identity_cluster(config),
                role_name=settings.database_name(config.team, config.env.value),
                labels=labels,
                kubernetes_version=config.cluster.kubernetes_version,
                db_address=db.address,
                db_port=db.port,
                master_username=db.master_username,
                master_secret_arn=db.master_user_secret_arn,
                db_key_arn=db.kms_key_arn,
                egress=egress,
                tags=config.effective_tags(args.stack),
            ),
            pulumi.ResourceOptions(parent=self, providers=[aws_provider, k8s_provider]),
        )
        destination = store.bucket_names.apply(
            lambda names: f"s3://{names[ARTIFACTS_PURPOSE]}/{settings.artifacts_prefix}"
            .rstrip("/")
        )
        self.mlflow = MlflowServer(
            f"{name}-mlflow",
            MlflowServerArgs(
                settings=settings,
                namespace=settings.namespace_in(config.name),
                labels=labels,
                replicas=settings.effective_replicas(config.env is Env.PROD),
                backend_store_uri=self.mlflow_database.backend_store_uri,
                auth_database_uri=self.mlflow_database.auth_database_uri,
                artifacts_destination=destination,
            ),
            # The namespace comes from the tenancy component, by name.
            pulumi.ResourceOptions(parent=self, providers=[k8s_provider],
                                   depends_on=[self.tenancy] if self.tenancy else None),
        )

    # ---------------------------------------------------------------- monitoring (issue #12)
    def _monitoring(self, name: str, args: TeamEnvironmentArgs,
                    aws_opts: pulumi.ResourceOptions) -> None:
        """The cluster's monitoring stack; container logs to an encrypted CloudWatch log
        group through Fluent Bit's Pod Identity role."""
        config = args.config
        settings = config.monitoring
        assert settings is not None
        destination = None
        if settings.log_shipping.enabled:
            destination = LogShipping(
                f"{name}-log-shipping",
                LogShippingArgs(cluster=self._pod_identity_cluster(config),
                                namespace=settings.namespace_name,
                                retention_days=settings.log_shipping.retention_days,
                                tags=config.effective_tags(args.stack)),
                aws_opts,
            ).destination
        self.monitoring = MonitoringStack(
            f"{name}-monitoring",
            MonitoringStackArgs(
                settings=settings,
                environment=config.name,
                storage_class=self.block_storage.storage_class_name,
                kubernetes_version=config.cluster.kubernetes_version,
                # Cluster-wide, not the team's: everything but the team label.
                labels={k: v for k, v in
                        ownership_labels(config.team, config.env.value, args.stack).items()
                        if k != TEAM_NAMESPACE_LABEL},
                rule_groups=args.alert_rule_groups,
                cloudwatch=destination,
                managed_control_plane=True,
                depends_on=[self.block_storage],
            ),
            pulumi.ResourceOptions(parent=self, providers=[self.cluster.k8s_provider]),
        )
    # --- training and serving layers -----------------------------------------------------

    def _training_and_serving(
        self, name: str, args: TeamEnvironmentArgs, aws_provider: aws.Provider
    ) -> None:
        """Kueue, JobSet and the team's queues; cert-manager, the load balancer controller,
        KServe and the team's serving namespaces. On a dedicated cluster the environment
        installs the cluster-wide parts itself. Without tenancy there are no team namespaces:
        no LocalQueues and no serving namespaces."""
        config = args.config
        k8s_only = pulumi.ResourceOptions(parent=self, providers=[self.cluster.k8s_provider],
                                          depends_on=[self.tenancy] if self.tenancy else None)
        labels = ownership_labels(config.team, config.env.value, args.stack)
        namespaces = ([ns.name_in(config.name) for ns in config.tenancy.namespaces]
                      if config.tenancy else [])
        selector = dict(SYSTEM_NODE_SELECTOR)
        self.kueue, self.team_queues, self.jobset = None, None, None
        if config.training is not None:
            training = config.training
            self.kueue = Kueue(f"{name}-kueue", KueueArgs(
                flavors=[GpuFlavor(pool.name, {"mlplat.io/pool": pool.name}, [GPU_TAINT])
                         for pool in config.gpu_pools],
                require_queue=training.require_queue, node_selector=selector), k8s_only)
            self.jobset = JobSetOperator(f"{name}-jobset",
                                         JobSetOperatorArgs(node_selector=selector), k8s_only)
            self.team_queues = TeamQueues(f"{name}-queues", TeamQueuesArgs(
                cluster_queue=config.name, cohort=training.cohort, quotas=training.quotas,
                local_queue=training.local_queue, namespaces=namespaces, labels=labels),
                pulumi.ResourceOptions.merge(k8s_only, pulumi.ResourceOptions(
                    depends_on=[self.kueue])))
        self.cert_manager, self.load_balancer_controller = None, None
        self.kserve, self.team_serving = None, None
        if config.serving is not None:
            serving, ingress = config.serving, config.serving.ingress
            self.cert_manager = CertManager(f"{name}-cert-manager",
                                            CertManagerArgs(node_selector=selector), k8s_only)
            first: list[pulumi.Resource] = [self.cert_manager]
            sources: list[str] = []
            if ingress.controller is IngressController.AWS_LOAD_BALANCER:
                self.load_balancer_controller = LoadBalancerController(
                    f"{name}-lb-controller",
                    LoadBalancerControllerArgs(
                        cluster=self._pod_identity_cluster(config),
                        vpc_id=self.network.vpc_id, scheme=ingress.scheme,
                        ingress_class=ingress.class_name, inbound_cidrs=ingress.inbound_cidrs,
                        group=config.name, tags=config.effective_tags(args.stack),
                        node_selector=selector),
                    pulumi.ResourceOptions(parent=self, providers=[
                        aws_provider, self.cluster.k8s_provider]))
                first.append(self.load_balancer_controller)
                # IP targets: the load balancer's nodes in the VPC reach the pods directly.
                sources = [config.network.vpc_cidr]
            self.kserve = KServe(f"{name}-kserve", KServeArgs(
                runtimes=serving.runtimes, ingress_class=ingress.class_name,
                domain=ingress.domain, autoscaling=serving.autoscaling,
                node_selector=selector, depends_on=first), k8s_only)
            if config.tenancy is None:
                return
            self.team_serving = TeamServing(f"{name}-serving", TeamServingArgs(
                namespaces=serving.namespace_names(config.tenancy, config.name),
                max_unavailable=serving.max_unavailable, load_balancer_sources=sources,
                labels=labels, environment=config.name,
                max_replicas=serving.autoscaling.max_replicas), k8s_only)
