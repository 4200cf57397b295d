"""Cluster-wide monitoring: kube-prometheus-stack (Prometheus, Alertmanager, Grafana,
kube-state-metrics, node exporter), the NVIDIA DCGM exporter, metrics-server and Fluent Bit,
with mlplat's dashboards, scrape objects and alert rules.

Substrate-neutral: it takes the cluster's Kubernetes provider (in `opts.providers`), the
name of an encrypted StorageClass and, on AWS only, a CloudWatch destination for logs
(components/aws/log_shipping.py). Elsewhere logs go to `logShipping.endpoint`.

Children of one `mlplat:k8s/monitoring:MonitoringStack`:

* the `monitoring` Namespace (Pod Security `privileged` enforced: the node exporter reads
  the host's /proc and /sys with the host's network and PID namespaces, Fluent Bit reads
  /var/log from the host and dcgm-exporter needs SYS_ADMIN for profiling counters; audit
  and warn stay at `baseline` so anything else stands out);
* Grafana's admin credentials: a generated password (pulumi_random, secret) in a Secret the
  chart reads through `admin.existingSecret` (never in the chart values);
* Alertmanager's configuration as a Secret (`alertmanager.yaml`) built from secret outputs:
  receivers' webhook URLs, routing keys and SMTP passwords never appear in the plan or in
  the Helm release's values; the chart uses it through `useExistingSecret`/`configSecret`;
* pinned Helm releases (components/versions.py): kube-prometheus-stack, dcgm-exporter,
  metrics-server, Fluent Bit; every Service ClusterIP, no ingress unless configured and
  then on an internal load balancer, volumes on the encrypted StorageClass;
* custom resources of the Prometheus Operator: a ServiceMonitor for dcgm-exporter, a
  PodMonitor for KServe model servers in every namespace, a ScrapeConfig for exporters on
  hosts outside the cluster, PrometheusRules from the rule groups it is given;
* one ConfigMap per dashboard (mlplat/observability/dashboards.py), picked up by Grafana's
  sidecar from this namespace only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml

from components import versions
from components._lib.errors import ComponentError
from components.aws.log_shipping import FLUENT_BIT_SERVICE_ACCOUNT, CloudWatchDestination
from components.k8s.nvidia_device_plugin import GPU_TAINT, device_plugin_values
from mlplat.config.monitoring import MonitoringConfig, ReceiverConfig
from mlplat.config.tenancy import quantity_value
from mlplat.observability.dashboards import dashboard_files

#: Type token, by the rule in components/__init__.py.
TOKEN = "mlplat:k8s/monitoring:MonitoringStack"

#: Helm release name of kube-prometheus-stack; its objects are named after it.
RELEASE_NAME = "kube-prometheus-stack"
#: Labels Prometheus selects PrometheusRules and ScrapeConfigs by (set explicitly in the
#: chart values below, so the selector and the objects cannot drift apart).
PROMETHEUS_SELECTOR_LABELS: Mapping[str, str] = {"release": RELEASE_NAME}
#: Prometheus Operator API versions of the custom resources created here (operator
#: 0.93.1, the version kube-prometheus-stack 88.5.3 installs).
MONITORING_V1 = "monitoring.coreos.com/v1"
MONITORING_V1ALPHA1 = "monitoring.coreos.com/v1alpha1"
#: Secrets the charts read.
GRAFANA_ADMIN_SECRET = "grafana-admin"
ALERTMANAGER_CONFIG_SECRET = "alertmanager-mlplat-config"
#: Label and value Grafana's sidecar provisions dashboards from.
DASHBOARD_LABEL = "grafana_dashboard"
#: Receiver alerts nobody routes go to: none (kept in Alertmanager, visible in its UI).
NULL_RECEIVER = "null"
#: The namespace label alerts derive their `team` label from (components/k8s/tenancy.py).
TEAM_NAMESPACE_LABEL = "mlplat.io/team"
#: Fluent Bit's tail input tags container logs so.
CONTAINER_LOG_TAG = "kube.*"
_PASSWORD_LENGTH = 32


@dataclass(frozen=True)
class MonitoringStackArgs:
    """Inputs of MonitoringStack."""

    settings: MonitoringConfig
    """The validated `mlplat:monitoring` block."""
    environment: str
    """`<team>-<env>` or the platform's name: Prometheus's `cluster` external label."""
    storage_class: pulumi.Input[str]
    """An encrypted StorageClass (on AWS `gp3-encrypted`, components/aws/block_storage.py)."""
    kubernetes_version: str
    """Pins the Pod Security Admission version of the namespace."""
    labels: Mapping[str, str]
    """Labels every object carries (ownership, ADR 0004), without `mlplat.io/team`: the
    stack is cluster-wide, and a namespace with that label is a team's (policies/rules)."""
    rule_groups: Sequence[Mapping[str, Any]] = ()
    """Prometheus rule-file groups ({"name", "rules": [{"alert", "expr", "for", "labels",
    "annotations"}]}); one PrometheusRule each."""
    cloudwatch: CloudWatchDestination | None = None
    """AWS only: ship container logs to this log group (else to `logShipping.endpoint`)."""
    managed_control_plane: bool = True
    """The control plane's scheduler, controller manager, etcd and kube-proxy metrics are
    out of reach (EKS): don't scrape them (their targets would only ever be down)."""
    depends_on: Sequence[pulumi.Resource] = field(default=())
    """What the releases wait for (the StorageClass, node pools)."""


