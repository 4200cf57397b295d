"""Pinned versions of everything the GPU node pools install from outside this repository.

One module so that an upgrade is one reviewed diff, and so that tests can assert that
nothing floats (no `@latest` AMI alias, no chart version ranges). How to move each pin is
described in docs/components/gpu-node-pools.md ("Pinned versions and upgrades").
"""

from __future__ import annotations

from typing import Final

#: Karpenter (aws/karpenter-provider-aws). 1.12 supports Kubernetes 1.29-1.35, which covers
#: every version in mlplat.config.SUPPORTED_KUBERNETES_VERSIONS. The CRD chart and the
#: controller chart are released together and must carry the same version.
KARPENTER_VERSION: Final = "1.12.1"
KARPENTER_OCI_REPOSITORY: Final = "oci://public.ecr.aws/karpenter"
KARPENTER_CHART: Final = f"{KARPENTER_OCI_REPOSITORY}/karpenter"
KARPENTER_CRD_CHART: Final = f"{KARPENTER_OCI_REPOSITORY}/karpenter-crd"

#: EKS-optimised Amazon Linux 2023 release (awslabs/amazon-eks-ami tag). Karpenter's `al2023`
#: alias resolves this release's standard, nvidia and neuron variants for the cluster's
#: Kubernetes version through public SSM parameters and picks the nvidia variant for
#: instance types with NVIDIA GPUs, so one pin covers CPU and GPU nodes alike.
AL2023_AMI_RELEASE: Final = "v20260818"
AMI_ALIAS: Final = f"al2023@{AL2023_AMI_RELEASE}"

#: NVIDIA Kubernetes device plugin (NVIDIA/k8s-device-plugin), classic Helm repository.
NVIDIA_DEVICE_PLUGIN_VERSION: Final = "0.19.0"
NVIDIA_DEVICE_PLUGIN_REPOSITORY: Final = "https://nvidia.github.io/k8s-device-plugin"
NVIDIA_DEVICE_PLUGIN_CHART: Final = "nvidia-device-plugin"
