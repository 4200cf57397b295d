"""EKS managed add-ons of the Cluster component, installed at the versions pinned in
components/versions.py. Children are parented to the Cluster component.

Two waves: add-ons nodes need to become Ready go before the system node group; add-ons with
Deployments go after it (EKS reports them degraded until nodes can run them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components import versions
from components.aws.cluster_iam import ClusterScope, pod_identity_role

#: vpc-cni add-on configuration: enforce Kubernetes NetworkPolicies.
VPC_CNI_CONFIGURATION: Mapping[str, Any] = {"enableNetworkPolicy": "true"}


def managed_addon(
    scope: ClusterScope,
    addon_name: str,
    cluster_name: pulumi.Input[str],
    pins: Mapping[str, str],
    depends_on: Sequence[pulumi.Resource] = (),
    configuration: Mapping[str, Any] | None = None,
) -> aws.eks.Addon:
    """`<prefix>-addon-<name>` at the version pinned for the cluster's Kubernetes version."""
    return aws.eks.Addon(
        f"{scope.prefix}-addon-{addon_name}",
        cluster_name=cluster_name,
        addon_name=addon_name,
        addon_version=pins[addon_name],
        configuration_values=json.dumps(configuration, sort_keys=True)
        if configuration
        else None,
        # The pinned add-on configuration in code is authoritative; drift made by hand
        # in the cluster is overwritten on the next update.
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        tags=scope.tag(f"addon-{addon_name}"),
        opts=scope.opts(depends_on=list(depends_on)),
    )


def early_addons(
    scope: ClusterScope, cluster: aws.eks.Cluster, pins: Mapping[str, str]
) -> list[aws.eks.Addon]:
    """Add-ons nodes need to become Ready (networking, kube-proxy, Pod Identity agent);
    they are DaemonSets, so they install fine before any node exists."""
    pod_identity_agent = managed_addon(scope, versions.POD_IDENTITY_AGENT, cluster.name, pins)
    # The CNI's ENI/IP permissions go to its own service account (aws-node) instead of
    # the node role, so they are not shared with every process on the node.
    _, cni_identity = pod_identity_role(
        scope, "vpc-cni", cluster, "kube-system", "aws-node", "AmazonEKS_CNI_Policy"
    )
    vpc_cni = managed_addon(
        scope,
        versions.VPC_CNI,
        cluster.name,
        pins,
        depends_on=[cni_identity, pod_identity_agent],
        # Turn on the CNI's network policy agent: without it, Kubernetes
        # NetworkPolicies (how workloads sharing the node security group are isolated
        # from each other) are accepted by the API but silently not enforced.
        configuration=VPC_CNI_CONFIGURATION,
    )
    kube_proxy = managed_addon(scope, versions.KUBE_PROXY, cluster.name, pins)
    return [pod_identity_agent, vpc_cni, kube_proxy]


def late_addons(
    scope: ClusterScope,
    cluster: aws.eks.Cluster,
    pins: Mapping[str, str],
    node_group: aws.eks.NodeGroup,
) -> aws.iam.Role:
    """Add-ons with Deployments: EKS reports them degraded until nodes can run them.
    Returns the EBS CSI driver's role: the managed policy covers EBS itself, and
    components/aws/block_storage.py adds use of the environment's volume key to it."""
    managed_addon(scope, versions.COREDNS, cluster.name, pins, depends_on=[node_group])
    ebs_role, ebs_identity = pod_identity_role(
        scope,
        "ebs-csi",
        cluster,
        "kube-system",
        "ebs-csi-controller-sa",
        "AmazonEBSCSIDriverPolicy",
        policy_path="service-role/",
    )
    managed_addon(
        scope, versions.EBS_CSI_DRIVER, cluster.name, pins, depends_on=[node_group, ebs_identity]
    )
    return ebs_role
