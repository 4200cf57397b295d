"""Helm releases: pinned charts from trusted transports; Grafana without anonymous access."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mlplat.plan.model import Plan, ResourceRecord
from policies.model import Rule, Severity, baseline
from policies.rules._helpers import dig, truthy

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
)
