"""node_exporter on the converged site: hardened unit, /metrics, and the port filter for real."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import time
import urllib.request

import pytest
from hosts_site import ConvergedSite

from mlplat.testing.hosts import Host, connect_testinfra

pytestmark = pytest.mark.hosts

UNIT = "prometheus-node-exporter"
FIREWALL_UNIT = f"mlplat-firewall-{UNIT}"
TABLE = "mlplat_prometheus_node_exporter"
PORT = 9100  # role default; tests/hosts/vars/node_exporter.yml does not change it


@pytest.fixture(scope="module")
def site(converged_site: ConvergedSite) -> ConvergedSite:
    return converged_site


@pytest.fixture(scope="module")
def infra(site: ConvergedSite) -> dict:
    return connect_testinfra(site.inventory)


def _show(host: Host, unit: str, *props: str) -> dict[str, str]:
    out = host.exec(["systemctl", "show", "-p", ",".join(props), unit], check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _drop_packets(host: Host) -> int:
    """Packets counted by the table's final drop rule."""
    out = host.exec(["nft", "-j", "list", "chain", "inet", TABLE, "input"], check=True).stdout
    for entry in json.loads(out)["nftables"]:
        rule = entry.get("rule")
        if rule and any("drop" in e for e in rule["expr"]):
            return next(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)
    raise AssertionError(f"no drop rule in table inet {TABLE}: {out}")


