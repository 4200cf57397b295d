"""pytest fixtures for real booted hosts (see harness.py and docs/testing-hosts.md).

- ``host_factory`` (session): ``host_factory(["name", ...], flavor="base", **kw)``
  boots hosts in the session's pool; everything is torn down at session end.
- ``converged_site`` (session): three hosts (gpu1 in gpu_hosts, cpu1 and cpu2 in
  cpu_hosts) converged once with ansible/site.yml; yields
  ``ConvergedSite(inventory, hosts, result)`` (unpacks as a 3-tuple).

Every test collected under tests/hosts gets the ``hosts`` marker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import harness
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SITE_PLAYBOOK = REPO / "ansible" / "site.yml"
FIXTURE_PLAYBOOK = HERE / "fixtures" / "site.yml"
SITE_GROUPS = {"gpu_hosts": ["gpu1"], "cpu_hosts": ["cpu1", "cpu2"]}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.hosts)


def site_playbook() -> Path:
    """ansible/site.yml once it exists; until then the harness's own fixture play.

    MLPLAT_TEST_PLAYBOOK overrides both (e.g. to try a single role's play).
    """
    override = os.environ.get("MLPLAT_TEST_PLAYBOOK")
    if override:
        return Path(override).resolve()
    return SITE_PLAYBOOK if SITE_PLAYBOOK.exists() else FIXTURE_PLAYBOOK


class ConvergedSite(NamedTuple):
    inventory: Path
    hosts: list[harness.Host]
    result: harness.PlaybookResult

    def host(self, name: str) -> harness.Host:
        return next(h for h in self.hosts if h.name == name)


@pytest.fixture(scope="session")
def host_pool(request: pytest.FixtureRequest) -> Iterator[harness.HostPool]:
    harness.require_or_skip()
    pool = harness.HostPool()
    request.addfinalizer(pool.close)
    yield pool


@pytest.fixture(scope="session")
def host_factory(host_pool: harness.HostPool) -> Callable[..., list[harness.Host]]:
    def boot(names: list[str], flavor: str = "base", **kwargs: Any) -> list[harness.Host]:
        return host_pool.boot(names, flavor, **kwargs)

    return boot


@pytest.fixture(scope="session")
def site_groups() -> dict[str, list[str]]:
    return {g: list(m) for g, m in SITE_GROUPS.items()}


@pytest.fixture(scope="session")
def converged_site(
    host_pool: harness.HostPool,
    host_factory: Callable[..., list[harness.Host]],
    site_groups: dict[str, list[str]],
) -> Iterator[ConvergedSite]:
    names = [n for members in site_groups.values() for n in members]
    hosts = host_factory(names)
    inventory = harness.write_inventory(
        hosts, site_groups, host_pool.run_dir / "site-inventory.yml"
    )
    result = harness.run_playbook(inventory, site_playbook(), "--diff")
    if not result.ok:
        pytest.fail(
            f"first converge of {site_playbook().relative_to(REPO)} failed: {result.summary()}\n"
            f"{result.tail(80)}",
            pytrace=False,
        )
    yield ConvergedSite(inventory, hosts, result)