# ------------------------------------------------------------------ pure builders (tested)


def alertmanager_config(settings: MonitoringConfig,
                        credentials: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """Alertmanager's configuration: per-team routes matched on the `team` label, the
    platform receiver for the rest, and the always-firing Watchdog silenced.
    `credentials`: receiver name -> its secret fields, passed apart from `settings` so
    that this function runs inside an Output.apply over secret values only."""
    alerting = settings.alerting
    receivers: list[dict[str, Any]] = [{"name": NULL_RECEIVER}]
    for name, receiver in sorted(alerting.receivers.items()):
        receivers.append({"name": name, **_receiver_body(receiver, credentials[name])})
    routes: list[dict[str, Any]] = [
        {"receiver": NULL_RECEIVER, "matchers": ['alertname="Watchdog"']},
    ]
    for route in alerting.routes:
        routes.append({
            "receiver": route.receiver,
            "matchers": [f'team="{route.team}"'],
            "continue": route.continue_to_platform,
        })
    return {
        "route": {
            "receiver": alerting.platform_receiver or NULL_RECEIVER,
            "group_by": ["alertname", "team", "namespace"],
            "group_wait": alerting.group_wait,
            "group_interval": "5m",
            "repeat_interval": alerting.repeat_interval,
            "routes": routes,
        },
        "receivers": receivers,
    }


def receiver_credentials(receiver: ReceiverConfig) -> dict[str, str]:
    """The secret fields of a receiver (the only values wrapped as secrets)."""
    if receiver.slack is not None:
        return {"api_url": receiver.slack.webhook_url}
    if receiver.pagerduty is not None:
        return {"routing_key": receiver.pagerduty.routing_key}
    assert receiver.email is not None
    return {"auth_password": receiver.email.auth_password}


def _receiver_body(receiver: ReceiverConfig, secret: Mapping[str, str]) -> dict[str, Any]:
    if receiver.slack is not None:
        return {"slack_configs": [{"api_url": secret["api_url"],
                                   "channel": receiver.slack.channel,
                                   "send_resolved": True}]}
    if receiver.pagerduty is not None:
        return {"pagerduty_configs": [{"routing_key": secret["routing_key"],
                                       "send_resolved": True}]}
    email = receiver.email
    assert email is not None
    return {"email_configs": [{
        "to": email.to, "from": email.sender, "smarthost": email.smarthost,
        "auth_username": email.auth_username, "auth_password": secret["auth_password"],
        "require_tls": True, "send_resolved": True,
    }]}


def _volume_claim(storage_class: Any, size: str) -> dict[str, Any]:
    return {"volumeClaimTemplate": {"spec": {
        "storageClassName": storage_class,
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }}}


def prometheus_size(quantity: str) -> str:
    """A Kubernetes quantity as Prometheus's retention size (bytes, `<n>B`)."""
    return f"{int(quantity_value(quantity))}B"


def internal_ingress(settings: MonitoringConfig) -> dict[str, Any]:
    """Grafana's ingress values: off, or on an internal load balancer."""
    ingress = settings.grafana.ingress
    if ingress is None:
        return {"enabled": False}
    annotations = {}
    if ingress.class_name == "alb":
        # The AWS Load Balancer Controller makes internet-facing ALBs unless told otherwise.
        annotations = {"alb.ingress.kubernetes.io/scheme": "internal",
                       "alb.ingress.kubernetes.io/target-type": "ip"}
    return {"enabled": True, "ingressClassName": ingress.class_name,
            "annotations": annotations, "hosts": [ingress.host], "path": "/"}


def kube_prometheus_stack_values(
    settings: MonitoringConfig, environment: str, storage_class: Any,
    managed_control_plane: bool,
) -> dict[str, Any]:
    """Values of kube-prometheus-stack. Secrets are referenced, never included."""
    prometheus = settings.prometheus
    alerting = settings.alerting
    selector = {"matchLabels": dict(PROMETHEUS_SELECTOR_LABELS)}
    not_exposed = {"enabled": False}
    values: dict[str, Any] = {
        "crds": {"enabled": True},
        "prometheus": {
            "service": {"type": "ClusterIP"},
            "ingress": not_exposed,
            "prometheusSpec": {
                "retention": prometheus.retention,
                "retentionSize": prometheus_size(prometheus.retention_size),
                "replicas": prometheus.replicas,
                "scrapeInterval": prometheus.scrape_interval,
                "externalLabels": {"cluster": environment},
                "storageSpec": _volume_claim(storage_class, prometheus.storage_size),
                # ServiceMonitors and PodMonitors of any namespace (the components that
                # install Kueue, KServe and Karpenter ship theirs); rules and scrape
                # configs only with the label mlplat sets.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "serviceMonitorSelector": {},
                "serviceMonitorNamespaceSelector": {},
                "podMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelector": {},
                "podMonitorNamespaceSelector": {},
                "ruleSelectorNilUsesHelmValues": False,
                "ruleSelector": selector,
                "scrapeConfigSelectorNilUsesHelmValues": False,
                "scrapeConfigSelector": selector,
            },
        },
        "alertmanager": {
            "service": {"type": "ClusterIP"},
            "ingress": not_exposed,
            "alertmanagerSpec": {
                "useExistingSecret": True,
                "configSecret": ALERTMANAGER_CONFIG_SECRET,
                "storage": _volume_claim(storage_class, alerting.storage_size),
            },
        },
        "grafana": {
            "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user",
                      "passwordKey": "admin-password"},
            "grafana.ini": {
                "auth.anonymous": {"enabled": False},
                "users": {"allow_sign_up": False},
                "analytics": {"reporting_enabled": False, "check_for_updates": False},
                "security": {"disable_gravatar": True},
            },
            "service": {"type": "ClusterIP"},
            "ingress": internal_ingress(settings),
            "persistence": {"enabled": True, "storageClassName": storage_class,
                            "size": settings.grafana.storage_size},
            "sidecar": {"dashboards": {
                "enabled": True, "label": DASHBOARD_LABEL, "labelValue": "1",
                # Only this namespace: a ConfigMap elsewhere cannot plant a dashboard.
                "searchNamespace": settings.namespace_name,
            }},
        },
        "kube-state-metrics": {
            # Namespace label -> `label_mlplat_io_team` on kube_namespace_labels, which
            # alert rules and dashboards join on to attribute series to teams.
            "metricLabelsAllowlist": [f"namespaces=[{TEAM_NAMESPACE_LABEL}]"],
        },
        "prometheus-node-exporter": {"service": {"type": "ClusterIP"}},
    }
    if managed_control_plane:
        for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
            values[component] = {"enabled": False}
    return values


