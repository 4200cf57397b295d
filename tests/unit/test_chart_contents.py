"""What each Helm release deploys is recorded twice, as data (components/versions.py) and as
the table in docs/security.md ("What Helm releases deploy"); they must agree, and the plan's
releases must state the images and security settings the table describes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components import versions
from mlplat.plan import Plan

pytestmark = pytest.mark.unit

RELEASE = "kubernetes:helm.sh/v3:Release"
_ROW = re.compile(r"^\| `(?P<chart>[^`]+)` \| (?P<version>[^|]+) \| (?P<objects>[^|]+) \|", re.M)


def _documented(repo_root: Path) -> dict[str, tuple[str, tuple[tuple[str, int], ...]]]:
    text = (repo_root / "docs" / "security.md").read_text()
    section = text.split("## What Helm releases deploy", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for match in _ROW.finditer(section):
        objects = tuple((kind, int(count)) for kind, count in (
            item.strip().split(" x ") for item in match["objects"].split(",")))
        rows[match["chart"]] = (match["version"].strip(), objects)
    return rows


def _chart_name(chart: str) -> str:
    return chart.rsplit("/", 1)[-1]


def test_the_doc_table_and_the_data_agree(repo_root: Path) -> None:
    documented = _documented(repo_root)
    assert {chart: objects for chart, (_, objects) in documented.items()} == dict(
        versions.CHART_OBJECT_KINDS)


def test_every_release_of_the_demo_is_recorded_at_its_pinned_version(
    repo_root: Path, demo_plan: Plan
) -> None:
    documented = _documented(repo_root)
    releases = {_chart_name(r.inputs["chart"]): r.inputs["version"]
                for r in demo_plan.of_type(RELEASE)}
    assert releases and {chart: documented[chart][0] for chart in releases} == releases


def _values(plan: Plan, chart: str) -> dict[str, object]:
    (release,) = [r for r in plan.of_type(RELEASE) if _chart_name(r.inputs["chart"]) == chart]
    values: dict[str, object] = release.inputs["values"]
    return values


def test_karpenter_controller_image_is_pinned_by_digest(demo_plan: Plan) -> None:
    image = _values(demo_plan, "karpenter")["controller"]["image"]  # type: ignore[index]
    assert image == {"repository": "public.ecr.aws/karpenter/controller",
                     "tag": versions.KARPENTER_VERSION,
                     "digest": versions.KARPENTER_CONTROLLER_IMAGE_DIGEST}
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image["digest"])


def test_device_plugin_states_an_unprivileged_container(demo_plan: Plan) -> None:
    values = _values(demo_plan, "nvidia-device-plugin")
    assert values["securityContext"] == {"allowPrivilegeEscalation": False,
                                         "capabilities": {"drop": ["ALL"]}}
    # Either would make the chart add SYS_ADMIN or privileged mode to the plugin.
    assert values["compatWithCPUManager"] is False
    assert values["migStrategy"] == "none"
    assert values["mps"] == {"enableHostPID": False}
    assert values["image"] == {"repository": versions.NVIDIA_DEVICE_PLUGIN_IMAGE_REPOSITORY,
                               "tag": f"v{versions.NVIDIA_DEVICE_PLUGIN_VERSION}"}
