"""The distributed training operator: JobSet (kubernetes-sigs/jobset), pinned, cluster-wide.

A JobSet runs a distributed PyTorch job as replicated batch Jobs (one leader and N
workers) with stable DNS names for rendezvous; Kueue queues and admits the whole JobSet as
one workload (gang admission). Why JobSet and not Kubeflow Trainer:
docs/adr/0016-kueue-and-jobset.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components._lib.helm import pinned_release

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:k8s/training_operator:JobSetOperator"

NAMESPACE = "jobset-system"


@dataclass(frozen=True)
class JobSetOperatorArgs:
    """Inputs of JobSetOperator."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    """Where the controller runs (the cluster's system nodes)."""


def jobset_values(args: JobSetOperatorArgs) -> dict[str, Any]:
    """Helm values: the release image (the chart defaults to a staging `main` build), two
    replicas behind leader election with a disruption budget, the chart's hardened
    security contexts stated explicitly so the plan shows them."""
    return {
        "image": {
            "repository": versions.JOBSET_IMAGE_REPOSITORY,
            "tag": f"v{versions.JOBSET_VERSION}",
            "pullPolicy": "IfNotPresent",
        },
        "controller": {
            "replicas": 2,
            "leaderElection": {"enable": True},
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            "nodeSelector": dict(args.node_selector),
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "podSecurityContext": {"runAsNonRoot": True,
                                   "seccompProfile": {"type": "RuntimeDefault"}},
        },
    }


class JobSetOperator(pulumi.ComponentResource):
    """The JobSet controller and its CRDs, as one pinned Helm release."""

    release: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: JobSetOperatorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        self.release = pinned_release(
            f"{name}-release", name="jobset", chart=versions.JOBSET_CHART,
            version=versions.JOBSET_VERSION, namespace=NAMESPACE, create_namespace=True,
            values=jobset_values(args), opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
