"""On a converged host, a no-op run skips every gated write task (ADR 0028).

The roles read the live state of what they manage once (internal_common's host_state) and
run each writing task only `when` its object differs. If a gate and its module disagreed —
a template whose controller-side rendering is not byte for byte what the module writes, a
mode written as 644 against "0644", a unit state the module reads differently — the task
would run on every run: still correct, but a silent slowdown. This test makes that loud.
Drift correction by the same tasks is tests/hosts/test_scenario_drift.py.

Since ADR 0031 a role's gated writes of a phase sit in tasks/<phase>_writes.yml, included only
when some entry of the role's `_<role>_<phase>_differs` gates (vars/main.yml) says so, and
each task there runs only when its own entry does. A no-op run must take none of those
includes either, and every task of a writes file must be gated by an entry of its phase's
gates: the include's condition is the union of exactly those entries, so a task gated by
anything else could be skipped along with the include while its object differs.
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
# kernel modules or the regexps it read), or with the one dpkg-query of the run, or that names
# a phase's gates (_<role>_<phase>_differs, whose entries are those comparisons: ADR 0031),
# or the sysctl entry point's comparisons (ADR 0032).
_GATES = re.compile(
    r"internal_common_\w+_differs?\(|_internal_common_apt_missing|\.regexps\b|\.kernel_modules\b"
    r"|\b_\w+_(?:configure|service)_differs\b|\b_internal_common_sysctl_(?:pending|file_differs)\b"
)
_TASK = re.compile(r"^TASK \[(?P<task>.+)\]")
_RAN = re.compile(r"^(ok|changed): \[(?P<host>[^\]]+)\]")
_INCLUDED = re.compile(r"^included: \S+ for (?P<hosts>.+)$")
_PHASE_GATES = re.compile(r"\b(?P<var>_\w+_(?:configure|service)_differs)\.(?P<key>\w+)\b")


def _when_text(task: dict) -> str:
    when = task.get("when")
    return " ".join(map(str, when)) if isinstance(when, list) else str(when or "")


def phase_gates(role: str) -> dict[str, dict[str, str]]:
    """The `_<role>_<phase>_differs` gate mappings of a role's vars/main.yml."""
    data = yaml.safe_load((ROLES_DIR / role / "vars" / "main.yml").read_text()) or {}
    return {k: v for k, v in data.items() if re.fullmatch(r"_\w+_(configure|service)_differs", k)}


def writes_files() -> list:
    return sorted(ROLES_DIR.glob("*/tasks/*_writes.yml"))


# The once-per-run read of the installed packages: internal_common's packages include is
# taken by the first role of a run to read, then only when dpkg lacks a wanted package.
_ONCE_PER_RUN = re.compile(r"\b_internal_common_apt_checked\b")
_PACKAGES_READ = re.compile(r"^included: \S+/packages_install\.yml for (?P<hosts>.+)$")


def gated_tasks() -> set[str]:
    """Every gated task as the play output names it: "role : task name" (a templated part of a
    name, such as the role in internal_common's package install, stays a template here)."""
    names = set()
    for path in sorted(ROLES_DIR.glob("*/tasks/*.yml")):
        role = path.parent.parent.name
        for task in walk_tasks(yaml.safe_load(path.read_text())):
            when = _when_text(task)
            if "name" in task and _GATES.search(when) and not _ONCE_PER_RUN.search(when):
                names.add(f"{role} : {task['name']}")
    return names


def is_gated(task: str, gated: set[str]) -> bool:
    """Whether a task name of the play output is one of `gated`, templates matching anything."""
    return any(
        re.fullmatch(r".+".join(map(re.escape, re.split(r"\{\{.*?\}\}", name))), task)
        for name in gated
    )


def package_reads(stdout: str) -> dict[str, int]:
    """Host -> how often internal_common's packages include was taken (read or install)."""
    counts: dict[str, int] = {}
    for line in stdout.splitlines():
        if m := _PACKAGES_READ.match(line):
            for host in (h.strip() for h in m["hosts"].split(",")):
                counts[host] = counts.get(host, 0) + 1
    return counts


def ran_tasks(stdout: str) -> dict[str, set[str]]:
    """Task -> hosts on which it ran a module (ok or changed, any loop item) or was included."""
    ran: dict[str, set[str]] = {}
    task = "?"
    for line in stdout.splitlines():
        if m := _TASK.match(line):
            task = m["task"]
        elif m := _RAN.match(line):
            ran.setdefault(task, set()).add(m["host"])
        elif m := _INCLUDED.match(line):
            ran.setdefault(task, set()).update(h.strip() for h in m["hosts"].split(","))
    return ran


