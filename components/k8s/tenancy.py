"""Team tenancy inside a Kubernetes cluster: the team's namespaces and what fences them in.

Provider-neutral: nothing here knows EKS. The same component serves a dedicated cluster (the
team's own stack owns the cluster), a shared platform cluster (the provider comes from a
StackReference) and on-prem clusters; what differs between substrates arrives as data
(`extra_egress`: the metadata database's network, the Pod Identity agent on EKS, the
data namespace of MinIO and CloudNativePG on-prem; `group`: from the EKS access entry, or
the group the on-prem cluster's authentication asserts).

Per namespace (children of one `mlplat:k8s/tenancy:TeamTenancy` component):

* the Namespace, labelled for ownership (ADR 0004) and for Pod Security Admission:
  `restricted` enforced, audited and warned, pinned to the cluster's minor version; a
  `baseline` namespace (typed opt-in) still audits and warns at `restricted`;
* a ResourceQuota (CPU, memory, GPUs, pods, claims, storage; NodePorts 0, LoadBalancers 0
  unless config allows) and a LimitRange with default container requests and limits;
* a Role for the team's members (edit-like, no wildcards, no escalate/bind/impersonate, no
  writes to RBAC, quotas or network policies) bound to the team's group by a RoleBinding —
  never a ClusterRole or ClusterRoleBinding;
* NetworkPolicies: deny all ingress and egress, then allow DNS to kube-dns, traffic within
  the namespace, ingress from the monitoring and ingress-controller namespaces, HTTPS to
  addresses outside private and link-local ranges (so never the instance metadata service),
  and the substrate's extra egress;
* the team's ServiceAccounts (API tokens not mounted by default).

Enforcement of NetworkPolicies needs a policy engine in the cluster (on EKS the VPC CNI's
network policy agent, which the Cluster component turns on).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlplat.config import NamespaceConfig, PodSecurityLevel

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:k8s/tenancy:TeamTenancy"

#: Pod Security Admission modes; each gets a level and a version label.
PSA_MODES: tuple[str, ...] = ("enforce", "audit", "warn")
#: Label every namespace carries since Kubernetes 1.21 (set by the API server).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
#: Where cluster DNS runs and how its pods are labelled (CoreDNS on EKS, kubeadm, k3s).
DNS_NAMESPACE = "kube-system"
DNS_POD_LABELS: Mapping[str, str] = {"k8s-app": "kube-dns"}

#: Destinations the HTTPS egress rule never reaches: private (RFC 1918), carrier-grade NAT,
#: loopback and link-local ranges. Link-local holds the instance metadata service
#: (169.254.169.254) that a pod must never reach, and substrate agents (allowed one by one
#: through `extra_egress`).
NON_PUBLIC_RANGES: tuple[str, ...] = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
)
HTTPS_PORT = 443

_READ = ["get", "list", "watch"]
_WRITE = ["create", "update", "patch", "delete", "deletecollection"]

#: What a team member may do in a team namespace: run and manage workloads and their
#: configuration, read (not change) the fences. Explicit resources and verbs, no wildcards;
#: nothing that grants or assumes other permissions (no RBAC writes, no `escalate`, `bind`
#: or `impersonate`, no service account tokens).
MEMBER_RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": [""],
     "resources": ["pods", "services", "configmaps", "secrets", "persistentvolumeclaims"],
     "verbs": _READ + _WRITE},
    {"apiGroups": [""], "resources": ["pods/exec", "pods/attach", "pods/portforward"],
     "verbs": ["create", "get"]},
    {"apiGroups": [""],
     "resources": ["pods/log", "pods/status", "events", "endpoints", "serviceaccounts",
                   "resourcequotas", "limitranges"],
     "verbs": _READ},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "replicasets"],
     "verbs": _READ + _WRITE},
    {"apiGroups": ["apps"], "resources": ["deployments/scale", "statefulsets/scale"],
     "verbs": ["get", "update", "patch"]},
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": _READ + _WRITE},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"],
     "verbs": _READ + _WRITE},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": _READ + _WRITE},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": _READ + _WRITE},
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": _READ},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
     "verbs": _READ},
)


@dataclass(frozen=True)
class EgressAllowance:
    """One extra egress destination of every team pod, decided by the substrate."""

    name: str
    """Suffix of the NetworkPolicy (`allow-<name>`)."""
    cidr: str | None
    """Destination network (None: the destination is `namespace`)."""
    port: int
    """Destination TCP port."""
    namespace: str | None = None
    """Destination namespace inside the cluster (on-prem: the data services), instead of a
    network."""

    def peer(self) -> dict[str, Any]:
        """The NetworkPolicy peer of the destination."""
        if self.namespace is not None:
            return _from_namespace(self.namespace)
        return {"ipBlock": {"cidr": self.cidr}}


@dataclass(frozen=True)
class TeamTenancyArgs:
    """Inputs of TeamTenancy, from validated config (mlplat.config.TenancyConfig)."""

    environment: str
    """`<team>-<env>`: the main namespace and the prefix of the others."""
    team: str
    """Team name (the `mlplat.io/team` label)."""
    env: str
    """Environment tier (the `mlplat.io/env` label)."""
    stack: str
    """Pulumi stack name (the `mlplat.io/stack` label)."""
    namespaces: Sequence[NamespaceConfig]
    """The team's namespaces with their quotas and Pod Security level."""
    group: str
    """Kubernetes group of the team's people (from the access entry or the OIDC provider)."""
    service_accounts: Mapping[str, str | None]
    """Service account name -> namespace purpose (None: the main namespace)."""
    kubernetes_version: str
    """Minor version of the cluster (`1.33`); pins the Pod Security Standards version."""
    monitoring_namespace: str
    """The only namespace whose pods may scrape the team's pods."""
    ingress_namespace: str
    """Namespace of the ingress controller that may reach the team's pods."""
    extra_egress: Sequence[EgressAllowance] = ()
    """What the team's pods may reach besides DNS and their own namespaces."""


