"""The NVIDIA device plugin: advertises GPUs to the kubelet so pods can request
`nvidia.com/gpu`.

The AL2023 NVIDIA AMI already ships the driver and the container toolkit, so the device
plugin is all that is missing; the GPU Operator would add a second, competing
driver/toolkit manager to every node.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions

#: The taint every GPU node carries, so only pods that tolerate it (i.e. asked for GPUs)
#: land on expensive nodes.
GPU_TAINT: dict[str, str] = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def device_plugin_values() -> dict[str, Any]:
    """Helm values of the NVIDIA device plugin.

    The chart's default affinity waits for Node Feature Discovery labels that nothing on this
    cluster sets; select NVIDIA nodes by Karpenter's well-known GPU label instead (or by
    NVIDIA's own opt-in label for GPU nodes from elsewhere).
    """
    return {
        "tolerations": [
            {"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]},
        ],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{
                            "key": "karpenter.k8s.aws/instance-gpu-manufacturer",
                            "operator": "In",
                            "values": ["nvidia"],
                        }]},
                        {"matchExpressions": [{
                            "key": "nvidia.com/gpu.present",
                            "operator": "In",
                            "values": ["true"],
                        }]},
                    ]
                }
            }
        },
        "priorityClassName": "system-node-critical",
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "gfd": {"enabled": False},
    }


def nvidia_device_plugin(
    resource_name: str, namespace: str, opts: pulumi.ResourceOptions
) -> k8s.helm.v3.Release:
    """The device plugin DaemonSet as a pinned Helm release; `opts` carries the parent
    component and the cluster's Kubernetes provider."""
    return k8s.helm.v3.Release(
        resource_name,
        name="nvidia-device-plugin",
        chart=versions.NVIDIA_DEVICE_PLUGIN_CHART,
        version=versions.NVIDIA_DEVICE_PLUGIN_VERSION,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(
            repo=versions.NVIDIA_DEVICE_PLUGIN_REPOSITORY
        ),
        namespace=namespace,
        values=device_plugin_values(),
        max_history=10,
        opts=opts,
    )
