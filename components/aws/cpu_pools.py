"""CPU node pools: Karpenter NodePools without GPUs, beside the GPU pools, for data
preprocessing, CPU inference, notebooks and the team's tools.

They use the Karpenter controller, node role and instance profile that GpuNodePools
installs (one Karpenter per cluster) and the same EC2NodeClass shape
(components/aws/karpenter.py `declare_node_pool`: pinned AL2023 AMI, IMDSv2 with hop limit 1,
encrypted gp3 root volume). What differs from a GPU pool: no GPU taint (taints come from
config), a `cpu` limit, the pool's architecture, and consolidation that may repack
underused nodes unless config asks for `WhenEmpty`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.aws.karpenter import (
    NodePoolShape,
    NodePoolTarget,
    declare_node_pool,
)
from mlplat.config import CpuPoolConfig

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:aws/cpu_pools:CpuNodePools"


@dataclass(frozen=True)
class CpuNodePoolsArgs:
    """Inputs of CpuNodePools, taken from validated config and from GpuNodePools."""

    pools: Sequence[CpuPoolConfig]
    """CPU pools from config; one Karpenter NodePool (and EC2NodeClass) each."""
    team: str
    """Owning team; becomes the `mlplat.io/team` node label."""
    gpu_pools_target: NodePoolTarget
    """GpuNodePools.node_pool_target: the cluster, its Karpenter (instance profile, the
    controller pieces pools wait for) and the tags of launched instances. Its parent and
    prefix are replaced by this component's."""


def node_labels(pool: CpuPoolConfig, team: str) -> dict[str, str]:
    """Labels every node of a pool carries: config's own, then mlplat's (which config may
    not set, see mlplat.config.cpu_pools.RESERVED_LABEL_DOMAINS)."""
    return {
        **pool.labels,
        "mlplat.io/pool": pool.name,
        "mlplat.io/accelerator": "none",
        "mlplat.io/team": team,
        "mlplat.io/purpose": "cpu",
    }


def pool_requirements(pool: CpuPoolConfig) -> list[dict[str, object]]:
    """Families, no GPUs at all, capacity types, architecture and OS."""
    return [
        {
            "key": "karpenter.k8s.aws/instance-family",
            "operator": "In",
            "values": sorted(pool.instance_families),
        },
        {
            # Families of the catalog carry no GPUs today; this keeps it so if one does.
            "key": "karpenter.k8s.aws/instance-gpu-count",
            "operator": "DoesNotExist",
        },
        {
            "key": "karpenter.sh/capacity-type",
            "operator": "In",
            "values": sorted(c.value for c in pool.capacity_types),
        },
        {"key": "kubernetes.io/arch", "operator": "In", "values": [pool.architecture.value]},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
    ]


def pool_shape(pool: CpuPoolConfig, team: str) -> NodePoolShape:
    """A CPU pool as a Karpenter node pool."""
    return NodePoolShape(
        name=pool.name,
        disk_size_gib=pool.disk_size_gib,
        labels=node_labels(pool, team),
        requirements=pool_requirements(pool),
        taints=[
            {"key": t.key, "value": t.value, "effect": t.effect.value} if t.value
            else {"key": t.key, "effect": t.effect.value}
            for t in pool.taints
        ],
        expire_after=pool.expire_after,
        limits={"cpu": pool.cpu_limit},
        consolidation_policy=pool.consolidation_policy.value,
        consolidate_after=pool.consolidate_after,
        budget_nodes=pool.disruption_budget_nodes,
    )


class CpuNodePools(pulumi.ComponentResource):
    """Karpenter-managed CPU node pools on an EKS cluster."""

    node_pool_names: list[str]

    def __init__(
        self, name: str, args: CpuNodePoolsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        target = dataclasses.replace(args.gpu_pools_target, parent=self, prefix=name)
        for pool in args.pools:
            declare_node_pool(target, pool_shape(pool, args.team))
        self.node_pool_names = [pool.name for pool in args.pools]
        self.register_outputs({"node_pool_names": self.node_pool_names})
