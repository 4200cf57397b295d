"""Alert rules as code: typed definitions of every mlplat alert, rendered as Prometheus rule
groups.

One source: the monitoring component turns `alert_rule_groups(settings)` into
PrometheusRule objects, and the tests write the very same groups to a rule file that
`promtool check rules` and `promtool test rules` (Prometheus' own rule engine) exercise.

Every alert carries
- `severity`: `critical` pages someone now, `warning` opens a ticket for working hours;
- `team`: who gets it. Alerts about cluster-wide things (nodes, GPUs, pools, the monitoring
  stack itself) go to the platform team; alerts about a namespace's things (quota, volumes,
  queues, MLflow, serving) go to the team named by the namespace's `mlplat.io/team` label,
  read from kube-state-metrics' `kube_namespace_labels`, and to the platform team when the
  namespace has no such label;
- `runbook_url`: a page in `docs/runbooks/` that says what the alert means, how to confirm
  it and what to do.

Pure Python and plain data: no Pulumi, no I/O. Annotation templates only use
`{{ $labels.<name> }}` and `{{ $value }}`, so the unit tests can check what an alert says
word for word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from mlplat.config.monitoring import DEFAULT_RUNBOOK_BASE_URL
from mlplat.observability.metrics import KSM_TEAM_LABEL

#: The label Alertmanager routes on.
TEAM_LABEL: Final = "team"
#: Where the runbooks live in the repository (relative to its root).
RUNBOOKS_PATH: Final = "docs/runbooks"

#: XIDs that mean the GPU itself is unhealthy (memory, NVLink, bus, GSP) rather than that one
#: application misbehaved: 48 double-bit ECC, 63/64 row remapping, 74 NVLink, 79 fallen off
#: the bus, 92 high single-bit ECC rate, 94/95 contained/uncontained ECC, 119/120 GSP errors.
#: Source: NVIDIA's XID catalogue (docs.nvidia.com/deploy/xid-errors).
FATAL_XIDS: Final = (48, 63, 64, 74, 79, 92, 94, 95, 119, 120)

#: GPU utilisation (percent) above which a GPU counts as busy (so low clocks are throttling,
#: not idle power saving).
BUSY_GPU_PERCENT: Final = 50.0

_PROM_DURATION = re.compile(r"(\d+(ms|s|m|h|d|w|y))+")
_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_LABEL_REF = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)")


class Severity(StrEnum):
    """How urgent an alert is; Alertmanager routes `critical` to paging receivers."""

    CRITICAL = "critical"
    WARNING = "warning"


class Route(StrEnum):
    """Whose alert it is."""

    #: Cluster-wide things: nodes, GPUs, node pools, the monitoring stack.
    PLATFORM = "platform"
    #: The team owning the namespace of the series (`mlplat.io/team` namespace label).
    NAMESPACE = "namespace"


def _check_duration(name: str, value: str) -> None:
    if not _PROM_DURATION.fullmatch(value):
        raise ValueError(f"{name} must be a Prometheus duration such as '30m' (got {value!r})")


def _check_ratio(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{name} must be between 0 and 1, exclusive (got {value})")


@dataclass(frozen=True)
class ServingSlo:
    """Service level objectives of model serving and where their signals come from.

    The convention (ADR 0015): model servers are vLLM's OpenAI-compatible server (what
    KServe's Hugging Face runtime runs), scraped in the server's namespace. Availability
    counts HTTP responses from vLLM's FastAPI instrumentation; latency counts requests
    under a bucket of vLLM's end-to-end latency histogram.
    """

    availability_target: float = 0.999
    """Share of inference requests that must not fail (5xx) over 30 days."""
    latency_target: float = 0.99
    """Share of inference requests that must finish within `latency_bucket` seconds."""
    latency_bucket: str = "10.0"
    """Latency threshold: a bucket boundary of the latency histogram, in the float form
    (`10.0`) vLLM exposes and Prometheus 3 normalises every `le` value to."""
    requests_metric: str = "http_requests_total"
    """Counter of HTTP requests, labelled with `status` ("2xx", "5xx", ...)."""
    requests_selector: str = 'handler=~"/v1/.*"'
    """Label matchers selecting inference requests (not health checks or /metrics)."""
    error_selector: str = 'status="5xx"'
    """Label matchers that, added to `requests_selector`, select failed requests."""
    latency_histogram: str = "vllm:e2e_request_latency_seconds"
    """Histogram of end-to-end request latency in seconds (without `_bucket`)."""
    group_by: tuple[str, ...] = ("namespace", "inferenceservice")
    """Labels one SLO is computed per: the namespace and the KServe InferenceService (the
    monitoring component's PodMonitor copies the pod label into `inferenceservice`)."""

    def __post_init__(self) -> None:
        _check_ratio("serving.availability_target", self.availability_target)
        _check_ratio("serving.latency_target", self.latency_target)
        float(self.latency_bucket)  # raises on a value that is no bucket boundary at all
        if "namespace" not in self.group_by:
            raise ValueError("serving.group_by must contain 'namespace' (alerts route by it)")


@dataclass(frozen=True)
class AlertSettings:
    """The knobs of the alert rules. Defaults are what mlplat deploys."""

    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL
    """Where `docs/runbooks/` of this repository is browsable; runbook links start here."""
    platform_team: str = "platform"
    """`team` label of cluster-wide alerts and of namespaces without a team."""
    gpu_idle_utilization_percent: float = 5.0
    """A GPU allocated to a pod below this utilisation (percent) counts as idle."""
    gpu_idle_for: str = "30m"
    """How long an allocated GPU must stay idle before the alert fires."""
    gpu_temperature_celsius: float = 87.0
    """GPU core temperature (DCGM_FI_DEV_GPU_TEMP) above which the GPU is about to slow down."""
    gpu_clock_ratio: float = 0.8
    """A busy GPU whose SM clock is below this share of its peak of the last day counts as
    throttled."""
    quota_ratio: float = 0.9
    """Share of a team's ResourceQuota in use above which the team is warned."""
    queue_wait_limit: str = "1h"
    """How long workloads may sit in a Kueue LocalQueue with none admitted."""
    volume_fill_ratio: float = 0.9
    """Share of a persistent volume in use above which its owners are warned."""
    mlflow_deployment: str = "mlflow"
    """Name of MLflow's Deployment in a team namespace (components/k8s/mlflow.APP_NAME)."""
    dcgm_exporter_targets: tuple[str, ...] = ('job="dcgm-exporter"', 'exporter="dcgm-exporter"')
    """Label matchers of the DCGM exporter's scrape targets: the in-cluster DaemonSet's
    ServiceMonitor job, and the `exporter` label of on-prem host targets."""
    gpu_daemonsets: str = ".*dcgm-exporter.*|.*nvidia-device-plugin.*"
    """Regex of the DaemonSets every GPU node must run (DCGM exporter, device plugin)."""
    alertmanager_job: str = ".*alertmanager.*"
    """Regex of Alertmanager's scrape job."""
    serving: ServingSlo = field(default_factory=ServingSlo)
    """Serving SLOs."""

    def __post_init__(self) -> None:
        if not self.runbook_base_url.startswith("https://"):
            raise ValueError(
                f"runbook_base_url must be an https URL (got {self.runbook_base_url!r})"
            )
        for name in ("gpu_idle_for", "queue_wait_limit"):
            _check_duration(name, getattr(self, name))
        for name in ("gpu_clock_ratio", "quota_ratio", "volume_fill_ratio"):
            _check_ratio(name, getattr(self, name))
        if not 0 < self.gpu_idle_utilization_percent < 100:
            raise ValueError("gpu_idle_utilization_percent must be between 0 and 100")


@dataclass(frozen=True)
class Alert:
    """One alerting rule."""

    name: str
    expr: str
    for_: str
    severity: Severity
    route: Route
    summary: str
    description: str
    runbook: str
    """File name (without `.md`) in docs/runbooks/."""

    def __post_init__(self) -> None:
        if self.for_ != "0m":
            _check_duration(f"{self.name}.for", self.for_)


@dataclass(frozen=True)
class Recording:
    """One recording rule (SLO ratios that several alerts read)."""

    record: str
    expr: str


@dataclass(frozen=True)
class RuleGroup:
    """A rule group: evaluated together, one PrometheusRule object when deployed."""

    name: str
    rules: tuple[Alert | Recording, ...]

    @property
    def alerts(self) -> tuple[Alert, ...]:
        return tuple(rule for rule in self.rules if isinstance(rule, Alert))


# --------------------------------------------------------------------------- PromQL helpers


def _namespace_teams() -> str:
    """One series per labelled namespace: {namespace, team}."""
    return (
        f'max by (namespace, {TEAM_LABEL}) (label_replace('
        f'kube_namespace_labels{{{KSM_TEAM_LABEL}!=""}}, '
        f'"{TEAM_LABEL}", "$1", "{KSM_TEAM_LABEL}", "(.+)"))'
    )


def with_team(expr: str) -> str:
    """`expr` (whose series carry `namespace`) with the owning team as a `team` label.

    Series of namespaces without a team label pass unchanged (an inner join alone would drop
    them, and their alert would never fire); the rule's `team` label template then falls
    back to the platform team. Multiplying by the join's value 1 keeps the alert's value.
    """
    teams = _namespace_teams()
    return (
        f"(({expr}) * on (namespace) group_left ({TEAM_LABEL}) {teams})\n"
        f"or\n(({expr}) unless on (namespace) {teams})"
    )


def _team_label(route: Route, platform_team: str) -> str:
    if route is Route.PLATFORM:
        return platform_team
    # The namespace's team when the join found one, else the platform team.
    team = "{{ with $labels.%s }}{{ . }}{{ else }}%s{{ end }}"
    return team % (TEAM_LABEL, platform_team)


#: The one non-label value an annotation may show.
VALUE: Final = "$value"


def template_references(template: str) -> set[str]:
    """Label names (and `$value`) an annotation template reads.

    Raises on any other template action, so that `expand` below renders exactly what
    Prometheus renders and the unit tests can compare annotations literally.
    """
    names: set[str] = set()
    for action in _TEMPLATE.findall(template):
        found = _LABEL_REF.fullmatch(action)
        if found is not None:
            names.add(found.group(1))
        elif action == VALUE:
            names.add(VALUE)
        else:
            raise ValueError(f"annotation templates may use $labels.<name> and $value: {action!r}")
    return names


def expand(template: str, labels: dict[str, str], value: str | None = None) -> str:
    """What Prometheus renders for `template` given an alert's labels and value.

    KeyError for a label the alert does not carry (Prometheus would render an empty string
    there: a broken annotation), ValueError for `$value` when no value is given.
    """

    def action(found: re.Match[str]) -> str:
        label = _LABEL_REF.fullmatch(found.group(1))
        if label is not None:
            return labels[label.group(1)]
        if value is None:
            raise ValueError(f"template {template!r} shows $value: give the expected value")
        return value

    template_references(template)
    return _TEMPLATE.sub(action, template)


# --------------------------------------------------------------------------- the rules


def _pct(ratio: float) -> str:
    return f"{ratio * 100:g} %"


def _any_of(metric: str, values: Iterable[int]) -> str:
    return " or ".join(f"{metric} == {value}" for value in values)


_GPU = "GPU {{ $labels.gpu }} ({{ $labels.modelName }}) on {{ $labels.Hostname }}"


def _gpu_health(s: AlertSettings) -> RuleGroup:
    fatal = _any_of("DCGM_FI_DEV_XID_ERRORS", FATAL_XIDS)
    fatal_list = ", ".join(str(x) for x in FATAL_XIDS)
    return RuleGroup("mlplat.gpu-health", (
        Alert(
            name="GpuFatalXid",
            expr=fatal,
            for_="0m", severity=Severity.CRITICAL, route=Route.PLATFORM,
            summary=f"{_GPU} reported hardware XID {{{{ $value }}}}",
            description=f"XID {{{{ $value }}}} is one of {fatal_list}: the GPU, not the "
            "application, is at fault. Drain the node and reset or replace the GPU.",
            runbook="gpu-xid-errors",
        ),
        Alert(
            name="GpuXidError",
            # The gauge holds the last XID; a change within 15 minutes is a new error.
            expr=f"(DCGM_FI_DEV_XID_ERRORS > 0 and changes(DCGM_FI_DEV_XID_ERRORS[15m]) > 0)"
            f" unless ({fatal})",
            for_="0m", severity=Severity.WARNING, route=Route.PLATFORM,
            summary=f"{_GPU} reported XID {{{{ $value }}}}",
            description="An XID outside the hardware list usually means an application fault "
            "(bad memory access, illegal instruction); repeated XIDs point at the GPU.",
            runbook="gpu-xid-errors",
        ),
        Alert(
            name="GpuRowRemapFailure",
            expr="DCGM_FI_DEV_ROW_REMAP_FAILURE > 0",
            for_="0m", severity=Severity.CRITICAL, route=Route.PLATFORM,
            summary=f"{_GPU} failed to remap a memory row",
            description="The GPU has run out of spare memory rows; its memory is unreliable "
            "and it must be taken out of service.",
            runbook="gpu-memory-errors",
        ),
        Alert(
            name="GpuUncorrectableRowsRemapped",
            expr="increase(DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS[1h]) > 0",
            for_="0m", severity=Severity.WARNING, route=Route.PLATFORM,
            summary=f"{_GPU} remapped rows after uncorrectable memory errors",
            description="An uncorrectable ECC error was contained by remapping a row; the "
            "remap takes effect only after a GPU reset.",
            runbook="gpu-memory-errors",
        ),
        Alert(
            name="GpuClocksThrottled",
            # The violation counters and clock-event reasons that name the cause are not
            # default DCGM counters; a busy GPU whose SM clock sits well below its own peak
            # of the last day is throttled by heat or power (the runbook tells which).
            expr="DCGM_FI_DEV_SM_CLOCK < on (UUID) group_left"
            " max by (UUID) (max_over_time(DCGM_FI_DEV_SM_CLOCK[1d]))"
            f" * {s.gpu_clock_ratio:g}"
            f" and DCGM_FI_DEV_GPU_UTIL > {BUSY_GPU_PERCENT:g}",
            for_="15m", severity=Severity.WARNING, route=Route.PLATFORM,
            summary=f"{_GPU} is busy but clocked at {{{{ $value }}}} MHz",
            description=f"The SM clock is below {_pct(s.gpu_clock_ratio)} of this GPU's "
            "peak of the last day while it is busy: it is thermally or power throttled.",
            runbook="gpu-throttling",
        ),
        Alert(
            name="GpuTemperatureHigh",
            expr=f"DCGM_FI_DEV_GPU_TEMP > {s.gpu_temperature_celsius:g}",
            for_="10m", severity=Severity.WARNING, route=Route.PLATFORM,
            summary=f"{_GPU} runs at {{{{ $value }}}} °C",
            description=f"Above {s.gpu_temperature_celsius:g} °C the GPU lowers its clocks "
            "to protect itself; check cooling before it throttles.",
            runbook="gpu-throttling",
        ),
    ))


def _gpu_agents(s: AlertSettings) -> RuleGroup:
    return RuleGroup("mlplat.gpu-agents", (
        Alert(
            name="GpuExporterDown",
            expr=" or ".join(f"up{{{target}}} == 0" for target in s.dcgm_exporter_targets),
            for_="10m", severity=Severity.WARNING, route=Route.PLATFORM,
            summary="DCGM exporter {{ $labels.instance }} cannot be scraped",
            description="Without it, no GPU health alert of that node can fire.",
            runbook="gpu-agents-down",
        ),
        Alert(
            name="GpuExporterMissing",
            expr='(sum(kube_node_status_capacity{resource="nvidia_com_gpu"}) > 0)'
            " unless on () (count("
            + " or ".join(f"up{{{target}}} == 1" for target in s.dcgm_exporter_targets)
            + ") > 0)",
            for_="15m", severity=Severity.WARNING, route=Route.PLATFORM,
            summary="The cluster has GPUs but no DCGM exporter is up",
            description="No GPU health alert can fire: the exporter DaemonSet is missing, "
            "not scheduled on GPU nodes, or not scraped.",
            runbook="gpu-agents-down",
        ),
        Alert(
            name="GpuDaemonSetUnavailable",
            expr=f'kube_daemonset_status_number_unavailable{{daemonset=~"{s.gpu_daemonsets}"}}'
            " > 0",
            for_="15m", severity=Severity.WARNING, route=Route.PLATFORM,
            summary="DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} has "
            "unavailable pods",
            description="On the affected GPU nodes, GPUs are either not advertised to the "
            "scheduler (device plugin) or not watched (DCGM exporter).",
            runbook="gpu-agents-down",
        ),
    ))


def _capacity(s: AlertSettings) -> RuleGroup:
    return RuleGroup("mlplat.capacity", (
        Alert(
            name="GpuAllocatedIdle",
            # DCGM's pod mapping names the pod holding a GPU; a GPU nobody holds carries
            # the exporter's own pod as a target label instead, so the pod must also
            # request GPUs (kube-state-metrics) to count as holding one.
            expr=with_team(
                f"DCGM_FI_DEV_GPU_UTIL < {s.gpu_idle_utilization_percent:g}"
                " and on (namespace, pod)"
                ' (kube_pod_container_resource_requests{resource="nvidia_com_gpu"} > 0)'
            ),
            for_=s.gpu_idle_for, severity=Severity.WARNING, route=Route.NAMESPACE,
            summary="Pod {{ $labels.namespace }}/{{ $labels.pod }} holds an idle GPU",
            description=f"{_GPU} is allocated but below "
            f"{s.gpu_idle_utilization_percent:g} % utilisation for {s.gpu_idle_for}.",
            runbook="gpu-allocated-idle",
        ),
        Alert(
            name="NodeNotReady",
            expr='kube_node_status_condition{condition="Ready",status="true"} == 0',
            for_="5m", severity=Severity.CRITICAL, route=Route.PLATFORM,
            summary="Node {{ $labels.node }} is not Ready",
            description="Pods on it are not running or not reachable; the scheduler will not "
            "place new pods there.",
            runbook="node-not-ready",
        ),
        Alert(
            name="GpuPoolAtLimit",
            expr='karpenter_nodepools_usage{resource_type="nvidia.com/gpu"}'
            ' >= on (nodepool, resource_type)'
            ' karpenter_nodepools_limit{resource_type="nvidia.com/gpu"}',
            for_="15m", severity=Severity.WARNING, route=Route.PLATFORM,
            summary="GPU node pool {{ $labels.nodepool }} is at its GPU limit",
            description="Karpenter launches no more GPU nodes for this pool; GPU workloads "
            "queue until others finish.",
            runbook="gpu-pool-at-limit",
        ),
    ))


def _teams(s: AlertSettings) -> RuleGroup:
    wait = s.queue_wait_limit
    return RuleGroup("mlplat.teams", (
        Alert(
            name="TeamQuotaNearlyExhausted",
            expr=with_team(
                'kube_resourcequota{type="used"}'
                " / on (namespace, resourcequota, resource)"
                ' (kube_resourcequota{type="hard"} > 0)'
                f" > {s.quota_ratio:g}"
            ),
            for_="15m", severity=Severity.WARNING, route=Route.NAMESPACE,
            summary="Quota {{ $labels.namespace }}/{{ $labels.resourcequota }} is above "
            f"{_pct(s.quota_ratio)} for {{{{ $labels.resource }}}}",
            description="New pods asking for this resource will be refused once the quota "
            "is full.",
            runbook="team-quota",
        ),
        Alert(
            name="KueueWorkloadsPendingTooLong",
            expr=with_team(
                "(sum by (namespace, name) (kueue_local_queue_pending_workloads) > 0)"
                " unless on (namespace, name)"
                " (sum by (namespace, name)"
                f" (increase(kueue_local_queue_admitted_workloads_total[{wait}])) > 0)"
            ),
            for_=wait, severity=Severity.WARNING, route=Route.NAMESPACE,
            summary="Queue {{ $labels.namespace }}/{{ $labels.name }} admitted nothing for "
            f"{wait}",
            description=f"Workloads have been pending in this LocalQueue for {wait} and none "
            "was admitted: quota, pool limits or an inadmissible request hold them.",
            runbook="kueue-pending",
        ),
        Alert(
            name="PersistentVolumeFillingUp",
            expr=with_team(
                "kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes"
                f" > {s.volume_fill_ratio:g}"
            ),
            for_="10m", severity=Severity.WARNING, route=Route.NAMESPACE,
            summary="Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is "
            f"more than {_pct(s.volume_fill_ratio)} full",
            description="Writes fail when it is full (checkpoints, datasets, databases).",
            runbook="persistent-volume-full",
        ),
        Alert(
            name="MlflowDown",
            expr=with_team(
                f'kube_deployment_status_replicas_available{{deployment="{s.mlflow_deployment}"}}'
                " == 0 and on (namespace, deployment)"
                f' kube_deployment_spec_replicas{{deployment="{s.mlflow_deployment}"}} > 0'
            ),
            for_="5m", severity=Severity.CRITICAL, route=Route.NAMESPACE,
            summary="MLflow in {{ $labels.namespace }} has no available replica",
            description="Experiment tracking and the model registry of this team are down; "
            "training runs that log to MLflow fail or lose their records.",
            runbook="mlflow-down",
        ),
    ))


@dataclass(frozen=True)
class BurnWindow:
    """One pair of windows of a multi-window, multi-burn-rate alert (Google SRE workbook,
    "Alerting on SLOs"): the long window measures, the short one makes the alert reset
    quickly once the burn stops."""

    long: str
    short: str
    factor: float


#: Page when 2 % of a 30-day budget burns within an hour or 5 % within 6 hours.
PAGE_WINDOWS: Final = (BurnWindow("1h", "5m", 14.4), BurnWindow("6h", "30m", 6))
#: Ticket when 10 % burns within 3 days (or the burn would empty it within 10 days).
TICKET_WINDOWS: Final = (BurnWindow("1d", "2h", 3), BurnWindow("3d", "6h", 1))
SLO_WINDOWS: Final = tuple(sorted(
    {w for pair in PAGE_WINDOWS + TICKET_WINDOWS for w in (pair.long, pair.short)},
    key=lambda d: int(d[:-1]) * {"m": 60, "h": 3600, "d": 86400}[d[-1]],
))


def _slo_recordings(slo: ServingSlo) -> tuple[Recording, ...]:
    by = ", ".join(slo.group_by)
    requests = f"{slo.requests_metric}{{{slo.requests_selector}}}"
    errors = f"{slo.requests_metric}{{{slo.requests_selector},{slo.error_selector}}}"
    fast = f'{slo.latency_histogram}_bucket{{le="{slo.latency_bucket}"}}'
    every = f"{slo.latency_histogram}_count"
    recordings: list[Recording] = []
    for window in SLO_WINDOWS:
        recordings.append(Recording(
            record=f"mlplat:serving_errors:ratio_rate{window}",
            expr=f"sum by ({by}) (rate({errors}[{window}]))"
            f" / sum by ({by}) (rate({requests}[{window}]))",
        ))
        recordings.append(Recording(
            record=f"mlplat:serving_slow_requests:ratio_rate{window}",
            expr=f"1 - sum by ({by}) (rate({fast}[{window}]))"
            f" / sum by ({by}) (rate({every}[{window}]))",
        ))
    return tuple(recordings)


def _burn(record: str, budget: float, windows: tuple[BurnWindow, ...]) -> str:
    return "\nor\n".join(
        f"(mlplat:{record}:ratio_rate{w.long} > ({w.factor:g} * {budget:g})"
        f" and mlplat:{record}:ratio_rate{w.short} > ({w.factor:g} * {budget:g}))"
        for w in windows
    )


def _serving(s: AlertSettings) -> RuleGroup:
    slo = s.serving
    where = "/".join(f"{{{{ $labels.{label} }}}}" for label in slo.group_by)
    alerts: list[Alert | Recording] = list(_slo_recordings(slo))
    for record, budget, what, kind in (
        ("serving_errors", 1 - slo.availability_target,
         f"{_pct(slo.availability_target)} availability", "Error"),
        ("serving_slow_requests", 1 - slo.latency_target,
         f"{_pct(slo.latency_target)} of requests within {slo.latency_bucket} s", "Latency"),
    ):
        for severity, windows, pace in (
            (Severity.CRITICAL, PAGE_WINDOWS, "fast: the 30-day budget is gone within days"),
            (Severity.WARNING, TICKET_WINDOWS, "steady: the budget will not last the month"),
        ):
            alerts.append(Alert(
                name=f"Serving{kind}BudgetBurn"
                + ("Fast" if severity is Severity.CRITICAL else "Slow"),
                expr=with_team(_burn(record, budget, windows)),
                for_="2m" if severity is Severity.CRITICAL else "15m",
                severity=severity, route=Route.NAMESPACE,
                summary=f"{where} burns its {kind.lower()} budget {pace.split(':')[0]}",
                description=f"SLO {what}: the budget burns {pace}.",
                runbook="serving-slo-burn",
            ))
    return RuleGroup("mlplat.serving-slo", tuple(alerts))


def _self_monitoring(s: AlertSettings) -> RuleGroup:
    return RuleGroup("mlplat.monitoring", (
        Alert(
            name="PrometheusConfigReloadFailed",
            expr="max_over_time(prometheus_config_last_reload_successful[5m]) == 0",
            for_="10m", severity=Severity.WARNING, route=Route.PLATFORM,
            summary="Prometheus {{ $labels.instance }} runs a stale configuration",
            description="Its last configuration reload failed; new scrape targets and rules "
            "are not in effect.",
            runbook="monitoring-self",
        ),
        Alert(
            name="PrometheusRuleEvaluationFailures",
            expr="increase(prometheus_rule_evaluation_failures_total[5m]) > 0",
            for_="15m", severity=Severity.CRITICAL, route=Route.PLATFORM,
            summary="Prometheus {{ $labels.instance }} fails to evaluate rules of group "
            "{{ $labels.rule_group }}",
            description="Alerts of that group may be silently missing.",
            runbook="monitoring-self",
        ),
        Alert(
            name="PrometheusNotConnectedToAlertmanagers",
            expr="max_over_time(prometheus_notifications_alertmanagers_discovered[5m]) < 1",
            for_="10m", severity=Severity.CRITICAL, route=Route.PLATFORM,
            summary="Prometheus {{ $labels.instance }} has no Alertmanager to send to",
            description="Alerts fire but nobody is notified.",
            runbook="monitoring-self",
        ),
        Alert(
            name="PrometheusNotificationsFailing",
            expr="sum by (job, instance) (rate(prometheus_notifications_errors_total[5m]))"
            " / sum by (job, instance) (rate(prometheus_notifications_sent_total[5m]))"
            " > 0.01",
            for_="15m", severity=Severity.CRITICAL, route=Route.PLATFORM,
            summary="Prometheus {{ $labels.instance }} fails to send alerts to Alertmanager",
            description="More than 1 % of alert notifications to Alertmanager fail.",
            runbook="monitoring-self",
        ),
        Alert(
            name="AlertmanagerDown",
            expr=f'up{{job=~"{s.alertmanager_job}"}} == 0',
            for_="5m", severity=Severity.CRITICAL, route=Route.PLATFORM,
            summary="Alertmanager {{ $labels.instance }} is down",
            description="Alerts routed through it are not delivered.",
            runbook="monitoring-self",
        ),
        Alert(
            name="AlertmanagerConfigReloadFailed",
            expr="max_over_time(alertmanager_config_last_reload_successful[5m]) == 0",
            for_="10m", severity=Severity.WARNING, route=Route.PLATFORM,
            summary="Alertmanager {{ $labels.instance }} runs a stale configuration",
            description="Its last configuration reload failed; routing changes are not in "
            "effect.",
            runbook="monitoring-self",
        ),
        Alert(
            name="AlertmanagerNotificationsFailing",
            expr="sum by (job, instance, integration)"
            " (rate(alertmanager_notifications_failed_total[5m]))"
            " / sum by (job, instance, integration)"
            " (rate(alertmanager_notifications_total[5m])) > 0.01",
            for_="15m", severity=Severity.CRITICAL, route=Route.PLATFORM,
            summary="Alertmanager {{ $labels.instance }} fails to deliver to "
            "{{ $labels.integration }}",
            description="More than 1 % of notifications through this integration fail.",
            runbook="monitoring-self",
        ),
    ))


def rule_groups(settings: AlertSettings | None = None) -> tuple[RuleGroup, ...]:
    """Every mlplat rule group, typed."""
    s = settings or AlertSettings()
    return (_gpu_health(s), _gpu_agents(s), _capacity(s), _teams(s), _serving(s),
            _self_monitoring(s))



def _render_rule(rule: Alert | Recording, s: AlertSettings) -> dict[str, Any]:
    if isinstance(rule, Recording):
        return {"record": rule.record, "expr": rule.expr}
    rendered: dict[str, Any] = {"alert": rule.name, "expr": rule.expr}
    if rule.for_ != "0m":
        rendered["for"] = rule.for_
    rendered["labels"] = {
        "severity": rule.severity.value,
        TEAM_LABEL: _team_label(rule.route, s.platform_team),
    }
    rendered["annotations"] = {
        "summary": rule.summary,
        "description": rule.description,
        "runbook_url": f"{s.runbook_base_url.rstrip('/')}/{rule.runbook}.md",
    }
    return rendered


def alert_rule_groups(settings: AlertSettings | None = None) -> list[dict[str, Any]]:
    """The rule groups in Prometheus rule-file format (the `groups:` list of a rule file and
    the `spec.groups` of a PrometheusRule)."""
    s = settings or AlertSettings()
    return [
        {"name": group.name, "rules": [_render_rule(rule, s) for rule in group.rules]}
        for group in rule_groups(s)
    ]


def iter_alerts(groups: Iterable[RuleGroup]) -> Iterable[Alert]:
    for group in groups:
        yield from group.alerts
