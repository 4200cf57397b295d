"""Security groups of the Cluster component: one for the control plane, one for the nodes,
with only the rules EKS needs. Children are parented to the Cluster component.

New groups start without the AWS default allow-all egress rule (the provider removes it), so
each rule below is the whole story. EKS also attaches its own cluster security group
(allow-all egress, self-referencing ingress) to the control-plane ENIs; it is not attached to
our nodes, because the launch template names the node group explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.aws.cluster_iam import ClusterScope

#: Ports the control plane opens towards nodes and pods: the kubelet (logs, exec, metrics)
#: and the usual ports of admission webhooks / aggregated API servers running in pods
#: (443, 4443 metrics-server, 6443, 8443, 9443 controller-runtime webhooks).
CONTROL_PLANE_TO_NODE_PORTS: tuple[int, ...] = (443, 4443, 6443, 8443, 9443, 10250)


def cluster_security_groups(
    scope: ClusterScope,
    vpc_id: pulumi.Input[str],
    private_endpoint_access_cidrs: Sequence[str],
) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
    """The control-plane group and the node group, with their rules."""
    child = scope.opts()
    cluster_sg = aws.ec2.SecurityGroup(
        f"{scope.prefix}-cluster-sg",
        description=f"EKS control plane of {scope.cluster_name}",
        vpc_id=vpc_id,
        tags=scope.tag("cluster-sg"),
        opts=child,
    )
    node_sg = aws.ec2.SecurityGroup(
        f"{scope.prefix}-node-sg",
        description=f"Nodes of {scope.cluster_name}",
        vpc_id=vpc_id,
        tags=scope.tag(
            "node-sg",
            **{
                # Karpenter's EC2NodeClass finds the node group by this tag; the AWS
                # load balancer controller needs exactly one group tagged per cluster.
                "karpenter.sh/discovery": scope.cluster_name,
                f"kubernetes.io/cluster/{scope.cluster_name}": "owned",
            },
        ),
        opts=child,
    )

    # Nodes and pods (the VPC CNI puts pods on node ENIs, so they share this group)
    # reach the API server on 443; nothing else may.
    aws.vpc.SecurityGroupIngressRule(
        f"{scope.prefix}-api-from-nodes",
        security_group_id=cluster_sg.id,
        referenced_security_group_id=node_sg.id,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        description="Kubernetes API from nodes and pods",
        tags=scope.tag("api-from-nodes"),
        opts=child,
    )
    # Operators and deploy pipelines reach the private endpoint from their own
    # networks (routed into the VPC by peering, TGW or VPN); HTTPS only.
    for cidr in private_endpoint_access_cidrs:
        label = cidr.replace(".", "-").replace("/", "-")
        aws.vpc.SecurityGroupIngressRule(
            f"{scope.prefix}-api-from-{label}",
            security_group_id=cluster_sg.id,
            cidr_ipv4=cidr,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description=f"Kubernetes API (private endpoint) from {cidr}",
            tags=scope.tag(f"api-from-{label}"),
            opts=child,
        )
    for port in CONTROL_PLANE_TO_NODE_PORTS:
        aws.vpc.SecurityGroupEgressRule(
            f"{scope.prefix}-control-plane-to-nodes-{port}",
            security_group_id=cluster_sg.id,
            referenced_security_group_id=node_sg.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"Control plane to kubelet / webhooks on {port}",
            tags=scope.tag(f"control-plane-to-nodes-{port}"),
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{scope.prefix}-nodes-from-control-plane-{port}",
            security_group_id=node_sg.id,
            referenced_security_group_id=cluster_sg.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"Kubelet / webhooks on {port} from the control plane",
            tags=scope.tag(f"nodes-from-control-plane-{port}"),
            opts=child,
        )
    # Pod-to-pod and node-to-node traffic (CoreDNS, services, NCCL between training
    # pods) uses arbitrary ports, both ways; isolating it is the job of Kubernetes
    # NetworkPolicies, not of the node group's security group.
    for rule_class, role in ((aws.vpc.SecurityGroupIngressRule, "nodes-from-nodes"),
                             (aws.vpc.SecurityGroupEgressRule, "nodes-to-nodes")):
        rule_class(
            f"{scope.prefix}-{role}",
            security_group_id=node_sg.id,
            referenced_security_group_id=node_sg.id,
            ip_protocol="-1",
            description="Node-to-node and pod-to-pod traffic",
            tags=scope.tag(role),
            opts=child,
        )
    # Other egress, narrowed to what nodes and pods need (docs/components/cluster.md, "Node
    # egress"): the API server, and HTTPS to anywhere (ECR, STS, EKS, EC2 and other AWS
    # APIs, public registries and datasets, through NAT; the VPC has no interface
    # endpoints). Databases and file systems add their own port towards their group
    # (components/_lib/security_group.py). Not governed by security groups at all, so
    # needing no rule: the Amazon DNS resolver (VPC base + 2), the Time Sync service
    # (169.254.169.123) and IMDS. IPv4 only: the VPC has no IPv6.
    https_peers: tuple[tuple[str, dict[str, pulumi.Input[str]], str], ...] = (
        ("nodes-to-api", {"referenced_security_group_id": cluster_sg.id},
         "Kubernetes API from nodes and pods"),
        ("nodes-https-egress", {"cidr_ipv4": "0.0.0.0/0"},
         "HTTPS: AWS APIs, ECR, registries, datasets (through NAT)"),
    )
    for role, peer, description in https_peers:
        aws.vpc.SecurityGroupEgressRule(
            f"{scope.prefix}-{role}",
            security_group_id=node_sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description=description,
            tags=scope.tag(role),
            opts=child,
            **peer,
        )
    return cluster_sg, node_sg
