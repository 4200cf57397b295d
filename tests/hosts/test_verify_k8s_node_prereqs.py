"""k8s_node_prereqs on the converged site: modules-load, sysctls, swap off in fstab, tools."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hosts_site import ROLES_DIR, STAGED_NFS_MOUNT, ConvergedSite
from hosts_units import unit_for_path, unit_property

from mlplat.testing.hosts import Host, connect_testinfra, run_playbook

pytestmark = pytest.mark.hosts

DEFAULTS = yaml.safe_load((ROLES_DIR / "k8s_node_prereqs" / "defaults" / "main.yml").read_text())
SWAP_LINE = "/swap.img none swap sw 0 0"


@pytest.fixture(scope="module")
def site(converged_site: ConvergedSite) -> ConvergedSite:
    return converged_site


@pytest.fixture(scope="module")
def infra(site: ConvergedSite) -> dict:
    return connect_testinfra(site.inventory)


def _active_swap_lines(host: Host) -> list[str]:
    text = host.exec(["cat", "/etc/fstab"], check=True).stdout
    return [
        ln
        for ln in text.splitlines()
        if not ln.lstrip().startswith("#") and len(ln.split()) > 2 and ln.split()[2] == "swap"
    ]


def test_modules_listed_for_boot(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        f = infra[h.name].file("/etc/modules-load.d/mlplat-k8s.conf")
        assert f.mode == 0o644
        listed = [ln for ln in f.content_string.splitlines() if ln and not ln.startswith("#")]
        assert listed == DEFAULTS["k8s_node_prereqs_kernel_modules"] == ["overlay", "br_netfilter"]


def test_sysctls(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        persisted = infra[h.name].file("/etc/sysctl.d/90-mlplat-k8s.conf").content_string
        for key, value in DEFAULTS["k8s_node_prereqs_sysctls"].items():
            assert f"{key} = {value}\n" in persisted
        # ip_forward is per network namespace: the live value proves the role applied it.
        assert infra[h.name].sysctl("net.ipv4.ip_forward") == 1, h.name
        if h.exec(["test", "-d", "/proc/sys/net/bridge"]).returncode == 0:
            assert infra[h.name].sysctl("net.bridge.bridge-nf-call-iptables") == 1


def test_node_tools_installed(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        for pkg in ("conntrack", "ipset", "socat"):
            assert infra[h.name].package(pkg).is_installed, f"{h.name}: {pkg}"


def test_no_swap_in_fstab(site: ConvergedSite) -> None:
    for h in site.hosts:
        assert _active_swap_lines(h) == [], h.name


def test_planted_swap_line_is_commented_out(site: ConvergedSite, tmp_path: Path) -> None:
    h = site.hosts[-1]
    h.exec(["sh", "-c", f"echo '{SWAP_LINE}' >> /etc/fstab"], check=True)
    try:
        assert _active_swap_lines(h)
        # systemd ignores fstab swap lines in a container, so the reload is observed
        # on another unit generated from fstab: the storage role's NFS automount.
        assert _needs_reload(h) == "yes", "probe unit does not notice fstab changes"
        play = tmp_path / "k8s.yml"
        play.write_text(
            yaml.safe_dump(
                [
                    {
                        "name": "Only k8s_node_prereqs",
                        "hosts": "all",
                        "become": True,
                        "roles": ["k8s_node_prereqs"],
                    }
                ]
            )
        )
        res = run_playbook(site.inventory, play, "-l", h.name)
        assert res.ok, res.tail()
        assert _active_swap_lines(h) == []
        fstab = h.exec(["cat", "/etc/fstab"], check=True).stdout
        assert f"# disabled by mlplat k8s_node_prereqs: {SWAP_LINE}" in fstab
        # The role reloaded systemd after editing fstab.
        assert _needs_reload(h) == "no"
    finally:
        # Leave fstab and systemd's view of it as the converge left them.
        h.exec(["sed", "-i", "/swap.img none swap/d", "/etc/fstab"])
        h.exec(["systemctl", "daemon-reload"])


def _needs_reload(h: Host) -> str:
    """NeedDaemonReload of a unit systemd generated from /etc/fstab."""
    unit = unit_for_path(h, STAGED_NFS_MOUNT["path"], "automount")
    return unit_property(h, unit, "NeedDaemonReload")
