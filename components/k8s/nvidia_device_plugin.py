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


#: The plugin container's security context (the chart's unprivileged default, made explicit).
DEVICE_PLUGIN_SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}


def device_plugin_values() -> dict[str, Any]:
    """Helm values of the NVIDIA device plugin.

    The chart's default affinity waits for Node Feature Discovery labels that nothing on this
    cluster sets; select NVIDIA nodes by Karpenter's well-known GPU label instead (or by
    NVIDIA's own opt-in label for GPU nodes from elsewhere).

    Privilege, stated rather than left to chart defaults (docs/security.md, "What Helm
    releases deploy"): the plugin container is not privileged, drops every capability and
    cannot escalate; it needs hostPath mounts (the kubelet's device-plugin socket directory,
    the CDI spec directory, the MPS directories), so it runs in kube-system, which the
    cluster-wide host-isolation policy allow-lists. No MIG strategy and no CPU-manager
    compatibility: either would make the chart add SYS_ADMIN or privileged mode.
    """
    return {
        "image": {
            "repository": versions.NVIDIA_DEVICE_PLUGIN_IMAGE_REPOSITORY,
            "tag": versions.NVIDIA_DEVICE_PLUGIN_IMAGE_TAG,
        },
        "securityContext": dict(DEVICE_PLUGIN_SECURITY_CONTEXT),
        "compatWithCPUManager": False,
        "migStrategy": "none",
        # The chart always renders an MPS control-daemon DaemonSet (privileged init
        # container); it selects only nodes labelled nvidia.com/mps.capable=true, which
        # nothing here sets, so it runs no pods. Without the host PID namespace it would
        # also not see host processes.
        "mps": {"enableHostPID": False},
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
