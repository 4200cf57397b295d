"""pytest plugin: the session's one host pool and the ``hosts`` marker.

Registered through the ``pytest11`` entry point in pyproject.toml, so every test of the
checkout (tests/hosts, tests/cloudinit, ...) shares one pool: one subnet lease, one apt
relay, one clean-up. Fixtures:

- ``host_pool`` (session): the :class:`~mlplat.testing.hosts.pool.HostPool`; skips the test
  when hosts cannot boot here, fails it instead when ``CI=true``.
- ``host_factory`` (session): ``host_factory(["name", ...], flavor="base", **kw)`` boots hosts
  in that pool; everything is torn down at session end (``host_pool.destroy(host)`` frees a
  host earlier).

Every collected test that uses ``host_pool`` (directly or through another fixture) gets the
``hosts`` marker, so ``-m hosts`` / ``-m "not hosts"`` select by what a test really needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from mlplat.testing.hosts.pool import Host, HostPool
from mlplat.testing.hosts.preflight import require_or_skip

MARKER = "hosts"


class HostFactory(Protocol):
    """The ``host_factory`` fixture: boots hosts in the session pool."""

    def __call__(self, names: list[str], flavor: str = "base", **kwargs: Any) -> list[Host]: ...


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: real booted hosts (systemd-nspawn); needs root; mandatory when CI=true",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "host_pool" in getattr(item, "fixturenames", ()):
            item.add_marker(MARKER)


@pytest.fixture(scope="session")
def host_pool() -> Iterator[HostPool]:
    require_or_skip()
    pool = HostPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def host_factory(host_pool: HostPool) -> HostFactory:
    def boot(names: list[str], flavor: str = "base", **kwargs: Any) -> list[Host]:
        return host_pool.boot(names, flavor, **kwargs)

    return boot
