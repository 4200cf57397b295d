"""The harness proves itself: isolation, apt through the relay, overlays, reboot."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator

import pytest
from hosts_site import VARS_DIR, write_site_inventory

from mlplat.testing.hosts import (
    Host,
    HostPool,
    connect_testinfra,
    diff_fingerprints,
    fingerprint,
    load_vars_dir,
    plugin,
    require_or_skip,
    run_playbook,
)

pytestmark = pytest.mark.hosts


@pytest.fixture(scope="module")
def pair(host_factory: Callable[..., list[Host]], host_pool: HostPool) -> Iterator[list[Host]]:
    hosts = host_factory(["hx1", "hx2"])
    yield hosts
    for host in hosts:  # free the machine for the converge scenarios that follow
        host_pool.destroy(host)


def test_hosts_boot_with_own_identity(pair: list[Host]) -> None:
    a, b = pair
    assert a.exec("hostname", check=True).stdout.strip() == "hx1"
    assert a.exec("systemctl is-system-running").stdout.strip() in ("running", "degraded")
    assert a.address != b.address
    keys = [h.exec("cat /etc/ssh/ssh_host_ed25519_key.pub", check=True).stdout for h in pair]
    assert keys[0] != keys[1], "hosts must get their own SSH host keys"
    ids = [h.exec("cat /etc/machine-id", check=True).stdout.strip() for h in pair]
    assert ids[0] and ids[0] != ids[1], "each host must get its own machine-id at first boot"


def test_no_route_out(pair: list[Host]) -> None:
    host = pair[0]
    assert "default" not in host.exec("ip route", check=True).stdout
    # 192.0.2.1 is this machine's own upstream gateway: a host must not reach it.
    probe = (
        "python3 -c 'import socket,sys\n"
        "s=socket.socket(); s.settimeout(3)\n"
        'try:\n s.connect(("192.0.2.1", 80))\nexcept OSError as e:\n'
        " print(e.errno); sys.exit(0)\nsys.exit(1)'"
    )
    res = host.exec(probe)
    assert res.returncode == 0, "a connection out of the test network succeeded"
    assert res.stdout.strip() == "101", f"expected ENETUNREACH (fast fail), got {res.stdout}"


# Connects to ADDRESS:PORT from inside a host and prints how it ended: "connected",
# "errno <n>" or "timeout". The timeout outlasts ARP's resolution attempts (3 x 1 s), so
# an address nobody answers for on the link ends in EHOSTUNREACH, not in "timeout".
TCP_PROBE = """
import socket, sys
s = socket.socket()
s.settimeout(8)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except socket.timeout:
    print("timeout")
except OSError as e:
    print(f"errno {e.errno}")
else:
    print("connected")