def test_exporter_and_firewall_units_active_and_enabled(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        for unit in (UNIT, FIREWALL_UNIT):
            svc = infra[h.name].service(unit)
            assert svc.is_running, f"{h.name}: {unit} is not running"
            assert svc.is_enabled, f"{h.name}: {unit} is not enabled"


def test_listens_on_configured_port(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        assert infra[h.name].socket(f"tcp://0.0.0.0:{PORT}").is_listening, h.name


def test_runs_our_hardened_unit_not_the_packaged_one(site: ConvergedSite) -> None:
    for h in site.hosts:
        props = _show(
            h,
            UNIT,
            "FragmentPath",
            "User",
            "NoNewPrivileges",
            "ProtectSystem",
            "ProtectHome",
            "PrivateTmp",
            "PrivateDevices",
            "ProtectKernelTunables",
            "ProtectKernelModules",
            "ProtectControlGroups",
            "CapabilityBoundingSet",
            "RestrictAddressFamilies",
            "RestrictNamespaces",
            "MemoryDenyWriteExecute",
            "SystemCallArchitectures",
            "Requires",
        )
        assert props["FragmentPath"] == f"/etc/systemd/system/{UNIT}.service", props
        assert props["User"] == "prometheus"
        for key in (
            "NoNewPrivileges",
            "ProtectHome",
            "PrivateTmp",
            "PrivateDevices",
            "ProtectKernelTunables",
            "ProtectKernelModules",
            "ProtectControlGroups",
            "MemoryDenyWriteExecute",
        ):
            assert props[key] == "yes", f"{h.name}: {key}={props[key]}"
        assert props["ProtectSystem"] == "strict"
        assert props["CapabilityBoundingSet"] == "", props["CapabilityBoundingSet"]
        assert set(props["RestrictAddressFamilies"].split()) == {
            "AF_UNIX",
            "AF_INET",
            "AF_INET6",
            "AF_NETLINK",
        }
        assert props["SystemCallArchitectures"] == "native"
        # Fail closed: the exporter needs its port filter loaded.
        assert f"{FIREWALL_UNIT}.service" in props["Requires"].split()


def test_hardening_is_effective_on_the_running_process(site: ConvergedSite) -> None:
    """What the kernel enforces on the live process, not just what the unit says."""
    for h in site.hosts:
        pid = _show(h, UNIT, "MainPID")["MainPID"]
        assert pid not in ("", "0"), f"{h.name}: no main PID"
        status = h.exec(["cat", f"/proc/{pid}/status"], check=True).stdout
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        assert fields["NoNewPrivs"].strip() == "1"
        assert int(fields["CapBnd"].strip(), 16) == 0, fields["CapBnd"]
        assert int(fields["CapEff"].strip(), 16) == 0, fields["CapEff"]
        assert fields["Seccomp"].strip() == "2"  # filter mode
        # ProtectSystem=strict: /usr and /etc are read-only in the unit's mount namespace.
        mounts = h.exec(["cat", f"/proc/{pid}/mounts"], check=True).stdout
        ro = {line.split()[1] for line in mounts.splitlines() if " ro," in f" {line.split()[3]},"}
        assert "/usr" in ro or "/" in ro, f"{h.name}: / and /usr writable for the exporter"


def test_serves_metrics_inside_the_host(site: ConvergedSite) -> None:
    fetch = (
        "import urllib.request;"
        f"print(urllib.request.urlopen('http://127.0.0.1:{PORT}/metrics', timeout=5)"
        ".read().decode())"
    )
    for h in site.hosts:
        body = h.exec(["python3", "-c", fetch], check=True).stdout
        assert "node_exporter_build_info" in body
        # The systemd collector (enabled in tests/hosts/vars) works through the sandbox.
        assert 'node_scrape_collector_success{collector="systemd"} 1' in body, h.name
        assert 'node_systemd_unit_state{name="ssh.service"' in body


def test_nft_table_allows_only_the_monitoring_source(site: ConvergedSite) -> None:
    monitor = site.hosts[0].pool.controller_address
    for h in site.hosts:
        table = json.loads(
            h.exec(["nft", "-j", "list", "table", "inet", TABLE], check=True).stdout
        )["nftables"]
        sets = {e["set"]["name"]: e["set"] for e in table if "set" in e}
        assert sets["monitoring_v4"].get("elem") == [monitor], sets["monitoring_v4"]
        assert not sets["monitoring_v6"].get("elem")
        chain = next(e["chain"] for e in table if "chain" in e)
        assert (chain["hook"], chain["policy"]) == ("input", "accept")
        rules = [e["rule"] for e in table if "rule" in e]
        assert any("drop" in e for e in rules[-1]["expr"]), "last rule must drop the port"
        # Only our table was added: the host's other tables are not ours to touch.
        tables = h.exec(["nft", "list", "tables"], check=True).stdout
        assert f"table inet {TABLE}" in tables


def test_monitoring_source_can_scrape_from_outside(site: ConvergedSite) -> None:
    for h in site.hosts:
        with urllib.request.urlopen(f"http://{h.address}:{PORT}/metrics", timeout=5) as r:
            assert r.status == 200
            assert b"node_exporter_build_info" in r.read()


def _connect(source: str, dest: str, port: int, timeout: float = 3.0) -> bool:
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.bind((source, 0))
        s.connect((dest, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_other_sources_are_dropped(site: ConvergedSite) -> None:
    """A second address of this machine, in the hosts' own /24 (so it is routable and
    reaches SSH), must not reach the exporter port, and the drop rule must count it."""
    h = site.hosts[0]
    assert h.net is not None
    network = ipaddress.ip_network(h.pool.monitoring_cidr)
    stranger = str(network.network_address + 250)
    subprocess.run(["ip", "addr", "add", f"{stranger}/32", "dev", h.net.host_if], check=True)
    try:
        before = _drop_packets(h)
        assert _connect(stranger, h.address, 22), "control failed: stranger cannot reach SSH"
        assert not _connect(stranger, h.address, PORT), "stranger reached the exporter port"
        assert _drop_packets(h) > before, "the drop rule did not see the stranger's SYN"
        assert _connect(h.pool.controller_address, h.address, PORT)
    finally:
        subprocess.run(["ip", "addr", "del", f"{stranger}/32", "dev", h.net.host_if], check=False)


def test_table_survives_an_nftables_service_restart(site: ConvergedSite) -> None:
    """nftables.service flushes the whole ruleset; our unit is PartOf it and comes back."""
    h = site.hosts[-1]
    try:
        h.exec(["systemctl", "restart", "nftables.service"], check=True)
        time.sleep(1)
        assert h.exec(["nft", "list", "table", "inet", TABLE]).returncode == 0
        assert h.exec(["systemctl", "is-active", UNIT]).stdout.strip() == "active"
    finally:
        # Back to the converged state: nftables.service is not enabled by the roles.
        h.exec(["systemctl", "stop", "nftables.service"])
        h.exec(["systemctl", "start", f"{UNIT}.service"], check=True)
    assert h.exec(["nft", "list", "table", "inet", TABLE]).returncode == 0
    assert h.exec(["systemctl", "is-active", UNIT]).stdout.strip() == "active"
