"""systemd units on converged hosts: what the roles enable, and what fstab generates.

The reboot scenario must not carry its own list of services: when a role starts enabling a
unit, the test covers it. Unit names in tasks are often templated
(``"{{ _hardening_ssh_service }}"``), so simple ``{{ var }}`` references are resolved from
every role's defaults/vars and from the ``vars:`` of ``include_role`` tasks. A variable set in
several places yields every candidate; the host decides which of them it actually has enabled.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from mlplat.testing.hosts import Host

SERVICE_MODULES = {
    "ansible.builtin.systemd_service",
    "ansible.builtin.systemd",
    "ansible.builtin.service",
    "systemd_service",
    "systemd",
    "service",
}
_REF = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def _yaml_files(role: Path, sub: str) -> list[Path]:
    d = role / sub
    return sorted(d.rglob("*.yml")) + sorted(d.rglob("*.yaml")) if d.is_dir() else []


def walk_tasks(node: Any) -> list[dict[str, Any]]:
    """Every task of a task list (or task), blocks, rescues and always flattened."""
    out: list[dict[str, Any]] = []
    if isinstance(node, list):
        for item in node:
            out += walk_tasks(item)
    elif isinstance(node, dict):
        out.append(node)
        for key in ("block", "rescue", "always"):
            if key in node:
                out += walk_tasks(node[key])
    return out


def _collect(roles_dir: Path) -> tuple[dict[str, set[str]], list[str]]:
    values: dict[str, set[str]] = defaultdict(set)
    names: list[str] = []
    for role in sorted(p for p in roles_dir.iterdir() if p.is_dir()):
        for f in _yaml_files(role, "defaults") + _yaml_files(role, "vars"):
            data = yaml.safe_load(f.read_text()) or {}
            if isinstance(data, dict):
                for k, v in data.items():
                    if isinstance(v, str | int):
                        values[k].add(str(v))
        for f in _yaml_files(role, "tasks") + _yaml_files(role, "handlers"):
            for task in walk_tasks(yaml.safe_load(f.read_text()) or []):
                for k, v in (task.get("vars") or {}).items():
                    if isinstance(v, str | int):
                        values[k].add(str(v))
                for module in SERVICE_MODULES & set(task):
                    args = task[module]
                    if not isinstance(args, dict) or "name" not in args:
                        continue
                    enabled = args.get("enabled")
                    if enabled is False or str(enabled).lower() in ("false", "no"):
                        continue
                    if enabled is None and args.get("state") not in ("started", "restarted"):
                        continue
                    names.append(str(args["name"]))
    return values, names


def _resolve(template: str, values: dict[str, set[str]], depth: int = 5) -> set[str]:
    m = _REF.search(template)
    if m is None:
        return {template}
    if depth == 0 or m[1] not in values:
        return set()
    out: set[str] = set()
    for v in values[m[1]]:
        out |= _resolve(template[: m.start()] + v + template[m.end() :], values, depth - 1)
    return out


def role_enabled_units(roles_dir: Path) -> set[str]:
    """Every unit name some role task enables or starts (``.service`` added if bare)."""
    if not roles_dir.is_dir():
        return set()
    values, names = _collect(roles_dir)
    units: set[str] = set()
    for name in names:
        for unit in _resolve(name, values):
            if "{{" in unit or "{%" in unit:
                continue
            units.add(unit if "." in unit else unit + ".service")
    return units


def unit_for_path(host: Host, path: str, suffix: str) -> str:
    """The unit name systemd's fstab generator gives `path` (e.g. mnt-datasets.automount)."""
    escaped = host.exec(["systemd-escape", "--path", f"--suffix={suffix}", path], check=True)
    return escaped.stdout.strip()


def unit_property(host: Host, unit: str, prop: str) -> str:
    """One property of one unit (one query per unit: a batched query drops rejected units)."""
    return host.exec(["systemctl", "show", "-p", prop, "--value", unit]).stdout.strip()
