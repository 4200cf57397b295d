"""The `mlplat:monitoring` layer: cluster-wide metrics, alerting, dashboards and log shipping
(kube-prometheus-stack, the NVIDIA DCGM exporter, metrics-server, Fluent Bit).

Off when absent; `{}` gives the defaults below: Prometheus keeps 15 days on an encrypted
volume, Grafana has a generated admin password and no anonymous access, nothing is exposed
outside the cluster, and container logs go to a KMS-encrypted CloudWatch log group on AWS.
Alert receivers' credentials (Slack webhook URLs, PagerDuty routing keys, SMTP passwords)
must be Pulumi secrets (`pulumi config set --secret --path ...`): the component carries them
only as secret outputs, but a value written in plain text in the stack file is in git.
Design and what is untested: docs/components/monitoring.md.
"""

from __future__ import annotations

import re
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from mlplat.config.base import DnsLabel, RetentionDays, _Model
from mlplat.config.tenancy import Quantity, TenancyConfig, quantity_value

#: Ports the Ansible roles open on on-prem hosts (ansible/roles/node_exporter and
#: ansible/roles/dcgm_exporter, defaults/main.yml): the defaults of the scrape targets.
NODE_EXPORTER_PORT = 9100
DCGM_EXPORTER_PORT = 9400
#: Port KServe's model servers (Python server, vLLM, the huggingface runtime) serve
#: `/metrics` on.
KSERVE_METRICS_PORT = 8080

#: Namespace of the stack when neither it nor tenancy.monitoringNamespace is set.
DEFAULT_NAMESPACE = "monitoring"
#: Where alerts' runbook links point unless `monitoring.runbookBaseUrl` says otherwise.
DEFAULT_RUNBOOK_BASE_URL = "https://github.com/mlplat/mlplat/blob/main/docs/runbooks"
_HTTPS_URL = re.compile(r"https://[^\s/]+(/[^\s]*)?")


def _https_url(value: str) -> str:
    if not _HTTPS_URL.fullmatch(value):
        raise ValueError("must be an https:// URL without spaces")
    return value.rstrip("/")


#: An https:// URL (no trailing slash kept).
HttpsUrl = Annotated[str, AfterValidator(_https_url)]

_PROMETHEUS_DURATION = re.compile(r"[1-9][0-9]*(ms|s|m|h|d|w|y)")
_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _prometheus_duration(value: str) -> str:
    if not _PROMETHEUS_DURATION.fullmatch(value):
        raise ValueError("must be a Prometheus duration such as '15d', '12h' or '2w'")
    return value


def _host(value: str) -> str:
    if not _HOST.fullmatch(value):
        raise ValueError("must be a host name or an IPv4 address (no scheme, no port)")
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("must be an e-mail address")
    return value


PrometheusDuration = Annotated[str, AfterValidator(_prometheus_duration)]
Host = Annotated[str, AfterValidator(_host)]
Email = Annotated[str, AfterValidator(_email)]


class PrometheusConfig(_Model):
    """Prometheus of kube-prometheus-stack."""

    retention: PrometheusDuration = Field(
        default="15d", description="How long samples are kept (Prometheus duration)."
    )
    storage_size: Quantity = Field(
        default="50Gi",
        description="Persistent volume per replica, on the cluster's encrypted StorageClass.",
    )
    retention_size: Quantity = Field(
        default="45Gi",
        description="Oldest blocks are deleted beyond this size, before the volume fills "
        "up (keep it below storageSize).",
    )
    replicas: int = Field(default=1, ge=1, le=5, description="Prometheus replicas.")
    scrape_interval: PrometheusDuration = Field(
        default="30s", description="Default scrape interval."
    )


class SlackReceiverConfig(_Model):
    """Slack incoming webhook."""

    webhook_url: str = Field(
        min_length=1,
        description="Incoming-webhook URL. A Pulumi secret (`secure:`); never plain text.",
    )
    channel: str = Field(min_length=1, description="Channel the webhook posts to, e.g. "
                         "`#vision-alerts`.")


class PagerDutyReceiverConfig(_Model):
    """PagerDuty Events API v2."""

    routing_key: str = Field(
        min_length=1,
        description="Events API v2 integration (routing) key. A Pulumi secret (`secure:`).",
    )


class EmailReceiverConfig(_Model):
    """E-mail over an authenticated SMTP relay (STARTTLS required)."""

    to: Email = Field(description="Recipient address.")
    sender: Email = Field(alias="from", description="Sender address.")
    smarthost: str = Field(
        pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$", description="SMTP relay `host:port`."
    )
    auth_username: str = Field(min_length=1, description="SMTP user name.")
    auth_password: str = Field(
        min_length=1, description="SMTP password. A Pulumi secret (`secure:`)."
    )


