"""The system node group of the Cluster component: a small on-demand EKS managed node group
for add-ons and controllers, with its node role and launch template. Children are parented to
the Cluster component.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components._lib.naming import iam_name_prefix
from components._lib.policies import service_trust
from components.aws.cluster_iam import (
    ClusterScope,
    allow_session_manager,
    attach_managed_policy,
)
from mlplat import catalog
from mlplat.config import SystemNodeGroupConfig

#: Managed policies of the node role: join the cluster and pull images, nothing more (the
#: VPC CNI has its own Pod Identity role; no AmazonSSMManagedInstanceCore, see
#: `cluster.nodeSessionManager` for break-glass shells).
NODE_ROLE_POLICIES: tuple[str, ...] = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
)

SYSTEM_NODE_LABEL = "mlplat.io/node-role"


def ami_type_for(instance_types: Sequence[str]) -> str:
    """AL2023 AMI type for the instance types: ARM (Graviton) or x86_64. Config accepts only
    catalogued types of one architecture, so the first type decides."""
    return (
        "AL2023_ARM_64_STANDARD"
        if catalog.architecture(instance_types[0]) == "arm64"
        else "AL2023_x86_64_STANDARD"
    )


def system_node_group(
    scope: ClusterScope,
    settings: SystemNodeGroupConfig,
    cluster: aws.eks.Cluster,
    private_subnet_ids: pulumi.Input[Sequence[str]],
    node_sg: aws.ec2.SecurityGroup,
    early_addons: Sequence[aws.eks.Addon],
    session_manager: bool = False,
) -> aws.eks.NodeGroup:
    """Node role, launch template (IMDSv2, encrypted gp3) and the managed node group."""
    group = settings
    ami_type = ami_type_for(group.instance_types)
    child = scope.opts()
    node_role = aws.iam.Role(
        f"{scope.prefix}-node-role",
        name_prefix=iam_name_prefix(scope.cluster_name, "node"),
        description=f"System nodes of {scope.cluster_name}",
        assume_role_policy=json.dumps(service_trust("ec2.amazonaws.com")),
        tags=scope.tag("node-role"),
        opts=child,
    )
    attachments = [
        attach_managed_policy(scope, f"{scope.prefix}-node-{policy}", node_role, policy)
        for policy in NODE_ROLE_POLICIES
    ]
    if session_manager:
        allow_session_manager(f"{scope.prefix}-node-session-manager", node_role, child)
    instance_tags = scope.tag("system-node", **{SYSTEM_NODE_LABEL: "system"})
    launch_template = aws.ec2.LaunchTemplate(
        f"{scope.prefix}-system-lt",
        description=f"System nodes of {scope.cluster_name}",
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
        tags=scope.tag("system-lt"),
        opts=child,
    )
    return aws.eks.NodeGroup(
        f"{scope.prefix}-system",
        cluster_name=cluster.name,
        node_role_arn=node_role.arn,
        subnet_ids=private_subnet_ids,
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
        tags=scope.tag("system"),
        opts=scope.opts(depends_on=[*attachments, *early_addons]),
    )
