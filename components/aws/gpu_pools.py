"""GPU node pools: Karpenter on EKS, one NodePool per configured GPU pool, and the NVIDIA
device plugin so that pods can request `nvidia.com/gpu`.

What gets created (children of one `mlplat:aws/gpu_pools:GpuNodePools` component; the
Karpenter pieces are built by components/aws/karpenter.py, the device plugin by
components/k8s/nvidia_device_plugin.py):

* IAM for nodes: a role for Karpenter-launched instances (EKS worker, ECR pull),
  the instance profile carrying it, and an EKS access entry of type EC2_LINUX so the nodes
  can join a cluster that authenticates through access entries only.
* Interruption handling: an SQS queue (SSE, TLS-only policy, senders limited to our rules)
  fed by EventBridge rules for spot interruptions, rebalance recommendations, instance state
  changes and AWS Health scheduled changes.
* The controller: an IAM role trusted by EKS Pod Identity for exactly Karpenter's service
  account, a least-privilege inline policy (components/_lib/karpenter_iam.py), the Pod Identity
  association, and two Helm releases from Karpenter's OCI registry - the CRD chart (so that
  CRDs are upgraded with the controller, which plain chart CRDs never are) and the
  controller chart.
* Per pool: an EC2NodeClass (pinned AL2023 AMI alias, IMDSv2 with hop limit 1, encrypted gp3
  root volume sized from config, subnets and security groups found by the cluster's
  discovery tag) and a NodePool (instance requirements, capacity types, GPU taint, labels,
  `nvidia.com/gpu` limit, scale-to-zero consolidation, disruption budget, expiry).
* The NVIDIA device plugin DaemonSet, tolerating the GPU taint and pinned to NVIDIA nodes.

An empty `pools` list still installs the controller and the device plugin: the cluster is
then ready for NodePools added later (or by another stack on a shared cluster) and the
outputs keep their types. Leave the component out entirely for a cluster without GPUs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components._lib.naming import Tagger
from components.aws.karpenter import (
    SYSTEM_NAMESPACE,
    KarpenterScope,
    NodePoolShape,
    NodePoolTarget,
    declare_node_pool,
    install_karpenter,
)
from components.k8s.nvidia_device_plugin import GPU_TAINT, nvidia_device_plugin
from mlplat.config import GpuPoolConfig

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:aws/gpu_pools:GpuNodePools"


@dataclass(frozen=True)
class GpuNodePoolsArgs:
    """Inputs of GpuNodePools, taken from validated config (mlplat.config checks pool names,
    the team label, the cluster name and the tags)."""

    pools: Sequence[GpuPoolConfig]
    """GPU pools from config; one Karpenter NodePool (and EC2NodeClass) each. May be empty."""
    team: str
    """Owning team; becomes the `mlplat.io/team` node label."""
    cluster_name: str
    """Cluster name known up front (`<team>-<env>`): discovery tags and IAM conditions."""
    cluster_name_output: pulumi.Input[str]
    """The Cluster's name output; using it makes everything here wait for the cluster."""
    cluster_endpoint: pulumi.Input[str]
    """API server endpoint, handed to Karpenter to skip endpoint discovery at start-up."""
    k8s_provider: k8s.Provider
    """Provider of the target cluster; every Kubernetes resource here uses it explicitly."""
    kms_key_arn: pulumi.Input[str]
    """The cluster's KMS key. Not used for node volumes (see `encrypted` in the EC2NodeClass):
    they use the account's aws/ebs key, so the controller needs no KMS grants and the secrets
    key keeps one purpose. Accepted for interface stability."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource and on every instance and volume Karpenter launches."""
    node_session_manager: bool = False
    """Break-glass Session Manager permissions on the node role (`cluster.nodeSessionManager`)."""


def node_labels(pool: GpuPoolConfig, team: str) -> dict[str, str]:
    """Labels every node of a pool carries; Kueue flavors and workloads select on them."""
    return {
        "mlplat.io/pool": pool.name,
        "mlplat.io/accelerator": pool.accelerator.value,
        "mlplat.io/team": team,
        "mlplat.io/purpose": pool.purpose.value,
    }


