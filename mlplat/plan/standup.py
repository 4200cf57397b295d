"""Estimated time to stand up an environment: the critical path through its plan.

`pulumi up` creates resources in parallel as soon as what they depend on exists, so the
wall time of a first deployment is the longest chain of dependencies weighted by how long
each resource takes to create. The chain is read from the plan: a resource waits for its
recorded dependencies and for its provider (a Kubernetes object waits for the cluster
through the Kubernetes provider, whose kubeconfig comes from it). A dependency on a
component means every resource inside it.

Durations per resource type are in CREATE_SECONDS, each with where the figure comes from.
They are typical creation times, not guarantees; the point is which chain dominates and
roughly how long a team waits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from mlplat.plan.model import Plan, ResourceRecord

#: Seconds to create one resource of a type, and the source of the figure.
CREATE_SECONDS: Mapping[str, tuple[int, str]] = {
    "aws:eks/cluster:Cluster": (
        600, "Amazon EKS User Guide, create a cluster: provisioning takes several minutes; "
             "about 10 minutes is typical"),
    "aws:eks/nodeGroup:NodeGroup": (
        300, "typical managed node group creation (instances launch and join): 3-5 minutes"),
    "aws:eks/addon:Addon": (90, "typical EKS add-on creation until ACTIVE"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (5, "API call"),
    "aws:eks/accessEntry:AccessEntry": (5, "API call"),
    "aws:rds/instance:Instance": (
        720, "typical RDS for PostgreSQL creation, single-AZ: 10-15 minutes"),
    "aws:ec2/natGateway:NatGateway": (120, "typical NAT gateway until available: 1-2 minutes"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": (60, "typical gateway/interface endpoint creation"),
    "aws:efs/fileSystem:FileSystem": (15, "typical EFS file system until available"),
    "aws:efs/mountTarget:MountTarget": (90, "typical EFS mount target until available"),
    "aws:kms/key:Key": (5, "API call"),
    "aws:iam/role:Role": (10, "API call plus IAM propagation wait by the provider"),
    "aws:s3/bucket:Bucket": (5, "API call"),
    "kubernetes:helm.sh/v3:Release": (
        120, "chart install with the provider waiting for its workloads to become ready"),
    "kubernetes:batch/v1:Job": (60, "image pull and one short run"),
    "kubernetes:apps/v1:Deployment": (60, "image pull and readiness"),
}
#: Anything not listed: one API call.
DEFAULT_AWS_SECONDS = 3
DEFAULT_OTHER_SECONDS = 1
#: A Multi-AZ database also builds its standby.
MULTI_AZ_RDS_SECONDS = 1200


def create_seconds(record: ResourceRecord) -> int:
    """How long creating `record` typically takes."""
    if record.type == "aws:rds/instance:Instance" and record.inputs.get("multi_az"):
        return MULTI_AZ_RDS_SECONDS
    if record.type in CREATE_SECONDS:
        return CREATE_SECONDS[record.type][0]
    if not record.custom or record.is_provider:
        return 0
    return DEFAULT_AWS_SECONDS if record.package == "aws" else DEFAULT_OTHER_SECONDS


@dataclass(frozen=True)
class CriticalPath:
    """The longest chain of creations, first to last, and its total."""

    seconds: int
    steps: list[tuple[ResourceRecord, int]]

    def describe(self, limit: int = 8) -> str:
        """`~27 min: vpc -> nat -> ... -> release` with the slowest steps named."""
        minutes = round(self.seconds / 60)
        slow = [f"{r.type.rpartition(':')[2]} {r.name} ({s // 60}m{s % 60:02d}s)"
                for r, s in self.steps if s >= 60][:limit]
        return f"~{minutes} min: " + " -> ".join(slow or [r.name for r, _ in self.steps])


def critical_path(plan: Plan) -> CriticalPath:
    """The longest duration-weighted dependency chain of `plan`."""
    by_urn = {record.urn: record for record in plan.resources}
    children: dict[str, list[str]] = {}
    for record in plan.resources:
        if record.parent:
            children.setdefault(record.parent, []).append(record.urn)

    def leaves(urn: str, seen: frozenset[str] = frozenset()) -> list[str]:
        """A component stands for every resource under it."""
        record = by_urn.get(urn)
        if record is None or urn in seen:
            return []
        if record.custom:
            return [urn]
        found: list[str] = []
        for child in children.get(urn, []):
            found += leaves(child, seen | {urn})
        return found

    def waits_for(record: ResourceRecord) -> set[str]:
        direct = set(record.dependencies)
        if record.provider:
            direct.add(record.provider)
        return {leaf for urn in direct for leaf in leaves(urn)} - {record.urn}

    @cache
    def finish(urn: str) -> tuple[int, tuple[str, ...]]:
        record = by_urn[urn]
        best: tuple[int, tuple[str, ...]] = (0, ())
        for dependency in sorted(waits_for(record)):
            candidate = finish(dependency)
            if candidate[0] > best[0]:
                best = candidate
        return best[0] + create_seconds(record), best[1] + (urn,)

    total, chain = max((finish(r.urn) for r in plan.resources if r.custom),
                       default=(0, ()))
    return CriticalPath(total, [(by_urn[u], create_seconds(by_urn[u])) for u in chain])
