"""Ansible inventories for booted hosts, and testinfra hosts built from them."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlplat.testing.hosts.util import put_venv_on_path

if TYPE_CHECKING:
    from mlplat.testing.hosts.pool import Host


def load_vars_dir(vars_dir: Path) -> dict[str, Any]:
    """Merge every ``*.yml``/``*.yaml`` mapping of a directory; the same key twice is an error.

    One file per role keeps test variables reviewable beside the role they configure, and the
    error keeps two files from silently overriding each other.
    """
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for f in sorted(vars_dir.glob("*.yml")) + sorted(vars_dir.glob("*.yaml")):
        data = yaml.safe_load(f.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{f}: test vars must be a mapping, got {type(data).__name__}")
        for k, v in data.items():
            if k in merged:
                raise ValueError(f"test variable {k!r} is set in both {origin[k]} and {f.name}")
            merged[k] = v
            origin[k] = f.name
    return merged


def write_inventory(
    hosts: Iterable[Host],
    groups: Mapping[str, Iterable[str]],
    path: Path | str,
    extra_vars: Mapping[str, Any] | None = None,
) -> Path:
    """Write a YAML inventory for booted hosts of one pool.

    ``all`` gets the pool's connection variables (root, the run's key, ControlMaster, no host
    key checking for these throwaway hosts), ``mlplat_test_monitoring_cidr`` (the subnet this
    machine's side of the veths uses), ``mlplat_test_controller_address`` (this machine as the
    hosts see it), then ``extra_vars``; every host gets ``ansible_host`` and
    ``mlplat_test_address``.
    """
    hosts = list(hosts)
    if not hosts:
        raise ValueError("write_inventory needs at least one host")
    pool = hosts[0].pool
    by_name = {h.name: h for h in hosts}
    for group, members in groups.items():
        unknown = set(members) - set(by_name)
        if unknown:
            raise ValueError(f"group {group!r} names unknown hosts {sorted(unknown)}")
    all_vars: dict[str, Any] = {
        **pool.connection_vars(),
        "mlplat_test_monitoring_cidr": pool.monitoring_cidr,
        "mlplat_test_controller_address": pool.controller_address,
    }
    all_vars.update(extra_vars or {})
    inventory = {
        "all": {
            "vars": all_vars,
            "hosts": {
                h.name: {"ansible_host": h.address, "mlplat_test_address": h.address} for h in hosts
            },
            "children": {g: {"hosts": {m: None for m in members}} for g, members in groups.items()},
        }
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def connect_testinfra(inventory: Path | str) -> dict[str, Any]:
    """testinfra hosts for every host of an inventory (its ansible backend, so SSH)."""
    import testinfra

    # testinfra's ansible backend shells out to `ansible-inventory`; when pytest is
    # started as .venv/bin/pytest without an activated venv that is not on PATH.
    os.environ["PATH"] = put_venv_on_path(os.environ.get("PATH", ""))
    data = yaml.safe_load(Path(inventory).read_text())
    names = list((data.get("all", {}).get("hosts") or {}).keys())
    return {n: testinfra.get_host(f"ansible://{n}?ansible_inventory={inventory}") for n in names}
