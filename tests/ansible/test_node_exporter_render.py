"""node_exporter (and the shared internal_exporter role): rendered unit, firewall table and
firewall unit, with Ansible's own templating, against golden files and behavioural checks.

Also holds the small rendering helper the other render tests of the GPU/runtime/exporter
roles import: role variables are loaded the way Ansible layers them (defaults, vars, per-OS
vars, then include_role vars as written in the calling role's tasks) and templated lazily.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_helpers import ROLES_DIR

pytestmark = pytest.mark.unit

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("MLPLAT_UPDATE_GOLDEN") == "1"
FACTS = {
    "architecture": "x86_64",
    "kernel": "6.1.0-28-amd64",
    "distribution": "Debian",
    "distribution_major_version": "12",
    "distribution_version": "12.8",
}


def _trust(value: Any) -> Any:
    """Mark strings as templates (ansible-core 2.19 only templates trusted strings)."""
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [_trust(v) for v in value]
    if isinstance(value, dict):
        return {k: _trust(v) for k, v in value.items()}
    return value


def role_vars(role: str, *files: str, **overrides: Any) -> dict[str, Any]:
    """defaults/main.yml, vars/main.yml, then the named vars files of a role, then overrides."""
    out: dict[str, Any] = {}
    for rel in ("defaults/main.yml", "vars/main.yml", *files):
        path = ROLES_DIR / role / rel
        if path.exists():
            out.update(yaml.safe_load(path.read_text()) or {})
    out.update(overrides)
    return out


def include_vars_of(role: str, tasks_file: str, included: str) -> dict[str, Any]:
    """The vars: a role passes to include_role name=<included>, read from its tasks file."""
    tasks = yaml.safe_load((ROLES_DIR / role / "tasks" / tasks_file).read_text())
    for task in tasks:
        inc = task.get("ansible.builtin.include_role")
        if inc and inc.get("name") == included:
            return dict(task.get("vars") or {})
    raise AssertionError(f"{role}/tasks/{tasks_file} does not include_role {included}")


class Renderer:
    def __init__(self, variables: dict[str, Any], facts: dict[str, Any] | None = None) -> None:
        self.variables = {
            **variables,
            "ansible_facts": {**FACTS, **(facts or {})},
            "ansible_managed": "Ansible managed",
        }

    def _templar(self, extra: dict[str, Any] | None = None):
        from ansible.parsing.dataloader import DataLoader
        from ansible.template import Templar

        return Templar(loader=DataLoader(), variables=_trust({**self.variables, **(extra or {})}))

    def var(self, name: str) -> Any:
        from ansible.template import trust_as_template

        return self._templar().template(trust_as_template("{{ " + name + " }}"))

    def template(self, role: str, name: str, **extra: Any) -> str:
        from ansible.template import trust_as_template

        src = (ROLES_DIR / role / "templates" / name).read_text()
        return self._templar(extra).template(trust_as_template(src))


def check_golden(relpath: str, rendered: str) -> None:
    """Compare with tests/ansible/golden/<relpath>; MLPLAT_UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / relpath
    if UPDATE_GOLDEN or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered)
        if not UPDATE_GOLDEN:
            pytest.fail(f"golden file {path} was missing and has been written; review and commit")
    assert rendered == path.read_text(), (
        f"{relpath} differs from its golden file; if intended, rerun with MLPLAT_UPDATE_GOLDEN=1"
    )


