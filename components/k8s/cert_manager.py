"""cert-manager, cluster-wide, pinned: KServe's chart issues the certificate of its admission
webhooks through it (a self-signed Issuer and a Certificate in the KServe namespace, both
rendered by that chart). mlplat creates no Issuer of its own: nothing else needs one yet.
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
TOKEN = "mlplat:k8s/cert_manager:CertManager"

NAMESPACE = "cert-manager"


@dataclass(frozen=True)
class CertManagerArgs:
    """Inputs of CertManager."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    """Where the controller, webhook and CA injector run (the cluster's system nodes)."""


def cert_manager_values(args: CertManagerArgs) -> dict[str, Any]:
    """Helm values: CRDs installed and kept on uninstall (deleting them would delete every
    Certificate), two replicas of the controller and webhook with disruption budgets."""
    selector = dict(args.node_selector)
    budget = {"enabled": True, "minAvailable": 1}
    return {
        "crds": {"enabled": True, "keep": True},
        "replicaCount": 2,
        "podDisruptionBudget": budget,
        "nodeSelector": selector,
        "webhook": {"replicaCount": 2, "podDisruptionBudget": budget,
                    "nodeSelector": selector},
        "cainjector": {"replicaCount": 2, "podDisruptionBudget": budget,
                       "nodeSelector": selector},
        "startupapicheck": {"nodeSelector": selector},
    }


class CertManager(pulumi.ComponentResource):
    """cert-manager as one pinned Helm release (CRDs included)."""

    release: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: CertManagerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        self.release = pinned_release(
            f"{name}-release", name="cert-manager", chart=versions.CERT_MANAGER_CHART,
            version=versions.CERT_MANAGER_VERSION, repository=versions.CERT_MANAGER_REPOSITORY,
            namespace=NAMESPACE, create_namespace=True, values=cert_manager_values(args),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
