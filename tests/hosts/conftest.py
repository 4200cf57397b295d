"""Fixtures of the real-host tests that know this repository's site.

``host_pool`` and ``host_factory`` come from the mlplat.testing.hosts pytest plugin (one pool
per session, shared with tests/cloudinit). Here:

- ``site_groups`` (session): the inventory groups of the site converge.
- ``converged_site`` (session): three hosts (gpu1 in gpu_hosts, cpu1 and cpu2 in cpu_hosts)
  converged once with ansible/site.yml; yields ``hosts_site.ConvergedSite(inventory, hosts,
  result)``.

Every test collected under tests/hosts gets the ``hosts`` marker.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hosts_site import HERE, SITE_GROUPS, ConvergedSite, site_playbook, write_site_inventory

from mlplat.core.paths import REPO_ROOT
from mlplat.testing.hosts import HostPool, run_playbook
from mlplat.testing.hosts.plugin import HostFactory


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.hosts)


@pytest.fixture(scope="session")
def site_groups() -> dict[str, list[str]]:
    return {g: list(m) for g, m in SITE_GROUPS.items()}


@pytest.fixture(scope="session")
def converged_site(
    host_pool: HostPool, host_factory: HostFactory, site_groups: dict[str, list[str]]
) -> Iterator[ConvergedSite]:
    names = [n for members in site_groups.values() for n in members]
    hosts = host_factory(names)
    inventory = write_site_inventory(hosts, site_groups, host_pool.run_dir / "site-inventory.yml")
    result = run_playbook(inventory, site_playbook(), "--diff")
    if not result.ok:
        pytest.fail(
            f"first converge of {site_playbook().relative_to(REPO_ROOT)} failed: "
            f"{result.summary()}\n{result.tail(80)}",
            pytrace=False,
        )
    yield ConvergedSite(inventory, hosts, result)
