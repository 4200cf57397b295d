"""The `mlplat:objectStore` layer: buckets per purpose (datasets, model artifacts, ...) and
the access-log bucket they log to.

Field names say what a bucket is for and how long old data lives, not how AWS spells it, so
that an on-prem substrate (S3-compatible storage) can read the same block later; the few
AWS-only knobs say so in their description.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from mlplat.config.base import _Model

#: Purposes every object store has: training data and model artifacts.
REQUIRED_PURPOSES: tuple[str, ...] = ("datasets", "artifacts")
#: The access-log bucket is named after this purpose; no data bucket may take it.
ACCESS_LOG_PURPOSE = "access-logs"

# A purpose names the bucket (`<team>-<env>-<purpose>-...`), so S3's bucket name alphabet,
# short enough that the prefix fits S3's 37-character `bucket_prefix`. Applied with fullmatch.
_PURPOSE = re.compile(r"[a-z]([a-z0-9-]{0,14}[a-z0-9])?")


def _purpose(value: str) -> str:
    if not _PURPOSE.fullmatch(value) or "--" in value:
        raise ValueError(
            f"bucket purpose {value!r} must be 1 to 16 lowercase letters, digits and single "
            "'-', starting with a letter and not ending with '-'"
        )
    if value == ACCESS_LOG_PURPOSE:
        raise ValueError(f"bucket purpose {value!r} is reserved for the access-log bucket")
    return value


Purpose = Annotated[str, AfterValidator(_purpose)]


class BucketConfig(_Model):
    """Retention of one data bucket. Every bucket is versioned, encrypted with the store's
    KMS key, private, TLS-only and access-logged; none of that is configurable."""

    noncurrent_version_expiration_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days an overwritten or deleted object version is kept before it expires "
        "(the undo window for accidental overwrites and deletes).",
    )
    abort_incomplete_multipart_upload_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="Days after which the parts of an unfinished multipart upload are deleted "
        "(they are billed but invisible in listings).",
    )
    intelligent_tiering_after_days: int | None = Field(
        default=None,
        ge=0,
        le=3650,
        description="AWS only: move current objects to S3 Intelligent-Tiering after this many "
        "days (0: at once). Unset: stay in S3 Standard. Worth it for large datasets read "
        "unevenly; Intelligent-Tiering bills a monitoring fee per object, so not for many "
        "small files.",
    )


def _default_buckets() -> dict[str, BucketConfig]:
    return {
        "datasets": BucketConfig.model_validate({"intelligentTieringAfterDays": 0}),
        "artifacts": BucketConfig(),
    }


class AccessLogsConfig(_Model):
    """The bucket receiving the server access logs of every data bucket."""

    expiration_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="Days an access log object is kept.",
    )


class ObjectStoreConfig(_Model):
    """Object storage of the environment: one bucket per purpose plus an access-log bucket."""

    buckets: dict[Purpose, BucketConfig] = Field(
        default_factory=_default_buckets,
        description="Data buckets by purpose (the map key: 1 to 16 of `a-z 0-9 -`, e.g. "
        "`datasets`, `artifacts`, `checkpoints`). `datasets` and `artifacts` (models) are "
        f"required; `{ACCESS_LOG_PURPOSE}` is reserved. Default: both, with datasets moving to "
        "Intelligent-Tiering at once.",
    )
    access_logs: AccessLogsConfig = Field(
        default_factory=AccessLogsConfig, description="The access-log bucket."
    )

    @field_validator("buckets")
    @classmethod
    def _required_purposes(cls, value: dict[str, BucketConfig]) -> dict[str, BucketConfig]:
        missing = [p for p in REQUIRED_PURPOSES if p not in value]
        if missing:
            raise ValueError(f"missing required bucket purpose(s): {', '.join(missing)}")
        return value
