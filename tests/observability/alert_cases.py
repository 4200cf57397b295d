"""promtool unit-test cases of every mlplat alert: at least one that fires and one that stays
silent per alert (enforced by test_alert_rules.py). Thresholds are the AlertSettings
defaults; the series are chosen on either side of them.

Label sets imitate the exporters: DCGM exporter (gpu, UUID, device, modelName, Hostname and,
for GPUs allocated to a pod, namespace/pod/container), kube-state-metrics, kubelet,
Karpenter, Kueue, vLLM and Prometheus/Alertmanager themselves.
"""

from __future__ import annotations

from mlplat.observability.rule_tests import AlertCase, Fired, Series

PLATFORM = "platform"
TEAM_NS = "team-a-train"
SERVE_NS = "team-a-serve"


def sel(metric: str, **labels: str) -> str:
    inner = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return f"{metric}{{{inner}}}"


def team(namespace: str, name: str, values: str) -> Series:
    """kube-state-metrics' namespace labels with the allow-listed team label."""
    return Series(sel("kube_namespace_labels", namespace=namespace,
                      label_mlplat_io_team=name, job="kube-state-metrics"), values)


GPU = {
    "gpu": "0", "UUID": "GPU-5fd4", "device": "nvidia0",
    "modelName": "NVIDIA A100-SXM4-80GB", "Hostname": "gpu-node-1",
    "instance": "10.0.1.7:9400", "job": "dcgm-exporter",
}
ALLOCATED = {**GPU, "namespace": TEAM_NS, "pod": "trainer-0", "container": "main"}
#: A GPU no pod holds: with honorLabels the scrape target's own labels fill the gap.
UNALLOCATED = {**GPU, "gpu": "1", "UUID": "GPU-77ab", "namespace": "monitoring",
               "pod": "dcgm-exporter-x7k2p", "container": "exporter"}


def gpu_series(metric: str, values: str, labels: dict[str, str] = GPU) -> Series:
    return Series(sel(metric, **labels), values)


def on_gpu(value: str | None = None, labels: dict[str, str] = GPU, owner: str = PLATFORM) -> Fired:
    return Fired({**labels, "team": owner}, value)


