"""KServe, cluster-wide, in RawDeployment mode: plain Deployments, Services, HPAs and
Ingresses per InferenceService, no Knative and no Istio. Two pinned Helm releases (CRDs,
controller) and one ClusterServingRuntime per configured model server. The per-team part
(disruption budgets and the ingress path into the serving namespaces) is
components/k8s/team_serving.py.

Provider-neutral: the ingress class arrives by name (on AWS the AWS Load Balancer
Controller's, components/aws/load_balancer_controller.py; on-prem an existing one).

Runtimes must start in team namespaces that enforce the `restricted` Pod Security
Standard, so every runtime container runs as a non-root user with no privilege escalation,
all capabilities dropped and the RuntimeDefault seccomp profile, a read-only root file
system (writable `/tmp` and `/dev/shm` as emptyDirs), and requests equal to limits as
defaults an InferenceService may raise. Where the upstream image would run as root (vLLM)
the uid is set here; docs/components/serving.md lists what was not run on a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components._lib.helm import pinned_release
from mlplat.config import AutoscalingConfig, ModelRuntime

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:k8s/kserve:KServe"

NAMESPACE = "kserve"
DEPLOYMENT_MODE = "RawDeployment"
#: Unprivileged uid the runtimes run as (the KServe servers' and Triton's image user).
RUN_AS = 1000
#: Port every runtime serves HTTP on (KServe's convention for the predictor container).
HTTP_PORT = 8080
PLATFORM_LABELS: Mapping[str, str] = {
    "app.kubernetes.io/managed-by": "mlplat",
    "app.kubernetes.io/part-of": "mlplat-serving",
}

#: The restricted Pod Security Standard, as a container securityContext.
RESTRICTED_CONTAINER: Mapping[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@dataclass(frozen=True)
class RuntimeSpec:
    """What differs between model servers."""

    name: str
    image: str
    model_formats: Sequence[tuple[str, str]]
    """(format name, version) pairs the runtime serves, auto-selected."""
    protocols: Sequence[str]
    args: Sequence[str]
    command: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cpu: str = "1"
    memory: str = "2Gi"


#: Model servers by config name. Arguments follow KServe v0.20.0's own runtime
#: definitions (config/runtimes/); `{{.Name}}` is KServe's template for the model name.
RUNTIMES: Mapping[ModelRuntime, RuntimeSpec] = {
    ModelRuntime.SKLEARN: RuntimeSpec(
        name="mlplat-sklearn", image=versions.SKLEARN_SERVER_IMAGE,
        model_formats=(("sklearn", "1"),), protocols=("v1", "v2"),
        args=("--model_name={{.Name}}", "--model_dir=/mnt/models",
              f"--http_port={HTTP_PORT}"),
    ),
    ModelRuntime.XGBOOST: RuntimeSpec(
        name="mlplat-xgboost", image=versions.XGBOOST_SERVER_IMAGE,
        model_formats=(("xgboost", "1"),), protocols=("v1", "v2"),
        args=("--model_name={{.Name}}", "--model_dir=/mnt/models",
              f"--http_port={HTTP_PORT}", "--nthread=1"),
    ),
    ModelRuntime.TRITON: RuntimeSpec(
        name="mlplat-triton", image=versions.TRITON_SERVER_IMAGE,
        model_formats=(("triton", "2"), ("onnx", "1"), ("tensorrt", "8")),
        protocols=("v2", "grpc-v2"),
        args=("tritonserver", "--model-store=/mnt/models", "--grpc-port=9000",
              f"--http-port={HTTP_PORT}", "--allow-grpc=true", "--allow-http=true"),
    ),
    ModelRuntime.VLLM: RuntimeSpec(
        name="mlplat-vllm", image=versions.VLLM_SERVER_IMAGE,
        model_formats=(("vLLM", "1"),), protocols=("v1",),
        command=("python", "-m", "vllm.entrypoints.openai.api_server"),
        args=(f"--port={HTTP_PORT}", "--served-model-name={{.Name}}", "--model=/mnt/models"),
        # Caches and config go to the writable /tmp, not the read-only image.
        env={"HOME": "/tmp", "HF_HOME": "/tmp", "VLLM_CONFIG_ROOT": "/tmp",
             "XDG_CACHE_HOME": "/tmp"},
        cpu="4", memory="16Gi",
    ),
}


@dataclass(frozen=True)
class KServeArgs:
    """Inputs of KServe, from validated config (mlplat.config.ServingConfig)."""

    runtimes: Sequence[ModelRuntime]
    """Model servers installed as ClusterServingRuntimes (mlplat.config.ServingConfig)."""
    ingress_class: str
    """IngressClass InferenceServices are exposed through."""
    domain: str
    """Domain of the generated InferenceService host names."""
    autoscaling: AutoscalingConfig
    """HPA defaults: scale-down window and the replica cap."""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    """Where the controller runs (the cluster's system nodes)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist first: cert-manager (the chart's Certificate) and the ingress
    controller."""


def runtime_spec(runtime: RuntimeSpec) -> dict[str, Any]:
    """The ClusterServingRuntime's spec."""
    container: dict[str, Any] = {
        "name": "kserve-container",
        "image": runtime.image,
        "args": list(runtime.args),
        "env": [{"name": k, "value": v} for k, v in sorted(runtime.env.items())],
        "ports": [{"containerPort": HTTP_PORT, "protocol": "TCP"}],
        "securityContext": dict(RESTRICTED_CONTAINER),
        "resources": {
            "requests": {"cpu": runtime.cpu, "memory": runtime.memory},
            "limits": {"cpu": runtime.cpu, "memory": runtime.memory},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},
                         {"name": "devshm", "mountPath": "/dev/shm"}],
    }
    if runtime.command:
        container["command"] = list(runtime.command)
    return {
        "supportedModelFormats": [
            {"name": name, "version": version, "autoSelect": True, "priority": 1}
            for name, version in runtime.model_formats
        ],
        "protocolVersions": list(runtime.protocols),
        "annotations": {"prometheus.kserve.io/port": str(HTTP_PORT),
                        "prometheus.kserve.io/path": "/metrics"},
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}},
                    {"name": "devshm", "emptyDir": {"medium": "Memory"}}],
        "hostIPC": False,
    }


