"""Golden rendered user data: review diffs of these files when a template changes.

Refresh after an intended change with:  MLPLAT_UPDATE_GOLDEN=1 pytest tests/cloudinit
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from cloudinit_cases import (
    GOLDEN_DIR,
    UPDATE_GOLDEN,
    example_files,
    golden_path,
    load_example,
    template_of,
)

from mlplat.cloudinit import render, template_names

pytestmark = pytest.mark.unit


def test_rendering_matches_golden_file(example: Path) -> None:
    rendered = render(template_of(example), load_example(example))
    golden = golden_path(example)
    if UPDATE_GOLDEN:
        golden.write_text(rendered)
        return
    assert golden.exists(), f"{golden} missing; create it with MLPLAT_UPDATE_GOLDEN=1"
    expected = golden.read_text()
    if rendered != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), rendered.splitlines(True), str(golden), "rendered"
            )
        )
        pytest.fail(
            f"{golden.name} is stale (refresh with MLPLAT_UPDATE_GOLDEN=1 if intended):\n{diff}"
        )


def test_every_golden_file_has_an_example() -> None:
    expected = {golden_path(e).name for e in example_files()}
    present = {p.name for p in GOLDEN_DIR.glob("*.user-data")}
    assert present == expected, f"stale golden files: {sorted(present - expected)}"


def test_every_template_has_an_example() -> None:
    covered = {template_of(e) for e in example_files()}
    assert set(template_names()) == {"gpu-node", "onprem-host"}
    assert covered == set(template_names())
