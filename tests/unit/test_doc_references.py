"""The component reference and the version matrix are generated from the code: every
component and every pin is in them, and an undocumented argument stops the generator."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from components import versions
from mlplat.core.paths import REPO_ROOT
from mlplat.docgen import component_reference
from mlplat.docgen import versions as version_matrix
from mlplat.docgen.markdown import GeneratedDocError

pytestmark = pytest.mark.unit


def test_every_component_token_is_in_the_reference() -> None:
    text = component_reference.render()
    tokens = set()
    for path in (REPO_ROOT / "components").rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "TOKEN" for t in node.targets):
                tokens.add(node.value.value)  # type: ignore[attr-defined]
    assert tokens and all(f"`{token}`" in text for token in tokens)


def test_an_undocumented_argument_stops_the_generator(tmp_path: Path) -> None:
    package = tmp_path / "components" / "demo"
    package.mkdir(parents=True)
    (package / "widget.py").write_text(
        '"""A widget."""\nimport pulumi\nfrom dataclasses import dataclass\n\n'
        'TOKEN = "mlplat:demo/widget:Widget"\n\n\n@dataclass(frozen=True)\n'
        'class WidgetArgs:\n    size: int\n    """How big."""\n    colour: str\n\n\n'
        'class Widget(pulumi.ComponentResource):\n    """A widget."""\n\n'
        '    def __init__(self, name: str, args: WidgetArgs) -> None:\n        pass\n')
    with pytest.raises(GeneratedDocError, match="WidgetArgs fields without a docstring: "
                                                "colour"):
        component_reference.components(tmp_path / "components")


def test_every_pinned_version_is_in_the_matrix() -> None:
    text = version_matrix.render_matrix()
    for name in ("KARPENTER_VERSION", "KUBE_PROMETHEUS_STACK_VERSION", "KUEUE_VERSION",
                 "KSERVE_VERSION", "MLFLOW_IMAGE", "CLOUDNATIVEPG_CHART_VERSION"):
        assert f"`{getattr(versions, name)}`" in text, name
    for kubernetes, addons in versions.ADDON_VERSIONS.items():
        assert f"Kubernetes {kubernetes}" in text
        assert all(f"`{build}`" in text for build in addons.values())
