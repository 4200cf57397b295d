"""A team's Kueue queues: one ClusterQueue in the cohort with the team's GPU quota per
training pool, and a LocalQueue in each team namespace pointing at it. The cluster-wide
part (Kueue, ResourceFlavors) is components/k8s/kueue.py.

* The ClusterQueue admits only LocalQueues of the team's own namespaces (a namespace
  selector on the ownership labels), so another team on a shared cluster cannot spend this
  quota by pointing a LocalQueue at it.
* One resource group covers CPU, memory and `nvidia.com/gpu` on each quota's flavor (Kueue
  admits a workload only when every resource it requests is covered). Borrowing and lending
  limits apply to GPUs; idle quota lent to the cohort is reclaimed by preemption when the
  team needs it back, and the team never preempts others to borrow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from mlplat.config import PoolQuotaConfig

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:k8s/team_queues:TeamQueues"

GPU_RESOURCE = "nvidia.com/gpu"
COVERED_RESOURCES: tuple[str, ...] = ("cpu", "memory", GPU_RESOURCE)


@dataclass(frozen=True)
class TeamQueuesArgs:
    """Inputs of TeamQueues, from validated config (mlplat.config.TrainingConfig)."""

    cluster_queue: str
    """ClusterQueue name: the environment `<team>-<env>` (cluster-scoped, unique)."""
    cohort: str
    """Cohort the team's ClusterQueue borrows from and lends to."""
    quotas: Mapping[str, PoolQuotaConfig]
    """ResourceFlavor (pool) name -> the team's quota on it."""
    local_queue: str
    """Name of the LocalQueue created in each team namespace."""
    namespaces: Sequence[str]
    """Team namespaces; each gets the LocalQueue."""
    labels: Mapping[str, str]
    """Ownership labels (components.k8s.tenancy.ownership_labels); the team's namespaces
    carry them too, which is what the ClusterQueue's namespace selector matches."""


def flavor_quotas(name: str, quota: PoolQuotaConfig) -> dict[str, Any]:
    """One entry of the resource group's `flavors`: CPU, memory and GPU quotas."""
    gpu: dict[str, Any] = {"name": GPU_RESOURCE, "nominalQuota": quota.gpus,
                           "borrowingLimit": quota.borrowing_limit_gpus}
    if quota.lending_limit_gpus is not None:
        gpu["lendingLimit"] = quota.lending_limit_gpus
    return {
        "name": name,
        "resources": [
            {"name": "cpu", "nominalQuota": quota.cpu},
            {"name": "memory", "nominalQuota": quota.memory},
            gpu,
        ],
    }


def cluster_queue_spec(args: TeamQueuesArgs) -> dict[str, Any]:
    """The ClusterQueue's spec."""
    selector_keys = ("mlplat.io/team", "mlplat.io/env")
    return {
        "cohortName": args.cohort,
        "namespaceSelector": {"matchLabels": {k: args.labels[k] for k in selector_keys}},
        "queueingStrategy": "BestEffortFIFO",
        "resourceGroups": [{
            "coveredResources": list(COVERED_RESOURCES),
            "flavors": [flavor_quotas(n, q) for n, q in sorted(args.quotas.items())],
        }],
        "preemption": {
            # Quota lent to the cohort comes back when the team needs it ...
            "reclaimWithinCohort": "Any",
            # ... but borrowing never evicts another team's running job.
            "borrowWithinCohort": {"policy": "Never"},
            "withinClusterQueue": "LowerPriority",
        },
    }


class TeamQueues(pulumi.ComponentResource):
    """The team's ClusterQueue and its LocalQueues."""

    cluster_queue_name: str
    local_queue_name: str

    def __init__(
        self, name: str, args: TeamQueuesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        cluster_queue = k8s.apiextensions.CustomResource(
            f"{name}-cluster-queue",
            api_version=versions.KUEUE_API_VERSION,
            kind="ClusterQueue",
            metadata={"name": args.cluster_queue, "labels": dict(args.labels)},
            spec=cluster_queue_spec(args),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for namespace in args.namespaces:
            k8s.apiextensions.CustomResource(
                f"{name}-local-queue-{namespace}",
                api_version=versions.KUEUE_API_VERSION,
                kind="LocalQueue",
                metadata={"name": args.local_queue, "namespace": namespace,
                          "labels": dict(args.labels)},
                spec={"clusterQueue": args.cluster_queue},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_queue]),
            )
        self.cluster_queue_name = args.cluster_queue
        self.local_queue_name = args.local_queue
        self.register_outputs({"cluster_queue": self.cluster_queue_name,
                               "local_queue": self.local_queue_name})