class ReceiverConfig(_Model):
    """Where alerts go: exactly one of `slack`, `pagerduty`, `email`."""

    slack: SlackReceiverConfig | None = Field(default=None, description="Slack webhook.")
    pagerduty: PagerDutyReceiverConfig | None = Field(default=None, description="PagerDuty.")
    email: EmailReceiverConfig | None = Field(default=None, description="E-mail.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in ("slack", "pagerduty", "email") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("set exactly one of slack, pagerduty, email "
                             f"(got {', '.join(given) or 'none'})")
        return self


class TeamRouteConfig(_Model):
    """Alerts of one team (label `team`, from the namespace label `mlplat.io/team`)."""

    team: DnsLabel = Field(description="Team whose alerts this route takes.")
    receiver: DnsLabel = Field(description="Name of a receiver in `alerting.receivers`.")
    continue_to_platform: bool = Field(
        default=False,
        description="Also send the team's alerts to the platform receiver.",
    )


class AlertingConfig(_Model):
    """Alertmanager: receivers and per-team routes."""

    receivers: dict[DnsLabel, ReceiverConfig] = Field(
        default_factory=dict,
        description="Receivers by name. Their credentials are Pulumi secrets and reach the "
        "cluster only inside a Kubernetes Secret.",
    )
    platform_receiver: DnsLabel | None = Field(
        default=None,
        description="Receiver of every alert no team route takes (the platform team). "
        "Absent: such alerts are kept in Alertmanager only (visible in its UI).",
    )
    routes: list[TeamRouteConfig] = Field(
        default_factory=list, description="One route per team, matched on the `team` label."
    )
    group_wait: PrometheusDuration = Field(default="30s", description="Alertmanager group_wait.")
    repeat_interval: PrometheusDuration = Field(
        default="4h", description="Alertmanager repeat_interval."
    )
    storage_size: Quantity = Field(
        default="5Gi", description="Alertmanager's volume (silences, notification log)."
    )

    @model_validator(mode="after")
    def _routes_name_receivers(self) -> Self:
        known = sorted(self.receivers)
        names = [("platformReceiver", self.platform_receiver)] + [
            (f"routes[{i}].receiver", r.receiver) for i, r in enumerate(self.routes)]
        for where, name in names:
            if name is not None and name not in self.receivers:
                raise ValueError(f"{where}: no receiver {name!r} (receivers: "
                                 f"{', '.join(known) or 'none'})")
        teams = [r.team for r in self.routes]
        for team in sorted({t for t in teams if teams.count(t) > 1}):
            raise ValueError(f"routes: team {team!r} has more than one route")
        return self


class GrafanaIngressConfig(_Model):
    """An ingress for Grafana through an internal load balancer."""

    host: Host = Field(description="Host name Grafana is served under.")
    class_name: DnsLabel = Field(
        default="alb",
        description="IngressClass. With `alb` (AWS Load Balancer Controller) the load "
        "balancer is made internal by annotation; any other class must itself be internal.",
    )


class GrafanaConfig(_Model):
    """Grafana of kube-prometheus-stack."""

    storage_size: Quantity = Field(default="10Gi", description="Grafana's volume.")
    ingress: GrafanaIngressConfig | None = Field(
        default=None,
        description="Absent (default): no ingress; reach Grafana by `kubectl port-forward`. "
        "Set: an ingress on an internal load balancer, never an internet-facing one.",
    )
    admin_password_version: int = Field(
        default=1, ge=1, description="Bump to generate a new admin password."
    )


class HostTargetsConfig(_Model):
    """Exporters on hosts outside the cluster (on-prem GPU hosts set up by the Ansible
    roles node_exporter and dcgm_exporter)."""

    node_exporter: list[Host] = Field(
        default_factory=list,
        description=f"Hosts running the node exporter (port {NODE_EXPORTER_PORT}).",
    )
    dcgm_exporter: list[Host] = Field(
        default_factory=list,
        description=f"GPU hosts running dcgm-exporter (port {DCGM_EXPORTER_PORT}).",
    )
    node_exporter_port: int = Field(
        default=NODE_EXPORTER_PORT, ge=1, le=65535,
        description="Port of the node exporter (Ansible `node_exporter_port`).",
    )
    dcgm_exporter_port: int = Field(
        default=DCGM_EXPORTER_PORT, ge=1, le=65535,
        description="Port of dcgm-exporter (Ansible `dcgm_exporter_port`).",
    )


