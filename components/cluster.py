"""The EKS cluster: control plane, access entries, managed add-ons, a system node group and a
Kubernetes provider, all from raw pulumi_aws / pulumi_kubernetes resources.

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
import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import _addons
from components.network import Tagger, cloudwatch_logs_key_policy, iam_name_prefix
from mlplat.config import ClusterConfig

#: Every control-plane log type EKS offers; all are enabled.
CONTROL_PLANE_LOG_TYPES: tuple[str, ...] = (
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
)

#: Ports the control plane opens towards nodes and pods: the kubelet (logs, exec, metrics)
#: and the usual ports of admission webhooks / aggregated API servers running in pods
#: (443, 4443 metrics-server, 6443, 8443, 9443 controller-runtime webhooks).
CONTROL_PLANE_TO_NODE_PORTS: tuple[int, ...] = (443, 4443, 6443, 8443, 9443, 10250)

#: Managed policies of the node role: join the cluster and pull images, nothing more.
NODE_ROLE_POLICIES: tuple[str, ...] = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
)

#: vpc-cni add-on configuration: enforce Kubernetes NetworkPolicies.
VPC_CNI_CONFIGURATION: Mapping[str, Any] = {"enableNetworkPolicy": "true"}

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
SYSTEM_NODE_LABEL = "mlplat.io/node-role"


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
    private_endpoint_access_cidrs: Sequence[str] = ()
    """Networks outside the VPC (VPN, CI runners in a peered VPC) allowed to reach the
    private API endpoint on 443. Empty: only nodes and pods can. `0.0.0.0/0` is refused."""


class Cluster(pulumi.ComponentResource):
    """An EKS cluster with secure defaults, its add-ons and a system node group."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority_data: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    k8s_provider: k8s.Provider

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        settings = args.settings
        # Resolve everything that can fail on bad input before anything registers.
        _check_access_cidrs(args.private_endpoint_access_cidrs)
        versions = _addons.addon_versions(settings.kubernetes_version)
        ami_type = ami_type_for(settings.system_node_group.instance_types)
        super().__init__("mlplat:eks:Cluster", name, None, opts)
        self._prefix = name  # child resource name prefix
        self._args = args
        self._tag = Tagger(args.tags, name)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        self._partition = partition

        # ---------------------------------------------------------------- control plane IAM
        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            name_prefix=iam_name_prefix(args.cluster_name, "cluster"),
            description=f"EKS control plane of {args.cluster_name}",
            assume_role_policy=json.dumps(_service_trust("eks.amazonaws.com", tag_session=True)),
            tags=self._tag("cluster-role"),
            opts=child,
        )
        cluster_policy = self._attach(
            f"{name}-cluster-policy", cluster_role, "AmazonEKSClusterPolicy"
        )

        # ---------------------------------------------------------------- KMS keys
        secrets_key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"Envelope encryption of Kubernetes secrets in {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(partition, account, cluster_role.arn).apply(
                lambda v: json.dumps(secrets_key_policy(*v))
            ),
            tags=self._tag("secrets-key"),
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-secrets-key-alias",
            name=f"alias/mlplat/{args.cluster_name}/eks-secrets",
            target_key_id=secrets_key.key_id,
            opts=child,
        )

        # EKS would create this log group itself on first write, unencrypted and kept
        # forever; creating it first (same name) gives it a KMS key and a retention.
        log_group_name = f"/aws/eks/{args.cluster_name}/cluster"
        log_group_arn = pulumi.Output.concat(
            "arn:", partition, ":logs:", region, ":", account, ":log-group:", log_group_name
        )
        logs_key = aws.kms.Key(
            f"{name}-logs-key",
            description=f"Encrypts control-plane logs of {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(partition, account, region, log_group_arn).apply(
                lambda v: json.dumps(cloudwatch_logs_key_policy(*v))
            ),
            tags=self._tag("logs-key"),
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-logs-key-alias",
            name=f"alias/mlplat/{args.cluster_name}/eks-logs",
            target_key_id=logs_key.key_id,
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=log_group_name,
            retention_in_days=settings.log_retention_days,
            kms_key_id=logs_key.arn,
            tags=self._tag("control-plane-logs"),
            opts=child,
        )

        # ---------------------------------------------------------------- security groups
        cluster_sg, node_sg = self._security_groups(name, args)

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
            tags=self._tag("eks"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_policy, log_group]),
        )

        # ---------------------------------------------------------------- access entries
        admin_grants = self._admin_access(name, args, cluster)

        # ---------------------------------------------------------------- add-ons, nodes
        early_addons = self._early_addons(cluster, versions)
        node_group = self._system_node_group(name, args, cluster, node_sg, ami_type, early_addons)
        self._late_addons(cluster, versions, node_group)

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
            }
        )

    # -------------------------------------------------------------------- helpers

    def _managed_policy(self, policy: str, path: str = "") -> pulumi.Output[str]:
        return pulumi.Output.concat("arn:", self._partition, ":iam::aws:policy/", path, policy)

    def _attach(
        self, resource_name: str, role: aws.iam.Role, policy: str, path: str = ""
    ) -> aws.iam.RolePolicyAttachment:
        return aws.iam.RolePolicyAttachment(
            resource_name,
            role=role.name,
            policy_arn=self._managed_policy(policy, path),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _security_groups(
        self, name: str, args: ClusterArgs
    ) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        """Two groups with only the rules EKS needs. New groups start without the AWS
        default allow-all egress rule (the provider removes it), so each rule below is
        the whole story.

        Note: EKS also attaches its own cluster security group (allow-all egress,
        self-referencing ingress) to the control-plane ENIs; it is not attached to our
        nodes, because the launch template names the node group explicitly."""
        child = pulumi.ResourceOptions(parent=self)
        cluster_sg = aws.ec2.SecurityGroup(
            f"{name}-cluster-sg",
            description=f"EKS control plane of {args.cluster_name}",
            vpc_id=args.vpc_id,
            tags=self._tag("cluster-sg"),
            opts=child,
        )
        node_sg = aws.ec2.SecurityGroup(
            f"{name}-node-sg",
            description=f"Nodes of {args.cluster_name}",
            vpc_id=args.vpc_id,
            tags=self._tag(
                "node-sg",
                **{
                    # Karpenter's EC2NodeClass finds the node group by this tag; the AWS
                    # load balancer controller needs exactly one group tagged per cluster.
                    "karpenter.sh/discovery": args.cluster_name,
                    f"kubernetes.io/cluster/{args.cluster_name}": "owned",
                },
            ),
            opts=child,
        )

        # Nodes and pods (the VPC CNI puts pods on node ENIs, so they share this group)
        # reach the API server on 443; nothing else may.
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-api-from-nodes",
            security_group_id=cluster_sg.id,
            referenced_security_group_id=node_sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="Kubernetes API from nodes and pods",
            tags=self._tag("api-from-nodes"),
            opts=child,
        )
        # Operators and deploy pipelines reach the private endpoint from their own
        # networks (routed into the VPC by peering, TGW or VPN); HTTPS only.
        for cidr in args.private_endpoint_access_cidrs:
            label = cidr.replace(".", "-").replace("/", "-")
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-{label}",
                security_group_id=cluster_sg.id,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description=f"Kubernetes API (private endpoint) from {cidr}",
                tags=self._tag(f"api-from-{label}"),
                opts=child,
            )
        for port in CONTROL_PLANE_TO_NODE_PORTS:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-control-plane-to-nodes-{port}",
                security_group_id=cluster_sg.id,
                referenced_security_group_id=node_sg.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"Control plane to kubelet / webhooks on {port}",
                tags=self._tag(f"control-plane-to-nodes-{port}"),
                opts=child,
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-nodes-from-control-plane-{port}",
                security_group_id=node_sg.id,
                referenced_security_group_id=cluster_sg.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"Kubelet / webhooks on {port} from the control plane",
                tags=self._tag(f"nodes-from-control-plane-{port}"),
                opts=child,
            )
        # Pod-to-pod and node-to-node traffic (CoreDNS, services, NCCL between training
        # pods) uses arbitrary ports; isolating it is the job of Kubernetes
        # NetworkPolicies, not of the node group's security group.
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-nodes-from-nodes",
            security_group_id=node_sg.id,
            referenced_security_group_id=node_sg.id,
            ip_protocol="-1",
            description="Node-to-node and pod-to-pod traffic",
            tags=self._tag("nodes-from-nodes"),
            opts=child,
        )
        # Nodes pull images (ECR, public registries), call AWS APIs (EC2, STS, EKS) and
        # fetch datasets through NAT; pods share the group, so per-workload egress limits
        # belong in NetworkPolicies. IPv4 only: the VPC has no IPv6.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-nodes-egress",
            security_group_id=node_sg.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="-1",
            description="Node and pod egress (registries, AWS APIs, NAT)",
            tags=self._tag("nodes-egress"),
            opts=child,
        )
        return cluster_sg, node_sg

    def _admin_access(
        self, name: str, args: ClusterArgs, cluster: aws.eks.Cluster
    ) -> list[aws.eks.AccessPolicyAssociation]:
        """One access entry + cluster-admin association per configured role ARN."""
        grants = []
        for role_arn in args.settings.admin_role_arns:
            suffix = access_entry_suffix(role_arn)
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{suffix}",
                cluster_name=cluster.name,
                principal_arn=role_arn,
                type="STANDARD",
                tags=self._tag(f"admin-{suffix}"),
                opts=pulumi.ResourceOptions(parent=self),
            )
            grants.append(
                aws.eks.AccessPolicyAssociation(
                    f"{name}-admin-{suffix}-policy",
                    cluster_name=cluster.name,
                    principal_arn=role_arn,
                    policy_arn=pulumi.Output.concat(
                        "arn:",
                        self._partition,
                        ":eks::aws:cluster-access-policy/",
                        CLUSTER_ADMIN_POLICY,
                    ),
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
                )
            )
        return grants

    def _pod_identity_role(
        self,
        role_name: str,
        cluster: aws.eks.Cluster,
        namespace: str,
        service_account: str,
        policy: str,
        policy_path: str = "",
    ) -> aws.eks.PodIdentityAssociation:
        """An IAM role usable only by one service account of this cluster, bound to it
        through an EKS Pod Identity association."""
        name = self._prefix
        role = aws.iam.Role(
            f"{name}-{role_name}-role",
            name_prefix=iam_name_prefix(self._args.cluster_name, role_name),
            description=f"{namespace}/{service_account} in {self._args.cluster_name}",
            assume_role_policy=json.dumps(
                pod_identity_trust_policy(self._args.cluster_name, namespace, service_account)
            ),
            tags=self._tag(f"{role_name}-role"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        attachment = self._attach(f"{name}-{role_name}-policy", role, policy, policy_path)
        return aws.eks.PodIdentityAssociation(
            f"{name}-{role_name}-pod-identity",
            cluster_name=cluster.name,
            namespace=namespace,
            service_account=service_account,
            role_arn=role.arn,
            tags=self._tag(f"{role_name}-pod-identity"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
        )

    def _addon(
        self,
        addon_name: str,
        cluster: aws.eks.Cluster,
        versions: Mapping[str, str],
        depends_on: Sequence[pulumi.Resource] = (),
        configuration: Mapping[str, Any] | None = None,
    ) -> aws.eks.Addon:
        return aws.eks.Addon(
            f"{self._prefix}-addon-{addon_name}",
            cluster_name=cluster.name,
            addon_name=addon_name,
            addon_version=versions[addon_name],
            configuration_values=json.dumps(configuration, sort_keys=True)
            if configuration
            else None,
            # The pinned add-on configuration in code is authoritative; drift made by hand
            # in the cluster is overwritten on the next update.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=self._tag(f"addon-{addon_name}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )

    def _early_addons(
        self, cluster: aws.eks.Cluster, versions: Mapping[str, str]
    ) -> list[aws.eks.Addon]:
        """Add-ons nodes need to become Ready (networking, kube-proxy, Pod Identity agent);
        they are DaemonSets, so they install fine before any node exists."""
        pod_identity_agent = self._addon(_addons.POD_IDENTITY_AGENT, cluster, versions)
        # The CNI's ENI/IP permissions go to its own service account (aws-node) instead of
        # the node role, so they are not shared with every process on the node.
        cni_identity = self._pod_identity_role(
            "vpc-cni", cluster, "kube-system", "aws-node", "AmazonEKS_CNI_Policy"
        )
        vpc_cni = self._addon(
            _addons.VPC_CNI,
            cluster,
            versions,
            depends_on=[cni_identity, pod_identity_agent],
            # Turn on the CNI's network policy agent: without it, Kubernetes
            # NetworkPolicies (how workloads sharing the node security group are isolated
            # from each other) are accepted by the API but silently not enforced.
            configuration=VPC_CNI_CONFIGURATION,
        )
        kube_proxy = self._addon(_addons.KUBE_PROXY, cluster, versions)
        return [pod_identity_agent, vpc_cni, kube_proxy]

    def _late_addons(
        self, cluster: aws.eks.Cluster, versions: Mapping[str, str], node_group: aws.eks.NodeGroup
    ) -> None:
        """Add-ons with Deployments: EKS reports them degraded until nodes can run them."""
        self._addon(_addons.COREDNS, cluster, versions, depends_on=[node_group])
        ebs_identity = self._pod_identity_role(
            "ebs-csi",
            cluster,
            "kube-system",
            "ebs-csi-controller-sa",
            "AmazonEBSCSIDriverPolicy",
            policy_path="service-role/",
        )
        self._addon(
            _addons.EBS_CSI_DRIVER, cluster, versions, depends_on=[node_group, ebs_identity]
        )

    def _system_node_group(
        self,
        name: str,
        args: ClusterArgs,
        cluster: aws.eks.Cluster,
        node_sg: aws.ec2.SecurityGroup,
        ami_type: str,
        early_addons: Sequence[aws.eks.Addon],
    ) -> aws.eks.NodeGroup:
        group = args.settings.system_node_group
        child = pulumi.ResourceOptions(parent=self)
        node_role = aws.iam.Role(
            f"{name}-node-role",
            name_prefix=iam_name_prefix(args.cluster_name, "node"),
            description=f"System nodes of {args.cluster_name}",
            assume_role_policy=json.dumps(_service_trust("ec2.amazonaws.com")),
            tags=self._tag("node-role"),
            opts=child,
        )
        attachments = [
            self._attach(f"{name}-node-{policy}", node_role, policy)
            for policy in NODE_ROLE_POLICIES
        ]
        instance_tags = self._tag("system-node", **{SYSTEM_NODE_LABEL: "system"})
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-system-lt",
            description=f"System nodes of {args.cluster_name}",
            update_default_version=True,
            # No image_id: EKS picks the AMI matching ami_type and the cluster version and
            # writes the bootstrap (nodeadm) user data itself.
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # 1 hop: the node's processes reach IMDS, pods behind the extra network
                # hop cannot, so they cannot borrow the node role's credentials.
                http_put_response_hop_limit=1,
                instance_metadata_tags="enabled",
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",  # AL2023 root device
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=group.disk_size_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            vpc_security_group_ids=[node_sg.id],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=instance_tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            tags=self._tag("system-lt"),
            opts=child,
        )
        return aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=args.private_subnet_ids,
            version=cluster.version,
            ami_type=ami_type,
            capacity_type="ON_DEMAND",
            instance_types=list(group.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=group.min_size,
                desired_size=group.desired_size,
                max_size=group.max_size,
            ),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=launch_template.id,
                version=launch_template.latest_version.apply(str),
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            # EKS replaces nodes that stay NotReady or report hardware faults.
            node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            labels={SYSTEM_NODE_LABEL: "system"},
            tags=self._tag("system"),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*attachments, *early_addons]
            ),
        )


