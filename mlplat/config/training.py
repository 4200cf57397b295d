"""The `mlplat:training` layer: GPU job queueing with Kueue and distributed training with
JobSet.

Off when absent; the block names the team's GPU quota per training pool. The cluster-wide
part (Kueue, one ResourceFlavor per GPU pool, JobSet) and the team's part (a ClusterQueue in
the cohort, a LocalQueue in each team namespace) are built by separate components so a
shared platform cluster can install the first once and each team stack the second. Rules
that span layers (quota keys name training pools, quota within the pool's gpuLimit) live in
`check_training` and are called from environment.py. Design and the choice
of JobSet: docs/components/training.md, docs/adr/0016-kueue-and-jobset.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from pydantic import Field, model_validator

from mlplat.config.base import DnsLabel, _Model
from mlplat.config.gpu_pools import GpuPoolConfig, PoolPurpose
from mlplat.config.tenancy import Quantity

#: The label a Job or JobSet carries to name its LocalQueue (Kueue's own key).
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"


class PoolQuotaConfig(_Model):
    """The team's share of one training GPU pool: what its ClusterQueue may admit on the
    pool's ResourceFlavor."""

    gpus: int = Field(
        ge=0, le=4096,
        description="Nominal `nvidia.com/gpu` quota: GPUs the team is guaranteed on this "
        "pool. At most the pool's `gpuLimit`.",
    )
    cpu: Quantity = Field(
        default="64",
        description="Nominal CPU quota for pods admitted on this pool (Kueue admits a "
        "workload only when every resource it requests is covered).",
    )
    memory: Quantity = Field(
        default="512Gi", description="Nominal memory quota for pods admitted on this pool."
    )
    borrowing_limit_gpus: int = Field(
        default=0, ge=0, le=4096,
        description="GPUs the team may borrow from idle quota of other queues in the cohort, "
        "above `gpus`. Default 0: never more than the nominal quota.",
    )
    lending_limit_gpus: int | None = Field(
        default=None, ge=0, le=4096,
        description="GPUs of the nominal quota other queues in the cohort may borrow while "
        "idle (reclaimed by preemption when the team needs them). Absent: all of it; 0: "
        "lend nothing. At most `gpus`.",
    )

    @model_validator(mode="after")
    def _lend_only_what_is_owned(self) -> Self:
        if self.lending_limit_gpus is not None and self.lending_limit_gpus > self.gpus:
            raise ValueError(f"lendingLimitGpus ({self.lending_limit_gpus}) exceeds gpus "
                             f"({self.gpus}); Kueue refuses lending more than the nominal quota")
        return self


class TrainingConfig(_Model):
    """Kueue queues for the team's GPU jobs and the JobSet operator for distributed
    training."""

    cohort: DnsLabel = Field(
        default="mlplat",
        description="Kueue cohort the team's ClusterQueue joins; queues of one cohort borrow "
        "each other's idle quota within their borrowing and lending limits.",
    )
    local_queue: DnsLabel = Field(
        default="training",
        description=f"Name of the LocalQueue created in each team namespace; jobs select it "
        f"with the label `{QUEUE_LABEL}`.",
    )
    quotas: dict[DnsLabel, PoolQuotaConfig] = Field(
        min_length=1,
        description="Training GPU pool name (a `gpuPools[].name` with `purpose: training`) -> "
        "the team's quota on it.",
    )
    require_queue: bool = Field(
        default=True,
        description="Kueue suspends Jobs and JobSets in team namespaces that name no queue, "
        "so nothing bypasses the quota (Kueue's `manageJobsWithoutQueueName`, limited to "
        "namespaces labelled `mlplat.io/team`). `false` is a visible opt-out.",
    )

    def flavor_names(self) -> list[str]:
        """ResourceFlavors the team's ClusterQueue uses (pool names), sorted."""
        return sorted(self.quotas)


def check_training(training: TrainingConfig, pools: Sequence[GpuPoolConfig]) -> None:
    """Rules between `training` and the GPU pools; raises ValueError naming the fields.
    Called once from EnvironmentConfig. Without `tenancy` there are no team namespaces and
    so no LocalQueues: the stack installs the cluster-wide part and the ClusterQueue only
    (a platform stack of a shared cluster)."""
    by_name = {pool.name: pool for pool in pools}
    for name, quota in sorted(training.quotas.items()):
        pool = by_name.get(name)
        if pool is None or pool.purpose is not PoolPurpose.TRAINING:
            known = ", ".join(sorted(p.name for p in pools
                                     if p.purpose is PoolPurpose.TRAINING)) or "none"
            raise ValueError(f"quotas.{name}: not a gpuPools entry with purpose training "
                             f"(training pools: {known})")
        if quota.gpus > pool.gpu_limit:
            raise ValueError(f"quotas.{name}.gpus ({quota.gpus}) exceeds gpuPools {name} "
                             f"gpuLimit ({pool.gpu_limit}); the quota could never be used")
        if quota.gpus + quota.borrowing_limit_gpus > pool.gpu_limit:
            raise ValueError(
                f"quotas.{name}: gpus + borrowingLimitGpus "
                f"({quota.gpus + quota.borrowing_limit_gpus}) exceeds gpuPools {name} "
                f"gpuLimit ({pool.gpu_limit})")