def _gpu_health() -> list[AlertCase]:
    xid = "DCGM_FI_DEV_XID_ERRORS"
    return [
        AlertCase("GpuFatalXid", "XID 79 (fallen off the bus) fires",
                  (gpu_series(xid, "0x5 79x10"),), "10m", (on_gpu("79"),)),
        AlertCase("GpuFatalXid", "an application XID (13) is not fatal",
                  (gpu_series(xid, "0x5 13x10"),), "10m"),
        AlertCase("GpuXidError", "a new application XID fires",
                  (gpu_series(xid, "0x5 13x10"),), "8m", (on_gpu("13"),)),
        AlertCase("GpuXidError", "an XID last seen more than 15 minutes ago is old news",
                  (gpu_series(xid, "0x5 13x40"),), "40m"),
        AlertCase("GpuXidError", "a fatal XID is GpuFatalXid's, not a duplicate warning",
                  (gpu_series(xid, "0x5 79x10"),), "8m"),
        AlertCase("GpuRowRemapFailure", "a failed row remap fires",
                  (gpu_series("DCGM_FI_DEV_ROW_REMAP_FAILURE", "0 0 1 1"),), "3m",
                  (on_gpu(),)),
        AlertCase("GpuRowRemapFailure", "no remap failure",
                  (gpu_series("DCGM_FI_DEV_ROW_REMAP_FAILURE", "0x10"),), "10m"),
        AlertCase("GpuUncorrectableRowsRemapped", "a new uncorrectable remap fires",
                  (gpu_series("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "0x10 1x10"),),
                  "15m", (on_gpu(),)),
        AlertCase("GpuUncorrectableRowsRemapped", "a remap older than an hour is not new",
                  (gpu_series("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "0x5 1x80"),),
                  "80m"),
        # Peak 1410 MHz earlier in the day; throttled to 1000 MHz (71 %) while busy.
        AlertCase("GpuClocksThrottled", "a busy GPU at 71 % of its peak clock fires",
                  (gpu_series("DCGM_FI_DEV_SM_CLOCK", "1410x60 1000x40"),
                   gpu_series("DCGM_FI_DEV_GPU_UTIL", "95x100")), "85m", (on_gpu("1000"),)),
        AlertCase("GpuClocksThrottled", "an idle GPU lowering its clocks saves power",
                  (gpu_series("DCGM_FI_DEV_SM_CLOCK", "1410x60 210x40"),
                   gpu_series("DCGM_FI_DEV_GPU_UTIL", "95x60 0x40")), "85m"),
        AlertCase("GpuClocksThrottled", "a busy GPU at 92 % of its peak clock is normal",
                  (gpu_series("DCGM_FI_DEV_SM_CLOCK", "1410x60 1300x40"),
                   gpu_series("DCGM_FI_DEV_GPU_UTIL", "95x100")), "85m"),
        AlertCase("GpuTemperatureHigh", "90 °C for 15 minutes fires",
                  (gpu_series("DCGM_FI_DEV_GPU_TEMP", "90x20"),), "15m", (on_gpu("90"),)),
        AlertCase("GpuTemperatureHigh", "80 °C is normal under load",
                  (gpu_series("DCGM_FI_DEV_GPU_TEMP", "80x20"),), "15m"),
    ]


def _gpu_agents() -> list[AlertCase]:
    up = {"job": "dcgm-exporter", "instance": "10.0.1.7:9400"}
    host = {"job": "scrapeConfig/monitoring/host-exporters", "instance": "gpu-host-3:9400",
            "exporter": "dcgm-exporter"}
    capacity = Series(sel("kube_node_status_capacity", node="gpu-node-1",
                          resource="nvidia_com_gpu", unit="integer"), "8x20")
    cpu_only = Series(sel("kube_node_status_capacity", node="cpu-node-1", resource="cpu",
                          unit="core"), "4x20")
    unavailable = "kube_daemonset_status_number_unavailable"
    plugin = {"namespace": "kube-system", "daemonset": "nvidia-device-plugin"}
    return [
        AlertCase("GpuExporterDown", "an exporter target down for 12 minutes fires",
                  (Series(sel("up", **up), "0x15"),), "12m",
                  (Fired({**up, "team": PLATFORM}),)),
        AlertCase("GpuExporterDown", "an on-prem host's exporter down fires too",
                  (Series(sel("up", **host), "0x15"),), "12m",
                  (Fired({**host, "team": PLATFORM}),)),
        AlertCase("GpuExporterDown", "exporter up; another job's target down is not ours",
                  (Series(sel("up", **up), "1x15"),
                   Series(sel("up", job="other", instance="x:1"), "0x15")), "12m"),
        AlertCase("GpuExporterMissing", "GPU nodes but no exporter target at all fires",
                  (capacity,), "16m", (Fired({"team": PLATFORM}),)),
        AlertCase("GpuExporterMissing", "GPU nodes with an exporter up",
                  (capacity, Series(sel("up", **up), "1x20")), "16m"),
        AlertCase("GpuExporterMissing", "GPU nodes watched by on-prem host exporters",
                  (capacity, Series(sel("up", **host), "1x20")), "16m"),
        AlertCase("GpuExporterMissing", "a cluster without GPUs needs no exporter",
                  (cpu_only,), "16m"),
        AlertCase("GpuDaemonSetUnavailable", "an unavailable device-plugin pod fires",
                  (Series(sel(unavailable, **plugin), "1x20"),), "16m",
                  (Fired({**plugin, "team": PLATFORM}),)),
        AlertCase("GpuDaemonSetUnavailable", "all available; other DaemonSets are not ours",
                  (Series(sel(unavailable, **plugin), "0x20"),
                   Series(sel(unavailable, namespace="logging", daemonset="fluent-bit"),
                          "1x20")), "16m"),
    ]


def _capacity() -> list[AlertCase]:
    util = "DCGM_FI_DEV_GPU_UTIL"
    requests = "kube_pod_container_resource_requests"
    gpu_request = Series(sel(requests, namespace=TEAM_NS, pod="trainer-0", container="main",
                             node="gpu-node-1", resource="nvidia_com_gpu", unit="integer"),
                         "1x40")
    exporter_request = Series(sel(requests, namespace="monitoring", pod="dcgm-exporter-x7k2p",
                                  container="exporter", node="gpu-node-1", resource="cpu",
                                  unit="core"), "0.1x40")
    ready = {"node": "gpu-node-1", "condition": "Ready", "status": "true"}
    pool = {"nodepool": "gpu-a100", "resource_type": "nvidia.com/gpu"}
    return [
        AlertCase("GpuAllocatedIdle", "an allocated GPU idle for 35 minutes fires",
                  (gpu_series(util, "0x40", ALLOCATED), gpu_request,
                   team(TEAM_NS, "team-a", "1x40")),
                  "35m", (on_gpu(labels=ALLOCATED, owner="team-a"),)),
        AlertCase("GpuAllocatedIdle", "a namespace without team label routes to platform",
                  (gpu_series(util, "0x40", ALLOCATED), gpu_request), "35m",
                  (on_gpu(labels=ALLOCATED, owner=PLATFORM),)),
        AlertCase("GpuAllocatedIdle", "a busy GPU, and an idle one no pod holds, are fine",
                  (gpu_series(util, "60x40", ALLOCATED), gpu_request,
                   gpu_series(util, "0x40", UNALLOCATED), exporter_request,
                   team(TEAM_NS, "team-a", "1x40")), "35m"),
        AlertCase("NodeNotReady", "not Ready for 6 minutes fires",
                  (Series(sel("kube_node_status_condition", **ready), "0x10"),), "6m",
                  (Fired({**ready, "team": PLATFORM}),)),
        AlertCase("NodeNotReady", "a Ready node",
                  (Series(sel("kube_node_status_condition", **ready), "1x10"),), "6m"),
        AlertCase("GpuPoolAtLimit", "usage at the limit fires",
                  (Series(sel("karpenter_nodepools_usage", **pool), "8x20"),
                   Series(sel("karpenter_nodepools_limit", **pool), "8x20")), "16m",
                  (Fired({**pool, "team": PLATFORM}),)),
        AlertCase("GpuPoolAtLimit", "half used; a pool without a limit never is at it",
                  (Series(sel("karpenter_nodepools_usage", **pool), "4x20"),
                   Series(sel("karpenter_nodepools_limit", **pool), "8x20"),
                   Series(sel("karpenter_nodepools_usage", nodepool="gpu-l4",
                              resource_type="nvidia.com/gpu"), "8x20")), "16m"),
    ]


def _teams() -> list[AlertCase]:
    quota = {"namespace": TEAM_NS, "resourcequota": "team-a",
             "resource": "requests.nvidia.com/gpu"}
    queue = {"namespace": TEAM_NS, "name": "default"}
    pvc = {"namespace": TEAM_NS, "persistentvolumeclaim": "checkpoints",
           "instance": "gpu-node-1", "job": "kubelet"}
    mlflow = {"namespace": TEAM_NS, "deployment": "mlflow"}
    labelled = team(TEAM_NS, "team-a", "1x150")
    return [
        AlertCase("TeamQuotaNearlyExhausted", "all 8 GPUs of the quota in use fires",
                  (Series(sel("kube_resourcequota", **quota, type="used"), "8x20"),
                   Series(sel("kube_resourcequota", **quota, type="hard"), "8x20"),
                   labelled), "16m", (Fired({**quota, "team": "team-a"}),)),
        AlertCase("TeamQuotaNearlyExhausted", "half the quota in use",
                  (Series(sel("kube_resourcequota", **quota, type="used"), "4x20"),
                   Series(sel("kube_resourcequota", **quota, type="hard"), "8x20"),
                   labelled), "16m"),
        AlertCase("KueueWorkloadsPendingTooLong", "pending over an hour, none admitted, fires",
                  (Series(sel("kueue_local_queue_pending_workloads", **queue,
                              status="inadmissible"), "3x90"), labelled), "65m",
                  (Fired({**queue, "team": "team-a"}),)),
        AlertCase("KueueWorkloadsPendingTooLong", "pending, but the queue keeps admitting",
                  (Series(sel("kueue_local_queue_pending_workloads", **queue,
                              status="active"), "3x90"),
                   Series(sel("kueue_local_queue_admitted_workloads_total", **queue),
                          "0+1x90"), labelled), "65m"),
        AlertCase("KueueWorkloadsPendingTooLong", "an empty queue",
                  (Series(sel("kueue_local_queue_pending_workloads", **queue,
                              status="active"), "0x90"), labelled), "65m"),
        AlertCase("PersistentVolumeFillingUp", "95 % full fires",
                  (Series(sel("kubelet_volume_stats_used_bytes", **pvc), "95x20"),
                   Series(sel("kubelet_volume_stats_capacity_bytes", **pvc), "100x20"),
                   labelled), "15m", (Fired({**pvc, "team": "team-a"}),)),
        AlertCase("PersistentVolumeFillingUp", "half full",
                  (Series(sel("kubelet_volume_stats_used_bytes", **pvc), "50x20"),
                   Series(sel("kubelet_volume_stats_capacity_bytes", **pvc), "100x20"),
                   labelled), "15m"),
        AlertCase("MlflowDown", "no available replica of one wanted fires",
                  (Series(sel("kube_deployment_status_replicas_available", **mlflow), "0x10"),
                   Series(sel("kube_deployment_spec_replicas", **mlflow), "1x10"), labelled),
                  "6m", (Fired({**mlflow, "team": "team-a"}),)),
        AlertCase("MlflowDown", "one replica available",
                  (Series(sel("kube_deployment_status_replicas_available", **mlflow), "1x10"),
                   Series(sel("kube_deployment_spec_replicas", **mlflow), "1x10"), labelled),
                  "6m"),
        AlertCase("MlflowDown", "scaled to zero on purpose",
                  (Series(sel("kube_deployment_status_replicas_available", **mlflow), "0x10"),
                   Series(sel("kube_deployment_spec_replicas", **mlflow), "0x10"), labelled),
                  "6m"),
    ]


SERVICE = {"namespace": SERVE_NS, "inferenceservice": "llm"}
#: The monitoring component's PodMonitor scrapes every model server under one job.
SERVING_JOB = "monitoring/kserve-model-servers"


def _requests(ok_per_step: int, errors_per_step: int, steps: int) -> tuple[Series, ...]:
    """vLLM's HTTP counters of one service, growing by fixed amounts per step."""
    base = {**SERVICE, "job": SERVING_JOB, "handler": "/v1/completions", "method": "POST"}
    return (
        Series(sel("http_requests_total", **base, status="2xx"), f"0+{ok_per_step}x{steps}"),
        Series(sel("http_requests_total", **base, status="5xx"),
               f"0+{errors_per_step}x{steps}"),
        # Health checks fail a lot but are not inference requests.
        Series(sel("http_requests_total", **SERVICE, job=SERVING_JOB, handler="/health",
                   method="GET",
                   status="5xx"), f"0+{ok_per_step}x{steps}"),
    )


def _latency(fast_per_step: int, all_per_step: int, steps: int) -> tuple[Series, ...]:
    """vLLM's end-to-end latency histogram: requests within 10 s, and all requests."""
    hist = "vllm:e2e_request_latency_seconds"
    labels = {**SERVICE, "job": SERVING_JOB, "model_name": "llama", "engine": "0"}
    return (
        Series(sel(f"{hist}_bucket", **labels, le="10.0"), f"0+{fast_per_step}x{steps}"),
        Series(sel(f"{hist}_bucket", **labels, le="+Inf"), f"0+{all_per_step}x{steps}"),
        Series(sel(f"{hist}_count", **labels), f"0+{all_per_step}x{steps}"),
    )


def _serving() -> list[AlertCase]:
    owner = team(SERVE_NS, "team-a", "1x200")
    burning = Fired({**SERVICE, "team": "team-a"})
    # A ratio of two rates over a window is the same whether the window holds a day or 30
    # minutes of a steady burn, so steady-burn cases need no day of synthetic data; what
    # the long windows add is shown by a burn that has stopped.
    stopped = (
        Series(sel("http_requests_total", **SERVICE, job=SERVING_JOB,
                   handler="/v1/completions", method="POST", status="2xx"), "0+90x100"),
        Series(sel("http_requests_total", **SERVICE, job=SERVING_JOB,
                   handler="/v1/completions", method="POST", status="5xx"), "0+10x60 600x40"),
        owner,
    )
    return [
        AlertCase("ServingErrorBudgetBurnFast", "10 % errors page",
                  (*_requests(90, 10, 30), owner), "20m", (burning,)),
        AlertCase("ServingErrorBudgetBurnFast", "no errors (failing health checks aside)",
                  (*_requests(90, 0, 30), owner), "20m"),
        AlertCase("ServingErrorBudgetBurnFast", "a burn that stopped 35 minutes ago: the "
                  "long windows are still high, the short ones reset the page",
                  stopped, "95m"),
        AlertCase("ServingErrorBudgetBurnSlow", "0.5 % errors (5x) open a ticket, no page",
                  (*_requests(995, 5, 40), owner), "30m", (burning,),
                  extra_silent=("ServingErrorBudgetBurnFast",)),
        AlertCase("ServingErrorBudgetBurnSlow", "0.15 % errors (1.5x) fire on the 3-day pair",
                  (*_requests(1997, 3, 40), owner), "30m", (burning,),
                  extra_silent=("ServingErrorBudgetBurnFast",)),
        AlertCase("ServingErrorBudgetBurnSlow", "0.05 % errors stay within the budget",
                  (*_requests(1999, 1, 40), owner), "30m"),
        AlertCase("ServingLatencyBudgetBurnFast", "half the requests too slow pages",
                  (*_latency(50, 100, 30), owner), "20m", (burning,)),
        AlertCase("ServingLatencyBudgetBurnFast", "every request within 10 s",
                  (*_latency(100, 100, 30), owner), "20m"),
        AlertCase("ServingLatencyBudgetBurnSlow", "5 % too slow (5x) opens a ticket, no page",
                  (*_latency(95, 100, 40), owner), "30m", (burning,),
                  extra_silent=("ServingLatencyBudgetBurnFast",)),
        AlertCase("ServingLatencyBudgetBurnSlow", "0.5 % too slow is within the budget",
                  (*_latency(995, 1000, 40), owner), "30m"),
    ]


def _self_monitoring() -> list[AlertCase]:
    prom = {"job": "prometheus", "instance": "10.0.0.9:9090"}
    am = {"job": "alertmanager", "instance": "10.0.0.8:9093"}
    group = {**prom, "rule_group": "/etc/prometheus/rules/mlplat.yaml;mlplat.teams"}
    slack = {**am, "integration": "slack"}

    def fired(labels: dict[str, str]) -> tuple[Fired, ...]:
        return (Fired({**labels, "team": PLATFORM}),)

    def gauge(metric: str, labels: dict[str, str], values: str) -> tuple[Series, ...]:
        return (Series(sel(metric, **labels), values),)

    def failures(failed: str, failed_labels: dict[str, str], total: str,
                 total_labels: dict[str, str], per_hundred: int) -> tuple[Series, ...]:
        """`per_hundred` of every 100 attempts per minute fail."""
        return (Series(sel(failed, **failed_labels), f"0+{per_hundred}x30"),
                Series(sel(total, **total_labels), "0+100x30"))

    sends = {**prom, "alertmanager": "http://10.0.0.8:9093/api/v2/alerts"}
    to_alertmanager = ("prometheus_notifications_errors_total", sends,
                       "prometheus_notifications_sent_total", sends)
    to_slack = ("alertmanager_notifications_failed_total", {**slack, "reason": "serverError"},
                "alertmanager_notifications_total", slack)

    return [
        AlertCase("PrometheusConfigReloadFailed", "a failed reload fires",
                  gauge("prometheus_config_last_reload_successful", prom, "0x20"), "16m",
                  fired(prom)),
        AlertCase("PrometheusConfigReloadFailed", "reloads succeed",
                  gauge("prometheus_config_last_reload_successful", prom, "1x20"), "16m"),
        AlertCase("PrometheusRuleEvaluationFailures", "failing evaluations fire",
                  gauge("prometheus_rule_evaluation_failures_total", group, "0+1x30"), "25m",
                  fired(group)),
        AlertCase("PrometheusRuleEvaluationFailures", "no failures",
                  gauge("prometheus_rule_evaluation_failures_total", group, "0x30"), "25m"),
        AlertCase("PrometheusNotConnectedToAlertmanagers", "no Alertmanager discovered fires",
                  gauge("prometheus_notifications_alertmanagers_discovered", prom, "0x20"),
                  "16m", fired(prom)),
        AlertCase("PrometheusNotConnectedToAlertmanagers", "one Alertmanager discovered",
                  gauge("prometheus_notifications_alertmanagers_discovered", prom, "1x20"),
                  "16m"),
        AlertCase("PrometheusNotificationsFailing", "5 % of sends failing fires",
                  failures(*to_alertmanager, 5), "25m", fired(prom)),
        AlertCase("PrometheusNotificationsFailing", "every send succeeds",
                  failures(*to_alertmanager, 0), "25m"),
        AlertCase("AlertmanagerDown", "Alertmanager target down fires",
                  gauge("up", am, "0x10"), "6m", fired(am)),
        AlertCase("AlertmanagerDown", "Alertmanager up",
                  gauge("up", am, "1x10"), "6m"),
        AlertCase("AlertmanagerConfigReloadFailed", "a failed reload fires",
                  gauge("alertmanager_config_last_reload_successful", am, "0x20"), "16m",
                  fired(am)),
        AlertCase("AlertmanagerConfigReloadFailed", "reloads succeed",
                  gauge("alertmanager_config_last_reload_successful", am, "1x20"), "16m"),
        AlertCase("AlertmanagerNotificationsFailing", "5 % of Slack deliveries failing fires",
                  failures(*to_slack, 5), "25m", fired(slack)),
        AlertCase("AlertmanagerNotificationsFailing", "deliveries succeed",
                  failures(*to_slack, 0), "25m"),
    ]


CASES: tuple[AlertCase, ...] = (
    *_gpu_health(), *_gpu_agents(), *_capacity(), *_teams(), *_serving(), *_self_monitoring()
)
