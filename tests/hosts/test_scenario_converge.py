"""Converge, idempotence and check mode of the site playbook on three real hosts."""

from __future__ import annotations

import pytest
from hosts_site import ConvergedSite, site_playbook

from mlplat.testing.hosts import PlaybookResult, run_playbook

pytestmark = pytest.mark.hosts


def _no_changes(result: PlaybookResult, what: str) -> None:
    assert result.ok, f"{what} failed: {result.summary()}\n{result.tail(60)}"
    changed = {h: c["changed"] for h, c in result.recap.items() if c.get("changed")}
    assert not changed, (
        f"{what} is not idempotent: changed per host {changed}; tasks: {result.changed_tasks()}"
    )


def test_first_converge_succeeds_on_every_host(converged_site: ConvergedSite) -> None:
    result = converged_site.result
    names = {h.name for h in converged_site.hosts}
    assert set(result.recap) == names, f"hosts missing from the recap: {result.recap}"
    for name, counts in result.recap.items():
        assert counts["failed"] == 0 and counts["unreachable"] == 0, (name, counts)
        # A first converge of fresh hosts that changes nothing did not do its job.
        assert counts["changed"] > 0, f"{name}: first converge changed nothing"


def test_second_converge_changes_nothing(converged_site: ConvergedSite) -> None:
    result = run_playbook(converged_site.inventory, site_playbook())
    _no_changes(result, "second converge")
    assert set(result.recap) == {h.name for h in converged_site.hosts}


def test_check_diff_on_converged_hosts_changes_nothing(converged_site: ConvergedSite) -> None:
    result = run_playbook(converged_site.inventory, site_playbook(), "--check", "--diff")
    _no_changes(result, "--check --diff on converged hosts")