# ------------------------------------------------------------------------ pure helpers


def ami_type_for(instance_types: Sequence[str]) -> str:
    """AL2023 AMI type for the instance types: ARM (Graviton) or x86_64, never mixed."""
    arm = [t for t in instance_types if _is_graviton(t)]
    if arm and len(arm) != len(instance_types):
        raise ValueError(
            "cluster.systemNodeGroup.instanceTypes mixes Graviton (arm64) and x86_64 types "
            f"({', '.join(instance_types)}); one node group needs one architecture"
        )
    return "AL2023_ARM_64_STANDARD" if arm else "AL2023_x86_64_STANDARD"


def _is_graviton(instance_type: str) -> bool:
    """m7g.large, c8gd.xlarge, t4g.small, r7gn... -> True (a `g` after the generation)."""
    family = instance_type.split(".", 1)[0]
    for index, char in enumerate(family):
        if char.isdigit():
            return family[index + 1 : index + 2] == "g"
    return False


def _check_access_cidrs(cidrs: Sequence[str]) -> None:
    for index, value in enumerate(cidrs):
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(
                f"private_endpoint_access_cidrs[{index}] ({value!r}) is not an IPv4 CIDR: {exc}"
            ) from None
        if network.prefixlen == 0:
            raise ValueError(
                f"private_endpoint_access_cidrs[{index}]: 0.0.0.0/0 would open the API "
                "security group to every network routed into the VPC"
            )


