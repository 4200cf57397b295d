"""On a converged host, a no-op run skips every gated write task (ADR 0028).

The roles read the live state of what they manage once (internal_common's host_state) and
run each writing task only `when` its object differs. If a gate and its module disagreed —
a template whose controller-side rendering is not byte for byte what the module writes, a
mode written as 644 against "0644", a unit state the module reads differently — the task
would run on every run: still correct, but a silent slowdown. This test makes that loud.
Drift correction by the same tasks is tests/hosts/test_scenario_drift.py.
"""

from __future__ import annotations

import re

import pytest
import yaml
from hosts_site import ROLES_DIR, ConvergedSite, site_playbook
from hosts_units import walk_tasks

from mlplat.testing.hosts import run_playbook

pytestmark = pytest.mark.hosts

# A `when` that compares with the host_state read (a filter internal_common_*_differ(s), the
# kernel modules or the regexps it read), or with the one dpkg-query of the run.
_GATES = re.compile(
    r"internal_common_\w+_differs?\(|_internal_common_apt_missing|\.regexps\b|\.kernel_modules\b"
)
_TASK = re.compile(r"^TASK \[(?P<task>.+)\]")
_RAN = re.compile(r"^(ok|changed): \[(?P<host>[^\]]+)\]")


def gated_tasks() -> set[str]:
    """Every gated task as the play output names it: "role : task name"."""
    names = set()
    for path in sorted(ROLES_DIR.glob("*/tasks/*.yml")):
        role = path.parent.parent.name
        for task in walk_tasks(yaml.safe_load(path.read_text())):
            when = task.get("when")
            text = " ".join(when) if isinstance(when, list) else str(when or "")
            if "name" in task and _GATES.search(text):
                names.add(f"{role} : {task['name']}")
    return names


def ran_tasks(stdout: str) -> dict[str, set[str]]:
    """Task -> hosts on which it ran a module (ok or changed, any loop item)."""
    ran: dict[str, set[str]] = {}
    task = "?"
    for line in stdout.splitlines():
        if m := _TASK.match(line):
            task = m["task"]
        elif m := _RAN.match(line):
            ran.setdefault(task, set()).add(m["host"])
    return ran


def test_the_gates_are_found() -> None:
    # Guards the scan itself: a refactor that renamed the filters would make the test vacuous.
    names = gated_tasks()
    assert "base : Configure | chrony.conf" in names
    assert "internal_common : Sysctl | Persist sysctls" in names
    assert "users : Configure | Authorized keys (exactly the listed ones)" in names
    assert "storage : Configure | NFS mounts in fstab" in names
    assert len(names) >= 20, sorted(names)


def test_noop_run_skips_every_gated_task(converged_site: ConvergedSite) -> None:
    result = run_playbook(converged_site.inventory, site_playbook())
    assert result.ok and result.changed() == 0, f"{result.summary()}\n{result.tail(60)}"
    ran = ran_tasks(result.stdout)
    wrongly = {task: sorted(hosts) for task, hosts in ran.items() if task in gated_tasks()}
    assert not wrongly, (
        "gated tasks ran a module on a converged host (gate and module disagree): "
        f"{wrongly}"
    )


def test_ran_tasks_reads_loops_and_plain_results() -> None:
    out = "\n".join([
        "TASK [base : Configure | chrony.conf] ***",
        "skipping: [cpu1]",
        "ok: [cpu2]",
        "TASK [base : Service | apt timers] ***",
        "skipping: [cpu1] => (item=apt-daily.timer)",
        "changed: [gpu1] => (item=apt-daily.timer)",
    ])
    assert ran_tasks(out) == {"base : Configure | chrony.conf": {"cpu2"},
                              "base : Service | apt timers": {"gpu1"}}
