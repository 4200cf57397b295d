"""Structure of every Prometheus Operator custom resource the monitoring component creates,
against the fields the pinned CRD version defines.

kubernetes-validate has no schemas for custom resources, and no API server is available
here. So this file keeps a small fact table: for each kind, the field paths mlplat uses and
their types, read from the CRDs of the pinned operator version (source below) - not a copy
of the CRDs. Every path of every custom resource in the plans must be in the table, with a
value of the listed type; a misspelt or invented field fails.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components import versions
from components.k8s.monitoring import MONITORING_V1, MONITORING_V1ALPHA1
from mlplat.plan import Plan, ResourceRecord, run_program

pytestmark = pytest.mark.unit

#: Where the facts were read: prometheus-community/helm-charts
#: charts/kube-prometheus-stack/charts/crds/crds/crd-<kind>s.yaml at chart 88.5.3
#: (annotation operator.prometheus.io/version: 0.93.1), openAPIV3Schema of each version.
SOURCE_OPERATOR_VERSION = "0.93.1"
SOURCE_CHART_VERSION = "88.5.3"

#: Go/Prometheus duration as the CRDs' pattern accepts it (`30s`, `15d`, `1h30m`).
DURATION = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?"
                      r"(([0-9]+)s)?(([0-9]+)ms)?)$")
RELABEL_ACTIONS = {"replace", "Replace", "keep", "Keep", "drop", "Drop", "hashmod", "HashMod",
                   "labelmap", "LabelMap", "labeldrop", "LabelDrop", "labelkeep", "LabelKeep",
                   "lowercase", "Lowercase", "uppercase", "Uppercase", "keepequal",
                   "KeepEqual", "dropequal", "DropEqual"}

#: Value kinds: "map" is a string->string object (its keys are free), "list" a list of
#: scalars, "objects" a list of objects whose fields are listed under `path[]`.
S, B, INT, MAP, LIST, OBJ, OBJS = "string", "boolean", "integer", "map", "list", "object", "objects"
_RELABEL = {"relabelings": OBJS, "relabelings[].sourceLabels": LIST,
            "relabelings[].targetLabel": S, "relabelings[].action": RELABEL_ACTIONS}

FACTS: dict[tuple[str, str], dict[str, Any]] = {
    (MONITORING_V1, "ServiceMonitor"): {
        "spec": OBJ, "spec.selector": OBJ, "spec.selector.matchLabels": MAP,
        "spec.namespaceSelector": OBJ, "spec.namespaceSelector.matchNames": LIST,
        "spec.endpoints": OBJS, "spec.endpoints[].port": S, "spec.endpoints[].path": S,
        "spec.endpoints[].interval": DURATION, "spec.endpoints[].honorLabels": B,
        **{f"spec.endpoints[].{k}": v for k, v in _RELABEL.items()},
    },
    (MONITORING_V1, "PodMonitor"): {
        "spec": OBJ, "spec.selector": OBJ, "spec.selector.matchLabels": MAP,
        "spec.selector.matchExpressions": OBJS, "spec.selector.matchExpressions[].key": S,
        "spec.selector.matchExpressions[].operator": {"In", "NotIn", "Exists",
                                                      "DoesNotExist"},
        "spec.selector.matchExpressions[].values": LIST,
        "spec.namespaceSelector": OBJ, "spec.namespaceSelector.any": B,
        "spec.namespaceSelector.matchNames": LIST,
        "spec.podMetricsEndpoints": OBJS, "spec.podMetricsEndpoints[].port": S,
        "spec.podMetricsEndpoints[].portNumber": INT, "spec.podMetricsEndpoints[].path": S,
        "spec.podMetricsEndpoints[].interval": DURATION,
        **{f"spec.podMetricsEndpoints[].{k}": v for k, v in _RELABEL.items()},
    },
    (MONITORING_V1ALPHA1, "ScrapeConfig"): {
        "spec": OBJ, "spec.staticConfigs": OBJS, "spec.staticConfigs[].targets": LIST,
        "spec.staticConfigs[].labels": MAP, "spec.scrapeInterval": DURATION,
        "spec.metricsPath": S, "spec.scheme": {"http", "https", "HTTP", "HTTPS"},
        "spec.honorLabels": B,
    },
    (MONITORING_V1, "PrometheusRule"): {
        "spec": OBJ, "spec.groups": OBJS, "spec.groups[].name": S,
        "spec.groups[].interval": DURATION, "spec.groups[].labels": MAP,
        "spec.groups[].rules": OBJS, "spec.groups[].rules[].alert": S,
        "spec.groups[].rules[].record": S, "spec.groups[].rules[].expr": S,
        "spec.groups[].rules[].for": DURATION, "spec.groups[].rules[].keep_firing_for": DURATION,
        "spec.groups[].rules[].labels": MAP, "spec.groups[].rules[].annotations": MAP,
    },
}
#: Fields the CRDs require (`required:`), per kind.
REQUIRED: dict[str, tuple[str, ...]] = {
    "ServiceMonitor": ("spec.selector",),
    "PodMonitor": ("spec.selector",),
    "ScrapeConfig": (),
    "PrometheusRule": ("spec.groups[].name", "spec.groups[].rules[].expr"),
}
PROGRAM = Path(__file__).parent / "programs" / "monitoring_stack"


def paths(value: Any, facts: dict[str, Any], path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) below `value`, not descending into maps and scalar lists."""
    if path:
        yield path, value
    if path and facts.get(path) in (MAP, LIST):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, facts, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from paths(item, facts, f"{path}[]")


