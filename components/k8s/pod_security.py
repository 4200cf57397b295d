"""Cluster-wide admission policies: what no pod and no Service may do, whatever namespace it
lands in.

Pod Security Admission labels (components/k8s/tenancy.py) only cover namespaces mlplat
labels; `default` or a namespace someone creates by hand enforce nothing. These
ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1, GA since Kubernetes 1.30; CEL
evaluated in the API server, no webhook to run or to fail open) close that gap:

* `mlplat-host-isolation`: no privileged container, no hostNetwork, hostPID or hostIPC, no
  hostPath volume in any namespace outside an explicit allow-list (kube-system, the
  platform's monitoring namespace, and `cluster.privilegedNamespaces`). A hostNetwork pod
  sits on the node's network hop, where the IMDS hop limit no longer keeps it from the node
  role's credentials; this is the control that keeps such pods out of team namespaces.
* `mlplat-internal-load-balancers` (unless `network.internetFacingLoadBalancers`): a Service
  of type LoadBalancer must ask for an internal load balancer explicitly (EKS's built-in
  controller makes internet-facing Classic/NLBs by default), and an Ingress may not ask the
  AWS Load Balancer Controller for the `internet-facing` scheme.

Both bindings deny (not only warn or audit), and both policies fail closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:k8s/pod_security:ClusterAdmissionPolicies"

#: Namespaces whose pods need the node: kube-system (VPC CNI, kube-proxy, EBS/EFS CSI node
#: plugins, the NVIDIA device plugin: hostNetwork, hostPath, privileged) and the platform's
#: monitoring namespace (node exporters read the host's /proc and /sys). Teams have no
#: rights to create namespaces, so they cannot claim one of these names. Later layers add
#: their own through `ClusterAdmissionPoliciesArgs.privileged_namespaces`.
PLATFORM_PRIVILEGED_NAMESPACES: tuple[str, ...] = ("kube-system", "monitoring")

HOST_ISOLATION_POLICY = "mlplat-host-isolation"
INTERNAL_LOAD_BALANCERS_POLICY = "mlplat-internal-load-balancers"

#: Annotations that make a LoadBalancer Service internal: the AWS Load Balancer Controller's
#: scheme, and the legacy (EKS built-in controller) switch.
SERVICE_SCHEME_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-scheme"
SERVICE_INTERNAL_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-internal"
INGRESS_SCHEME_ANNOTATION = "alb.ingress.kubernetes.io/scheme"


@dataclass(frozen=True)
class ClusterAdmissionPoliciesArgs:
    """Inputs of the cluster-wide admission policies."""

    privileged_namespaces: Sequence[str] = ()
    """Namespaces, besides PLATFORM_PRIVILEGED_NAMESPACES, where host access is allowed
    (`cluster.privilegedNamespaces`)."""
    internet_facing_load_balancers: bool = False
    """`network.internetFacingLoadBalancers`: when true, no load balancer policy."""
    labels: Mapping[str, str] | None = None
    """Labels on every object (ownership)."""

    def allowed_namespaces(self) -> list[str]:
        """The whole allow-list of the host-isolation policy, sorted and deduplicated."""
        return sorted({*PLATFORM_PRIVILEGED_NAMESPACES, *self.privileged_namespaces})


def _no_privileged(field: str) -> str:
    return (f"!has(object.spec.{field}) || object.spec.{field}.all(c, "
            "!has(c.securityContext) || !has(c.securityContext.privileged) || "
            "!c.securityContext.privileged)")


def host_isolation_validations() -> list[dict[str, str]]:
    """CEL checks on a Pod: one validation per forbidden thing, so the message names it."""
    flag = "!has(object.spec.{0}) || !object.spec.{0}"
    checks = [
        (flag.format("hostNetwork"), "hostNetwork"),
        (flag.format("hostPID"), "hostPID"),
        (flag.format("hostIPC"), "hostIPC"),
        ("!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath))",
         "hostPath volumes"),
        *((_no_privileged(field), f"privileged {field}")
          for field in ("containers", "initContainers", "ephemeralContainers")),
    ]
    return [{"expression": expression,
             "message": f"{what} is not allowed outside the platform's system namespaces "
                        "(cluster.privilegedNamespaces)",
             "reason": "Forbidden"}
            for expression, what in checks]


def load_balancer_validations() -> list[dict[str, str]]:
    """CEL checks on Services and Ingresses: internal load balancers only."""
    annotations = "object.metadata.annotations"
    internal_service = (
        f"has(object.metadata.annotations) && ("
        f"('{SERVICE_SCHEME_ANNOTATION}' in {annotations} && "
        f"{annotations}['{SERVICE_SCHEME_ANNOTATION}'] == 'internal') || "
        f"('{SERVICE_INTERNAL_ANNOTATION}' in {annotations} && "
        f"{annotations}['{SERVICE_INTERNAL_ANNOTATION}'] == 'true'))"
    )
    return [
        {"expression": "request.resource.resource != 'services' || "
                       f"object.spec.type != 'LoadBalancer' || ({internal_service})",
         "message": "a Service of type LoadBalancer must be internal: annotate it "
                    f"{SERVICE_SCHEME_ANNOTATION}: internal (internet-facing load balancers "
                    "need network.internetFacingLoadBalancers)",
         "reason": "Forbidden"},
        {"expression": "request.resource.resource != 'ingresses' || "
                       f"!has(object.metadata.annotations) || "
                       f"!('{INGRESS_SCHEME_ANNOTATION}' in {annotations}) || "
                       f"{annotations}['{INGRESS_SCHEME_ANNOTATION}'] != 'internet-facing'",
         "message": "an Ingress may not ask for an internet-facing load balancer "
                    "(network.internetFacingLoadBalancers is off)",
         "reason": "Forbidden"},
    ]


def _rule(group: str, version: str, resources: list[str]) -> dict[str, Any]:
    return {"apiGroups": [group], "apiVersions": [version],
            "operations": ["CREATE", "UPDATE"], "resources": resources}


class ClusterAdmissionPolicies(pulumi.ComponentResource):
    """The ValidatingAdmissionPolicies and their Deny bindings (see the module docstring)."""

    policy_names: list[str]

    def __init__(
        self,
        name: str,
        args: ClusterAdmissionPoliciesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        labels = {"app.kubernetes.io/managed-by": "mlplat", **(args.labels or {})}
        self.policy_names = []
        self._policy(
            name, HOST_ISOLATION_POLICY,
            [_rule("", "v1", ["pods", "pods/ephemeralcontainers"])],
            host_isolation_validations(), labels,
            namespace_selector={"matchExpressions": [{
                "key": "kubernetes.io/metadata.name", "operator": "NotIn",
                "values": args.allowed_namespaces()}]},
        )
        if not args.internet_facing_load_balancers:
            self._policy(
                name, INTERNAL_LOAD_BALANCERS_POLICY,
                [_rule("", "v1", ["services"]),
                 _rule("networking.k8s.io", "v1", ["ingresses"])],
                load_balancer_validations(), labels, namespace_selector={},
            )
        self.register_outputs({"policy_names": self.policy_names})

    def _policy(
        self,
        name: str,
        policy_name: str,
        rules: list[dict[str, Any]],
        validations: list[dict[str, str]],
        labels: Mapping[str, str],
        namespace_selector: dict[str, Any],
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-{policy_name}",
            metadata={"name": policy_name, "labels": dict(labels)},
            spec={
                # Fail closed: a CEL error rejects the object rather than letting it in.
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": rules},
                "validations": validations,
            },
            opts=child,
        )
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-{policy_name}-binding",
            metadata={"name": policy_name, "labels": dict(labels)},
            spec={
                "policyName": policy_name,
                "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": namespace_selector},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.policy_names.append(policy_name)