def access_entry_suffix(role_arn: str) -> str:
    """Stable resource-name suffix for an admin role: its name plus a short hash of the
    whole ARN (two accounts can have roles of the same name). Derived from the ARN, not
    the list position, so reordering `adminRoleArns` replaces nothing."""
    role_name = role_arn.rsplit("/", 1)[-1].lower()
    return f"{role_name}-{hashlib.sha256(role_arn.encode()).hexdigest()[:6]}"


def build_kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig whose user runs `aws eks get-token`: short-lived tokens from the
    caller's own AWS credentials, no static secret in state."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {"server": endpoint, "certificate-authority-data": ca_data},
                }
            ],
            "contexts": [
                {"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}
            ],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster_name,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        },
        indent=2,
    )


def _service_trust(service: str, tag_session: bool = False) -> dict[str, Any]:
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else "sts:AssumeRole"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}
        ],
    }


def pod_identity_trust_policy(
    cluster_name: str, namespace: str, service_account: str
) -> dict[str, Any]:
    """Trust policy for an EKS Pod Identity role, narrowed by the session tags Pod Identity
    sets to one cluster, namespace and service account (without the conditions, any
    association in the account could use the role)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/eks-cluster-name": cluster_name,
                        "aws:RequestTag/kubernetes-namespace": namespace,
                        "aws:RequestTag/kubernetes-service-account": service_account,
                    }
                },
            }
        ],
    }


def secrets_key_policy(partition: str, account: str, cluster_role_arn: str) -> dict[str, Any]:
    """Key policy of the secrets key: the account administers it (IAM decides who may);
    the cluster role may only use it, with the four actions envelope encryption needs."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "ClusterRoleEnvelopeEncryption",
                "Effect": "Allow",
                "Principal": {"AWS": cluster_role_arn},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": "*",
            },
        ],
    }