def problems(record_or_manifest: dict[str, Any]) -> list[str]:
    """What in a custom resource the pinned CRD does not define."""
    key = (record_or_manifest["apiVersion"], record_or_manifest["kind"])
    if key not in FACTS:
        return [f"{key}: no facts for this kind and version"]
    facts = FACTS[key]
    found: list[str] = []
    seen: set[str] = set()
    for path, value in paths({"spec": record_or_manifest["spec"]}, facts):
        if path.endswith("[]"):  # a list item: its fields are checked one by one
            continue
        seen.add(path)
        kind = facts.get(path)
        if kind is None:
            found.append(f"{path}: not a field of {key[1]} ({key[0]})")
        elif not _fits(kind, value):
            found.append(f"{path}: {value!r} is not {kind}")
    for required in REQUIRED[key[1]]:
        parent = required.rsplit(".", 1)[0]
        if (parent in seen or parent == "spec") and required not in seen:
            found.append(f"{required}: required")
    return found


def _fits(kind: Any, value: Any) -> bool:
    if isinstance(kind, set):
        return value in kind
    if isinstance(kind, re.Pattern):
        return isinstance(value, str) and bool(kind.match(value))
    return {
        S: lambda v: isinstance(v, str),
        B: lambda v: isinstance(v, bool),
        INT: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v == int(v),
        MAP: lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
        LIST: lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        OBJ: lambda v: isinstance(v, dict),
        OBJS: lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
    }[kind](value)


def custom_resources(plan: Plan) -> list[ResourceRecord]:
    return [r for r in plan.managed() if r.type.startswith("kubernetes:monitoring.coreos.com/")]


@pytest.fixture(scope="module")
def neutral_plan(demo_stack_config: dict[str, Any]) -> Plan:
    config = copy.deepcopy(demo_stack_config)
    config["mlplat:monitoring"] = {
        "hostTargets": {"nodeExporter": ["10.30.0.11"], "dcgmExporter": ["10.30.0.11"]},
        "logShipping": {"endpoint": {"host": "logs.lab.internal"}},
    }
    return run_program(stack="test", config=config, program_dir=PROGRAM)


def test_the_facts_are_for_the_pinned_operator() -> None:
    assert versions.PROMETHEUS_OPERATOR_VERSION == SOURCE_OPERATOR_VERSION
    assert versions.KUBE_PROMETHEUS_STACK_VERSION == SOURCE_CHART_VERSION


def test_every_custom_resource_uses_only_fields_its_crd_defines(
    demo_plan: Plan, neutral_plan: Plan
) -> None:
    kinds: set[str] = set()
    for plan in (demo_plan, neutral_plan):
        for record in custom_resources(plan):
            assert problems(record.inputs) == [], record.name
            kinds.add(record.inputs["kind"])
    assert kinds == {"ServiceMonitor", "PodMonitor", "ScrapeConfig", "PrometheusRule"}


@pytest.mark.parametrize(("change", "expected"), [
    (lambda m: m["spec"]["endpoints"][0].update(honourLabels=True),
     "spec.endpoints[].honourLabels: not a field"),
    (lambda m: m["spec"]["endpoints"][0].update(interval="15 seconds"),
     "spec.endpoints[].interval: '15 seconds' is not"),
    (lambda m: m["spec"]["endpoints"][0]["relabelings"][0].update(action="rename"),
     "spec.endpoints[].relabelings[].action: 'rename' is not"),
    (lambda m: m["spec"].pop("selector"), "spec.selector: required"),
    (lambda m: m.update(apiVersion="monitoring.coreos.com/v2"), "no facts"),
])
def test_a_wrong_field_is_caught(demo_plan: Plan, change: Any, expected: str) -> None:
    (monitor,) = [r for r in custom_resources(demo_plan)
                  if r.inputs["kind"] == "ServiceMonitor"]
    manifest = copy.deepcopy(monitor.inputs)
    change(manifest)
    assert any(expected in problem for problem in problems(manifest))
