"""Converged hosts hours later: apt refreshes its lists at most once per run (issue "Speed" 5).

Debian leaves /var/lib/apt/lists untouched when an update finds nothing new, so a
``cache_valid_time`` that reads the lists' mtime believes the cache is stale forever once
an hour has passed: every apt task of every role then ran ``apt-get update`` on every run.
The test ages the lists and the roles' success stamp the way the clock would, re-runs the
site playbook and counts the refreshes through apt's own ``APT::Update::Pre-Invoke`` hook,
which fires for ``apt-get update`` and for python-apt's ``Cache.update()`` alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mlplat.core.paths import ANSIBLE_DIR
from mlplat.testing.hosts import run_playbook

pytestmark = pytest.mark.hosts

SITE = ANSIBLE_DIR / "site.yml"
# internal_common's success stamp (vars/main.yml, _internal_common_apt_stamp).
STAMP = "/var/lib/mlplat/apt-update-success.stamp"
UPDATE_LOG = "/var/log/mlplat-test-apt-updates.log"
# The hook logs the command line of the process asking apt for an update; Ansible's apt
# module runs as python3, while apt's own daily timer runs apt-get and is not ours to count.
_LOG_CALLER = f"cat /proc/$PPID/cmdline >> {UPDATE_LOG}; echo >> {UPDATE_LOG}"
HOOK = f'APT::Update::Pre-Invoke {{ "{_LOG_CALLER}"; }};\n'


def _rerun_aged(site: Any, lists: str, stamp: str) -> dict[str, int]:
    """Age the lists and the stamp on every host as if time passed (``touch -c``: never
    create), re-run the site playbook, which must change nothing, and return how many apt
    updates Ansible ran per host."""
    for host in site.hosts:
        host.exec(
            f"touch -c -d '{lists}' /var/lib/apt/lists /var/lib/apt/periodic/update-success-stamp"
            f" && touch -c -d '{stamp}' {STAMP}",
            check=True,
        )
    result = run_playbook(site.inventory, SITE)
    assert result.ok, f"re-run failed: {result.summary()}\n{result.tail(60)}"
    changed = {h: c["changed"] for h, c in result.recap.items() if c.get("changed")}
    assert not changed, f"re-run changed {changed}: {result.changed_tasks()}"
    counts = {}
    for host in site.hosts:
        log = host.exec(f"cat {UPDATE_LOG} 2>/dev/null; : > {UPDATE_LOG}").stdout
        counts[host.name] = sum(
            1 for line in log.splitlines() if line.startswith(("python", "/usr/bin/python"))
        )
    return counts


@pytest.fixture(scope="module")
def counted_site(converged_site: Any) -> Iterator[Any]:
    """The converged site with the update-counting hook installed on every host.

    The hook is removed afterwards: other scenarios compare these hosts file by file with
    hosts converged later (test_scenario_interrupted).
    """
    hook = "etc/apt/apt.conf.d/99mlplat-test-count-updates"
    for host in converged_site.hosts:
        (host.root / hook).write_text(HOOK)
        host.exec(f": > {UPDATE_LOG}", check=True)
    yield converged_site
    for host in converged_site.hosts:
        host.exec(["rm", "-f", f"/{hook}", UPDATE_LOG], check=True)


def test_first_converge_left_a_success_stamp(counted_site: Any) -> None:
    for host in counted_site.hosts:
        assert host.exec(["test", "-f", STAMP]).returncode == 0, f"{host.name}: no {STAMP}"


def test_lists_untouched_for_hours_but_fresh_stamp_means_no_update(counted_site: Any) -> None:
    # What Debian does after an update that found nothing new: the lists keep their
    # old mtime. Only the success stamp knows the cache was refreshed 10 minutes ago.
    counts = _rerun_aged(counted_site, lists="3 hours ago", stamp="10 minutes ago")
    assert counts == {h.name: 0 for h in counted_site.hosts}, (
        f"apt updates per host with a 10-minute-old cache: {counts}"
    )


def test_after_the_window_the_lists_are_refreshed_exactly_once(counted_site: Any) -> None:
    counts = _rerun_aged(counted_site, lists="5 hours ago", stamp="5 hours ago")
    assert counts == {h.name: 1 for h in counted_site.hosts}, (
        f"apt updates per host once the cache is 5 hours old: {counts}"
    )
    for host in counted_site.hosts:
        age = host.exec(f"echo $(( $(date +%s) - $(stat -c %Y {STAMP}) ))", check=True)
        assert int(age.stdout) < 900, f"{host.name}: stamp not renewed (age {age.stdout.strip()} s)"
