"""Fixtures of the cloud-init tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from cloudinit_cases import example_files


@pytest.fixture(params=example_files(), ids=lambda p: p.stem)
def example(request: pytest.FixtureRequest) -> Path:
    return request.param
