"""Names and tags of child resources."""

from __future__ import annotations

from collections.abc import Mapping


class Tagger:
    """Builds the explicit `tags=` of a child: the environment's tags plus a Name."""

    def __init__(self, base: Mapping[str, str], prefix: str) -> None:
        self._base = dict(base)
        self._prefix = prefix

    def __call__(self, role: str, **extra: str) -> dict[str, str]:
        return {**self._base, "Name": f"{self._prefix}-{role}", **extra}


#: IAM caps role name prefixes at 38 characters (AWS appends a 26-character suffix).
_IAM_PREFIX_MAX = 38


def iam_name_prefix(environment: str, role: str) -> str:
    """`<environment>-<role>-`, shortened to IAM's prefix limit. Auto-naming from the
    (long) resource name could exceed the 64-character role name limit for long team
    names; a prefix keeps names readable and unique (AWS adds the random suffix)."""
    suffix = f"-{role}-"
    return environment[: _IAM_PREFIX_MAX - len(suffix)].rstrip("-") + suffix