def dcgm_exporter_values() -> dict[str, Any]:
    """dcgm-exporter on GPU nodes only (the device plugin's node selection and toleration);
    the chart's own ServiceMonitor off in favour of mlplat's (tested fields)."""
    return {
        "image": {"tag": versions.DCGM_EXPORTER_IMAGE_TAG},
        "serviceMonitor": {"enabled": False},
        "service": {"type": "ClusterIP"},
        "tolerations": [{"key": GPU_TAINT["key"], "operator": "Exists",
                         "effect": GPU_TAINT["effect"]}],
        "affinity": device_plugin_values()["affinity"],
        "kubernetes": {"enablePodLabels": False},
    }


def metrics_server_values() -> dict[str, Any]:
    """metrics-server: two replicas kept apart by a PodDisruptionBudget (HPAs stop scaling
    while the resource metrics API is down)."""
    return {
        "replicas": 2,
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        "service": {"type": "ClusterIP"},
        "serviceMonitor": {"enabled": False},
    }


def fluent_bit_output(settings: MonitoringConfig,
                      cloudwatch: tuple[str, str] | None) -> str:
    """Fluent Bit's [OUTPUT] section: CloudWatch (`(log group, region)`) on AWS, else the
    configured forward endpoint over verified TLS."""
    if cloudwatch is not None:
        group, region = cloudwatch
        lines = ["[OUTPUT]", "    Name cloudwatch_logs", f"    Match {CONTAINER_LOG_TAG}",
                 f"    region {region}", f"    log_group_name {group}",
                 "    log_stream_prefix containers-", "    auto_create_group false"]
        return "\n".join(lines) + "\n"
    endpoint = settings.log_shipping.endpoint
    if endpoint is None:
        raise ComponentError("mlplat:monitoring.logShipping.endpoint is required where "
                             "there is no CloudWatch (set it, or logShipping.enabled: false)")
    lines = ["[OUTPUT]", "    Name forward", f"    Match {CONTAINER_LOG_TAG}",
             f"    Host {endpoint.host}", f"    Port {endpoint.port}",
             "    tls On", "    tls.verify On"]
    return "\n".join(lines) + "\n"