def pool_requirements(pool: GpuPoolConfig) -> list[dict[str, object]]:
    """Karpenter scheduling requirements of a pool.

    Karpenter ANDs requirements, while config means "these types OR these families". With
    only families (or only types) the requirement says exactly that; with both, the union is
    expanded from the instance catalog into one instance-type requirement.
    """
    requirements: list[dict[str, object]] = []
    if pool.instance_families and not pool.instance_types:
        requirements.append({
            "key": "karpenter.k8s.aws/instance-family",
            "operator": "In",
            "values": sorted(pool.instance_families),
        })
    else:
        requirements.append({
            "key": "node.kubernetes.io/instance-type",
            "operator": "In",
            "values": [t.name for t in pool.candidate_instance_types()],
        })
    requirements += [
        {
            # Belt and braces: even a family that later gains other GPUs stays on the
            # declared accelerator.
            "key": "karpenter.k8s.aws/instance-gpu-name",
            "operator": "In",
            "values": [pool.accelerator.value],
        },
        {
            "key": "karpenter.sh/capacity-type",
            "operator": "In",
            "values": sorted(c.value for c in pool.capacity_types),
        },
        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
    ]
    return requirements


def pool_shape(pool: GpuPoolConfig, team: str) -> NodePoolShape:
    """A GPU pool as a Karpenter node pool: GPU taint, `nvidia.com/gpu` limit, and
    consolidation only of empty nodes (WhenEmpty: idle GPU nodes scale to zero, but a
    running job is never moved to repack nodes)."""
    return NodePoolShape(
        name=pool.name,
        disk_size_gib=pool.disk_size_gib,
        labels=node_labels(pool, team),
        requirements=pool_requirements(pool),
        taints=[dict(GPU_TAINT)],
        expire_after=pool.expire_after,
        limits={"nvidia.com/gpu": pool.gpu_limit},
        consolidation_policy="WhenEmpty",
        consolidate_after=pool.consolidate_after,
        budget_nodes=pool.disruption_budget_nodes,
    )


class GpuNodePools(pulumi.ComponentResource):
    """Karpenter-managed GPU node pools on an EKS cluster."""

    node_role_arn: pulumi.Output[str]
    controller_role_arn: pulumi.Output[str]
    interruption_queue_url: pulumi.Output[str]
    node_pool_names: list[str]
    node_pool_target: NodePoolTarget
    """Where and against which Karpenter this component declared its pools; CpuNodePools
    declares its own with the same cluster, instance profile, dependencies and tags."""

    def __init__(
        self, name: str, args: GpuNodePoolsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        karpenter = install_karpenter(
            KarpenterScope(
                parent=self,
                prefix=name,
                tag=Tagger(args.tags, name),
                cluster_name=args.cluster_name,
                cluster_name_output=args.cluster_name_output,
                cluster_endpoint=args.cluster_endpoint,
                k8s_provider=args.k8s_provider,
                session_manager=args.node_session_manager,
            )
        )

        target = NodePoolTarget(
            parent=self,
            prefix=name,
            team=args.team,
            cluster_name=args.cluster_name,
            k8s_provider=args.k8s_provider,
            instance_profile=karpenter.instance_profile.name,
            depends_on=karpenter.node_pool_dependencies(),
            tags=args.tags,
        )
        for pool in args.pools:
            declare_node_pool(target, pool_shape(pool, args.team))
        self.node_pool_target = target

        nvidia_device_plugin(f"{name}-nvidia-device-plugin", SYSTEM_NAMESPACE, k8s_opts)

        self.node_role_arn = karpenter.node_role.arn
        self.controller_role_arn = karpenter.controller_role.arn
        self.interruption_queue_url = karpenter.queue.url
        self.node_pool_names = [pool.name for pool in args.pools]
        self.register_outputs(
            {
                "node_role_arn": self.node_role_arn,
                "controller_role_arn": self.controller_role_arn,
                "interruption_queue_url": self.interruption_queue_url,
                "node_pool_names": self.node_pool_names,
            }
        )
