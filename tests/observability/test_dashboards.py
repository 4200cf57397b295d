"""The dashboards as shipped (the JSON in the ConfigMaps): every panel's query parses as
PromQL and reads only series an exporter of the stack emits (mlplat/observability/
metrics.py), and the dashboards are what the demo plan provisions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from mlplat.observability import metrics, promql
from mlplat.observability.dashboards import DASHBOARDS, dashboard_files
from mlplat.plan import Plan

pytestmark = pytest.mark.unit

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' nested panels included."""
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries() -> Iterator[tuple[str, str, str]]:
    """(dashboard file, panel title, expr) of every query, from the rendered JSON."""
    for file_name, text in dashboard_files().items():
        model = json.loads(text)
        for panel in panels(model):
            for target in panel.get("targets", []):
                yield file_name, panel["title"], target["expr"]
        for variable in model.get("templating", {}).get("list", []):
            if variable.get("type") == "query":
                yield file_name, f"variable {variable['name']}", variable["query"]


ALL_QUERIES = list(queries())


def test_there_are_dashboards_for_every_subject_the_issue_names() -> None:
    titles = {json.loads(t)["title"] for t in dashboard_files().values()}
    assert titles == {"mlplat / GPUs", "mlplat / GPU allocation and idle waste",
                      "mlplat / Training queue (Kueue)", "mlplat / Model serving",
                      "mlplat / MLflow and metadata database"}
    uids = [json.loads(t)["uid"] for t in dashboard_files().values()]
    assert len(set(uids)) == len(uids) == len(DASHBOARDS)
    assert len(ALL_QUERIES) > 40


@pytest.mark.parametrize(("dashboard", "panel", "expr"),
                         [q for q in ALL_QUERIES if not q[1].startswith("variable ")])
def test_every_panel_query_parses_and_reads_emitted_metrics(
    dashboard: str, panel: str, expr: str
) -> None:
    names = promql.metric_names(expr)
    assert names, f"{dashboard} / {panel}: selects no metric"
    unknown = {n for n in names if metrics.exporter_of(n) is None}
    assert not unknown, f"{dashboard} / {panel}: no exporter of the stack emits {unknown}"


def test_variables_query_an_emitted_metric() -> None:
    variables = [q for q in ALL_QUERIES if q[1].startswith("variable ")]
    assert variables
    for _, _, query in variables:
        # label_values(<metric>, <label>) is Grafana's, not PromQL: check its parts.
        metric, label = query.removeprefix("label_values(").removesuffix(")").split(", ")
        exporter = metrics.exporter_of(metric)
        assert exporter is not None
        assert any(label in m.labels for m in exporter.metrics if m.name == metric)


def test_the_checks_catch_bad_queries() -> None:
    with pytest.raises(promql.PromqlError):
        promql.parse("sum(rate(DCGM_FI_DEV_GPU_UTIL[5m])")
    assert promql.unknown_metrics(["rate(DCGM_FI_DEV_GPU_UTILISATION[$__rate_interval])"]) == {
        "rate(DCGM_FI_DEV_GPU_UTILISATION[$__rate_interval])":
            frozenset({"DCGM_FI_DEV_GPU_UTILISATION"})}
    assert promql.metric_names(
        'histogram_quantile(0.9, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket'
        '{model_name=~"$model"}[$__rate_interval])))') == {
        "vllm:e2e_request_latency_seconds_bucket"}


def test_every_exporter_names_its_source_and_version() -> None:
    keys = [e.key for e in metrics.EXPORTERS]
    assert len(set(keys)) == len(keys)
    for exporter in metrics.EXPORTERS:
        assert exporter.version and exporter.source and exporter.metrics
        names = [m.name for m in exporter.metrics]
        assert len(set(names)) == len(names), exporter.key
    assert "DCGM_FI_DEV_GPU_UTIL" in metrics.DCGM_EXPORTER.series_names()
    assert "kueue_admission_wait_time_seconds_bucket" in metrics.known_series()


def test_the_demo_provisions_these_dashboards_through_the_sidecar(demo_plan: Plan) -> None:
    shipped = {}
    for record in demo_plan.of_type(CONFIG_MAP):
        metadata = record.inputs["metadata"]
        if metadata["labels"].get("grafana_dashboard") == "1":
            assert metadata["namespace"] == "monitoring"
            shipped.update(record.inputs["data"])
    assert shipped == dashboard_files()
