"""Helm releases: pinned charts from trusted transports; Grafana without anonymous access;
nothing exposed outside the cluster; no credentials inline in chart values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule, Severity, baseline
from policies.rules._helpers import dig, truthy, walk

RELEASE = "kubernetes:helm.sh/v3:Release"
#: MAJOR.MINOR.PATCH with optional pre-release/build, optional leading v: no ranges.
EXACT_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def _version(release: ResourceRecord) -> str:
    return str(release.inputs.get("version") or "")


def check_pinned(release: ResourceRecord, plan: Plan) -> Iterator[str]:
    if not _version(release):
        yield f"chart {release.inputs.get('chart')} has no version: the newest is installed"


def check_semver(release: ResourceRecord, plan: Plan) -> Iterator[str]:
    version = _version(release)
    if version and not EXACT_SEMVER.match(version):
        yield f"chart version {version!r} is a range or not semver"


def check_transport(release: ResourceRecord, plan: Plan) -> Iterator[str]:
    chart = str(release.inputs.get("chart") or "")
    repo = str(dig(release.inputs, "repositoryOpts", "repo") or "")
    source = chart if "://" in chart else repo
    if not source.startswith(("https://", "oci://")):
        yield f"chart {chart} comes from {source or 'no repository'}, not https:// or oci://"


def _grafana_sections(values: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """`grafana.ini` of a Grafana chart, or of the grafana sub-chart of kube-prometheus-stack."""
    for ini in (values.get("grafana.ini"), dig(values, "grafana", "grafana.ini")):
        if isinstance(ini, dict):
            yield ini


def check_grafana_anonymous(release: ResourceRecord, plan: Plan) -> Iterator[str]:
    values = release.inputs.get("values")
    if not isinstance(values, dict):
        return
    for ini in _grafana_sections(values):
        anonymous = ini.get("auth.anonymous") or dig(ini, "auth", "anonymous") or {}
        if isinstance(anonymous, dict) and truthy(anonymous.get("enabled")):
            yield (f"Grafana anonymous access is enabled (role "
                   f"{anonymous.get('org_role', 'Viewer')})")


#: Service types that reach a Service from outside the cluster.
EXPOSED_SERVICE_TYPES = frozenset({"LoadBalancer", "NodePort"})
#: The AWS Load Balancer Controller's scheme annotation; its default is internet-facing.
ALB_SCHEME = "alb.ingress.kubernetes.io/scheme"


def check_not_exposed(release: ResourceRecord, plan: Plan) -> Iterator[str]:
    values = release.inputs.get("values")
    if not isinstance(values, dict):
        return
    for path, value in walk(values):
        if not path or not isinstance(value, dict):
            continue
        where = ".".join(path)
        if path[-1] == "service" and value.get("type") in EXPOSED_SERVICE_TYPES:
            yield f"{where}.type is {value['type']}: reachable from outside the cluster"
        if path[-1] == "ingress" and truthy(value.get("enabled")):
            annotations = value.get("annotations") or {}
            alb = (value.get("ingressClassName") == "alb"
                   or annotations.get("kubernetes.io/ingress.class") == "alb")
            if alb and annotations.get(ALB_SCHEME) != "internal":
                yield (f"{where} is an ALB ingress without {ALB_SCHEME}: internal "
                       "(internet-facing by default)")


#: Chart value keys that hold credentials (Grafana's admin password; Alertmanager receivers'
#: Slack/webhook URLs, PagerDuty keys and SMTP passwords in an inline `alertmanager.config`).
CREDENTIAL_KEYS = frozenset({"adminPassword", "api_url", "slack_api_url", "routing_key",
                             "service_key", "auth_password", "auth_secret", "webhook_url"})


def check_no_inline_credentials(release: ResourceRecord, plan: Plan) -> Iterator[str]:
    values = release.inputs.get("values")
    if not isinstance(values, dict):
        return
    for path, value in walk(values):
        if path and path[-1] in CREDENTIAL_KEYS and isinstance(value, str) and value:
            yield (f"{'.'.join(path)} holds a credential in the chart values (stored in the "
                   "Helm release and the Pulumi state in plain text)")


RULES: tuple[Rule, ...] = (
    Rule(
        id="MLP-HELM-001", title="Helm release pins its chart version",
        severity=Severity.HIGH,
        rationale="Without a version every `pulumi up` may install a different chart: "
                  "unreviewed code and images in the cluster.",
        remediation="Set version (components/versions.py holds the pins).",
        controls=(baseline("pinned-versions"),),
        resource_types=(RELEASE,), check=check_pinned,
    ),
    Rule(
        id="MLP-HELM-002", title="Helm chart version is an exact semver",
        severity=Severity.MEDIUM,
        rationale="A range (^1.2, ~1.2, 1.x) floats like no version at all.",
        remediation="Use an exact MAJOR.MINOR.PATCH version.",
        controls=(baseline("pinned-versions"),),
        resource_types=(RELEASE,), check=check_semver,
    ),
    Rule(
        id="MLP-HELM-003", title="Helm chart comes over https:// or oci://",
        severity=Severity.HIGH,
        rationale="A chart fetched over plain HTTP (or from an unnamed repository) can be "
                  "swapped in transit.",
        remediation="Use an https:// repository (repositoryOpts.repo) or an oci:// chart.",
        controls=(baseline("supply-chain"),),
        resource_types=(RELEASE,), check=check_transport,
    ),
    Rule(
        id="MLP-K8S-015", title="Grafana anonymous access is off",
        severity=Severity.HIGH,
        rationale="Anonymous Grafana exposes dashboards (cluster names, tenants, "
                  "utilisation) and data-source queries to anyone who reaches it.",
        remediation="Set grafana.ini auth.anonymous.enabled=false in the chart values.",
        controls=(baseline("authentication"),),
        resource_types=(RELEASE,), check=check_grafana_anonymous,
    ),
    Rule(
        id="MLP-HELM-004", title="Helm release exposes nothing outside the cluster",
        severity=Severity.HIGH,
        rationale="Monitoring UIs and exporters (Grafana, Prometheus, Alertmanager) behind a "
                  "LoadBalancer, NodePort or internet-facing ingress show cluster internals "
                  "and accept queries from anyone who reaches them.",
        remediation="Keep services ClusterIP; expose through an internal ingress "
                    "(alb.ingress.kubernetes.io/scheme: internal) only.",
        controls=(baseline("network-isolation"),),
        resource_types=(RELEASE,), check=check_not_exposed,
    ),
    Rule(
        id="MLP-HELM-005", title="Helm release values hold no credentials",
        severity=Severity.HIGH,
        rationale="Chart values are stored in the Helm release Secret and in the Pulumi "
                  "state and plan as plain values; a password or webhook URL there leaks to "
                  "anyone who can read either.",
        remediation="Put credentials in a Kubernetes Secret built from Pulumi secrets and "
                    "reference it (Grafana admin.existingSecret, Alertmanager configSecret).",
        controls=(baseline("secrets-management"),),
        resource_types=(RELEASE,), check=check_no_inline_credentials,
    ),
)
