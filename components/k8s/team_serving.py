"""A team's serving namespaces: what KServe (components/k8s/kserve.py) needs there besides
the tenancy fences.

* A PodDisruptionBudget over every InferenceService pod of the namespace: node drains and
  Karpenter consolidation evict at most `max_unavailable` of them at once. (KServe creates
  Deployments and HPAs per InferenceService but no disruption budget.)
* With a load balancer that sends traffic straight to pod IPs (the AWS Load Balancer
  Controller with IP targets), a NetworkPolicy that admits it: from the given networks (the
  VPC), to InferenceService pods only, on the model server port only. The namespace's
  default-deny (components/k8s/tenancy.py) would otherwise drop it. With an in-cluster
  ingress controller no such policy is needed: tenancy already admits its namespace.
* A ValidatingAdmissionPolicy and its binding to the team's namespaces: an
  InferenceService may not ask for more predictor replicas than `max_replicas`, so one
  model's HorizontalPodAutoscaler (which KServe creates from `minReplicas`/`maxReplicas`)
  cannot take the team's GPUs. Built into Kubernetes (GA since 1.30): no webhook to run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.kserve import HTTP_PORT

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:k8s/team_serving:TeamServing"

#: KServe labels every pod of an InferenceService with its name.
ISVC_LABEL = "serving.kserve.io/inferenceservice"
#: Selects every InferenceService pod of a namespace.
ISVC_PODS: Mapping[str, Any] = {
    "matchExpressions": [{"key": ISVC_LABEL, "operator": "Exists"}]}


@dataclass(frozen=True)
class TeamServingArgs:
    """Inputs of TeamServing, from validated config (mlplat.config.ServingConfig)."""

    namespaces: Sequence[str]
    """Team namespaces that serve models."""
    max_unavailable: int
    """PodDisruptionBudget of InferenceService pods: most pods down at once."""
    load_balancer_sources: Sequence[str]
    """CIDRs a load balancer reaches pods from directly (empty: none, traffic comes
    through an in-cluster ingress controller)."""
    labels: Mapping[str, str]
    """Ownership labels (components.k8s.tenancy.ownership_labels)."""
    environment: str
    """`<team>-<env>`: names the cluster-scoped admission policy."""
    max_replicas: int
    """Most predictor replicas an InferenceService may ask for."""


def disruption_budget(namespace: str, max_unavailable: int,
                      labels: Mapping[str, str]) -> dict[str, Any]:
    """The PodDisruptionBudget manifest of one serving namespace."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "inference-services", "namespace": namespace,
                     "labels": dict(labels)},
        "spec": {"maxUnavailable": max_unavailable, "selector": dict(ISVC_PODS)},
    }


def load_balancer_ingress(namespace: str, sources: Sequence[str],
                          labels: Mapping[str, str]) -> dict[str, Any]:
    """The NetworkPolicy manifest admitting a load balancer's IP targets."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-load-balancer-to-models", "namespace": namespace,
                     "labels": dict(labels)},
        "spec": {
            "podSelector": dict(ISVC_PODS),
            "policyTypes": ["Ingress"],
            "ingress": [{
                "from": [{"ipBlock": {"cidr": cidr}} for cidr in sources],
                "ports": [{"protocol": "TCP", "port": HTTP_PORT}],
            }],
        },
    }


def replica_bounds(args: TeamServingArgs) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ValidatingAdmissionPolicy and its binding (manifests) capping InferenceService
    replicas in the team's namespaces."""
    name = f"mlplat-isvc-replicas-{args.environment}"
    labels = dict(args.labels)
    checks = [
        {"expression": f"!has(object.spec.predictor.{field}) || "
                       f"object.spec.predictor.{field} <= {args.max_replicas}",
         "message": f"spec.predictor.{field} may be at most {args.max_replicas} "
                    "(mlplat:serving.autoscaling.maxReplicas)"}
        for field in ("minReplicas", "maxReplicas")
    ]
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["serving.kserve.io"], "apiVersions": ["*"],
                "operations": ["CREATE", "UPDATE"], "resources": ["inferenceservices"]}]},
            "validations": checks,
        },
    }
    team = {k: args.labels[k] for k in ("mlplat.io/team", "mlplat.io/env")}
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": labels},
        "spec": {"policyName": name, "validationActions": ["Deny"],
                 "matchResources": {"namespaceSelector": {"matchLabels": team}}},
    }
    return policy, binding


class TeamServing(pulumi.ComponentResource):
    """Disruption budgets (and load balancer ingress) of the team's serving namespaces and
    the cap on InferenceService replicas."""

    def __init__(
        self, name: str, args: TeamServingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        for namespace in args.namespaces:
            budget = disruption_budget(namespace, args.max_unavailable, args.labels)
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb-{namespace}", metadata=budget["metadata"], spec=budget["spec"],
                opts=child,
            )
            if args.load_balancer_sources:
                policy = load_balancer_ingress(namespace, args.load_balancer_sources,
                                               args.labels)
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-lb-ingress-{namespace}", metadata=policy["metadata"],
                    spec=policy["spec"], opts=child,
                )
        policy, binding = replica_bounds(args)
        admission = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-replica-bounds", metadata=policy["metadata"], spec=policy["spec"],
            opts=child,
        )
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-replica-bounds-binding", metadata=binding["metadata"],
            spec=binding["spec"], opts=pulumi.ResourceOptions(parent=self,
                                                              depends_on=[admission]),
        )
        self.register_outputs({})
