"""EKS clusters: API endpoint exposure, secrets encryption, logs, authentication, version;
the VPC CNI add-on enforcing NetworkPolicies."""

from __future__ import annotations

import json
from collections.abc import Iterator

from components.versions import SUPPORTED_KUBERNETES_VERSIONS
from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule, Severity, baseline, cis_eks, fsbp
from policies.rules._helpers import WORLD_V4, WORLD_V6, as_list, dig, first, truthy

CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


def _vpc(cluster: ResourceRecord) -> dict[str, object]:
    config = first(cluster.inputs.get("vpc_config"))
    return config if isinstance(config, dict) else {}


def _public(cluster: ResourceRecord) -> bool:
    # The EKS API default for endpoint_public_access is true: absent means public.
    return truthy(_vpc(cluster).get("endpoint_public_access", True))


def check_endpoint(cluster: ResourceRecord, plan: Plan) -> Iterator[str]:
    if _public(cluster) and not as_list(_vpc(cluster).get("public_access_cidrs")):
        yield "public API endpoint without an allow-list (public_access_cidrs empty)"


def check_world_cidr(cluster: ResourceRecord, plan: Plan) -> Iterator[str]:
    cidrs = [str(c) for c in as_list(_vpc(cluster).get("public_access_cidrs"))]
    if _public(cluster) and any(c in (WORLD_V4, WORLD_V6) for c in cidrs):
        yield f"public API endpoint open to the internet ({', '.join(cidrs)})"


def check_private_access(cluster: ResourceRecord, plan: Plan) -> Iterator[str]:
    if not truthy(_vpc(cluster).get("endpoint_private_access")):
        yield "private endpoint access is off: nodes reach the API over the internet"


def check_secrets_encryption(cluster: ResourceRecord, plan: Plan) -> Iterator[str]:
    configs = [c for c in as_list(cluster.inputs.get("encryption_config")) if isinstance(c, dict)]
    if not any("secrets" in as_list(c.get("resources"))
               and dig(first(c.get("provider")), "key_arn") for c in configs):
        yield "Kubernetes secrets are not envelope-encrypted with a KMS key"


def check_log_types(cluster: ResourceRecord, plan: Plan) -> Iterator[str]:
    enabled = set(as_list(cluster.inputs.get("enabled_cluster_log_types")))
    missing = [t for t in LOG_TYPES if t not in enabled]
    if missing:
        yield f"control-plane log types not enabled: {', '.join(missing)}"


def check_auth_mode(cluster: ResourceRecord, plan: Plan) -> Iterator[str]:
    mode = dig(first(cluster.inputs.get("access_config")), "authentication_mode")
    if mode != "API":
        yield f"authentication mode is {mode or 'CONFIG_MAP (default)'}, not API"


def check_version(cluster: ResourceRecord, plan: Plan) -> Iterator[str]:
    version = cluster.inputs.get("version")
    if version not in SUPPORTED_KUBERNETES_VERSIONS:
        yield (f"Kubernetes version {version or 'unset (floats to the EKS default)'} is not "
               f"one this mlplat release supports ({', '.join(SUPPORTED_KUBERNETES_VERSIONS)})")


def check_network_policy(addon: ResourceRecord, plan: Plan) -> Iterator[str]:
    if addon.inputs.get("addon_name") != "vpc-cni":
        return
    raw = addon.inputs.get("configuration_values")
    try:
        values = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        values = {}
    if not isinstance(values, dict) or not truthy(values.get("enableNetworkPolicy")):
        yield ("vpc-cni runs without enableNetworkPolicy: NetworkPolicies are accepted by the "
               "API but not enforced")


RULES: tuple[Rule, ...] = (
    Rule(
        id="MLP-EKS-001", title="EKS API endpoint is private or allow-listed",
        severity=Severity.HIGH,
        rationale="A public endpoint without an allow-list lets the whole internet probe the "
                  "Kubernetes API and its authentication.",
        remediation="Set endpoint_public_access=False, or list the networks in "
                    "public_access_cidrs (cluster.endpoint.publicAccessCidrs).",
        controls=(cis_eks("5.4.1"), fsbp("EKS.1")),
        resource_types=(CLUSTER,), check=check_endpoint,
    ),
    Rule(
        id="MLP-EKS-002", title="EKS public endpoint is not open to 0.0.0.0/0 or ::/0",
        severity=Severity.CRITICAL,
        rationale="An allow-list containing the whole internet is no allow-list.",
        remediation="Replace 0.0.0.0/0 and ::/0 in public_access_cidrs by the office/VPN "
                    "ranges, or make the endpoint private.",
        controls=(cis_eks("5.4.1"), fsbp("EKS.1")),
        resource_types=(CLUSTER,), check=check_world_cidr,
    ),
    Rule(
        id="MLP-EKS-003", title="EKS private endpoint access is enabled",
        severity=Severity.MEDIUM,
        rationale="With private access off, node and pod traffic to the API leaves the VPC.",
        remediation="Set endpoint_private_access=True.",
        controls=(cis_eks("5.4.2"),),
        resource_types=(CLUSTER,), check=check_private_access,
    ),
    Rule(
        id="MLP-EKS-004", title="EKS secrets are envelope-encrypted with KMS",
        severity=Severity.HIGH,
        rationale="Envelope encryption keeps Secrets unreadable in etcd backups and limits "
                  "decryption to principals the key policy allows.",
        remediation="Add encryption_config with resources ['secrets'] and a customer key.",
        controls=(cis_eks("5.3.1"), fsbp("EKS.3")),
        resource_types=(CLUSTER,), check=check_secrets_encryption,
    ),
    Rule(
        id="MLP-EKS-005", title="EKS sends all control-plane log types",
        severity=Severity.MEDIUM,
        rationale="Audit and authenticator logs are the record of who did what in the "
                  "cluster; api, controllerManager and scheduler explain outages.",
        remediation=f"Set enabled_cluster_log_types to {list(LOG_TYPES)}.",
        controls=(cis_eks("2.1.1"), fsbp("EKS.8")),
        resource_types=(CLUSTER,), check=check_log_types,
    ),
    Rule(
        id="MLP-EKS-006", title="EKS authentication mode is API (access entries)",
        severity=Severity.MEDIUM,
        rationale="The aws-auth ConfigMap is edited by anyone with cluster write access and "
                  "is invisible to IAM; access entries are AWS resources, audited and planned.",
        remediation="Set access_config.authentication_mode='API' and grant access through "
                    "aws.eks.AccessEntry.",
        controls=(cis_eks("4.1.1"), baseline("least-privilege")),
        resource_types=(CLUSTER,), check=check_auth_mode,
    ),
    Rule(
        id="MLP-EKS-007", title="EKS Kubernetes version is pinned to a supported release",
        severity=Severity.MEDIUM,
        rationale="Unsupported versions stop receiving security fixes; an unset version "
                  "changes on the next replacement.",
        remediation="Set version to one of mlplat.config.SUPPORTED_KUBERNETES_VERSIONS.",
        controls=(fsbp("EKS.2"),),
        resource_types=(CLUSTER,), check=check_version,
    ),
    Rule(
        id="MLP-EKS-008", title="The VPC CNI enforces Kubernetes NetworkPolicies",
        severity=Severity.HIGH,
        rationale="Without the CNI's network policy agent, the default-deny policies of team "
                  "namespaces exist in the API and isolate nothing.",
        remediation='Set the vpc-cni add-on configuration {"enableNetworkPolicy": "true"}.',
        controls=(cis_eks("4.3.1"), baseline("tenant-isolation")),
        resource_types=(ADDON,), check=check_network_policy,
    ),
)
