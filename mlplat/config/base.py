"""Shared pieces of the config models: the base model, annotated field types and enums used
by more than one layer, and ConfigError (defined in `mlplat.core.config_error`, which the
CLI imports without the models)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from mlplat.core.config_error import ConfigError as ConfigError  # re-exported

CONFIG_NAMESPACE = "mlplat"

#: CloudWatch Logs accepts only these retention periods (days).
CLOUDWATCH_RETENTION_DAYS: frozenset[int] = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
     2557, 2922, 3288, 3653}
)

# Patterns are applied with `fullmatch`: `match` with `$` lets a trailing newline through.
_DNS_LABEL = re.compile(r"[a-z]([a-z0-9-]{0,28}[a-z0-9])?")
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")

#: Kubernetes controllers (Karpenter) parse durations as Go's time.Duration: int64
#: nanoseconds, so nothing longer than 2562047h47m16s.
MAX_DURATION_SECONDS = (2**63 - 1) // 10**9


class _Model(BaseModel):
    """Base of every config model: camelCase keys in YAML, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=False,
        frozen=True,
        use_enum_values=False,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML reads `yes`, `on`, `true` as a boolean and pydantic reads a boolean as 1 or 0:
        `gpuLimit: yes` would quietly become 1. A number field refuses booleans, and a
        switch takes only `true` or `false` (`backup: 0` is not written as a switch)."""
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        # `int`, `float`, `bool`, or one of them `| None`
        members = {_unannotated(member)
                   for member in get_args(field.annotation) or (field.annotation,)}
        members -= {type(None)}
        if members == {bool} and value is not None and not isinstance(value, bool):
            # pydantic would read 0, 1, "yes", "off", "t" as booleans
            raise ValueError(f"must be true or false (got {value!r})")
        if isinstance(value, bool) and members and members <= {int, float}:
            kind = "a whole number" if members == {int} else "a number"
            raise ValueError(f"must be {kind} (got {str(value).lower()})")
        return value


def _unannotated(annotation: Any) -> Any:
    """`Annotated[int, ...]` -> `int` (a `RetentionDays | None` field is a number field)."""
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(
            "must be a DNS label: lowercase letters, digits and '-', starting with a letter, "
            "at most 30 characters"
        )
    return value


def _duration(value: str) -> str:
    found = _DURATION.fullmatch(value)
    if not value or found is None:
        raise ValueError("must be a duration such as '30s', '10m' or '720h'")
    hours, minutes, seconds = (int(part or 0) for part in found.groups())
    if hours * 3600 + minutes * 60 + seconds > MAX_DURATION_SECONDS:
        raise ValueError(
            f"{value} is longer than a Go duration can hold (2562047h47m16s); "
            "Karpenter would refuse it"
        )
    return value


def _retention_days(value: int) -> int:
    if value not in CLOUDWATCH_RETENTION_DAYS:
        allowed = ", ".join(str(v) for v in sorted(CLOUDWATCH_RETENTION_DAYS))
        raise ValueError(f"{value} is not a CloudWatch retention period; use one of {allowed}")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Duration = Annotated[str, AfterValidator(_duration)]
#: Days CloudWatch keeps a log group's events; only the values CloudWatch offers.
RetentionDays = Annotated[int, AfterValidator(_retention_days)]

#: Log retention when the config does not say: a year in prod (the control checkov applies,
#: CKV_AWS_338, and what incident investigations reach back to), 90 days elsewhere.
PROD_LOG_RETENTION_DAYS = 365
NON_PROD_LOG_RETENTION_DAYS = 90


def effective_log_retention_days(explicit: int | None, prod: bool) -> int:
    """Retention as deployed: the explicit setting, else the tier's default."""
    if explicit is not None:
        return explicit
    return PROD_LOG_RETENTION_DAYS if prod else NON_PROD_LOG_RETENTION_DAYS


class Env(StrEnum):
    """Environment tier. `prod` switches on the strictest defaults."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"
