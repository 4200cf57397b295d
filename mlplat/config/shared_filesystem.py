"""The `mlplat:sharedFilesystem` layer: an encrypted Amazon EFS file system for training
data shared by the team's pods, with the EFS CSI driver and StorageClass `efs-shared`.

Off by default (absent key): EFS costs per GiB stored and per GiB transferred, and many
teams read training data from the object store instead. `{}` gives the defaults below.
Why EFS and not FSx for Lustre: docs/adr/0007-shared-filesystem-efs.md.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from mlplat.config.base import _Model

#: Days after which EFS can move a file to Infrequent Access (the values EFS accepts).
IA_TRANSITION_DAYS: frozenset[int] = frozenset({1, 7, 14, 30, 60, 90, 180, 270, 365})

#: GIDs the EFS CSI driver may hand to access points; below 50000 collides with users and
#: groups of images and nodes.
MIN_GID = 50000
#: The driver's own upper bound for gidRangeEnd.
MAX_GID = 7000000


class ThroughputMode(StrEnum):
    """EFS throughput mode."""

    ELASTIC = "elastic"
    BURSTING = "bursting"


class SharedFilesystemConfig(_Model):
    """An EFS file system in every private subnet, reachable from cluster nodes only."""

    throughput_mode: ThroughputMode = Field(
        default=ThroughputMode.ELASTIC,
        description="`elastic` (default: pay per transfer, scales with bursts of reads at "
        "the start of training) or `bursting` (throughput grows with stored size).",
    )
    transition_to_ia_days: int | None = Field(
        default=30,
        description="Move files not read for this many days to Infrequent Access (one of "
        + ", ".join(str(d) for d in sorted(IA_TRANSITION_DAYS))
        + "); null keeps everything in Standard. Files move back on first access.",
    )
    backup: bool | None = Field(
        default=None,
        description="AWS Backup of the file system. Defaults to on where data is protected "
        "(prod) and off elsewhere; switching it off in prod is refused unless protectData is "
        "explicitly false.",
    )
    gid_range_start: int = Field(
        default=MIN_GID,
        ge=MIN_GID,
        le=MAX_GID,
        description="First POSIX GID the CSI driver gives an access point (one per volume).",
    )
    gid_range_end: int = Field(
        default=MAX_GID,
        ge=MIN_GID,
        le=MAX_GID,
        description="Last POSIX GID for access points; at most 7000000.",
    )

    @model_validator(mode="after")
    def _rules(self) -> Self:
        days = self.transition_to_ia_days
        if days is not None and days not in IA_TRANSITION_DAYS:
            allowed = ", ".join(str(d) for d in sorted(IA_TRANSITION_DAYS))
            raise ValueError(f"transitionToIaDays {days} is not one EFS offers; use {allowed}")
        if self.gid_range_start >= self.gid_range_end:
            raise ValueError(
                f"gidRangeStart ({self.gid_range_start}) must be below gidRangeEnd "
                f"({self.gid_range_end})"
            )
        return self

    def effective_backup(self, protect_data: bool) -> bool:
        """Explicit setting, else on when the environment protects its data."""
        return protect_data if self.backup is None else self.backup
