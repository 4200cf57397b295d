"""One moto server per test session of tests/verify (started only when a test needs it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto_seed import moto_server


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url