def ownership_labels(team: str, env: str, stack: str) -> dict[str, str]:
    """Labels every object of a team stack carries (ADR 0004)."""
    return {
        "mlplat.io/team": team,
        "mlplat.io/env": env,
        "mlplat.io/stack": stack,
        "app.kubernetes.io/managed-by": "mlplat",
    }


def pod_security_labels(level: PodSecurityLevel, kubernetes_version: str) -> dict[str, str]:
    """Pod Security Admission labels: `level` enforced; audit and warn always at
    `restricted`, so a baseline namespace still reports what keeps it from the stricter one.
    Versions are pinned so a cluster upgrade does not silently change what is enforced."""
    levels = {"enforce": level.value, "audit": PodSecurityLevel.RESTRICTED.value,
              "warn": PodSecurityLevel.RESTRICTED.value}
    labels: dict[str, str] = {}
    for mode in PSA_MODES:
        labels[f"pod-security.kubernetes.io/{mode}"] = levels[mode]
        labels[f"pod-security.kubernetes.io/{mode}-version"] = f"v{kubernetes_version}"
    return labels


def quota_hard(namespace: NamespaceConfig) -> dict[str, str]:
    """`spec.hard` of a namespace's ResourceQuota."""
    quota = namespace.quota
    return {
        "requests.cpu": quota.requests_cpu,
        "limits.cpu": quota.limits_cpu,
        "requests.memory": quota.requests_memory,
        "limits.memory": quota.limits_memory,
        "requests.nvidia.com/gpu": str(quota.gpus),
        "pods": str(quota.pods),
        "persistentvolumeclaims": str(quota.persistent_volume_claims),
        "requests.storage": quota.requests_storage,
        "services.loadbalancers": str(quota.load_balancers),
        # A NodePort opens the port on every node of the cluster, outside any policy here.
        "services.nodeports": "0",
    }


def _from_namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: name}}}


def fence_policy_specs(extra_egress: Sequence[EgressAllowance]) -> dict[str, dict[str, Any]]:
    """The policies every namespace mlplat creates gets, team or platform: deny all ingress
    and egress, then DNS to kube-dns, HTTPS to public addresses and the substrate's extra
    egress. NetworkPolicy name -> spec; policies are additive (each `allow-*` opens one
    path)."""
    every_pod: dict[str, Any] = {}
    specs: dict[str, dict[str, Any]] = {
        "default-deny": {"podSelector": every_pod, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": every_pod,
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [{**_from_namespace(DNS_NAMESPACE),
                        "podSelector": {"matchLabels": dict(DNS_POD_LABELS)}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }],
        },
        "allow-https-egress": {
            "podSelector": every_pod,
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(NON_PUBLIC_RANGES)}}],
                "ports": [{"protocol": "TCP", "port": HTTPS_PORT}],
            }],
        },
    }
    for allowance in extra_egress:
        specs[f"allow-{allowance.name}"] = {
            "podSelector": every_pod,
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [allowance.peer()],
                "ports": [{"protocol": "TCP", "port": allowance.port}],
            }],
        }
    return specs


