"""What the host tests know about this repository's site: playbook, groups, test variables.

Imported by the tests of this directory (``import hosts_site``; pytest puts the directory of
a test module on ``sys.path``); the generic machinery is :mod:`mlplat.testing.hosts`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from mlplat.core.paths import ANSIBLE_DIR, TESTS_DIR
from mlplat.testing.hosts import Host, PlaybookResult, load_vars_dir, write_inventory

HERE = TESTS_DIR / "hosts"
ROLES_DIR = ANSIBLE_DIR / "roles"
SITE_PLAYBOOK = ANSIBLE_DIR / "site.yml"
FIXTURE_PLAYBOOK = HERE / "fixtures" / "site.yml"
#: Per-role variables for the throwaway hosts, merged into every inventory the tests write.
VARS_DIR = HERE / "vars"
SITE_GROUPS: dict[str, list[str]] = {"gpu_hosts": ["gpu1"], "cpu_hosts": ["cpu1", "cpu2"]}


def site_playbook() -> Path:
    """ansible/site.yml once it exists; until then the harness's own fixture play.

    MLPLAT_TEST_PLAYBOOK overrides both (e.g. to try a single role's play).
    """
    override = os.environ.get("MLPLAT_TEST_PLAYBOOK")
    if override:
        return Path(override).resolve()
    return SITE_PLAYBOOK if SITE_PLAYBOOK.exists() else FIXTURE_PLAYBOOK


def role_test_vars(role: str) -> dict[str, Any]:
    """The variables tests/hosts/vars/<role>.yml gives one role on the test hosts."""
    data = yaml.safe_load((VARS_DIR / f"{role}.yml").read_text())
    assert isinstance(data, dict), f"{VARS_DIR / role}.yml is not a mapping"
    return data


def write_site_inventory(
    hosts: Iterable[Host],
    groups: Mapping[str, Iterable[str]],
    path: Path | str,
    extra_vars: Mapping[str, Any] | None = None,
) -> Path:
    """An inventory for booted hosts carrying every tests/hosts/vars/*.yml (then extra_vars)."""
    return write_inventory(hosts, groups, path, {**load_vars_dir(VARS_DIR), **(extra_vars or {})})


class ConvergedSite(NamedTuple):
    """Three hosts converged once with the site playbook (the ``converged_site`` fixture)."""

    inventory: Path
    hosts: list[Host]
    result: PlaybookResult

    def host(self, name: str) -> Host:
        return next(h for h in self.hosts if h.name == name)


# The NFS share the site converge stages (state: present; its server does not exist).
STAGED_NFS_MOUNT: dict[str, str] = role_test_vars("storage")["storage_nfs_mounts"][0]