def fluent_bit_values(output: str) -> dict[str, Any]:
    """Fluent Bit: the chart's tail input and kubernetes filter, mlplat's output."""
    return {
        "serviceAccount": {"create": True, "name": FLUENT_BIT_SERVICE_ACCOUNT},
        "service": {"type": "ClusterIP"},
        "config": {"outputs": output},
    }


_RULE_GROUP_NAME = re.compile(r"[^a-z0-9-]+")


def prometheus_rule_name(group_name: str) -> str:
    """A DNS-1123 object name for a rule group."""
    name = _RULE_GROUP_NAME.sub("-", group_name.lower()).strip("-")
    if not name:
        raise ComponentError(f"monitoring rule group {group_name!r} has no usable name")
    return name[:63].rstrip("-")


def check_rule_groups(groups: Sequence[Mapping[str, Any]]) -> None:
    """Refuse groups that are not in Prometheus's rule-file shape before anything is
    declared (a PrometheusRule the operator rejects fails only at `pulumi up`)."""
    seen: set[str] = set()
    for index, group in enumerate(groups):
        where = f"rule_groups[{index}]"
        if not isinstance(group.get("name"), str) or not group["name"]:
            raise ComponentError(f"monitoring {where} has no name")
        rules = group.get("rules")
        if not isinstance(rules, list) or not rules:
            raise ComponentError(f"monitoring {where} has no rules")
        name = prometheus_rule_name(group["name"])
        if name in seen:
            raise ComponentError(f"monitoring {where}: name {group['name']!r} repeats")
        seen.add(name)
        for position, rule in enumerate(rules):
            kinds = [k for k in ("alert", "record") if k in rule]
            if len(kinds) != 1 or not isinstance(rule.get("expr"), str):
                raise ComponentError(f"monitoring {where}.rules[{position}] needs exactly one "
                                     "of alert/record and an expr")


# ------------------------------------------------------------------ the component


@dataclass(frozen=True)
class _Chart:
    """A pinned chart of components/versions.py."""

    name: str
    version: str
    repository: str


KUBE_PROMETHEUS_STACK = _Chart(versions.KUBE_PROMETHEUS_STACK_CHART,
                               versions.KUBE_PROMETHEUS_STACK_VERSION,
                               versions.KUBE_PROMETHEUS_STACK_REPOSITORY)
DCGM_EXPORTER = _Chart(versions.DCGM_EXPORTER_CHART, versions.DCGM_EXPORTER_VERSION,
                       versions.DCGM_EXPORTER_REPOSITORY)
