"""The `mlplat:blockStorage` layer: the cluster's default StorageClass for EBS volumes
(`gp3-encrypted`, encrypted with the environment's own KMS key)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from mlplat.config.base import _Model


class ReclaimPolicy(StrEnum):
    """What happens to a volume when its PersistentVolumeClaim is deleted."""

    DELETE = "Delete"
    RETAIN = "Retain"


class BlockStorageConfig(_Model):
    """Settings of the default StorageClass. Always present: `{}` (or leaving the key out)
    gives the defaults."""

    reclaim_policy: ReclaimPolicy | None = Field(
        default=None,
        description="`Delete` or `Retain`. Defaults to `Retain` in prod (a deleted claim "
        "leaves its volume for recovery) and `Delete` elsewhere. `Delete` is refused in "
        "prod unless `protectData` is explicitly false.",
    )

    def effective_reclaim_policy(self, protect_data: bool) -> ReclaimPolicy:
        """Explicit setting, else Retain when the environment protects its data."""
        if self.reclaim_policy is not None:
            return self.reclaim_policy
        return ReclaimPolicy.RETAIN if protect_data else ReclaimPolicy.DELETE
