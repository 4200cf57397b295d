"""Converged hosts hours later: apt refreshes its lists at most once per run (issue "Speed" 5).

Debian leaves /var/lib/apt/lists untouched when an update finds nothing new, so a
``cache_valid_time`` that reads the lists' mtime believes the cache is stale forever once
an hour has passed: every apt task of every role then ran ``apt-get update`` on every run.
The test ages the lists and the roles' success stamp the way the clock would, re-runs the
site playbook and counts the refreshes through apt's own ``APT::Update::Pre-Invoke`` hook,
which fires for ``apt-get update`` and for python-apt's ``Cache.update()`` alike.
"""

from __future__ import annotations

from typing import Any

import harness
import pytest

from mlplat.core.paths import ANSIBLE_DIR

pytestmark = pytest.mark.hosts

SITE = ANSIBLE_DIR / "site.yml"
# internal_common's success stamp (vars/main.yml, _internal_common_apt_stamp).
STAMP = "/var/lib/mlplat/apt-update-success.stamp"
UPDATE_LOG = "/var/log/mlplat-test-apt-updates.log"
# The hook logs the command line of the process asking apt for an update; Ansible's apt
# module runs as python3, while apt's own daily timer runs apt-get and is not ours to count.
_LOG_CALLER = f"cat /proc/$PPID/cmdline >> {UPDATE_LOG}; echo >> {UPDATE_LOG}"
HOOK = f'APT::Update::Pre-Invoke {{ "{_LOG_CALLER}"; }};\n'


def _age(host: harness.Host, lists: str, stamp: str) -> None:
    """Set the lists' and the stamp's mtime as if time passed (``touch -c``: never create)."""
    host.exec(
        f"touch -c -d '{lists}' /var/lib/apt/lists /var/lib/apt/periodic/update-success-stamp"
        f" && touch -c -d '{stamp}' {STAMP}",
        check=True,
    )


def _updates_by_ansible(host: harness.Host) -> int:
    lines = host.exec(f"cat {UPDATE_LOG} 2>/dev/null; : > {UPDATE_LOG}").stdout.splitlines()
    return sum(1 for line in lines if line.startswith(("python", "/usr/bin/python")))


def _rerun(site: Any) -> harness.PlaybookResult:
    result = harness.run_playbook(site.inventory, SITE)
    assert result.ok, f"re-run failed: {result.summary()}\n{result.tail(60)}"
    changed = {h: c["changed"] for h, c in result.recap.items() if c.get("changed")}
    assert not changed, f"re-run changed {changed}: {result.changed_tasks()}"
    return result


@pytest.fixture(scope="module")
def counted_site(converged_site: Any) -> Any:
    """The converged site with the update-counting hook installed on every host."""
    for host in converged_site.hosts:
        (host.root / "etc/apt/apt.conf.d/99mlplat-test-count-updates").write_text(HOOK)
        host.exec(f": > {UPDATE_LOG}", check=True)
    return converged_site


def test_first_converge_left_a_success_stamp(counted_site: Any) -> None:
    for host in counted_site.hosts:
        assert host.exec(["test", "-f", STAMP]).returncode == 0, f"{host.name}: no {STAMP}"


def test_lists_untouched_for_hours_but_fresh_stamp_means_no_update(counted_site: Any) -> None:
    # What Debian does after an update that found nothing new: the lists keep their
    # old mtime. Only the success stamp knows the cache was refreshed 10 minutes ago.
    for host in counted_site.hosts:
        _age(host, lists="3 hours ago", stamp="10 minutes ago")
    _rerun(counted_site)
    counts = {h.name: _updates_by_ansible(h) for h in counted_site.hosts}
    assert counts == {h.name: 0 for h in counted_site.hosts}, (
        f"apt updates per host with a 10-minute-old cache: {counts}"
    )


def test_after_the_window_the_lists_are_refreshed_exactly_once(counted_site: Any) -> None:
    for host in counted_site.hosts:
        _age(host, lists="5 hours ago", stamp="5 hours ago")
    _rerun(counted_site)
    counts = {h.name: _updates_by_ansible(h) for h in counted_site.hosts}
    assert counts == {h.name: 1 for h in counted_site.hosts}, (
        f"apt updates per host once the cache is 5 hours old: {counts}"
    )
    for host in counted_site.hosts:
        age = host.exec(f"echo $(( $(date +%s) - $(stat -c %Y {STAMP}) ))", check=True)
        assert int(age.stdout) < 900, f"{host.name}: stamp not renewed (age {age.stdout.strip()} s)"
