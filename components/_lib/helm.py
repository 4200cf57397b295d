"""A Helm release at a pinned chart version, the way every chart of the training and serving
layers is installed: `helm.v3.Release` (chart, version, repository and values stay visible in
the plan, ADR 0001) with a bounded history."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

#: Release revisions Helm keeps (each is a Secret in the release's namespace).
MAX_HISTORY = 10


def pinned_release(
    resource_name: str,
    *,
    name: str,
    chart: str,
    version: str,
    namespace: str,
    values: dict[str, Any],
    opts: pulumi.ResourceOptions,
    repository: str | None = None,
    create_namespace: bool = False,
    skip_crds: bool = False,
) -> k8s.helm.v3.Release:
    """`chart` (an `oci://` reference, or a chart name in the `repository` URL) at exactly
    `version`, installed as release `name` in `namespace`."""
    return k8s.helm.v3.Release(
        resource_name,
        name=name,
        chart=chart,
        version=version,
        repository_opts=(k8s.helm.v3.RepositoryOptsArgs(repo=repository)
                         if repository is not None else None),
        namespace=namespace,
        create_namespace=create_namespace,
        skip_crds=skip_crds,
        values=values,
        max_history=MAX_HISTORY,
        opts=opts,
    )