def kserve_values(args: KServeArgs) -> dict[str, Any]:
    """Helm values of kserve-resources: RawDeployment, the ingress class and domain, no
    Istio virtual hosts, HPA scale windows, hardened storage initializer, no API token in
    model pods."""
    return {
        "kserve": {
            "version": versions.KSERVE_VERSION,
            "controller": {
                "deploymentMode": DEPLOYMENT_MODE,
                "imagePullPolicy": "IfNotPresent",
                "nodeSelector": dict(args.node_selector),
                "gateway": {
                    "domain": args.domain,
                    "urlScheme": "http",
                    "disableIstioVirtualHost": True,
                    "ingressGateway": {"className": args.ingress_class,
                                       "enableGatewayApi": False},
                },
            },
            "autoscaler": {
                "scaleUpStabilizationWindowSeconds": "0",
                "scaleDownStabilizationWindowSeconds":
                    str(args.autoscaling.scale_down_stabilization_seconds),
            },
            "storage": {"containerSecurityContext": {
                "allowPrivilegeEscalation": False, "privileged": False,
                "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            }},
            # Model servers never call the Kubernetes API.
            "security": {"autoMountServiceAccountToken": False},
        },
    }


class KServe(pulumi.ComponentResource):
    """KServe's CRDs and controller (RawDeployment) and the ClusterServingRuntimes."""

    runtime_names: list[str]

    def __init__(
        self, name: str, args: KServeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        crds = pinned_release(
            f"{name}-crds", name="kserve-crd", chart=versions.KSERVE_CRD_CHART,
            version=versions.KSERVE_VERSION, namespace=NAMESPACE, create_namespace=True,
            values={}, opts=pulumi.ResourceOptions(parent=self),
        )
        controller = pinned_release(
            f"{name}-release", name="kserve", chart=versions.KSERVE_CHART,
            version=versions.KSERVE_VERSION, namespace=NAMESPACE,
            # CRDs belong to the kserve-crd release, which Helm does upgrade.
            skip_crds=True, values=kserve_values(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[crds, *args.depends_on]),
        )
        self.runtime_names = []
        for runtime in args.runtimes:
            spec = RUNTIMES[runtime]
            k8s.apiextensions.CustomResource(
                f"{name}-runtime-{runtime.value}",
                api_version=versions.KSERVE_API_VERSION,
                kind="ClusterServingRuntime",
                metadata={"name": spec.name, "labels": dict(PLATFORM_LABELS)},
                spec=runtime_spec(spec),
                # The controller's webhook validates runtimes.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[controller]),
            )
            self.runtime_names.append(spec.name)
        self.register_outputs({"runtime_names": self.runtime_names})