METRICS_SERVER = _Chart(versions.METRICS_SERVER_CHART, versions.METRICS_SERVER_VERSION,
                        versions.METRICS_SERVER_REPOSITORY)
FLUENT_BIT = _Chart(versions.FLUENT_BIT_CHART, versions.FLUENT_BIT_VERSION,
                    versions.FLUENT_BIT_REPOSITORY)


def _release(resource_name: str, release_name: str, chart: _Chart, namespace: str,
             values: pulumi.Input[dict[str, Any]],
             opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        resource_name, name=release_name, chart=chart.name, version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
        namespace=namespace, values=values, max_history=10, opts=opts,
    )


class MonitoringStack(pulumi.ComponentResource):
    """The cluster's monitoring stack. Pass the Kubernetes provider in `opts.providers`."""

    namespace: str
    grafana_admin_password: pulumi.Output[str]
    """Secret: Grafana's generated admin password (user `admin`)."""

    def __init__(
        self, name: str, args: MonitoringStackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        settings = args.settings
        check_rule_groups(args.rule_groups)
        if TEAM_NAMESPACE_LABEL in args.labels:
            raise ComponentError(f"the monitoring stack is cluster-wide: its objects must not "
                                 f"carry the team label {TEAM_NAMESPACE_LABEL}")
        ns = settings.namespace_name
        child = pulumi.ResourceOptions(parent=self)
        labels = dict(args.labels)

        def meta(object_name: str, extra: Mapping[str, str] | None = None) -> dict[str, Any]:
            return {"name": object_name, "namespace": ns, "labels": {**labels, **(extra or {})}}

        version = f"v{args.kubernetes_version}"
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": ns, "labels": {
                **labels,
                "pod-security.kubernetes.io/enforce": "privileged",
                "pod-security.kubernetes.io/enforce-version": version,
                "pod-security.kubernetes.io/audit": "baseline",
                "pod-security.kubernetes.io/audit-version": version,
                "pod-security.kubernetes.io/warn": "baseline",
                "pod-security.kubernetes.io/warn-version": version,
            }},
            opts=child,
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        password = random.RandomPassword(
            f"{name}-grafana-admin-password", length=_PASSWORD_LENGTH, special=False,
            keepers={"version": str(settings.grafana.admin_password_version)}, opts=child,
        )
        grafana_secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin", metadata=meta(GRAFANA_ADMIN_SECRET), type="Opaque",
            string_data={"admin-user": "admin", "admin-password": password.result},
            opts=in_ns,
        )
        credentials = {n: receiver_credentials(r)
                       for n, r in settings.alerting.receivers.items()}
        # Wrapped before use: the values come from config as plain strings (a Pulumi
        # secret in the stack file), and must stay secret through the plan and the state.
        config_text: pulumi.Output[str] = pulumi.Output.secret(credentials).apply(
            lambda c: yaml.safe_dump(alertmanager_config(settings, c), sort_keys=False))
        alertmanager_secret = k8s.core.v1.Secret(
            f"{name}-alertmanager-config", metadata=meta(ALERTMANAGER_CONFIG_SECRET),
            type="Opaque", string_data={"alertmanager.yaml": config_text}, opts=in_ns,
        )
        stack = _release(
            f"{name}-kube-prometheus-stack", RELEASE_NAME, KUBE_PROMETHEUS_STACK, ns,
            kube_prometheus_stack_values(settings, args.environment, args.storage_class,
                                         args.managed_control_plane),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[namespace, grafana_secret, alertmanager_secret,
                            *args.depends_on]),
        )
        # Custom resources need the CRDs the stack's release installs.
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[stack])
        selected = dict(PROMETHEUS_SELECTOR_LABELS)

        if settings.dcgm_exporter:
            _release(f"{name}-dcgm-exporter", "dcgm-exporter", DCGM_EXPORTER, ns,
                     dcgm_exporter_values(), in_ns)
            k8s.apiextensions.CustomResource(
                f"{name}-dcgm-exporter-monitor",
                api_version=MONITORING_V1, kind="ServiceMonitor",
                metadata=meta("dcgm-exporter", selected),
                spec={
                    "selector": {"matchLabels": {"app.kubernetes.io/name": "dcgm-exporter"}},
                    "namespaceSelector": {"matchNames": [ns]},
                    "endpoints": [{
                        "port": "metrics", "path": "/metrics", "interval": "15s",
                        # dcgm-exporter's pod/namespace/container name the GPU's user;
                        # without honorLabels they would be renamed exported_*.
                        "honorLabels": True,
                        "relabelings": [{"sourceLabels": ["__meta_kubernetes_pod_node_name"],
                                         "targetLabel": "node", "action": "replace"}],
                    }],
                },
                opts=after_crds,
            )
        if settings.metrics_server:
            _release(f"{name}-metrics-server", "metrics-server", METRICS_SERVER,
                     "kube-system", metrics_server_values(), child)
        if settings.log_shipping.enabled:
            self._fluent_bit(name, settings, args.cloudwatch, in_ns)
        k8s.apiextensions.CustomResource(
            f"{name}-serving-monitor",
            api_version=MONITORING_V1, kind="PodMonitor",
            metadata=meta("kserve-model-servers", selected),
            spec={
                "selector": {"matchExpressions": [{
                    "key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]},
                "namespaceSelector": {"any": True},
                "podMetricsEndpoints": [{
                    "portNumber": settings.serving_metrics_port, "path": "/metrics",
                    "interval": "30s",
                    "relabelings": [{
                        "sourceLabels": ["__meta_kubernetes_pod_label_serving_kserve_io_"
                                         "inferenceservice"],
                        "targetLabel": "inferenceservice", "action": "replace"}],
                }],
            },
            opts=after_crds,
        )
        targets = settings.host_targets
        static = [
            {"targets": [f"{h}:{targets.node_exporter_port}" for h in targets.node_exporter],
             "labels": {"exporter": "node-exporter"}},
            {"targets": [f"{h}:{targets.dcgm_exporter_port}" for h in targets.dcgm_exporter],
             "labels": {"exporter": "dcgm-exporter"}},
        ]
        static = [s for s in static if s["targets"]]
        if static:
            k8s.apiextensions.CustomResource(
                f"{name}-host-exporters",
                api_version=MONITORING_V1ALPHA1, kind="ScrapeConfig",
                metadata=meta("host-exporters", selected),
                spec={"staticConfigs": static, "scrapeInterval": "30s",
                      "metricsPath": "/metrics", "scheme": "HTTP", "honorLabels": True},
                opts=after_crds,
            )
        for group in args.rule_groups:
            rule_name = prometheus_rule_name(str(group["name"]))
            k8s.apiextensions.CustomResource(
                f"{name}-rules-{rule_name}",
                api_version=MONITORING_V1, kind="PrometheusRule",
                metadata=meta(rule_name, selected),
                spec={"groups": [dict(group)]},
                opts=after_crds,
            )
        if settings.dashboards:
            for file_name, dashboard in sorted(dashboard_files().items()):
                stem = file_name.removesuffix(".json")
                k8s.core.v1.ConfigMap(
                    f"{name}-dashboard-{stem}",
                    metadata=meta(f"dashboard-{stem}", {DASHBOARD_LABEL: "1"}),
                    data={file_name: dashboard},
                    opts=in_ns,
                )
        self.namespace = ns
        self.grafana_admin_password = pulumi.Output.secret(password.result)
        self.register_outputs({"namespace": ns, "release": stack.name})

    def _fluent_bit(self, name: str, settings: MonitoringConfig,
                    cloudwatch: CloudWatchDestination | None,
                    opts: pulumi.ResourceOptions) -> None:
        if cloudwatch is None:
            output: pulumi.Input[str] = fluent_bit_output(settings, None)
            after: list[pulumi.Resource] = []
        else:
            output = pulumi.Output.from_input(cloudwatch.region).apply(
                lambda region: fluent_bit_output(settings,
                                                 (cloudwatch.log_group_name, region)))
            after = [cloudwatch.ready]
        values = pulumi.Output.from_input(output).apply(fluent_bit_values)
        _release(f"{name}-fluent-bit", "fluent-bit", FLUENT_BIT, settings.namespace_name,
                 values, pulumi.ResourceOptions.merge(
                     opts, pulumi.ResourceOptions(depends_on=after)))

