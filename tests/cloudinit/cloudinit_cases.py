"""Helpers shared by the cloud-init tests: examples, golden files, tool checks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplat.core.paths import REPO_ROOT

REPO = REPO_ROOT
EXAMPLES_DIR = REPO / "cloud-init" / "examples"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
# Refresh the golden files instead of comparing:  MLPLAT_UPDATE_GOLDEN=1 pytest tests/cloudinit
UPDATE_GOLDEN = os.environ.get("MLPLAT_UPDATE_GOLDEN") == "1"


def example_files() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.yaml"))


def template_of(example: Path) -> str:
    """Examples are named <template>--<variant>.yaml."""
    template, sep, _ = example.stem.partition("--")
    assert sep, f"{example.name}: example names must be <template>--<variant>.yaml"
    return template


def golden_path(example: Path) -> Path:
    return GOLDEN_DIR / f"{example.stem}.user-data"


def load_example(example: Path) -> dict[str, Any]:
    data = yaml.safe_load(example.read_text())
    assert isinstance(data, dict)
    return data


def require_cloud_init() -> str:
    """Path of the cloud-init command; skip without it (fail when CI=true)."""
    path = shutil.which("cloud-init")
    if path is None:
        reason = "the cloud-init command is not installed (Debian package cloud-init)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return path