class LogEndpointConfig(_Model):
    """A log receiver outside AWS that speaks Fluent Bit's `forward` protocol over TLS."""

    host: Host = Field(description="Receiver host (Fluentd, Fluent Bit, Vector...).")
    port: int = Field(default=24224, ge=1, le=65535, description="Receiver port.")


class LogShippingConfig(_Model):
    """Fluent Bit on every node, shipping container logs."""

    enabled: bool = Field(default=True, description="Ship container logs.")
    retention_days: RetentionDays = Field(
        default=90, description="Days the CloudWatch log group keeps events (AWS)."
    )
    endpoint: LogEndpointConfig | None = Field(
        default=None,
        description="Where logs go on substrates without CloudWatch (on-prem); ignored on "
        "AWS, required elsewhere when enabled.",
    )


class MonitoringConfig(_Model):
    """Cluster-wide observability."""

    namespace: DnsLabel | None = Field(
        default=None,
        description="Namespace of the stack. Absent: `tenancy.monitoringNamespace` (team "
        f"namespaces admit scrapes only from it), else `{DEFAULT_NAMESPACE}`; if set, it "
        "must be that namespace.",
    )
    prometheus: PrometheusConfig = Field(
        default_factory=PrometheusConfig, description="Prometheus."
    )
    alerting: AlertingConfig = Field(
        default_factory=AlertingConfig, description="Alertmanager receivers and routes."
    )
    grafana: GrafanaConfig = Field(default_factory=GrafanaConfig, description="Grafana.")
    dcgm_exporter: bool = Field(
        default=True, description="Run NVIDIA's DCGM exporter on GPU nodes."
    )
    metrics_server: bool = Field(
        default=True, description="Install metrics-server (the resource metrics API HPAs use)."
    )
    dashboards: bool = Field(
        default=True, description="Provision mlplat's dashboards through Grafana's sidecar."
    )
    serving_metrics_port: int = Field(
        default=KSERVE_METRICS_PORT, ge=1, le=65535,
        description="Port KServe model-server pods serve `/metrics` on (scraped in every "
        "namespace by a PodMonitor).",
    )
    host_targets: HostTargetsConfig = Field(
        default_factory=HostTargetsConfig,
        description="Exporters on hosts outside the cluster (on-prem).",
    )
    log_shipping: LogShippingConfig = Field(
        default_factory=LogShippingConfig, description="Container log shipping (Fluent Bit)."
    )
    runbook_base_url: HttpsUrl = Field(
        default=DEFAULT_RUNBOOK_BASE_URL,
        description="Where this repository's `docs/runbooks/` can be read by whoever is "
        "paged: every alert's `runbook_url` starts here (point it at your fork or internal "
        "mirror).",
    )
    platform_team: DnsLabel = Field(
        default="platform",
        description="`team` label of cluster-wide alerts (nodes, GPUs, pools, the monitoring "
        "stack) and of namespaces without a team; route it with `alerting.platformReceiver`.",
    )

    @property
    def namespace_name(self) -> str:
        """The namespace the stack runs in."""
        return self.namespace or DEFAULT_NAMESPACE

    @model_validator(mode="after")
    def _retention_fits_the_volume(self) -> Self:
        prometheus = self.prometheus
        if quantity_value(prometheus.retention_size) >= quantity_value(prometheus.storage_size):
            raise ValueError(
                f"prometheus.retentionSize ({prometheus.retention_size}) must be below "
                f"prometheus.storageSize ({prometheus.storage_size}), or the volume fills up "
                "before old blocks are deleted"
            )
        return self



def fit_to_the_environment(
    monitoring: MonitoringConfig, tenancy: TenancyConfig | None, environment: str | None
) -> MonitoringConfig:
    """Rules between `mlplat:monitoring` and the other layers (called by
    EnvironmentConfig): team namespaces admit scrapes only from
    `tenancy.monitoringNamespace`, so the stack runs there (filled in when absent), and
    never in a team namespace."""
    if tenancy is None:
        return monitoring
    if monitoring.namespace is None:
        monitoring = monitoring.model_copy(update={"namespace": tenancy.monitoring_namespace})
    if monitoring.namespace != tenancy.monitoring_namespace:
        raise ValueError(
            f"namespace ({monitoring.namespace}) must be tenancy.monitoringNamespace "
            f"({tenancy.monitoring_namespace}): team namespaces admit scrapes only from there"
        )
    if environment is not None:
        own = {ns.name_in(environment) for ns in tenancy.namespaces}
        if monitoring.namespace in own:
            raise ValueError(f"namespace ({monitoring.namespace}) is one of the team's own "
                             "namespaces; the stack is cluster-wide")
    return monitoring
