"""Kueue, cluster-wide: the controller (pinned Helm release) and one ResourceFlavor per GPU
pool. The per-team part (a ClusterQueue in the cohort, a LocalQueue per team namespace) is
components/k8s/team_queues.py, so a shared platform cluster installs this once and every
team stack adds its own queues.

Provider-neutral: the GPU pools arrive as names, node labels and the taint their nodes carry.

* Kueue manages only batch Jobs and JobSets (the training operator, components/k8s/
  training_operator.py); Deployments and plain Pods stay out of it, so serving is never
  queued.
* With `require_queue`, a Job or JobSet in a team namespace (a namespace labelled
  `mlplat.io/team`) that names no LocalQueue stays suspended: nothing reaches the GPUs
  around the quota.
* A ResourceFlavor per pool carries the pool's node labels (Kueue adds them as a node
  selector to admitted pods, so they land on that pool) and the pool's taint (a workload is
  admitted on the flavor only if it tolerates it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import versions
from components._lib.helm import pinned_release

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:k8s/kueue:Kueue"

NAMESPACE = "kueue-system"
#: Namespaces whose Jobs Kueue manages even without a queue label (the team namespaces).
TEAM_NAMESPACE_LABEL = "mlplat.io/team"
#: Job kinds Kueue manages: batch Jobs and JobSets, nothing that serves.
INTEGRATIONS: tuple[str, ...] = ("batch/job", "jobset.x-k8s.io/jobset")
#: Labels of every cluster-wide object mlplat creates for training.
PLATFORM_LABELS: Mapping[str, str] = {
    "app.kubernetes.io/managed-by": "mlplat",
    "app.kubernetes.io/part-of": "mlplat-training",
}


@dataclass(frozen=True)
class GpuFlavor:
    """One GPU pool as Kueue sees it."""

    name: str
    """Pool name; also the ResourceFlavor's name."""
    node_labels: Mapping[str, str]
    """Labels every node of the pool carries (only those that identify the pool)."""
    taints: Sequence[Mapping[str, str]]
    """Taints every node of the pool carries."""


@dataclass(frozen=True)
class KueueArgs:
    """Inputs of Kueue."""

    flavors: Sequence[GpuFlavor]
    """One ResourceFlavor per GPU pool, with the pool's node label and taint."""
    require_queue: bool
    """Suspend queue-less Jobs and JobSets in team namespaces (mlplat.config.TrainingConfig)."""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    """Where the controller runs (the cluster's system nodes)."""


def manager_config(require_queue: bool) -> str:
    """Kueue's controller configuration (the chart's `controllerManagerConfigYaml`)."""
    config: dict[str, Any] = {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": ":8081"},
        "metrics": {"bindAddress": ":8443"},
        "webhook": {"port": 9443},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        "manageJobsWithoutQueueName": require_queue,
        "integrations": {"frameworks": list(INTEGRATIONS)},
    }
    if require_queue:
        # Only team namespaces: platform Jobs (e.g. the MLflow database setup) run unqueued.
        config["managedJobsNamespaceSelector"] = {"matchExpressions": [
            {"key": TEAM_NAMESPACE_LABEL, "operator": "Exists"}]}
    return yaml.safe_dump(config, sort_keys=True)


def kueue_values(args: KueueArgs) -> dict[str, Any]:
    """Helm values of the Kueue chart: the release image (the chart defaults to a staging
    build), two replicas with a disruption budget, the manager configuration."""
    return {
        "controllerManager": {
            "manager": {
                "image": {
                    "repository": versions.KUEUE_IMAGE_REPOSITORY,
                    "tag": f"v{versions.KUEUE_VERSION}",
                    "pullPolicy": "IfNotPresent",
                },
            },
            "replicas": 2,
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            "nodeSelector": dict(args.node_selector),
        },
        "managerConfig": {"controllerManagerConfigYaml": manager_config(args.require_queue)},
        "enableCertManager": False,  # Kueue's own certificate rotation serves its webhook
    }


def resource_flavor(flavor: GpuFlavor) -> dict[str, Any]:
    """The ResourceFlavor manifest's spec of one GPU pool."""
    return {
        "nodeLabels": dict(flavor.node_labels),
        "nodeTaints": [dict(taint) for taint in flavor.taints],
    }


class Kueue(pulumi.ComponentResource):
    """The Kueue controller and a ResourceFlavor per GPU pool."""

    release: k8s.helm.v3.Release
    flavor_names: list[str]

    def __init__(
        self, name: str, args: KueueArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        self.release = pinned_release(
            f"{name}-release", name="kueue", chart=versions.KUEUE_CHART,
            version=versions.KUEUE_VERSION, namespace=NAMESPACE, create_namespace=True,
            values=kueue_values(args), opts=pulumi.ResourceOptions(parent=self),
        )
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        for flavor in args.flavors:
            k8s.apiextensions.CustomResource(
                f"{name}-flavor-{flavor.name}",
                api_version=versions.KUEUE_API_VERSION,
                kind="ResourceFlavor",
                metadata={"name": flavor.name, "labels": dict(PLATFORM_LABELS)},
                spec=resource_flavor(flavor),
                opts=after_crds,
            )
        self.flavor_names = [flavor.name for flavor in args.flavors]
        self.register_outputs({"flavor_names": self.flavor_names})
