"""The EKS cluster: control plane, access entries, managed add-ons, a system node group and a
Kubernetes provider, all from raw pulumi_aws / pulumi_kubernetes resources.

This module holds the component and the control plane; its other children are built by
functions in security_groups.py, addons.py, system_nodes.py and cluster_iam.py (all parented
to this component), and kubeconfig.py renders the kubeconfig.

Security defaults (opt-outs are typed config fields; see docs/components/cluster.md):
- API endpoint private; public only with `endpoint.publicAccess` and a CIDR allow-list.
- Kubernetes secrets envelope-encrypted with a customer KMS key that rotates.
- All five control-plane log types, into a pre-created, KMS-encrypted log group.
- Authentication mode API (access entries only, no aws-auth ConfigMap); the identity that
  creates the cluster gets no implicit admin.
- Nodes: IMDSv2 only with hop limit 1 (pods cannot reach the node's credentials), encrypted
  gp3 root volumes, a node role without the CNI policy (the VPC CNI gets its own role
  through EKS Pod Identity).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components._lib.kms import rotating_key
from components._lib.log_group import AccountContext, encrypted_log_group
from components._lib.naming import Tagger, iam_name_prefix
from components._lib.policies import secrets_key_policy, service_trust
from components.aws.addons import early_addons, late_addons
from components.aws.cluster_iam import ClusterScope, attach_managed_policy
from components.aws.kubeconfig import build_kubeconfig
from components.aws.security_groups import cluster_security_groups
from components.aws.system_nodes import system_node_group
from mlplat.config import ClusterConfig

#: Every control-plane log type EKS offers; all are enabled.
CONTROL_PLANE_LOG_TYPES: tuple[str, ...] = (
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
)

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of the Cluster component."""

    settings: ClusterConfig
    """Cluster settings from the stack config (`mlplat:cluster`)."""
    cluster_name: str
    """EKS cluster name (also the name of its log group and of the discovery tags)."""
    vpc_id: pulumi.Input[str]
    """VPC the cluster's security groups live in."""
    vpc_cidr: str
    """CIDR of that VPC (documented for rules that may need it; no rule opens it today)."""
    private_subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets for the control-plane ENIs and the system nodes."""
    tags: Mapping[str, str]
    """Tags set explicitly on every taggable child."""
    deletion_protection: bool
    """EKS deletion protection (on in prod by default through the environment config)."""
    prod: bool = False
    """The environment is prod: per-tier defaults (log retention) follow it."""
    private_endpoint_access_cidrs: Sequence[str] = ()
    """Networks outside the VPC (VPN, CI runners in a peered VPC) allowed to reach the
    private API endpoint on 443. Empty: only nodes and pods can. Validated by config
    (`mlplat:cluster.endpoint.privateAccessCidrs`)."""


#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:aws/cluster:Cluster"


class Cluster(pulumi.ComponentResource):
    """An EKS cluster with secure defaults, its add-ons and a system node group."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority_data: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    ebs_csi_role_name: pulumi.Output[str]
    """Role of the EBS CSI driver (Pod Identity); BlockStorage lets it use the volume key."""
    kubeconfig: pulumi.Output[str]
    k8s_provider: k8s.Provider

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        settings = args.settings
        # Config guarantees the version has a row (mlplat:cluster.kubernetesVersion).
        pins = versions.ADDON_VERSIONS[settings.kubernetes_version]
        super().__init__(TOKEN, name, None, opts)
        tag = Tagger(args.tags, name)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        scope = ClusterScope(
            parent=self, prefix=name, cluster_name=args.cluster_name, tag=tag, partition=partition
        )

        # ---------------------------------------------------------------- control plane IAM
        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            name_prefix=iam_name_prefix(args.cluster_name, "cluster"),
            description=f"EKS control plane of {args.cluster_name}",
            assume_role_policy=json.dumps(service_trust("eks.amazonaws.com", tag_session=True)),
            tags=tag("cluster-role"),
            opts=child,
        )
        cluster_policy = attach_managed_policy(
            scope, f"{name}-cluster-policy", cluster_role, "AmazonEKSClusterPolicy"
        )

        # ---------------------------------------------------------------- KMS keys
        secrets_key = rotating_key(
            resource_name=f"{name}-secrets-key",
            description=f"Envelope encryption of Kubernetes secrets in {args.cluster_name}",
            policy=pulumi.Output.all(partition, account, cluster_role.arn).apply(
                lambda v: json.dumps(secrets_key_policy(*v))
            ),
            alias_name=f"alias/mlplat/{args.cluster_name}/eks-secrets",
            tag=tag,
            role="secrets-key",
            opts=child,
        )

        # EKS would create this log group itself on first write, unencrypted and kept
        # forever; creating it first (same name) gives it a KMS key and a retention.
        log_group = encrypted_log_group(
            parent=self,
            prefix=name,
            tag=tag,
            where=AccountContext(partition=partition, account=account, region=region),
            log_group_name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_days=settings.effective_log_retention_days(args.prod),
            key_role="logs-key",
            log_group_role="control-plane-logs",
            key_description=f"Encrypts control-plane logs of {args.cluster_name}",
            alias_name=f"alias/mlplat/{args.cluster_name}/eks-logs",
        ).log_group

        # ---------------------------------------------------------------- security groups
        cluster_sg, node_sg = cluster_security_groups(
            scope, args.vpc_id, args.private_endpoint_access_cidrs
        )

        # ---------------------------------------------------------------- the cluster
        endpoint = settings.endpoint
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=settings.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.private_subnet_ids,
                security_group_ids=[cluster_sg.id],
                endpoint_private_access=True,
                endpoint_public_access=endpoint.public_access,
                # Left unset when private: AWS would otherwise record 0.0.0.0/0 here, which
                # reads like an open endpoint in every audit.
                public_access_cidrs=list(endpoint.public_access_cidrs)
                if endpoint.public_access
                else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # Admin comes only from the access entries below, never from "whoever
                # happened to run pulumi up".
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            # vpc-cni, kube-proxy and coredns are installed below as pinned managed add-ons;
            # without this EKS would also install unmanaged copies of them.
            bootstrap_self_managed_addons=False,
            deletion_protection=args.deletion_protection,
            tags=tag("eks"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_policy, log_group]),
        )

        # ---------------------------------------------------------------- access entries
        admin_grants = _admin_access(scope, args.settings.admin_role_arns, cluster)

        # ---------------------------------------------------------------- add-ons, nodes
        early = early_addons(scope, cluster, pins)
        node_group = system_node_group(
            scope, settings.system_node_group, cluster, args.private_subnet_ids, node_sg, early,
            session_manager=settings.node_session_manager,
        )
        ebs_csi_role = late_addons(scope, cluster, pins, node_group)

        # ---------------------------------------------------------------- kubeconfig
        kubeconfig = pulumi.Output.all(
            cluster.name, cluster.endpoint, cluster.certificate_authority.data, region
        ).apply(lambda v: build_kubeconfig(*v))
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig,
            # Kubernetes resources created through this provider need a user with access
            # and nodes to run on: wait for both.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*admin_grants, node_group]),
        )

        self.name = cluster.name
        self.arn = cluster.arn
        self.endpoint = cluster.endpoint
        self.certificate_authority_data = cluster.certificate_authority.data
        self.cluster_security_group_id = cluster_sg.id
        self.node_security_group_id = node_sg.id
        self.kms_key_arn = secrets_key.arn
        self.kubeconfig = kubeconfig
        self.ebs_csi_role_name = ebs_csi_role.name
        self.register_outputs(
            {
                "name": self.name,
                "arn": self.arn,
                "endpoint": self.endpoint,
                "certificate_authority_data": self.certificate_authority_data,
                "cluster_security_group_id": self.cluster_security_group_id,
                "node_security_group_id": self.node_security_group_id,
                "kms_key_arn": self.kms_key_arn,
                "kubeconfig": self.kubeconfig,
                "ebs_csi_role_name": self.ebs_csi_role_name,
            }
        )


