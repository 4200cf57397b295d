"""A converge killed midway, then re-run, ends in the same state as a clean one."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from hosts_site import ConvergedSite, site_playbook, write_site_inventory

from mlplat.testing.hosts import (
    Host,
    HostPool,
    RunningPlaybook,
    diff_fingerprints,
    fingerprint,
    run_playbook,
)

pytestmark = pytest.mark.hosts

REFERENCE = "cpu1"  # a cpu_hosts member of converged_site, converged without interruption
TWIN = "cpu2"  # its twin in the same group


@pytest.fixture
def victim(host_factory, host_pool: HostPool) -> Iterator[Host]:
    (host,) = host_factory(["killed1"])
    yield host
    host_pool.destroy(host)


def test_killed_converge_recovers_to_the_same_state(
    converged_site: ConvergedSite, victim: Host, host_pool: HostPool
) -> None:
    inventory = write_site_inventory(
        [victim],
        {"gpu_hosts": [], "cpu_hosts": [victim.name]},
        host_pool.run_dir / "killed-inventory.yml",
    )
    # Kill point: MLPLAT_KILL_AFTER (a regex on the output), else halfway
    # through the changes the clean converge of a cpu host made.
    pattern = os.environ.get("MLPLAT_KILL_AFTER")
    if not pattern:
        changes = converged_site.result.recap[REFERENCE]["changed"]
        pattern = rf"^changed: \[{re.escape(victim.name)}\]"
        target = max(1, changes // 2)
    else:
        target = 1
    run = RunningPlaybook(inventory, site_playbook())
    hit = run.wait_for(pattern, timeout=600, count=target)
    assert hit is not None and run.proc.poll() is None, (
        f"converge ended before the kill point ({target} x {pattern!r}):\n"
        + "\n".join(run.output.splitlines()[-30:])
    )
    rc = run.kill()
    assert rc < 0, f"ansible-playbook was not killed (rc={rc})"
    interrupted_at = run.last_task()

    rerun = run_playbook(inventory, site_playbook())
    assert rerun.ok, (
        f"re-run after a kill during {interrupted_at!r} failed: {rerun.summary()}\n{rerun.tail(60)}"
    )
    again = run_playbook(inventory, site_playbook())
    assert again.ok and again.changed() == 0, f"not idempotent after recovery: {again.summary()}"

    reference = fingerprint(converged_site.host(REFERENCE))
    # The comparison is only meaningful if two clean converges fingerprint equal.
    twin = diff_fingerprints(reference, fingerprint(converged_site.host(TWIN)))
    assert not twin, f"clean converges of {REFERENCE} and {TWIN} differ:\n" + "\n".join(twin)
    differences = diff_fingerprints(reference, fingerprint(victim))
    assert not differences, (
        f"state after kill during {interrupted_at!r} + re-run differs from a clean "
        f"converge ({REFERENCE}):\n" + "\n".join(differences)
    )
