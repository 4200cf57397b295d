"""The `mlplat:metadataDb` layer: the PostgreSQL database of the environment's platform
services (experiment tracking, model registry, pipeline metadata).

Names describe the database (engine version, size, backups, high availability), not the
RDS API, so an on-prem substrate can read the same block later; rules that depend on the
environment tier (prod: Multi-AZ, 14 days of backups) live in environment.py.
"""

from __future__ import annotations

import re
from typing import Self

from pydantic import Field, field_validator, model_validator

from components import versions
from mlplat import catalog
from mlplat.config.base import RetentionDays, _Model

#: Backups the RDS API allows (days); below these mlplat refuses (see the fields).
MIN_BACKUP_RETENTION_DAYS = 7
MIN_PROD_BACKUP_RETENTION_DAYS = 14
MAX_BACKUP_RETENTION_DAYS = 35

#: PostgreSQL identifiers: a letter, then letters, digits, `_`; RDS caps the database name at
#: 63 and the master user name at 63 (16 for some engines; PostgreSQL allows 63).
_PG_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")
#: Names PostgreSQL or RDS keep for themselves and refuse as master user or database.
_RESERVED_NAMES = frozenset({
    "admin", "postgres", "rdsadmin", "rds_superuser", "rdsrepladmin", "template0",
    "template1", "public", "user", "root",
})


class DbAlarmsConfig(_Model):
    """Thresholds of the CloudWatch alarms on the database (all alarms are always on and
    notify the environment's alarm topic)."""

    cpu_utilization_percent: int = Field(
        default=80, ge=1, le=100,
        description="Alarm when average CPU stays above this percentage for 15 minutes.",
    )
    free_storage_gib: int = Field(
        default=5, ge=1, le=1000,
        description="Alarm when free storage falls below this many GiB (storage autoscaling "
        "grows the volume up to `maxAllocatedStorageGib`; this catches the ceiling).",
    )
    connections: int = Field(
        default=200, ge=1, le=100000,
        description="Alarm when open connections stay above this count for 15 minutes "
        "(PostgreSQL's `max_connections` on RDS derives from the instance memory).",
    )


class MetadataDbConfig(_Model):
    """PostgreSQL for the platform's metadata: private, encrypted, TLS-only, backed up."""

    engine_version: str = Field(
        default=versions.POSTGRES_DEFAULT_MAJOR,
        description="PostgreSQL major version, one of those pinned in components/versions.py "
        f"({', '.join(versions.POSTGRES_PARAMETER_FAMILIES)}). Minor versions are applied by "
        "the provider in the maintenance window.",
    )
    instance_class: str = Field(
        default="db.t4g.medium",
        description="DB instance class, one of mlplat/data/db_instance_classes.yaml.",
    )
    allocated_storage_gib: int = Field(
        default=20, ge=20, le=65536, description="Initial gp3 storage in GiB."
    )
    max_allocated_storage_gib: int = Field(
        default=100, ge=21, le=65536,
        description="Storage autoscaling ceiling in GiB (greater than `allocatedStorageGib`).",
    )
    multi_az: bool | None = Field(
        default=None,
        description="Standby replica in a second availability zone. Defaults to true in prod "
        "(where false is refused) and false elsewhere.",
    )
    backup_retention_days: int | None = Field(
        default=None,
        ge=MIN_BACKUP_RETENTION_DAYS,
        le=MAX_BACKUP_RETENTION_DAYS,
        description=f"Days of automated backups (the point-in-time recovery window), "
        f"{MIN_BACKUP_RETENTION_DAYS} to {MAX_BACKUP_RETENTION_DAYS}; at least "
        f"{MIN_PROD_BACKUP_RETENTION_DAYS} in prod. Defaults to {MIN_PROD_BACKUP_RETENTION_DAYS} "
        f"in prod and {MIN_BACKUP_RETENTION_DAYS} elsewhere.",
    )
    database_name: str = Field(
        default="mlplat",
        description="Name of the database created with the instance (lowercase letters, "
        "digits, `_`; starts with a letter).",
    )
    master_username: str = Field(
        default="mlplat_admin",
        description="Master user name. Its password is generated and rotated by RDS in "
        "Secrets Manager; it never appears in config, state or plan.",
    )
    performance_insights_retention_days: int = Field(
        default=7,
        description="Days Performance Insights keeps data: 7 (free tier) or a multiple of 31 "
        "up to 731.",
    )
    log_retention_days: RetentionDays = Field(
        default=90, description="Days CloudWatch keeps the exported PostgreSQL and upgrade logs."
    )
    alarms: DbAlarmsConfig = Field(
        default_factory=DbAlarmsConfig, description="CloudWatch alarm thresholds."
    )

    @field_validator("engine_version")
    @classmethod
    def _pinned_major(cls, value: str) -> str:
        if value not in versions.POSTGRES_PARAMETER_FAMILIES:
            raise ValueError(
                f"{value!r} is not a PostgreSQL major version pinned in components/versions.py; "
                f"use one of {', '.join(versions.POSTGRES_PARAMETER_FAMILIES)}"
            )
        return value

    @field_validator("instance_class")
    @classmethod
    def _catalogued_class(cls, value: str) -> str:
        if value not in catalog.DB_INSTANCE_CLASSES.classes:
            raise ValueError(
                f"{value} is not a known DB instance class (see "
                f"mlplat/data/db_instance_classes.yaml, checked "
                f"{catalog.DB_INSTANCE_CLASSES.checked})"
            )
        return value

    @field_validator("database_name", "master_username")
    @classmethod
    def _pg_identifier(cls, value: str) -> str:
        if not _PG_IDENTIFIER.fullmatch(value):
            raise ValueError(
                f"{value!r} must be 1 to 63 lowercase letters, digits and '_', starting with a "
                "letter"
            )
        if value in _RESERVED_NAMES:
            raise ValueError(f"{value!r} is reserved by PostgreSQL or RDS")
        return value

    @field_validator("performance_insights_retention_days")
    @classmethod
    def _pi_retention(cls, value: int) -> int:
        if value != 7 and not (value % 31 == 0 and 31 <= value <= 731):
            raise ValueError(f"{value} is not 7 or a multiple of 31 up to 731")
        return value

    @model_validator(mode="after")
    def _storage_ceiling(self) -> Self:
        if self.max_allocated_storage_gib <= self.allocated_storage_gib:
            raise ValueError(
                f"maxAllocatedStorageGib ({self.max_allocated_storage_gib}) must be greater "
                f"than allocatedStorageGib ({self.allocated_storage_gib}) for storage autoscaling"
            )
        return self

    def effective_multi_az(self, prod: bool) -> bool:
        """Multi-AZ as deployed: the explicit setting, else on in prod only."""
        return prod if self.multi_az is None else self.multi_az

    def effective_backup_retention_days(self, prod: bool) -> int:
        """Backup retention as deployed: the explicit setting, else the tier's minimum."""
        if self.backup_retention_days is not None:
            return self.backup_retention_days
        return MIN_PROD_BACKUP_RETENTION_DAYS if prod else MIN_BACKUP_RETENTION_DAYS

    @property
    def parameter_group_family(self) -> str:
        """RDS parameter group family of the configured major version."""
        return versions.POSTGRES_PARAMETER_FAMILIES[self.engine_version]