def network_policy_specs(
    args: TeamTenancyArgs,
) -> dict[str, dict[str, Any]]:
    """NetworkPolicy name -> spec, the same for every team namespace: the fences of
    `fence_policy_specs`, plus traffic within the namespace and ingress from the monitoring
    and ingress-controller namespaces."""
    every_pod: dict[str, Any] = {}
    return {
        **fence_policy_specs(args.extra_egress),
        "allow-same-namespace": {
            "podSelector": every_pod,
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": every_pod}]}],
            "egress": [{"to": [{"podSelector": every_pod}]}],
        },
        "allow-from-monitoring": {
            "podSelector": every_pod,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_from_namespace(args.monitoring_namespace)]}],
        },
        "allow-from-ingress": {
            "podSelector": every_pod,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_from_namespace(args.ingress_namespace)]}],
        },
    }


class TeamTenancy(pulumi.ComponentResource):
    """A team's namespaces with Pod Security Admission, quotas, RBAC for the team's group,
    default-deny network policies and service accounts. Pass the cluster's Kubernetes
    provider in `opts.providers`."""

    namespaces: list[str]
    """Names of the team's namespaces."""

    def __init__(
        self, name: str, args: TeamTenancyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        labels = ownership_labels(args.team, args.env, args.stack)
        policies = network_policy_specs(args)
        created = {
            settings.purpose: self._namespace(name, args, settings, labels, policies)
            for settings in args.namespaces
        }
        for account, purpose in sorted(args.service_accounts.items()):
            namespace = created[purpose]
            k8s.core.v1.ServiceAccount(
                f"{name}-sa-{account}",
                metadata={"name": account, "namespace": namespace.metadata.name,
                          "labels": labels},
                # Workloads get object-store credentials from Pod Identity (AWS, which
                # mounts its own token) or a Secret (on-prem); a Kubernetes API token is
                # mounted only where a pod asks for it.
                automount_service_account_token=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.namespaces = [s.name_in(args.environment) for s in args.namespaces]
        self.register_outputs({"namespaces": self.namespaces})

    def _namespace(
        self,
        name: str,
        args: TeamTenancyArgs,
        settings: NamespaceConfig,
        labels: Mapping[str, str],
        policies: Mapping[str, dict[str, Any]],
    ) -> k8s.core.v1.Namespace:
        ns_name = settings.name_in(args.environment)
        prefix = f"{name}-{ns_name}"
        child = pulumi.ResourceOptions(parent=self)
        namespace = k8s.core.v1.Namespace(
            prefix,
            metadata={
                "name": ns_name,
                "labels": {**labels,
                           **pod_security_labels(settings.pod_security, args.kubernetes_version)},
            },
            opts=child,
        )
        # Every other object names the namespace through its output: created after it,
        # deleted before it.
        def meta(object_name: str) -> dict[str, Any]:
            return {"name": object_name, "namespace": namespace.metadata.name, "labels": labels}

        k8s.core.v1.ResourceQuota(
            f"{prefix}-quota", metadata=meta("team-quota"),
            spec={"hard": quota_hard(settings)}, opts=child,
        )
        defaults = settings.container_defaults
        k8s.core.v1.LimitRange(
            f"{prefix}-limits", metadata=meta("container-defaults"),
            spec={"limits": [{
                "type": "Container",
                "defaultRequest": {"cpu": defaults.cpu_request, "memory": defaults.memory_request},
                "default": {"cpu": defaults.cpu_limit, "memory": defaults.memory_limit},
            }]},
            opts=child,
        )
        role_name = f"{args.environment}-member"
        role = k8s.rbac.v1.Role(
            f"{prefix}-member-role", metadata=meta(role_name),
            rules=[dict(rule) for rule in MEMBER_RULES], opts=child,
        )
        k8s.rbac.v1.RoleBinding(
            f"{prefix}-member-binding", metadata=meta(role_name),
            subjects=[{"kind": "Group", "name": args.group,
                       "apiGroup": "rbac.authorization.k8s.io"}],
            role_ref={"kind": "Role", "name": role.metadata.name,
                      "apiGroup": "rbac.authorization.k8s.io"},
            opts=child,
        )
        for policy_name, spec in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{prefix}-{policy_name}", metadata=meta(policy_name), spec=spec, opts=child,
            )
        return namespace

