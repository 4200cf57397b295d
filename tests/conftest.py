"""Shared fixtures: the repo root, the demo stack and a cached demo plan."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from mlplat.core.paths import REPO_ROOT, STACKS_DIR

DEMO_STACK_FILE = STACKS_DIR / "Pulumi.demo.yaml"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def demo_stack_config() -> dict[str, Any]:
    """The `config:` mapping of the demo stack (a fresh copy per use via `copy.deepcopy`),
    read as the CLI reads it: `secure:` values replaced by the secret marker."""
    from mlplat.stackfile import read_stack_config

    return read_stack_config(DEMO_STACK_FILE)


@pytest.fixture()
def demo_config(demo_stack_config: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(demo_stack_config)


@pytest.fixture(scope="session")
def demo_plan():
    """The demo stack's plan, built once per session (plans are deterministic)."""
    from mlplat.plan import plan_stack

    return plan_stack("demo")


@pytest.fixture(scope="session")
def shared_mode_plans():
    """Plans of the shipped platform stack and its shared-mode tenant, by stack name."""
    from mlplat.plan import plan_requests, stack_request

    plans = plan_requests([stack_request("platform"), stack_request("nlp-dev")])
    return {plan.stack: plan for plan in plans}
