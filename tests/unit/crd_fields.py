"""Field facts of the custom resources the training and serving layers create or document,
read from the Go API types of the pinned releases (not copied CRDs), and a checker.

A kind's facts list the field paths its pinned API version defines (`[]` marks a list
item), the paths whose keys are free (label maps), the allowed values of enum fields, and
the paths that embed a core Kubernetes type: those are checked with kubernetes-validate
--strict by placing them where the core type lives (a container into a Pod, a taint into a
Node, a Job template into a Job).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import kubernetes_validate

Manifest = dict[str, Any]


def _pod(key: str) -> Callable[[Any], Manifest]:
    return lambda value: {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
                          "spec": {"containers": [{"name": "x", "image": "x"}], key: value}}


def _pod_containers(value: Any) -> Manifest:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
            "spec": {"containers": value}}


def _container(key: str) -> Callable[[Any], Manifest]:
    """A field of a container (KServe inlines corev1.Container into `model`)."""
    return lambda value: _pod_containers([{"name": "x", "image": "x", key: value}])


def _node_taints(value: Any) -> Manifest:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "x"},
            "spec": {"taints": value}}


def _job_template(value: Any) -> Manifest:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "x", **value.get("metadata", {})}, "spec": value["spec"]}


_SELECTOR = ("matchLabels", "matchExpressions", "matchExpressions[].key",
             "matchExpressions[].operator", "matchExpressions[].values")


def _selector(prefix: str) -> tuple[str, ...]:
    return (prefix, *(f"{prefix}.{part}" for part in _SELECTOR))


@dataclass(frozen=True)
class Kind:
    """What one pinned API version of a custom resource defines."""

    api_version: str
    kind: str
    source: str
    """Repository, release tag and the Go file(s) the facts were read from."""
    fields: frozenset[str]
    maps: frozenset[str] = frozenset()
    enums: Mapping[str, frozenset[str]] = field(default_factory=dict)
    core: Mapping[str, Callable[[Any], Manifest]] = field(default_factory=dict)


_METADATA = ("metadata", "metadata.name", "metadata.namespace", "metadata.labels",
             "metadata.annotations")
_MAPS = ("metadata.labels", "metadata.annotations")
_PREEMPTION = frozenset({"Never", "Any", "LowerPriority", "LowerOrNewerEqualPriority"})

KINDS: dict[tuple[str, str], Kind] = {(k.api_version, k.kind): k for k in (
    Kind(
        "kueue.x-k8s.io/v1beta2", "ResourceFlavor",
        "kubernetes-sigs/kueue v0.19.2 apis/kueue/v1beta2/resourceflavor_types.go",
        frozenset({*_METADATA, "spec", "spec.nodeLabels", "spec.nodeTaints",
                   "spec.tolerations", "spec.topologyName"}),
        maps=frozenset({*_MAPS, "spec.nodeLabels"}),
        core={"spec.nodeTaints": _node_taints, "spec.tolerations": _pod("tolerations")},
    ),
    Kind(
        "kueue.x-k8s.io/v1beta2", "ClusterQueue",
        "kubernetes-sigs/kueue v0.19.2 apis/kueue/v1beta2/clusterqueue_types.go",
        frozenset({*_METADATA, "spec", "spec.cohortName", "spec.queueingStrategy",
                   *_selector("spec.namespaceSelector"), "spec.flavorFungibility",
                   "spec.admissionChecksStrategy", "spec.stopPolicy", "spec.fairSharing",
                   "spec.admissionScope", "spec.concurrentAdmissionPolicy",
                   "spec.resourceGroups", "spec.resourceGroups[].coveredResources",
                   "spec.resourceGroups[].flavors", "spec.resourceGroups[].flavors[].name",
                   "spec.resourceGroups[].flavors[].resources",
                   "spec.resourceGroups[].flavors[].resources[].name",
                   "spec.resourceGroups[].flavors[].resources[].nominalQuota",
                   "spec.resourceGroups[].flavors[].resources[].borrowingLimit",
                   "spec.resourceGroups[].flavors[].resources[].lendingLimit",
                   "spec.preemption", "spec.preemption.reclaimWithinCohort",
                   "spec.preemption.borrowWithinCohort",
                   "spec.preemption.borrowWithinCohort.policy",
                   "spec.preemption.borrowWithinCohort.maxPriorityThreshold",
                   "spec.preemption.withinClusterQueue"}),
        maps=frozenset({*_MAPS, "spec.namespaceSelector.matchLabels"}),
        enums={"spec.queueingStrategy": frozenset({"StrictFIFO", "BestEffortFIFO"}),
               "spec.preemption.reclaimWithinCohort": _PREEMPTION,
               "spec.preemption.withinClusterQueue": _PREEMPTION,
               "spec.preemption.borrowWithinCohort.policy":
                   frozenset({"Never", "LowerPriority"})},
    ),
    Kind(
        "kueue.x-k8s.io/v1beta2", "LocalQueue",
        "kubernetes-sigs/kueue v0.19.2 apis/kueue/v1beta2/localqueue_types.go",
        frozenset({*_METADATA, "spec", "spec.clusterQueue", "spec.stopPolicy",
                   "spec.fairSharing"}),
        maps=frozenset(_MAPS),
    ),
    Kind(
        "serving.kserve.io/v1alpha1", "ClusterServingRuntime",
        "kserve/kserve v0.20.0 pkg/apis/serving/v1alpha1/servingruntime_types.go",
        frozenset({*_METADATA, "spec", "spec.supportedModelFormats",
                   "spec.supportedModelFormats[].name", "spec.supportedModelFormats[].version",
                   "spec.supportedModelFormats[].autoSelect",
                   "spec.supportedModelFormats[].priority", "spec.multiModel", "spec.disabled",
                   "spec.protocolVersions", "spec.workerSpec", "spec.containers",
                   "spec.volumes", "spec.nodeSelector", "spec.affinity", "spec.tolerations",
                   "spec.labels", "spec.annotations", "spec.imagePullSecrets", "spec.hostIPC",
                   "spec.schedulerName", "spec.grpcEndpoint", "spec.grpcDataEndpoint",
                   "spec.httpDataEndpoint", "spec.replicas", "spec.storageHelper",
                   "spec.storageHelper.disabled", "spec.builtInAdapter"}),
        maps=frozenset({*_MAPS, "spec.nodeSelector", "spec.labels", "spec.annotations"}),
        enums={"spec.protocolVersions[]": frozenset({"v1", "v2", "grpc-v1", "grpc-v2"})},
        core={"spec.containers": _pod_containers, "spec.volumes": _pod("volumes"),
              "spec.tolerations": _pod("tolerations"), "spec.affinity": _pod("affinity")},
    ),
    Kind(
        "elbv2.k8s.aws/v1beta1", "IngressClassParams",
        "kubernetes-sigs/aws-load-balancer-controller v3.5.0 "
        "apis/elbv2/v1beta1/ingressclassparams_types.go",
        frozenset({*_METADATA, "spec", *_selector("spec.namespaceSelector"), "spec.group",
                   "spec.group.name", "spec.scheme", "spec.inboundCIDRs", "spec.sslPolicy",
                   "spec.sslRedirectPort", "spec.subnets", "spec.subnets.ids",
                   "spec.subnets.tags", "spec.ipAddressType", "spec.tags", "spec.tags[].key",
                   "spec.tags[].value", "spec.targetType", "spec.loadBalancerAttributes",
                   "spec.loadBalancerAttributes[].key", "spec.loadBalancerAttributes[].value",
                   "spec.listeners", "spec.certificateArn", "spec.loadBalancerName",
                   "spec.minimumLoadBalancerCapacity", "spec.ipamConfiguration",
                   "spec.prefixListsIDs"}),
        maps=frozenset({*_MAPS, "spec.namespaceSelector.matchLabels", "spec.subnets.tags"}),
        enums={"spec.scheme": frozenset({"internal", "internet-facing"}),
               "spec.targetType": frozenset({"instance", "ip"}),
               "spec.ipAddressType": frozenset({"ipv4", "dualstack",
                                                "dualstack-without-public-ipv4"})},
    ),
    Kind(
        "jobset.x-k8s.io/v1alpha2", "JobSet",
        "kubernetes-sigs/jobset v0.12.0 api/jobset/v1alpha2/jobset_types.go",
        frozenset({*_METADATA, "spec", "spec.replicatedJobs", "spec.replicatedJobs[].name",
                   "spec.replicatedJobs[].groupName", "spec.replicatedJobs[].template",
                   "spec.replicatedJobs[].replicas", "spec.replicatedJobs[].dependsOn",
                   "spec.network", "spec.network.enableDNSHostnames", "spec.network.subdomain",
                   "spec.network.publishNotReadyAddresses", "spec.successPolicy",
                   "spec.successPolicy.operator", "spec.successPolicy.targetReplicatedJobs",
                   "spec.failurePolicy", "spec.failurePolicy.maxRestarts",
                   "spec.failurePolicy.restartStrategy", "spec.failurePolicy.rules",
                   "spec.startupPolicy", "spec.startupPolicy.startupPolicyOrder",
                   "spec.suspend", "spec.coordinator", "spec.managedBy",
                   "spec.ttlSecondsAfterFinished", "spec.volumeClaimPolicies"}),
        maps=frozenset(_MAPS),
        enums={"spec.successPolicy.operator": frozenset({"All", "Any"})},
        core={"spec.replicatedJobs[].template": _job_template},
    ),
    Kind(
        "serving.kserve.io/v1beta1", "InferenceService",
        "kserve/kserve v0.20.0 pkg/apis/serving/v1beta1/{inference_service,predictor,"
        "predictor_model,component,podspec}.go",
        frozenset({*_METADATA, "spec", "spec.predictor", "spec.explainer", "spec.transformer",
                   "spec.predictor.model", "spec.predictor.model.modelFormat",
                   "spec.predictor.model.modelFormat.name",
                   "spec.predictor.model.modelFormat.version", "spec.predictor.model.runtime",
                   "spec.predictor.model.storageUri", "spec.predictor.model.runtimeVersion",
                   "spec.predictor.model.protocolVersion", "spec.predictor.model.resources",
                   "spec.predictor.model.env", "spec.predictor.model.args",
                   "spec.predictor.model.securityContext", "spec.predictor.minReplicas",
                   "spec.predictor.maxReplicas", "spec.predictor.scaleTarget",
                   "spec.predictor.scaleMetric", "spec.predictor.scaleMetricType",
                   "spec.predictor.autoScaling", "spec.predictor.deploymentStrategy",
                   "spec.predictor.tolerations", "spec.predictor.nodeSelector",
                   "spec.predictor.serviceAccountName",
                   "spec.predictor.automountServiceAccountToken",
                   "spec.predictor.securityContext", "spec.predictor.labels",
                   "spec.predictor.annotations", "spec.predictor.volumes",
                   "spec.predictor.containers"}),
        maps=frozenset({*_MAPS, "spec.predictor.nodeSelector", "spec.predictor.labels",
                        "spec.predictor.annotations"}),
        enums={"spec.predictor.model.protocolVersion":
                   frozenset({"v1", "v2", "grpc-v1", "grpc-v2"}),
               "spec.predictor.scaleMetric": frozenset({"cpu", "memory", "concurrency", "rps"})},
        core={"spec.predictor.tolerations": _pod("tolerations"),
              "spec.predictor.securityContext": _pod("securityContext"),
              "spec.predictor.volumes": _pod("volumes"),
              "spec.predictor.model.resources": _container("resources"),
              "spec.predictor.model.env": _container("env"),
              "spec.predictor.model.securityContext": _container("securityContext")},
    ),
)}


def _walk(value: Any, path: str, kind: Kind) -> Iterator[tuple[str, Any]]:
    """(path, value) of every field below `path`, stopping at maps and core types."""
    if path in kind.maps or path in kind.core:
        return
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            yield child_path, child
            yield from _walk(child, child_path, kind)
    elif isinstance(value, list):
        for item in value:
            yield f"{path}[]", item
            yield from _walk(item, f"{path}[]", kind)


def problems(manifest: Manifest, kubernetes_version: str) -> list[str]:
    """Why `manifest` does not fit its kind's pinned API version (empty: it fits)."""
    kind = KINDS.get((manifest.get("apiVersion", ""), manifest.get("kind", "")))
    if kind is None:
        return [f"no facts for {manifest.get('apiVersion')} {manifest.get('kind')}"]
    found: list[str] = []
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    for path, value in _walk(body, "", kind):
        if path.endswith("[]"):
            if path in kind.enums and value not in kind.enums[path]:
                found.append(f"{path}: {value!r} not one of {sorted(kind.enums[path])}")
            continue
        if path not in kind.fields:
            found.append(f"{path}: not a field of {kind.kind} ({kind.source})")
        elif path in kind.enums and value not in kind.enums[path]:
            found.append(f"{path}: {value!r} not one of {sorted(kind.enums[path])}")
        if path in kind.core:
            try:
                kubernetes_validate.validate(kind.core[path](value), kubernetes_version,
                                             strict=True)
            except kubernetes_validate.ValidationError as error:
                found.append(f"{path}: {error.message}")
    return found
