"""base role on the converged site: chrony, timezone, journald, security-only upgrades."""

from __future__ import annotations

import pytest
import yaml
from hosts_site import ROLES_DIR, ConvergedSite, role_test_vars

from mlplat.testing.hosts import connect_testinfra

pytestmark = pytest.mark.hosts

ROLE = ROLES_DIR / "base"
TEST_VARS = role_test_vars("base")
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())

# Asks unattended-upgrade's own code which origins it would upgrade from.
ALLOWED_ORIGINS = """
import importlib.machinery, importlib.util, apt_pkg
loader = importlib.machinery.SourceFileLoader("uu", "/usr/bin/unattended-upgrade")
spec = importlib.util.spec_from_loader("uu", loader)
uu = importlib.util.module_from_spec(spec)
loader.exec_module(uu)
apt_pkg.init_config()
apt_pkg.init_system()
print("\\n".join(uu.get_allowed_origins()))
"""


@pytest.fixture(scope="module")
def site(converged_site: ConvergedSite) -> ConvergedSite:
    return converged_site


@pytest.fixture(scope="module")
def infra(site: ConvergedSite) -> dict:
    return connect_testinfra(site.inventory)


def test_packages_installed(site: ConvergedSite, infra: dict) -> None:
    wanted = ["chrony", "tzdata", "unattended-upgrades", *DEFAULTS["base_packages"]]
    for h in site.hosts:
        missing = [p for p in wanted if not infra[h.name].package(p).is_installed]
        assert not missing, f"{h.name}: not installed: {missing}"


def test_chrony_running_enabled_and_answering(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        svc = infra[h.name].service("chrony")
        assert svc.is_running and svc.is_enabled, f"{h.name}: chrony not running+enabled"
        # The daemon answers its control socket (no NTP server is reachable from here).
        tracking = h.exec(["chronyc", "-n", "tracking"])
        assert tracking.returncode == 0 and "Reference ID" in tracking.stdout, tracking


def test_chrony_tracks_without_setting_the_shared_clock(site: ConvergedSite) -> None:
    # The test hosts are containers: auto mode must pick track mode (-x).
    for h in site.hosts:
        args = h.exec(["ps", "-o", "args=", "-C", "chronyd"], check=True).stdout
        assert "-x" in args.split(), f"{h.name}: chronyd runs without -x: {args!r}"
        conf = h.exec(["cat", "/etc/chrony/chrony.conf"], check=True).stdout
        for pool in DEFAULTS["base_chrony_pools"]:
            assert f"pool {pool} iburst" in conf


def test_timezone(site: ConvergedSite, infra: dict) -> None:
    zone = TEST_VARS["base_timezone"]
    assert zone != DEFAULTS["base_timezone"], "test vars must use a non-default zone"
    for h in site.hosts:
        link = infra[h.name].file("/etc/localtime")
        assert link.is_symlink and link.linked_to == f"/usr/share/zoneinfo/{zone}", h.name
        assert infra[h.name].file("/etc/timezone").content_string == f"{zone}\n"
        # What programs see: Europe/Berlin is CET or CEST.
        assert h.exec(["date", "+%Z"], check=True).stdout.strip() in {"CET", "CEST"}


def test_journald_limits(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        dropin = infra[h.name].file("/etc/systemd/journald.conf.d/50-mlplat.conf")
        assert dropin.mode == 0o644 and dropin.user == "root"
        merged = h.exec(
            ["systemd-analyze", "cat-config", "systemd/journald.conf"], check=True
        ).stdout
        effective = [ln for ln in merged.splitlines() if ln.startswith("SystemMaxUse=")]
        assert effective[-1] == f"SystemMaxUse={TEST_VARS['base_journald_system_max_use']}"
        assert infra[h.name].service("systemd-journald").is_running


def test_unattended_upgrades_security_only(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        origins = h.exec(["python3", "-c", ALLOWED_ORIGINS], check=True).stdout.split()
        assert origins == ["origin=Debian,codename=bookworm-security,label=Debian-Security"], (
            f"{h.name}: unattended-upgrade would use {origins}"
        )
        dump = h.exec(["apt-config", "dump"], check=True).stdout
        assert 'APT::Periodic::Unattended-Upgrade "1";' in dump
        assert 'Unattended-Upgrade::Automatic-Reboot "false";' in dump
        for timer in ("apt-daily.timer", "apt-daily-upgrade.timer"):
            assert infra[h.name].service(timer).is_enabled, f"{h.name}: {timer}"
