"""Pinned EKS managed add-on versions, one row per supported Kubernetes minor version.

Why pinned: an unpinned add-on resolves to "whatever EKS calls default today", so two
`pulumi up` runs a week apart can install different software, and an offline plan could not
say what will be installed. Pinning keeps plans reviewable and upgrades deliberate.

Where the versions come from: the "latest version of the Amazon EKS add-on type for each
Kubernetes version" tables of the Amazon EKS User Guide (vpc-cni, coredns, kube-proxy), read
in late 2025. eks-pod-identity-agent and aws-ebs-csi-driver have no per-version table in the
guide; their pins are builds seen installed on 1.32/1.33 clusters in public configurations
(and a later EBS CSI build for 1.34). Confirm them against the live API before a first
deploy (see docs/components/cluster.md, "Add-ons"):

    aws eks describe-addon-versions --kubernetes-version 1.33 --addon-name coredns \
        --query 'addons[].addonVersions[].addonVersion'

The table must have exactly one row per entry of `SUPPORTED_KUBERNETES_VERSIONS`; the unit
tests fail when a version is added to the config without a row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mlplat.config import SUPPORTED_KUBERNETES_VERSIONS

VPC_CNI = "vpc-cni"
COREDNS = "coredns"
KUBE_PROXY = "kube-proxy"
POD_IDENTITY_AGENT = "eks-pod-identity-agent"
EBS_CSI_DRIVER = "aws-ebs-csi-driver"

#: Every managed add-on the Cluster component installs.
ADDON_NAMES: tuple[str, ...] = (VPC_CNI, KUBE_PROXY, POD_IDENTITY_AGENT, COREDNS, EBS_CSI_DRIVER)

_TABLE: dict[str, dict[str, str]] = {
    "1.32": {
        VPC_CNI: "v1.20.4-eksbuild.1",
        COREDNS: "v1.11.4-eksbuild.24",
        KUBE_PROXY: "v1.32.9-eksbuild.2",
        POD_IDENTITY_AGENT: "v1.3.8-eksbuild.2",
        EBS_CSI_DRIVER: "v1.48.0-eksbuild.2",
    },
    "1.33": {
        VPC_CNI: "v1.20.4-eksbuild.1",
        COREDNS: "v1.12.4-eksbuild.1",
        KUBE_PROXY: "v1.33.5-eksbuild.2",
        POD_IDENTITY_AGENT: "v1.3.8-eksbuild.2",
        EBS_CSI_DRIVER: "v1.48.0-eksbuild.2",
    },
    "1.34": {
        VPC_CNI: "v1.20.4-eksbuild.1",
        COREDNS: "v1.12.4-eksbuild.1",
        KUBE_PROXY: "v1.34.1-eksbuild.2",
        POD_IDENTITY_AGENT: "v1.3.8-eksbuild.2",
        # 1.34 arrived after the 1.48 driver; take a later build for it.
        EBS_CSI_DRIVER: "v1.52.1-eksbuild.1",
    },
}

#: Read-only view of the pin table: Kubernetes minor version -> add-on name -> version.
ADDON_VERSIONS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {version: MappingProxyType(row) for version, row in _TABLE.items()}
)


def addon_versions(kubernetes_version: str) -> Mapping[str, str]:
    """The pinned add-on versions for a Kubernetes minor version (e.g. "1.33")."""
    try:
        return ADDON_VERSIONS[kubernetes_version]
    except KeyError:
        raise ValueError(
            f"cluster.kubernetesVersion {kubernetes_version!r} has no add-on pins in "
            f"components/_addons.py; pinned versions: {', '.join(sorted(ADDON_VERSIONS))}"
        ) from None


def missing_rows() -> list[str]:
    """Supported Kubernetes versions without a row (should be empty; checked in tests)."""
    return [v for v in SUPPORTED_KUBERNETES_VERSIONS if v not in ADDON_VERSIONS]