def _admin_access(
    scope: ClusterScope, admin_role_arns: Sequence[str], cluster: aws.eks.Cluster
) -> list[aws.eks.AccessPolicyAssociation]:
    """One access entry + cluster-admin association per configured role ARN."""
    grants: list[aws.eks.AccessPolicyAssociation] = []
    for role_arn in admin_role_arns:
        suffix = access_entry_suffix(role_arn)
        entry = aws.eks.AccessEntry(
            f"{scope.prefix}-admin-{suffix}",
            cluster_name=cluster.name,
            principal_arn=role_arn,
            type="STANDARD",
            tags=scope.tag(f"admin-{suffix}"),
            opts=scope.opts(),
        )
        grants.append(
            aws.eks.AccessPolicyAssociation(
                f"{scope.prefix}-admin-{suffix}-policy",
                cluster_name=cluster.name,
                principal_arn=role_arn,
                policy_arn=pulumi.Output.concat(
                    "arn:",
                    scope.partition,
                    ":eks::aws:cluster-access-policy/",
                    CLUSTER_ADMIN_POLICY,
                ),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=scope.opts(depends_on=[entry]),
            )
        )
    return grants


def access_entry_suffix(role_arn: str) -> str:
    """Stable resource-name suffix for an admin role: its name plus a short hash of the
    whole ARN (two accounts can have roles of the same name). Derived from the ARN, not
    the list position, so reordering `adminRoleArns` replaces nothing."""
    role_name = role_arn.rsplit("/", 1)[-1].lower()
    return f"{role_name}-{hashlib.sha256(role_arn.encode()).hexdigest()[:6]}"
