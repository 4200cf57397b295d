"""Time to stand up (critical path) on hand-built graphs, and the plan picture."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mlplat.core.paths import REPO_ROOT
from mlplat.plan.graph import GraphError, render, to_dot
from mlplat.plan.model import Plan, ResourceRecord
from mlplat.plan.standup import critical_path
from tests.cost.plans import STACK, record, root, urn

pytestmark = pytest.mark.unit


def _component(kind: str, name: str) -> ResourceRecord:
    return record(kind, name, custom=False)


def _plan(*resources: ResourceRecord) -> Plan:
    return Plan(project="mlplat", stack=STACK, source="<test>",
                resources=[root(), *resources])


def test_the_critical_path_is_the_longest_weighted_chain() -> None:
    # cluster (600) <- node group (300) <- release (120) = 1020 s
    # role (10) <- database (720)                        =  730 s
    # key (5) <- cluster as well: 5 + 600 + 300 + 120     = 1025 s  <- the longest
    key = record("aws:kms/key:Key", "key")
    cluster = record("aws:eks/cluster:Cluster", "eks", dependencies=[key.urn])
    nodes = record("aws:eks/nodeGroup:NodeGroup", "nodes", dependencies=[cluster.urn])
    provider = record("pulumi:providers:kubernetes", "k8s", dependencies=[nodes.urn])
    release = record("kubernetes:helm.sh/v3:Release", "karpenter", provider=provider.urn)
    role = record("aws:iam/role:Role", "role")
    database = record("aws:rds/instance:Instance", "db", dependencies=[role.urn])
    path = critical_path(_plan(key, cluster, nodes, provider, release, role, database))
    assert path.seconds == 5 + 600 + 300 + 120
    assert [r.name for r, _ in path.steps] == ["key", "eks", "nodes", "k8s", "karpenter"]


def test_a_dependency_on_a_component_waits_for_everything_inside_it() -> None:
    component = _component("mlplat:aws/metadata_db:MetadataDb", "metadata")
    inside = ResourceRecord(urn=urn("aws:rds/instance:Instance", "db",
                                    "mlplat:aws/metadata_db:MetadataDb"),
                            type="aws:rds/instance:Instance", name="db", custom=True,
                            parent=component.urn, provider=None,
                            inputs={"multi_az": True}, dependencies=[])
    job = record("kubernetes:batch/v1:Job", "create-db", dependencies=[component.urn])
    path = critical_path(_plan(component, inside, job))
    assert path.seconds == 1200 + 60  # a Multi-AZ database, then the Job
    assert [r.name for r, _ in path.steps] == ["db", "create-db"]


def test_the_demo_stands_up_through_the_cluster(demo_plan: Plan) -> None:
    path = critical_path(demo_plan)
    kinds = [r.type for r, _ in path.steps]
    assert "aws:eks/cluster:Cluster" in kinds
    assert kinds.index("aws:eks/cluster:Cluster") < kinds.index("aws:eks/nodeGroup:NodeGroup")
    assert 15 * 60 <= path.seconds <= 60 * 60


def test_the_picture_draws_components_as_boxes_with_arrows_between_them(
        demo_plan: Plan) -> None:
    dot = to_dot(demo_plan)
    clusters = [line for line in dot.splitlines() if line.strip().startswith("subgraph")]
    [composition] = [r for r in demo_plan.resources if r.type.startswith("mlplat:compositions/")]
    components = {r.urn for r in demo_plan.resources
                  if not r.custom and r.parent == composition.urn}
    assert len(clusters) == len(components) + 1  # plus the environment's own resources
    assert 'label="Network vision-staging-network"' in dot
    assert "3 x NatGateway" in dot
    assert dot.count("->") >= len(components) - 1


def _dot_available() -> bool:
    if shutil.which("dot"):
        return True
    if os.environ.get("CI") == "true":
        pytest.fail("Graphviz's dot is required in CI (.ci/apt-packages.txt: graphviz)")
    pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")


def test_the_svg_names_every_component(demo_plan: Plan, tmp_path: Path) -> None:
    _dot_available()
    svg = render(demo_plan, tmp_path / "demo.svg")
    root_element = ET.fromstring(svg)
    text = " ".join(t for t in root_element.itertext())
    for name in ("Cluster vision-staging-cluster", "GpuNodePools vision-staging-gpu",
                 "MetadataDb vision-staging-metadata"):
        assert name in text


def test_an_unknown_picture_type_is_refused(demo_plan: Plan, tmp_path: Path) -> None:
    with pytest.raises(GraphError, match=r"unknown picture type \.jpg"):
        render(demo_plan, tmp_path / "demo.jpg")


def test_plan_prints_the_time_to_stand_up_and_draws(tmp_path: Path) -> None:
    picture = tmp_path / "demo.dot"
    env = {**os.environ, "MLPLAT_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "mlplat.cli", "plan", "demo", "--graph",
                             str(picture)], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "Estimated time to stand up: ~" in result.stdout
    assert picture.read_text().startswith('digraph "demo"')
    bad = subprocess.run([sys.executable, "-m", "mlplat.cli", "plan", "demo", "--graph",
                          str(tmp_path / "demo.bmp")], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert bad.returncode == 2 and "unknown picture type .bmp" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "demo.bmp").exists()