def unit_settings(text: str) -> dict[str, list[str]]:
    """systemd unit -> {"Section.Key": [values...]} (keys may repeat)."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key}", []).append(value)
    return out


def exporter_renderer(role: str, tasks_file: str = "service.yml", **overrides: Any) -> Renderer:
    """Variables as internal_exporter sees them when included by an exporter role."""
    variables = role_vars(role, **overrides)
    variables.update(role_vars("internal_exporter"))
    variables.update(include_vars_of(role, tasks_file, "internal_exporter"))
    return Renderer(variables)


# -- node_exporter --------------------------------------------------------------------

CIDRS = {"node_exporter_monitoring_cidrs": ["10.20.0.0/24", "fd00:10::/64"]}


def test_unit_golden_and_hardening() -> None:
    r = exporter_renderer("node_exporter", **CIDRS)
    text = r.template("internal_exporter", "exporter.service.j2")
    check_golden("node_exporter/prometheus-node-exporter.service", text)
    s = unit_settings(text)
    assert s["Service.ExecStart"] == [
        "/usr/bin/prometheus-node-exporter --web.listen-address=0.0.0.0:9100 "
        "--collector.textfile.directory=/var/lib/prometheus/node-exporter"
    ]
    assert s["Service.User"] == ["prometheus"] and "Service.DynamicUser" not in s
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "RestrictSUIDSGID": "yes",
        "MemoryDenyWriteExecute": "yes",
    }.items():
        assert s[f"Service.{key}"] == [value], key
    assert s["Service.SystemCallFilter"] == ["@system-service", "~@privileged @resources"]
    assert "mlplat-firewall-prometheus-node-exporter.service" in s["Unit.Requires"][0].split()


def test_collectors_and_ipv6_listen_address() -> None:
    r = exporter_renderer(
        "node_exporter",
        node_exporter_listen_address="::",
        node_exporter_port=9200,
        node_exporter_collectors_enabled=["systemd", "processes"],
        node_exporter_collectors_disabled=["zfs"],
        node_exporter_extra_args=["--log.level=warn"],
    )
    argv = r.var("internal_exporter_exec_start")
    assert argv[1] == "--web.listen-address=[::]:9200"
    assert argv[3:] == [
        "--collector.systemd",
        "--collector.processes",
        "--no-collector.zfs",
        "--log.level=warn",
    ]


def test_nft_table_golden_and_rules() -> None:
    r = exporter_renderer("node_exporter", **CIDRS)
    text = r.template("internal_exporter", "exporter.nft.j2")
    check_golden("node_exporter/mlplat-prometheus-node-exporter.nft", text)
    assert "flush ruleset" not in text  # never the host's whole ruleset
    assert "delete table inet mlplat_prometheus_node_exporter" in text
    assert "elements = { 10.20.0.0/24 }" in text
    assert "elements = { fd00:10::/64 }" in text
    rules = [ln.strip() for ln in text.splitlines() if "dport 9100" in ln]
    assert rules[0] == 'iifname "lo" tcp dport 9100 accept'
    assert rules[-1] == "tcp dport 9100 counter drop", "the drop must come last"


def test_nft_table_without_sources_fails_closed() -> None:
    r = exporter_renderer("node_exporter", node_exporter_firewall_allow_loopback=False)
    text = r.template("internal_exporter", "exporter.nft.j2")
    # An empty "elements = { }" is a syntax error for nft: the line must be absent.
    assert "elements" not in text
    assert "accept" in text and 'iifname "lo"' not in text
    assert text.rstrip().splitlines()[-3].strip() == "tcp dport 9100 counter drop"


def test_firewall_unit_follows_nftables_service() -> None:
    r = exporter_renderer("node_exporter", **CIDRS)
    text = r.template("internal_exporter", "firewall.service.j2")
    check_golden("node_exporter/mlplat-firewall-prometheus-node-exporter.service", text)
    s = unit_settings(text)
    assert s["Unit.PartOf"] == ["nftables.service"]
    assert s["Unit.ReloadPropagatedFrom"] == ["nftables.service"]
    assert s["Unit.Before"] == ["prometheus-node-exporter.service"]
    assert s["Service.ExecStart"] == [
        "/usr/sbin/nft -f /etc/nftables.d/mlplat-prometheus-node-exporter.nft"
    ]
    assert s["Service.ExecStop"] == [
        "-/usr/sbin/nft delete table inet mlplat_prometheus_node_exporter"
    ]


def test_firewall_disabled_drops_the_requirement() -> None:
    r = exporter_renderer("node_exporter", node_exporter_firewall_enabled=False)
    s = unit_settings(r.template("internal_exporter", "exporter.service.j2"))
    assert "Unit.Requires" not in s


def test_argument_specs_match_defaults() -> None:
    """meta/argument_specs.yml is the source of truth: every default there equals defaults/."""
    for role in ("node_exporter", "internal_exporter"):
        specs = yaml.safe_load((ROLES_DIR / role / "meta/argument_specs.yml").read_text())
        options = specs["argument_specs"]["main"]["options"]
        defaults = yaml.safe_load((ROLES_DIR / role / "defaults/main.yml").read_text())
        for name, spec in options.items():
            if "default" in spec:
                assert defaults.get(name) == spec["default"], f"{role}: {name}"
        assert set(defaults) <= set(options), f"{role}: undocumented defaults"
