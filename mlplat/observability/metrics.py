"""The metrics each exporter of the monitoring stack really emits, with the version checked.

Dashboards (mlplat/observability/dashboards.py) and alert rules may only query series listed
here, and tests hold them to it: a panel whose metric no exporter emits shows "No data"
forever and nobody notices. Each exporter names where its names were read (a file of the
upstream repository or its metrics documentation) and for which version; moving a pin in
components/versions.py means re-reading that source.

Only the metrics mlplat uses or is likely to use are listed, not every series an exporter
has. A histogram is listed once by its base name; `series_names()` expands it into the
`_bucket`, `_sum` and `_count` series Prometheus stores. Pure data, no Pulumi imports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum


class MetricKind(StrEnum):
    """Prometheus metric type, as the exporter declares it (`# TYPE`)."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    SUMMARY = "summary"


@dataclass(frozen=True)
class Metric:
    """One metric family of an exporter."""

    name: str
    kind: MetricKind
    labels: tuple[str, ...]
    """Labels the exporter itself sets (target labels such as `instance` and `job` and
    the ones Prometheus adds from service discovery are not listed)."""
    help: str

    def series_names(self) -> tuple[str, ...]:
        """Names of the series Prometheus stores for this family."""
        if self.kind is MetricKind.HISTOGRAM:
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        if self.kind is MetricKind.SUMMARY:
            return (self.name, f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


@dataclass(frozen=True)
class Exporter:
    """An exporter (or an instrumented program) of the stack and the metrics it emits."""

    key: str
    title: str
    version: str
    """Version whose source the names were checked against."""
    source: str
    """Where the names were read: upstream repository and file, or documentation page."""
    metrics: tuple[Metric, ...]

    def series_names(self) -> frozenset[str]:
        """Every series name of this exporter's listed families."""
        return frozenset(s for m in self.metrics for s in m.series_names())


def _m(name: str, kind: MetricKind, labels: tuple[str, ...], help_text: str) -> Metric:
    return Metric(name=name, kind=kind, labels=labels, help=help_text)


C, G, H = MetricKind.COUNTER, MetricKind.GAUGE, MetricKind.HISTOGRAM

#: Labels dcgm-exporter puts on every GPU series; `pod`, `namespace` and `container` are
#: added for GPUs a pod holds (kubelet pod-resources API) and survive the scrape only with
#: `honorLabels: true` on the ServiceMonitor (else they become `exported_*`).
DCGM_LABELS: tuple[str, ...] = (
    "gpu", "UUID", "device", "modelName", "Hostname", "pci_bus_id",
    "pod", "namespace", "container",
)

DCGM_EXPORTER = Exporter(
    key="dcgm-exporter",
    title="NVIDIA DCGM exporter",
    version="4.5.3-4.8.2 (chart 4.8.2)",
    source="NVIDIA/dcgm-exporter etc/default-counters.csv and "
           "internal/pkg/transformation/const.go at tag 4.5.3-4.8.2",
    metrics=tuple(_m(n, k, DCGM_LABELS, h) for n, k, h in (
        ("DCGM_FI_DEV_SM_CLOCK", G, "SM clock frequency (MHz)."),
        ("DCGM_FI_DEV_MEM_CLOCK", G, "Memory clock frequency (MHz)."),
        ("DCGM_FI_DEV_MEMORY_TEMP", G, "Memory temperature (C)."),
        ("DCGM_FI_DEV_GPU_TEMP", G, "GPU temperature (C)."),
        ("DCGM_FI_DEV_POWER_USAGE", G, "Power draw (W)."),
        ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", C, "Energy since boot (mJ)."),
        ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", C, "PCIe retries."),
        ("DCGM_FI_DEV_GPU_UTIL", G, "GPU utilisation (%)."),
        ("DCGM_FI_DEV_MEM_COPY_UTIL", G, "Memory utilisation (%)."),
        ("DCGM_FI_DEV_ENC_UTIL", G, "Encoder utilisation (%)."),
        ("DCGM_FI_DEV_DEC_UTIL", G, "Decoder utilisation (%)."),
        ("DCGM_FI_DEV_XID_ERRORS", G, "Value of the last XID error."),
        ("DCGM_FI_DEV_FB_FREE", G, "Framebuffer memory free (MiB)."),
        ("DCGM_FI_DEV_FB_USED", G, "Framebuffer memory used (MiB)."),
        ("DCGM_FI_DEV_FB_RESERVED", G, "Framebuffer memory reserved (MiB)."),
        ("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", C, "NVLink bandwidth counters, all lanes."),
        ("DCGM_FI_DEV_VGPU_LICENSE_STATUS", G, "vGPU licence status."),
        ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", C, "Rows remapped, uncorrectable errors."),
        ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", C, "Rows remapped, correctable errors."),
        ("DCGM_FI_DEV_ROW_REMAP_FAILURE", G, "Whether row remapping failed."),
        ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", G, "Ratio of time the graphics engine is active."),
        ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", G, "Ratio of cycles the tensor pipe is active."),
        ("DCGM_FI_PROF_DRAM_ACTIVE", G, "Ratio of cycles device memory is active."),
        ("DCGM_FI_PROF_PCIE_TX_BYTES", G, "PCIe bytes transmitted per second."),
        ("DCGM_FI_PROF_PCIE_RX_BYTES", G, "PCIe bytes received per second."),
    )),
)

#: kube-state-metrics turns an allow-listed namespace label into `label_<sanitised name>`;
#: the monitoring component allow-lists `mlplat.io/team` (components/k8s/monitoring.py).
KSM_TEAM_LABEL = "label_mlplat_io_team"

KUBE_STATE_METRICS = Exporter(
    key="kube-state-metrics",
    title="kube-state-metrics",
    version="v2.20.0 (subchart 8.4.0 of kube-prometheus-stack 88.5.3)",
    source="kubernetes/kube-state-metrics docs/metrics/workload/*.md, "
           "docs/metrics/cluster/namespace-metrics.md, docs/metrics/cluster/node-metrics.md",
    metrics=(
        _m("kube_pod_container_resource_requests", G,
           ("namespace", "pod", "container", "node", "resource", "unit"),
           "Requested resources per container (resource `nvidia_com_gpu` for GPUs)."),
        _m("kube_pod_container_resource_limits", G,
           ("namespace", "pod", "container", "node", "resource", "unit"),
           "Resource limits per container."),
        _m("kube_pod_status_phase", G, ("namespace", "pod", "phase"), "Pod phase."),
        _m("kube_pod_info", G, ("namespace", "pod", "node", "created_by_kind"), "Pod info."),
        _m("kube_pod_container_status_restarts_total", C,
           ("namespace", "pod", "container"), "Container restarts."),
        _m("kube_node_status_allocatable", G, ("node", "resource", "unit"),
           "Allocatable resources of a node."),
        _m("kube_node_status_capacity", G, ("node", "resource", "unit"),
           "Capacity of a node."),
        _m("kube_node_labels", G, ("node",), "Allow-listed node labels."),
        _m("kube_namespace_labels", G, ("namespace", KSM_TEAM_LABEL),
           "Allow-listed namespace labels."),
        _m("kube_deployment_status_replicas_available", G, ("namespace", "deployment"),
           "Available replicas of a Deployment."),
        _m("kube_deployment_spec_replicas", G, ("namespace", "deployment"),
           "Desired replicas of a Deployment."),
        _m("kube_job_status_failed", G, ("namespace", "job_name"), "Failed pods of a Job."),
        _m("kube_persistentvolumeclaim_status_phase", G,
           ("namespace", "persistentvolumeclaim", "phase"), "PVC phase."),
        # Read by the alert rules (mlplat/observability/rules.py).
        _m("kube_node_status_condition", G, ("node", "condition", "status"),
           "Node conditions (Ready, MemoryPressure, ...), one series per status."),
        _m("kube_resourcequota", G, ("namespace", "resourcequota", "resource", "type"),
           "ResourceQuota `hard` and `used` per resource."),
        _m("kube_daemonset_status_number_unavailable", G, ("namespace", "daemonset"),
           "Pods of a DaemonSet that should run but are not available."),
    ),
)

NODE_EXPORTER = Exporter(
    key="node-exporter",
    title="Prometheus node exporter",
    version="1.12.1 (subchart 4.56.1 of kube-prometheus-stack 88.5.3); Debian 12 package "
            "1.5.0 on hosts",
    source="prometheus/node_exporter collector/cpu_linux.go, meminfo.go, filesystem_common.go,"
           " loadavg.go",
    metrics=(
        _m("node_cpu_seconds_total", C, ("cpu", "mode"), "CPU seconds per mode."),
        _m("node_memory_MemAvailable_bytes", G, (), "Memory available."),
        _m("node_memory_MemTotal_bytes", G, (), "Memory total."),
        _m("node_filesystem_avail_bytes", G, ("device", "fstype", "mountpoint"),
           "Filesystem space available to non-root."),
        _m("node_filesystem_size_bytes", G, ("device", "fstype", "mountpoint"),
           "Filesystem size."),
        _m("node_load1", G, (), "1-minute load average."),
        _m("node_network_receive_bytes_total", C, ("device",), "Bytes received."),
        _m("node_network_transmit_bytes_total", C, ("device",), "Bytes transmitted."),
    ),
)

KUBELET = Exporter(
    key="kubelet",
    title="kubelet and cAdvisor",
    version="Kubernetes 1.32-1.34",
    source="kubernetes/kubernetes pkg/kubelet/metrics/metrics.go, pkg/kubelet/prober "
           "(/metrics/probes), google/cadvisor docs/storage/prometheus.md",
    metrics=(
        _m("container_cpu_usage_seconds_total", C, ("namespace", "pod", "container"),
           "CPU seconds used by a container (cAdvisor)."),
        _m("container_memory_working_set_bytes", G, ("namespace", "pod", "container"),
           "Working-set memory of a container (cAdvisor)."),
        _m("prober_probe_total", C,
           ("namespace", "pod", "container", "probe_type", "result"),
           "Probe results per container (kubelet /metrics/probes)."),
        _m("kubelet_running_pods", G, (), "Pods running on the node."),
        # Read by the alert rules; kubelet /metrics, pkg/kubelet/metrics/collectors/
        # volume_stats.go.
        _m("kubelet_volume_stats_used_bytes", G, ("namespace", "persistentvolumeclaim"),
           "Bytes used on a mounted PVC's volume."),
        _m("kubelet_volume_stats_capacity_bytes", G, ("namespace", "persistentvolumeclaim"),
           "Capacity of a mounted PVC's volume."),
        _m("kubelet_volume_stats_available_bytes", G, ("namespace", "persistentvolumeclaim"),
           "Bytes available on a mounted PVC's volume."),
    ),
)

KUEUE = Exporter(
    key="kueue",
    title="Kueue controller manager",
    version="v0.13",
    source="kubernetes-sigs/kueue pkg/metrics/metrics.go (site/content/en/docs/reference/"
           "metrics.md)",
    metrics=(
        _m("kueue_pending_workloads", G, ("cluster_queue", "status"),
           "Pending workloads per ClusterQueue; status `active` or `inadmissible`."),
        _m("kueue_admitted_workloads_total", C, ("cluster_queue",),
           "Workloads admitted per ClusterQueue."),
        _m("kueue_admission_wait_time_seconds", H, ("cluster_queue",),
           "Time from creation or requeue to admission."),
        _m("kueue_quota_reserved_wait_time_seconds", H, ("cluster_queue",),
           "Time from creation or requeue to quota reservation."),
        _m("kueue_admitted_active_workloads", G, ("cluster_queue",),
           "Admitted workloads that are active (not finished)."),
        _m("kueue_reserving_active_workloads", G, ("cluster_queue",),
           "Workloads reserving quota that are active."),
        _m("kueue_evicted_workloads_total", C, ("cluster_queue", "reason"),
           "Evicted workloads per ClusterQueue and reason."),
        _m("kueue_cluster_queue_status", G, ("cluster_queue", "status"),
           "ClusterQueue status (pending, active, terminating)."),
        _m("kueue_admission_attempts_total", C, ("result",), "Admission attempts."),
        _m("kueue_admission_attempt_duration_seconds", H, ("result",),
           "Latency of an admission attempt."),
        _m("kueue_cluster_queue_resource_usage", G,
           ("cohort", "cluster_queue", "flavor", "resource"),
           "Resource usage per ClusterQueue (only with metrics.enableClusterQueueResources)."),
        _m("kueue_cluster_queue_nominal_quota", G,
           ("cohort", "cluster_queue", "flavor", "resource"),
           "Nominal quota per ClusterQueue (only with metrics.enableClusterQueueResources)."),
        # Per-LocalQueue metrics, read by the alert rules (team attribution by namespace):
        # feature gate LocalQueueMetrics, beta and on by default since Kueue 0.17 (the
        # training layer pins 0.19.2); pkg/metrics/metrics.go at that version.
        _m("kueue_local_queue_pending_workloads", G, ("name", "namespace", "status"),
           "Pending workloads per LocalQueue; status `active` or `inadmissible`."),
        _m("kueue_local_queue_admitted_workloads_total", C, ("name", "namespace"),
           "Workloads admitted per LocalQueue."),
    ),
)

VLLM = Exporter(
    key="vllm",
    title="vLLM OpenAI-compatible server (KServe huggingface runtime or its own)",
    version="v0.10",
    source="vllm-project/vllm vllm/v1/metrics/loggers.py; docs/design/metrics.md",
    metrics=(
        _m("vllm:num_requests_running", G, ("model_name", "engine"),
           "Requests in model execution batches."),
        _m("vllm:num_requests_waiting", G, ("model_name", "engine"), "Requests waiting."),
        _m("vllm:kv_cache_usage_perc", G, ("model_name", "engine"),
           "KV-cache usage (1 = 100 %)."),
        _m("vllm:request_success_total", C, ("model_name", "engine", "finished_reason"),
           "Finished requests by reason (stop, length, abort)."),
        _m("vllm:prompt_tokens_total", C, ("model_name", "engine"), "Prefill tokens."),
        _m("vllm:generation_tokens_total", C, ("model_name", "engine"), "Generated tokens."),
        _m("vllm:e2e_request_latency_seconds", H, ("model_name", "engine"),
           "End-to-end request latency."),
        _m("vllm:time_to_first_token_seconds", H, ("model_name", "engine"),
           "Time to first token."),
        _m("vllm:request_queue_time_seconds", H, ("model_name", "engine"),
           "Time a request waited in the queue."),
        # vLLM's API server instruments its FastAPI app with prometheus-fastapi-instrumentator
        # (vllm/entrypoints/serve/instrumentator/metrics.py; status grouped as 2xx/4xx/5xx):
        # the serving availability SLO of the alert rules counts these.
        _m("http_requests_total", C, ("handler", "method", "status"),
           "HTTP requests per handler, method and status class."),
    ),
)

TRITON = Exporter(
    key="triton",
    title="NVIDIA Triton Inference Server (KServe tritonserver runtime)",
    version="r25.x (2.5x)",
    source="triton-inference-server/server docs/user_guide/metrics.md; "
           "triton-inference-server/core src/metrics.cc",
    metrics=(
        _m("nv_inference_request_success", C, ("model", "version"),
           "Successful inference requests."),
        _m("nv_inference_request_failure", C, ("model", "version", "reason"),
           "Failed inference requests."),
        _m("nv_inference_count", C, ("model", "version"), "Inferences performed."),
        _m("nv_inference_request_duration_us", C, ("model", "version"),
           "Cumulative end-to-end request time (us)."),
        _m("nv_inference_queue_duration_us", C, ("model", "version"),
           "Cumulative time requests waited in the queue (us)."),
        _m("nv_inference_compute_infer_duration_us", C, ("model", "version"),
           "Cumulative compute time (us)."),
    ),
)

KSERVE = Exporter(
    key="kserve",
    title="KServe Python model server (sklearn, xgboost, huggingface, custom predictors)",
    version="v0.15",
    source="kserve/kserve python/kserve/kserve/metrics.py",
    metrics=(
        _m("request_preprocess_seconds", H, ("model_name",), "Pre-processing latency."),
        _m("request_predict_seconds", H, ("model_name",), "Predict latency."),
        _m("request_postprocess_seconds", H, ("model_name",), "Post-processing latency."),
        _m("request_explain_seconds", H, ("model_name",), "Explain latency."),
    ),
)

KARPENTER = Exporter(
    key="karpenter",
    title="Karpenter controller",
    version="1.12.1",
    source="kubernetes-sigs/karpenter pkg/metrics/metrics.go, pkg/controllers/metrics/*; "
           "karpenter.sh docs reference/metrics",
    metrics=(
        _m("karpenter_nodeclaims_created_total", C, ("nodepool", "reason"),
           "NodeClaims created."),
        _m("karpenter_nodeclaims_terminated_total", C, ("nodepool", "reason"),
           "NodeClaims terminated."),
        _m("karpenter_nodes_allocatable", G, ("node_name", "nodepool", "resource_type"),
           "Allocatable resources of Karpenter nodes."),
        _m("karpenter_nodepools_usage", G, ("nodepool", "resource_type"),
           "Resources a NodePool uses."),
        _m("karpenter_nodepools_limit", G, ("nodepool", "resource_type"),
           "Limits of a NodePool."),
        _m("karpenter_pods_state", G, ("name", "namespace", "node", "nodepool", "phase"),
           "Pod state as Karpenter sees it."),
    ),
)

PROMETHEUS = Exporter(
    key="prometheus",
    title="Prometheus itself (target health)",
    version="v3.14.0 (kube-prometheus-stack 88.5.3)",
    source="prometheus/prometheus scrape/scrape.go (synthetic series `up`)",
    metrics=(
        _m("up", G, (), "1 when the last scrape of the target succeeded."),
        _m("scrape_duration_seconds", G, (), "Duration of the last scrape."),
        # Self-monitoring, read by the alert rules: cmd/prometheus/main.go (config reload),
        # rules/group.go (rule evaluation), notifier/ (sending alerts to Alertmanager).
        _m("prometheus_config_last_reload_successful", G, (),
           "1 when the last configuration reload succeeded."),
        _m("prometheus_rule_evaluation_failures_total", C, ("rule_group",),
           "Rule evaluations that failed."),
        _m("prometheus_notifications_alertmanagers_discovered", G, (),
           "Alertmanagers discovered and active."),
        _m("prometheus_notifications_errors_total", C, ("alertmanager",),
           "Errors sending alerts to an Alertmanager."),
        _m("prometheus_notifications_sent_total", C, ("alertmanager",),
           "Alerts sent to an Alertmanager."),
    ),
)
ALERTMANAGER = Exporter(
    key="alertmanager",
    title="Alertmanager itself",
    version="v0.34.0 (kube-prometheus-stack 88.5.3)",
    source="prometheus/alertmanager config/coordinator.go (config reload), notify/notify.go "
           "(notification counters)",
    metrics=(
        _m("alertmanager_config_last_reload_successful", G, (),
           "1 when the last configuration reload succeeded."),
        _m("alertmanager_notifications_total", C, ("integration",),
           "Notifications attempted per integration."),
        _m("alertmanager_notifications_failed_total", C, ("integration", "reason"),
           "Notifications that failed per integration and reason."),
    ),
)

#: Every exporter of the stack, in the order the catalog lists them.

EXPORTERS: tuple[Exporter, ...] = (
    DCGM_EXPORTER, KUBE_STATE_METRICS, NODE_EXPORTER, KUBELET, KUEUE, VLLM, TRITON, KSERVE,
    KARPENTER, PROMETHEUS, ALERTMANAGER,
)


def all_metrics() -> Iterator[tuple[Exporter, Metric]]:
    """Every listed metric family with the exporter that emits it."""
    for exporter in EXPORTERS:
        for metric in exporter.metrics:
            yield exporter, metric


def known_series() -> frozenset[str]:
    """Every series name some exporter of the stack emits."""
    return frozenset().union(*(e.series_names() for e in EXPORTERS))


def exporter_of(series: str) -> Exporter | None:
    """The exporter emitting `series`, or None when none of the stack does."""
    for exporter in EXPORTERS:
        if series in exporter.series_names():
            return exporter
    return None
