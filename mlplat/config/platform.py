"""Shared or dedicated: `mlplat:cluster.mode`, `mlplat:cluster.platformStack` and the
`mlplat:platform` layer of a platform stack (ADR 0004, ADR 0008).

* `dedicated` (default): the stack builds its own network, cluster, node pools and
  database, as it always did.
* `shared`: the team lands on a platform stack's cluster and database through a Pulumi
  `StackReference` to `cluster.platformStack`; the stack declares only what is the team's
  (buckets, namespaces, access, its database on the shared RDS instance, MLflow).
* A stack with `mlplat:platform` is a platform: it owns the shared cluster and RDS
  instance and exports what its tenants read.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import Field

from mlplat.config.base import DnsLabel, _Model

#: `stack`, or `org/project/stack` (Pulumi's fully qualified stack name).
STACK_REFERENCE = re.compile(
    r"(?:[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*/)?[A-Za-z0-9][A-Za-z0-9_.-]*"
)


class ClusterMode(StrEnum):
    """Whether a team environment has its own cluster or lands on a platform's."""

    DEDICATED = "dedicated"
    SHARED = "shared"


def referenced_stack(reference: str) -> tuple[str | None, str]:
    """`org/project/stack` -> (`project`, `stack`); a bare `stack` -> (None, `stack`)."""
    parts = reference.split("/")
    return (parts[1], parts[2]) if len(parts) == 3 else (None, parts[0])


def check_stack_reference(value: str) -> str:
    """A stack name or `org/project/stack`, as Pulumi accepts them."""
    if not STACK_REFERENCE.fullmatch(value):
        raise ValueError(f"{value!r} is not a stack name or org/project/stack")
    return value


class PlatformConfig(_Model):
    """This stack is a platform: its cluster and metadata database host tenant stacks."""

    setup_namespace: DnsLabel = Field(
        default="mlplat-system",
        description="Platform namespace where tenants' one-shot database setup Jobs run (the "
        "only place the RDS master secret is read); the platform creates it, tenants never "
        "own it, and no team namespace may carry this name.",
    )
