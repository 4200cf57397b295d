"""mlplat's Grafana dashboards, built with grafana-foundation-sdk (Grafana's own
dashboards-as-code SDK) and provisioned as ConfigMaps through Grafana's sidecar
(components/k8s/monitoring.py).

Every query reads only series listed in mlplat/observability/metrics.py, and parses as
PromQL (tests/observability/test_dashboards.py). Team attribution joins on
kube-state-metrics' `kube_namespace_labels{label_mlplat_io_team}` (the namespace label
`mlplat.io/team` every team namespace carries, allow-listed in the chart values).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh

from mlplat.observability.metrics import KSM_TEAM_LABEL

#: The Prometheus data source kube-prometheus-stack's sidecar provisions (its `uid`).
DATASOURCE = DataSourceRef(type_val="prometheus", uid="prometheus")
#: Tags every mlplat dashboard carries (Grafana's dashboard search).
TAGS = ["mlplat"]
RATE = "$__rate_interval"
#: Legend showing the team of a series.
TEAM_LEGEND = "{{" + KSM_TEAM_LABEL + "}}"

#: `<vector by namespace> * on(namespace) group_left(team label) <team of namespace>`:
#: attributes a per-namespace series to the team whose namespace it is.
TEAM_OF_NAMESPACE = (f'kube_namespace_labels{{{KSM_TEAM_LABEL}=~"$team"}}')


def by_team(per_namespace: str) -> str:
    """Sum a per-namespace vector by team."""
    return (f"sum by ({KSM_TEAM_LABEL}) ({per_namespace} * on (namespace) "
            f"group_left ({KSM_TEAM_LABEL}) {TEAM_OF_NAMESPACE})")


@dataclass(frozen=True)
class Query:
    """One panel query and its legend."""

    expr: str
    legend: str


def _target(query: Query, ref: str) -> prometheus.Dataquery:
    return (prometheus.Dataquery().expr(query.expr).legend_format(query.legend).ref_id(ref)
            .datasource(DATASOURCE))


def series_panel(title: str, queries: Sequence[Query], unit: str,
                 description: str = "") -> timeseries.Panel:
    """A time series panel."""
    panel = (timeseries.Panel().title(title).unit(unit).datasource(DATASOURCE).height(8)
             .span(12))
    if description:
        panel = panel.description(description)
    for index, query in enumerate(queries):
        panel = panel.with_target(_target(query, chr(ord("A") + index)))
    return panel


def stat_panel(title: str, query: Query, unit: str) -> stat.Panel:
    """A single-number panel."""
    return (stat.Panel().title(title).unit(unit).datasource(DATASOURCE).height(4).span(6)
            .with_target(_target(query, "A")))


def team_variable() -> dashboard.QueryVariable:
    """`$team`: teams that own namespaces (multi-select, all by default)."""
    return (dashboard.QueryVariable("team").label("Team").datasource(DATASOURCE)
            .query(f"label_values(kube_namespace_labels, {KSM_TEAM_LABEL})")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).multi(True).include_all(True))


def _base(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (dashboard.Dashboard(title).uid(uid).description(description).tags(TAGS)
            .refresh("1m").time("now-6h", "now").readonly())


def quantiles(histogram: str, by: str, legend: str, scale: str = "") -> list[Query]:
    """p50, p95 and p99 of a Prometheus histogram, per `by`."""
    return [
        Query(f"histogram_quantile({q}, sum by (le, {by}) (rate({histogram}_bucket[{RATE}])))"
              f"{scale}", f"p{int(q * 100)} {legend}")
        for q in (0.5, 0.95, 0.99)
    ]


# ------------------------------------------------------------------ the dashboards

GPU_IN_USE = 'DCGM_FI_DEV_GPU_UTIL{namespace!=""}'


def gpu_dashboard() -> dashboard.Dashboard:
    """GPU utilisation, memory, power and temperature per node and per team namespace."""
    team_ns = (f'* on (namespace) group_left ({KSM_TEAM_LABEL}) {TEAM_OF_NAMESPACE}')
    fb_ratio = "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)"
    return (
        _base("mlplat-gpus", "mlplat / GPUs",
              "GPU utilisation, memory, power and temperature (NVIDIA DCGM exporter).")
        .with_variable(team_variable())
        .with_row(dashboard.Row("Per node"))
        .with_panel(series_panel("GPU utilisation by node", [
            Query("avg by (node) (DCGM_FI_DEV_GPU_UTIL)", "{{node}}")], "percent"))
        .with_panel(series_panel("GPU memory used by node", [
            Query(f"avg by (node) ({fb_ratio})", "{{node}}")], "percentunit"))
        .with_panel(series_panel("Power draw by node", [
            Query("sum by (node) (DCGM_FI_DEV_POWER_USAGE)", "{{node}}")], "watt"))
        .with_panel(series_panel("GPU temperature (hottest GPU per node)", [
            Query("max by (node) (DCGM_FI_DEV_GPU_TEMP)", "{{node}} GPU"),
            Query("max by (node) (DCGM_FI_DEV_MEMORY_TEMP)", "{{node}} memory")], "celsius"))
        .with_row(dashboard.Row("Per team namespace"))
        .with_panel(series_panel("GPU utilisation by namespace", [
            Query(f"avg by (namespace, {KSM_TEAM_LABEL}) ({GPU_IN_USE} {team_ns})",
                  "{{namespace}}")], "percent"))
        .with_panel(series_panel("GPU memory used by namespace", [
            Query(f'sum by (namespace, {KSM_TEAM_LABEL}) '
                  f'(DCGM_FI_DEV_FB_USED{{namespace!=""}} {team_ns})', "{{namespace}}")],
            "mbytes"))
        .with_panel(series_panel("Power draw by namespace", [
            Query(f'sum by (namespace, {KSM_TEAM_LABEL}) '
                  f'(DCGM_FI_DEV_POWER_USAGE{{namespace!=""}} {team_ns})', "{{namespace}}")],
            "watt"))
        .with_panel(series_panel("GPU temperature by namespace", [
            Query(f'max by (namespace, {KSM_TEAM_LABEL}) '
                  f'(DCGM_FI_DEV_GPU_TEMP{{namespace!=""}} {team_ns})', "{{namespace}}")],
            "celsius"))
    )


#: GPUs requested by running pods, per namespace.
GPUS_ALLOCATED = ('sum by (namespace) (kube_pod_container_resource_requests'
                  '{resource="nvidia_com_gpu"} * on (namespace, pod) group_left () '
                  '(kube_pod_status_phase{phase="Running"} == 1))')
#: GPU-equivalents in use per namespace: utilisation 100 % = one GPU busy.
GPUS_BUSY = f"sum by (namespace) ({GPU_IN_USE}) / 100"


def gpu_allocation_dashboard() -> dashboard.Dashboard:
    """Allocated versus used GPUs per team: the idle waste."""
    return (
        _base("mlplat-gpu-allocation", "mlplat / GPU allocation and idle waste",
              "GPUs requested by running pods (kube-state-metrics) against GPU utilisation "
              "(DCGM): what a team holds but does not use.")
        .with_variable(team_variable())
        .with_panel(stat_panel("GPUs allocatable in the cluster", Query(
            'sum(kube_node_status_allocatable{resource="nvidia_com_gpu"})', "GPUs"), "none"))
        .with_panel(stat_panel("GPUs allocated", Query(
            f"sum({GPUS_ALLOCATED})", "GPUs"), "none"))
        .with_panel(stat_panel("GPUs busy (utilisation-weighted)", Query(
            f"sum({GPUS_BUSY})", "GPUs"), "none"))
        .with_panel(stat_panel("Idle share of allocated GPUs", Query(
            f"1 - sum({GPUS_BUSY}) / sum({GPUS_ALLOCATED})", "idle"), "percentunit"))
        .with_panel(series_panel("Allocated vs busy GPUs by team", [
            Query(by_team(GPUS_ALLOCATED), f"{TEAM_LEGEND} allocated"),
            Query(by_team(GPUS_BUSY), f"{TEAM_LEGEND} busy")], "none"))
        .with_panel(series_panel("Idle GPUs by team (allocated minus busy)", [
            Query(f"{by_team(GPUS_ALLOCATED)} - {by_team(GPUS_BUSY)}", TEAM_LEGEND)],
            "none",
            "GPU-equivalents held by running pods and not doing work."))
    )


def training_queue_dashboard() -> dashboard.Dashboard:
    """Kueue: pending and admitted workloads, admission wait time, evictions."""
    return (
        _base("mlplat-training-queue", "mlplat / Training queue (Kueue)",
              "Workloads waiting for and admitted to GPU quota, per ClusterQueue.")
        .with_panel(series_panel("Pending workloads", [
            Query("sum by (cluster_queue, status) (kueue_pending_workloads)",
                  "{{cluster_queue}} {{status}}")], "none"))
        .with_panel(series_panel("Admitted active workloads", [
            Query("sum by (cluster_queue) (kueue_admitted_active_workloads)",
                  "{{cluster_queue}}")], "none"))
        .with_panel(series_panel("Admissions per second", [
            Query(f"sum by (cluster_queue) (rate(kueue_admitted_workloads_total[{RATE}]))",
                  "{{cluster_queue}}")], "ops"))
        .with_panel(series_panel("Admission wait time",
            quantiles("kueue_admission_wait_time_seconds", "cluster_queue",
                      "{{cluster_queue}}"), "s"))
        .with_panel(series_panel("Evictions per second", [
            Query(f"sum by (cluster_queue, reason) "
                  f"(rate(kueue_evicted_workloads_total[{RATE}]))",
                  "{{cluster_queue}} {{reason}}")], "ops"))
    )


def serving_dashboard() -> dashboard.Dashboard:
    """Request rate, latency quantiles and errors per model: vLLM, Triton, KServe's
    Python model server."""
    vllm_requests = "vllm:e2e_request_latency_seconds_count"
    triton_done = "nv_inference_request_success + nv_inference_request_failure"
    return (
        _base("mlplat-serving", "mlplat / Model serving",
              "Per model: request rate, p50/p95/p99 latency and errors (vLLM, Triton, "
              "KServe model servers).")
        .with_row(dashboard.Row("vLLM"))
        .with_panel(series_panel("Requests per second", [
            Query(f"sum by (model_name) (rate({vllm_requests}[{RATE}]))", "{{model_name}}")],
            "reqps"))
        .with_panel(series_panel("End-to-end latency", quantiles(
            "vllm:e2e_request_latency_seconds", "model_name", "{{model_name}}"), "s"))
        .with_panel(series_panel("Time to first token", quantiles(
            "vllm:time_to_first_token_seconds", "model_name", "{{model_name}}"), "s"))
        .with_panel(series_panel("Aborted requests per second", [
            Query(f'sum by (model_name) (rate(vllm:request_success_total'
                  f'{{finished_reason="abort"}}[{RATE}]))', "{{model_name}}")], "reqps",
            "vLLM counts requests that ended without completing as finished_reason=abort."))
        .with_panel(series_panel("Queue: running and waiting requests", [
            Query("sum by (model_name) (vllm:num_requests_running)", "{{model_name}} running"),
            Query("sum by (model_name) (vllm:num_requests_waiting)", "{{model_name}} waiting"),
        ], "none"))
        .with_row(dashboard.Row("Triton"))
        .with_panel(series_panel("Requests per second", [
            Query(f"sum by (model) (rate(nv_inference_request_success[{RATE}]) + "
                  f"rate(nv_inference_request_failure[{RATE}]))", "{{model}}")], "reqps"))
        .with_panel(series_panel("Error ratio", [
            Query(f"sum by (model) (rate(nv_inference_request_failure[{RATE}])) / "
                  f"sum by (model) (rate(nv_inference_request_success[{RATE}]) + "
                  f"rate(nv_inference_request_failure[{RATE}]))", "{{model}}")],
            "percentunit"))
        .with_panel(series_panel("Mean request latency", [
            Query(f"sum by (model) (rate(nv_inference_request_duration_us[{RATE}])) / "
                  f"sum by (model) (rate(nv_inference_request_success[{RATE}]) + "
                  f"rate(nv_inference_request_failure[{RATE}])) / 1e6", "{{model}}")], "s",
            f"Triton exports cumulative durations, not histograms: the mean of {triton_done}."))
        .with_row(dashboard.Row("KServe model server"))
        .with_panel(series_panel("Predictions per second", [
            Query(f"sum by (model_name) (rate(request_predict_seconds_count[{RATE}]))",
                  "{{model_name}}")], "reqps"))
        .with_panel(series_panel("Predict latency", quantiles(
            "request_predict_seconds", "model_name", "{{model_name}}"), "s"))
    )


MLFLOW = 'container="mlflow"'


def mlflow_dashboard() -> dashboard.Dashboard:
    """MLflow servers (every team's) and the database setup Jobs."""
    return (
        _base("mlplat-mlflow", "mlplat / MLflow and metadata database",
              "MLflow tracking servers: availability, probes, restarts, resources; the "
              "jobs that set up their databases. The database's own metrics are in "
              "CloudWatch (alarms of the metadata_db component), not in Prometheus.")
        .with_variable(team_variable())
        .with_panel(series_panel("Available replicas / desired", [
            Query('sum by (namespace) (kube_deployment_status_replicas_available'
                  '{deployment="mlflow"})', "{{namespace}} available"),
            Query('sum by (namespace) (kube_deployment_spec_replicas{deployment="mlflow"})',
                  "{{namespace}} desired")], "none"))
        .with_panel(series_panel("Failed readiness probes per second", [
            Query(f'sum by (namespace) (rate(prober_probe_total{{{MLFLOW}, '
                  f'probe_type="Readiness", result="failed"}}[{RATE}]))', "{{namespace}}")],
            "ops", "A failing /health probe: the server is down or cannot start (its "
                   "database unreachable during migrations)."))
        .with_panel(series_panel("Restarts (1h)", [
            Query(f"sum by (namespace) (increase(kube_pod_container_status_restarts_total"
                  f"{{{MLFLOW}}}[1h]))", "{{namespace}}")], "none"))
        .with_panel(series_panel("CPU", [
            Query(f"sum by (namespace) (rate(container_cpu_usage_seconds_total{{{MLFLOW}}}"
                  f"[{RATE}]))", "{{namespace}}")], "cores"))
        .with_panel(series_panel("Memory working set", [
            Query(f"sum by (namespace) (container_memory_working_set_bytes{{{MLFLOW}}})",
                  "{{namespace}}")], "bytes"))
        .with_panel(series_panel("Database setup jobs failed", [
            Query('sum by (namespace, job_name) (kube_job_status_failed'
                  '{job_name=~"mlflow-db.*"})', "{{job_name}}")], "none"))
    )


#: File name in the ConfigMap -> builder. File names are stable: they key the ConfigMaps.
DASHBOARDS: dict[str, Callable[[], dashboard.Dashboard]] = {
    "gpus.json": gpu_dashboard,
    "gpu-allocation.json": gpu_allocation_dashboard,
    "training-queue.json": training_queue_dashboard,
    "serving.json": serving_dashboard,
    "mlflow.json": mlflow_dashboard,
}


def render(builder: dashboard.Dashboard) -> str:
    """The dashboard as Grafana JSON (deterministic: sorted keys)."""
    model = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return json.dumps(model, sort_keys=True, indent=1)


def dashboard_files() -> dict[str, str]:
    """Every dashboard as file name -> JSON."""
    return {file_name: render(build()) for file_name, build in DASHBOARDS.items()}
