"""Drift on a converged host is put back by the next run, which reports exactly that drift.

One host of the converged site gets four kinds of drift at once: a managed file edited, a
managed package removed, a managed unit stopped and a managed sysctl flipped (a net.* key: the
test hosts own their network namespace, so it is writable there). The next run must restore
each one and report as changed the four tasks that did it — no more (a run that reports
unrelated changes hides real drift) and no fewer.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlplat.core.paths import ANSIBLE_DIR
from mlplat.testing.hosts import Host, run_playbook

pytestmark = pytest.mark.hosts

SITE = ANSIBLE_DIR / "site.yml"
HOST = "cpu2"
MODULES_FILE = "/etc/modules-load.d/mlplat-k8s.conf"
PACKAGE = "jq"  # in base_packages
UNIT = "chrony.service"
# hardening wants 1. Not net.ipv4.ip_forward: writing it also resets
# net.ipv4.conf.all.accept_redirects in the kernel, a second drift hardening would report.
SYSCTL = "net.ipv4.icmp_echo_ignore_broadcasts"

# The task that puts each drift back, as the play output names it ("role : task").
EXPECTED_CHANGES = {
    "internal_common : Packages | Install what is missing for base",
    "base : Service | chrony enabled and running",
    "k8s_node_prereqs : Configure | Modules loaded at boot",
    "internal_common : Sysctl | Set differing values",
}


def _drift(host: Host) -> None:
    host.exec(f"echo '# local edit' >> {MODULES_FILE}", check=True)
    host.exec(f"DEBIAN_FRONTEND=noninteractive apt-get remove -y -q {PACKAGE}", check=True)
    host.exec(["systemctl", "stop", UNIT], check=True)
    host.exec(["sysctl", "-w", f"{SYSCTL}=0"], check=True)
    assert host.exec(["dpkg-query", "-W", "-f=${Status}", PACKAGE]).stdout.find("installed") < 0


def test_drift_is_restored_and_exactly_it_is_reported(converged_site: Any) -> None:
    host = converged_site.host(HOST)
    _drift(host)

    result = run_playbook(converged_site.inventory, SITE, "--limit", HOST)
    assert result.ok, f"run after drift failed: {result.summary()}\n{result.tail(60)}"
    changed = {task for task, name in result.changed_tasks() if name == HOST}
    missing, unexpected = EXPECTED_CHANGES - changed, changed - EXPECTED_CHANGES
    assert not missing and not unexpected, f"missing: {missing}, unexpected: {unexpected}"
    assert result.recap[HOST]["changed"] == len(EXPECTED_CHANGES), result.recap[HOST]

    assert "# local edit" not in host.exec(["cat", MODULES_FILE], check=True).stdout
    status = host.exec(["dpkg-query", "-W", "-f=${Status}", PACKAGE]).stdout
    assert status == "install ok installed", f"{PACKAGE}: {status!r}"
    assert host.exec(["systemctl", "is-active", UNIT]).stdout.strip() == "active"
    assert host.exec(["sysctl", "-n", SYSCTL], check=True).stdout.strip() == "1"

    again = run_playbook(converged_site.inventory, SITE, "--limit", HOST)
    assert again.ok and again.changed(HOST) == 0, f"not idempotent after repair: {again.summary()}"