"""
EHOSTUNREACH = 113
# How apt reports a mirror it has no path to (no DNS in hosts; no route if it is an address).
UNREACHABLE_APT = r"Temporary failure resolving|Network is unreachable|No route to host"


def _tcp_probe(host: Host, address: str, port: int = 22) -> str:
    res = host.exec(["python3", "-c", TCP_PROBE, address, str(port)], timeout=30)
    assert res.returncode == 0, f"the probe itself failed on {host.name}: {res.stderr}"
    return res.stdout.strip()


def test_hosts_cannot_reach_each_other(pair: list[Host]) -> None:
    a, b = pair
    # Controls: b's sshd answers this machine, and the probe run in a reaches a's own sshd
    # by its address; so what fails below fails for want of a path, not of a listener.
    with socket.create_connection((b.address, 22), timeout=5) as s:
        assert s.recv(4) == b"SSH-", f"{b.name}'s sshd does not answer this machine"
    assert _tcp_probe(a, a.address) == "connected"
    # a and b share a /24 on paper, but each eth0 only links to this machine, which
    # neither answers ARP for the other host nor forwards between them.
    assert _tcp_probe(a, b.address) == f"errno {EHOSTUNREACH}", "hosts must not reach each other"
    assert _tcp_probe(b, a.address) == f"errno {EHOSTUNREACH}", "hosts must not reach each other"


def test_controller_reaches_ssh(pair: list[Host], tmp_path) -> None:
    inv = write_site_inventory(pair, {"cpu_hosts": ["hx1", "hx2"]}, tmp_path / "inv.yml")
    hosts = connect_testinfra(inv)
    assert hosts["hx2"].check_output("hostname") == "hx2"
    assert hosts["hx1"].service("ssh").is_running


def test_apt_installs_through_the_relay(pair: list[Host]) -> None:
    host = pair[0]
    res = host.exec(
        "apt-get update -q && apt-get install -y -q --no-install-recommends tree", timeout=300
    )
    assert res.returncode == 0, res.stdout[-1500:] + res.stderr[-1500:]
    assert host.exec("tree -L 1 /etc/apt", check=True).stdout.count("apt.conf.d")
    # Without the relay the same request has nowhere to go.
    direct = host.exec(
        "apt-get -o Acquire::http::Proxy=false -o Acquire::Retries=0 update -q", timeout=60
    )
    # apt-get update exits 0 even when every source failed: read what it says instead.
    out = direct.stdout + direct.stderr
    assert not re.search(r"^(Hit|Get):", direct.stdout, re.M), f"a source answered:\n{out}"
    assert "Failed to fetch" in out, out[-1500:]
    # ...failing for want of a network path, not for some other apt error.
    assert re.search(UNREACHABLE_APT, out), out[-1500:]


def test_overlay_isolation(pair: list[Host]) -> None:
    a, b = pair
    a.exec("echo only-a > /etc/mlplat-overlay-probe", check=True)
    # `test -e` exits 1 for "absent"; anything else (2, nsenter's own errors) is no answer.
    assert a.exec("test -e /etc/mlplat-overlay-probe").returncode == 0
    assert b.exec("test -e /etc/mlplat-overlay-probe").returncode == 1
    assert not (a.rootfs.lower / "etc/mlplat-overlay-probe").exists(), "lower dir was written"
    assert (a.root / "etc/mlplat-overlay-probe").read_text() == "only-a\n"


def test_reboot_keeps_root_and_restarts(pair: list[Host]) -> None:
    host = pair[1]
    host.exec("echo kept > /root/reboot-probe", check=True)
    boot_id = host.exec("cat /proc/sys/kernel/random/boot_id").stdout
    before = host.exec("systemctl show -p ExecMainStartTimestampMonotonic ssh").stdout
    old_leader = host.leader_pid
    host.reboot()
    assert host.leader_pid != old_leader
    assert host.exec("cat /root/reboot-probe", check=True).stdout == "kept\n"
    assert host.exec("systemctl is-active ssh").stdout.strip() == "active"
    # nspawn gives every container boot its own boot_id: a new one proves a real boot.
    assert host.exec("cat /proc/sys/kernel/random/boot_id").stdout != boot_id
    after = host.exec("systemctl show -p ExecMainStartTimestampMonotonic ssh").stdout
    assert before != after


def test_sysctls_net_writable_kernel_readonly(pair: list[Host]) -> None:
    host = pair[0]
    assert host.exec("sysctl -w net.ipv4.conf.all.rp_filter=1").returncode == 0
    before = host.exec("cat /proc/sys/kernel/kptr_restrict", check=True).stdout
    wanted = "2" if before.strip() != "2" else "1"
    res = host.exec(f"sysctl -w kernel.kptr_restrict={wanted}")
    assert res.returncode != 0 and "permission denied on key" in res.stderr, res.stderr
    assert host.exec("cat /proc/sys/kernel/kptr_restrict", check=True).stdout == before


def test_inventory_carries_test_vars(pair: list[Host], tmp_path) -> None:
    import yaml

    inv = write_site_inventory(
        pair, {"cpu_hosts": ["hx1"], "gpu_hosts": ["hx2"]}, tmp_path / "inv.yml"
    )
    data = yaml.safe_load(inv.read_text())["all"]
    cidr = data["vars"]["mlplat_test_monitoring_cidr"]
    import ipaddress

    net = ipaddress.ip_network(cidr)
    assert ipaddress.ip_address(pair[0].address) in net
    assert ipaddress.ip_address(data["vars"]["mlplat_test_controller_address"]) in net
    assert data["children"]["gpu_hosts"]["hosts"] == {"hx2": None}
    for key, value in load_vars_dir(VARS_DIR).items():
        assert data["vars"][key] == value


def test_playbook_recap_parsed(pair: list[Host], tmp_path) -> None:
    inv = write_site_inventory(pair, {"cpu_hosts": ["hx1", "hx2"]}, tmp_path / "inv.yml")
    play = tmp_path / "touch.yml"
    play.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.file: {path: /root/recap-probe, state: touch, "
        "modification_time: preserve, access_time: preserve}\n"
    )
    first = run_playbook(inv, play)
    assert first.ok, first.tail()
    assert first.recap["hx1"]["changed"] == 1 and first.recap["hx2"]["changed"] == 1
    second = run_playbook(inv, play)
    assert second.ok and second.changed() == 0, second.summary()


def test_fingerprint_sees_state_changes(pair: list[Host]) -> None:
    host = pair[0]
    before = fingerprint(host)
    assert diff_fingerprints(before, fingerprint(host)) == []
    host.exec("echo probe > /etc/mlplat-fingerprint-probe", check=True)
    host.exec("useradd --system mlplat-fp-probe", check=True)
    changes = diff_fingerprints(before, fingerprint(host))
    host.exec("rm /etc/mlplat-fingerprint-probe; userdel mlplat-fp-probe")
    assert any("/etc/mlplat-fingerprint-probe" in c for c in changes), changes
    assert any(c.startswith("users:") for c in changes), changes


def test_require_or_skip_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> str:
        return "no nspawn here"

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no nspawn here"):
        require_or_skip(broken)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI=true.*no nspawn here"):
        require_or_skip(broken)
    require_or_skip(lambda: None)  # usable: returns quietly


def test_plugin_is_registered_once_for_the_session(request: pytest.FixtureRequest) -> None:
    registered = request.config.pluginmanager.get_plugin("mlplat_hosts")
    assert registered is plugin, "the pytest11 entry point does not load the host plugin"


def test_plugin_marks_every_test_that_uses_the_pool() -> None:
    class FakeItem:
        def __init__(self, fixturenames: list[str]) -> None:
            self.fixturenames = fixturenames
            self.markers: list[str] = []

        def add_marker(self, marker: str) -> None:
            self.markers.append(marker)

    # converged_site reaches host_pool only through other fixtures: pytest's closure lists it.
    indirect = FakeItem(["converged_site", "host_factory", "host_pool"])
    unrelated = FakeItem(["tmp_path"])
    plugin.pytest_collection_modifyitems([indirect, unrelated])  # type: ignore[list-item]
    assert indirect.markers == ["hosts"]
    assert unrelated.markers == []