def test_the_gates_are_found() -> None:
    # Guards the scan itself: a refactor that renamed the filters would make the test vacuous.
    names = gated_tasks()
    assert "base : Configure | chrony.conf" in names
    assert "base : Configure | Write what differs from the wanted files (when anything does)" in (
        names
    )
    assert "internal_common : Sysctl | Persist sysctls" in names
    assert is_gated("internal_common : Packages | Install what is missing for base", names)
    # The packages include is taken once per run to read, so it is not a gate (counted below).
    packages = "Packages | Install what is missing (after this run's one read of what is installed)"
    assert not is_gated(f"internal_common : {packages}", names)
    sysctl_include = "Sysctl | Persist, read and set what differs (when anything does)"
    assert f"internal_common : {sysctl_include}" in names
    assert "users : Configure | Authorized keys (exactly the listed ones)" in names
    assert "storage : Configure | NFS mounts in fstab" in names
    assert len(names) >= 20, sorted(names)
    assert len(writes_files()) >= 5, writes_files()


@pytest.mark.parametrize("path", writes_files(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_task_of_a_writes_file_is_gated_by_its_phase(path) -> None:
    role, phase = path.parent.parent.name, path.name.removesuffix("_writes.yml")
    var = f"_{role}_{phase}_differs"
    gates = phase_gates(role)
    assert var in gates, f"{role}: vars/main.yml has no {var} for {path.name}"
    used: set[str] = set()
    for task in walk_tasks(yaml.safe_load(path.read_text())):
        if "block" in task:
            continue
        refs = {(m["var"], m["key"]) for m in _PHASE_GATES.finditer(_when_text(task))}
        where = f"{role}/{path.name}: {task['name']!r}"
        assert any(v == var for v, _ in refs), f"{where} is not gated by {var}"
        for v, key in refs:
            assert v == var and key in gates[var], f"{where} names {v}.{key}"
            used.add(key)
    unused = set(gates[var]) - used
    assert not unused, f"{role}: {var} entries no task of {path.name} uses: {sorted(unused)}"
    # The include of the file is gated by exactly that mapping.
    including = yaml.safe_load((path.parent / f"{phase}.yml").read_text())
    includes = [t for t in walk_tasks(including)
                if (t.get("ansible.builtin.include_tasks") or {}).get("file") == path.name]
    assert len(includes) == 1, f"{role}/{phase}.yml must include {path.name} once"
    assert _when_text(includes[0]).strip() == f"{var} | internal_common_anything_differs"


def test_noop_run_skips_every_gated_task(converged_site: ConvergedSite) -> None:
    result = run_playbook(converged_site.inventory, site_playbook())
    assert result.ok and result.changed() == 0, f"{result.summary()}\n{result.tail(60)}"
    ran = ran_tasks(result.stdout)
    gated = gated_tasks()
    wrongly = {task: sorted(hosts) for task, hosts in ran.items() if is_gated(task, gated)}
    assert not wrongly, (
        "gated tasks ran a module (or were included) on a converged host (gate and module "
        f"disagree): {wrongly}"
    )
    # The installed packages are read once per host and run, and nothing is installed.
    hosts = {host.name for host in converged_site.hosts}
    assert package_reads(result.stdout) == dict.fromkeys(hosts, 1), result.tail(60)


def test_ran_tasks_reads_loops_and_plain_results() -> None:
    out = "\n".join([
        "TASK [base : Configure | chrony.conf] ***",
        "skipping: [cpu1]",
        "ok: [cpu2]",
        "TASK [base : Service | apt timers] ***",
        "skipping: [cpu1] => (item=apt-daily.timer)",
        "changed: [gpu1] => (item=apt-daily.timer)",
        "TASK [base : Configure | Write what differs] ***",
        "included: /x/roles/base/tasks/configure_writes.yml for gpu1, cpu2",
    ])
    assert ran_tasks(out) == {"base : Configure | chrony.conf": {"cpu2"},
                              "base : Service | apt timers": {"gpu1"},
                              "base : Configure | Write what differs": {"gpu1", "cpu2"}}


def test_package_reads_and_templated_names_are_recognised() -> None:
    out = "\n".join([
        "TASK [internal_common : Packages | Install what is missing (after the read)] ***",
        "included: /x/roles/internal_common/tasks/packages_install.yml for gpu1, cpu2",
        "included: /x/roles/internal_common/tasks/packages_install.yml for cpu2",
    ])
    assert package_reads(out) == {"gpu1": 1, "cpu2": 2}
    gated = {"internal_common : Packages | Install what is missing for {{ internal_common_role }}"}
    assert is_gated("internal_common : Packages | Install what is missing for base", gated)
    assert not is_gated("internal_common : Packages | Install what is missing", gated)
