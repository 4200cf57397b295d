"""The alert rules, proven on Prometheus' own rule engine (promtool), and their contract:
severity, team routing, a runbook that exists and says what to do, and for every alert a
case that fires it and one that must not."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from alert_cases import CASES

from mlplat.core.paths import REPO_ROOT
from mlplat.observability.metrics import exporter_of
from mlplat.observability.promql import metric_names
from mlplat.observability.rules import (
    RUNBOOKS_PATH,
    TEAM_LABEL,
    AlertSettings,
    Route,
    ServingSlo,
    Severity,
    alert_rule_groups,
    iter_alerts,
    rule_groups,
    template_references,
)

RUNBOOKS = REPO_ROOT / RUNBOOKS_PATH
#: Every runbook answers these three questions, as second-level headings.
RUNBOOK_SECTIONS = ("## What it means", "## How to confirm", "## What to do")

ALERTS = list(iter_alerts(rule_groups()))
RENDERED = [rule for group in alert_rule_groups() for rule in group["rules"] if "alert" in rule]


def _run(promtool: Path, command: str, file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(promtool), command, "rules", file.name], cwd=file.parent,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.promtool
def test_promtool_check_rules_is_clean(promtool: Path, rule_files: tuple[Path, Path]) -> None:
    result = _run(promtool, "check", rule_files[0])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in alert_rule_groups())} rules found" in (
        result.stdout
    )


@pytest.mark.promtool
def test_promtool_unit_tests_pass(promtool: Path, rule_files: tuple[Path, Path]) -> None:
    result = _run(promtool, "test", rule_files[1])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    firing = Counter(case.alert for case in CASES if case.is_firing)
    silent = Counter(case.alert for case in CASES if not case.is_firing)
    missing = [
        f"{alert.name}: {'no firing case' if not firing[alert.name] else 'no silent case'}"
        for alert in ALERTS
        if not firing[alert.name] or not silent[alert.name]
    ]
    assert not missing, missing


def test_every_case_tests_an_alert_that_exists() -> None:
    names = {alert.name for alert in ALERTS}
    unknown = {case.alert for case in CASES} - names
    unknown |= {other for case in CASES for other in case.extra_silent} - names
    assert not unknown, f"cases for alerts that do not exist: {sorted(unknown)}"


def test_rules_read_only_series_the_stack_emits() -> None:
    """A rule on a series no exporter emits never fires: a silent hole. Every series a rule
    reads is in the metric catalog or recorded by a rule of the same file."""
    rules = [rule for group in alert_rule_groups() for rule in group["rules"]]
    recorded = {rule["record"] for rule in rules if "record" in rule}
    unknown = {
        rule.get("alert", rule.get("record")): sorted(
            name for name in metric_names(rule["expr"])
            if name not in recorded and exporter_of(name) is None
        )
        for rule in rules
    }
    assert not {name: series for name, series in unknown.items() if series}


def test_alert_names_are_unique() -> None:
    duplicates = [name for name, n in Counter(a.name for a in ALERTS).items() if n > 1]
    assert not duplicates


@pytest.mark.parametrize("rule", RENDERED, ids=lambda r: r["alert"])
def test_every_alert_has_severity_team_and_runbook(rule: dict[str, object]) -> None:
    labels = rule["labels"]
    annotations = rule["annotations"]
    assert isinstance(labels, dict) and isinstance(annotations, dict)
    assert labels["severity"] in {s.value for s in Severity}
    assert labels[TEAM_LABEL]
    base = AlertSettings().runbook_base_url
    assert annotations["runbook_url"].startswith(base + "/")
    assert annotations["summary"] and annotations["description"]


def test_team_routing() -> None:
    """Platform alerts name the platform team; namespaced ones read the namespace's team
    and fall back to the platform team (a namespace without a team still alerts)."""
    settings = AlertSettings(platform_team="sre")
    rendered = {r["alert"]: r for g in alert_rule_groups(settings) for r in g["rules"]
                if "alert" in r}
    for alert in ALERTS:
        team = rendered[alert.name]["labels"][TEAM_LABEL]
        if alert.route is Route.PLATFORM:
            assert team == "sre", alert.name
        else:
            assert team == "{{ with $labels.team }}{{ . }}{{ else }}sre{{ end }}", alert.name
            assert "label_mlplat_io_team" in alert.expr and " unless on (namespace) " in (
                alert.expr
            ), f"{alert.name} must join the namespace's team and keep unlabelled namespaces"


def _runbook(rule: dict[str, object]) -> Path:
    url = rule["annotations"]["runbook_url"]  # type: ignore[index]
    return RUNBOOKS / url.removeprefix(AlertSettings().runbook_base_url + "/")


@pytest.mark.parametrize("rule", RENDERED, ids=lambda r: r["alert"])
def test_runbook_exists_and_answers_the_three_questions(rule: dict[str, object]) -> None:
    page = _runbook(rule)
    assert page.parent == RUNBOOKS and page.is_file(), f"{rule['alert']}: no runbook {page}"
    text = page.read_text()
    for heading in RUNBOOK_SECTIONS:
        assert re.search(rf"^{re.escape(heading)}\b", text, re.MULTILINE), (
            f"{page.name} lacks the section {heading!r}"
        )
    assert f"`{rule['alert']}`" in text, f"{page.name} does not mention {rule['alert']}"


def test_runbook_index_lists_every_runbook() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    pages = sorted(p.name for p in RUNBOOKS.glob("*.md") if p.name != "README.md")
    assert pages
    for page in pages:
        assert f"({page})" in index, f"docs/runbooks/README.md does not link {page}"
    for alert in ALERTS:
        assert f"`{alert.name}`" in index, f"docs/runbooks/README.md does not list {alert.name}"


def test_no_orphan_runbooks() -> None:
    used = {_runbook(rule).name for rule in RENDERED}
    pages = {p.name for p in RUNBOOKS.glob("*.md") if p.name != "README.md"}
    assert pages == used


@pytest.mark.parametrize("rule", RENDERED, ids=lambda r: r["alert"])
def test_annotations_only_template_labels_and_value(rule: dict[str, object]) -> None:
    """Anything richer could not be checked literally by the promtool cases."""
    for template in rule["annotations"].values():  # type: ignore[attr-defined]
        template_references(template)


def test_settings_reach_the_rules() -> None:
    settings = AlertSettings(
        runbook_base_url="https://docs.example.org/runbooks", quota_ratio=0.75,
        queue_wait_limit="2h", gpu_idle_for="45m",
    )
    rendered = {r["alert"]: r for g in alert_rule_groups(settings) for r in g["rules"]
                if "alert" in r}
    assert rendered["TeamQuotaNearlyExhausted"]["expr"].count("> 0.75") == 2
    assert rendered["KueueWorkloadsPendingTooLong"]["for"] == "2h"
    assert "[2h]" in rendered["KueueWorkloadsPendingTooLong"]["expr"]
    assert rendered["GpuAllocatedIdle"]["for"] == "45m"
    assert rendered["NodeNotReady"]["annotations"]["runbook_url"] == (
        "https://docs.example.org/runbooks/node-not-ready.md"
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: AlertSettings(quota_ratio=1.2), "quota_ratio"),
        (lambda: AlertSettings(queue_wait_limit="an hour"), "queue_wait_limit"),
        (lambda: AlertSettings(runbook_base_url="http://x"), "https"),
        (lambda: ServingSlo(availability_target=1.0), "availability_target"),
        (lambda: ServingSlo(group_by=("job",)), "namespace"),
    ],
)
def test_settings_refuse_nonsense(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_mlflow_default_is_the_deployment_mlplat_creates() -> None:
    from components.k8s.mlflow import APP_NAME

    assert AlertSettings().mlflow_deployment == APP_NAME


def test_the_monitoring_component_accepts_the_rule_groups() -> None:
    """The groups are what MonitoringStack(rule_groups=...) turns into PrometheusRules."""
    from components.k8s.monitoring import check_rule_groups

    check_rule_groups(alert_rule_groups())


def test_the_demo_deploys_exactly_the_rules_promtool_tests(demo_plan) -> None:  # type: ignore[no-untyped-def]
    """One source: the PrometheusRule objects in the demo's plan carry the groups that
    `alert_rule_groups` gives the promtool tests above, rule for rule."""
    from mlplat.config import environment_from_stack_config
    from mlplat.observability.rules import AlertSettings, alert_rule_groups
    from mlplat.stackfile import read_stack_config
    from tests.conftest import DEMO_STACK_FILE

    monitoring = environment_from_stack_config(read_stack_config(DEMO_STACK_FILE),
                                               "demo").monitoring
    assert monitoring is not None
    expected = alert_rule_groups(AlertSettings(runbook_base_url=monitoring.runbook_base_url,
                                               platform_team=monitoring.platform_team))
    deployed = [group for record in demo_plan.resources
                if record.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
                for group in record.inputs["spec"]["groups"]]
    assert sorted(deployed, key=lambda g: g["name"]) == sorted(expected,
                                                               key=lambda g: g["name"])
