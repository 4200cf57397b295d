"""hardening role on the converged site: sshd for real, sysctls, auditd decision, files."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from hosts_site import ROLES_DIR, ConvergedSite, role_test_vars

from mlplat.testing.hosts import Host, connect_testinfra

pytestmark = pytest.mark.hosts

ROLE = ROLES_DIR / "hardening"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
TEST_VARS = role_test_vars("hardening")


@pytest.fixture(scope="module")
def site(converged_site: ConvergedSite) -> ConvergedSite:
    return converged_site


@pytest.fixture(scope="module")
def infra(site: ConvergedSite) -> dict:
    return connect_testinfra(site.inventory)


@pytest.fixture(scope="module")
def conn(site: ConvergedSite) -> dict:
    return yaml.safe_load(site.inventory.read_text())["all"]["vars"]


def _sshd_t(host: Host) -> dict[str, str]:
    out = host.exec(["sshd", "-T"], check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def _ssh(conn: dict, address: str, *options: str) -> subprocess.CompletedProcess[str]:
    """A fresh SSH connection (no ControlMaster) from this machine to a test host."""
    argv = [
        "ssh",
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "ControlMaster=no",
        "-o",
        "ControlPath=none",
        "-i",
        conn["ansible_ssh_private_key_file"],
        *options,
        f"root@{address}",
        "true",
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_sshd_effective_settings(site: ConvergedSite) -> None:
    # sshd -T spells prohibit-password as its older alias.
    expected_root = {"prohibit-password": "without-password"}.get(
        TEST_VARS["hardening_ssh_permit_root_login"], TEST_VARS["hardening_ssh_permit_root_login"]
    )
    for h in site.hosts:
        eff = _sshd_t(h)
        assert eff["permitrootlogin"] == expected_root, h.name
        assert eff["passwordauthentication"] == "no"
        assert eff["kbdinteractiveauthentication"] == "no"
        assert eff["pubkeyauthentication"] == "yes"
        assert eff["permitemptypasswords"] == "no"
        assert eff["authenticationmethods"] == "publickey"
        assert eff["x11forwarding"] == "no"
        assert eff["allowagentforwarding"] == "no"
        assert eff["allowtcpforwarding"] == "no"
        assert eff["maxauthtries"] == str(DEFAULTS["hardening_ssh_max_auth_tries"])
        assert eff["ciphers"].split(",") == DEFAULTS["hardening_ssh_ciphers"]
        assert eff["macs"].split(",") == DEFAULTS["hardening_ssh_macs"]
        assert eff["kexalgorithms"].split(",") == DEFAULTS["hardening_ssh_kex_algorithms"]


def test_sshd_running_and_config_file(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        svc = infra[h.name].service("ssh")
        assert svc.is_running and svc.is_enabled, h.name
        cfg = infra[h.name].file("/etc/ssh/sshd_config")
        assert (cfg.user, cfg.group, cfg.mode) == ("root", "root", 0o600), h.name
        assert "Include" not in cfg.content_string


def test_ssh_refuses_weak_cipher_and_passwords(site: ConvergedSite, conn: dict) -> None:
    address = site.hosts[0].address
    # Control: the same client with its default algorithms gets in with the key.
    ok = _ssh(conn, address)
    assert ok.returncode == 0, f"control login failed: {ok.stderr}"
    weak = _ssh(conn, address, "-o", "Ciphers=aes128-cbc")
    assert weak.returncode != 0
    assert "no matching cipher" in weak.stderr, weak.stderr
    weak_mac = _ssh(conn, address, "-o", "MACs=hmac-sha1", "-o", "Ciphers=aes128-ctr")
    assert weak_mac.returncode != 0 and "no matching MAC" in weak_mac.stderr, weak_mac.stderr
    # Password login: the server offers no method but publickey.
    pw = _ssh(
        conn,
        address,
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password,keyboard-interactive",
    )
    assert pw.returncode != 0
    assert "Permission denied (publickey)" in pw.stderr, pw.stderr


def test_network_sysctls_applied_and_all_persisted(site: ConvergedSite, infra: dict) -> None:
    wanted = DEFAULTS["hardening_sysctls"]
    for h in site.hosts:
        persisted = infra[h.name].file("/etc/sysctl.d/60-mlplat-hardening.conf").content_string
        for key, value in wanted.items():
            assert f"{key} = {value}\n" in persisted, f"{h.name}: {key} not persisted"
        # net.* is per network namespace and writable in the test hosts: the values are live.
        for key, value in wanted.items():
            if key.startswith("net."):
                assert infra[h.name].sysctl(key) == value, f"{h.name}: {key}"


def test_auditd_matches_what_the_host_can_do(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        rules = infra[h.name].file("/etc/audit/rules.d/50-mlplat.rules")
        assert rules.mode == 0o640 and rules.user == "root"
        assert "-w /etc/sudoers -p wa -k privilege" in rules.content_string
        can_audit = h.exec(["auditctl", "-s"]).returncode == 0
        svc = infra[h.name].service("auditd")
        if can_audit:
            assert svc.is_running and svc.is_enabled, h.name
        else:
            # A container cannot control kernel auditing: stopped, disabled, and not failed.
            assert not svc.is_running and not svc.is_enabled, h.name
            state = h.exec(["systemctl", "is-failed", "auditd"]).stdout.strip()
            assert state != "failed", f"{h.name}: auditd left in failed state"
