"""Ansible converge and no-op benchmark on three real nspawn hosts (issues #4, #14).

    sudo .venv/bin/python -m bench.ansible_bench [--runs N] [--no-write] [--mitogen]

Times, on the same three freshly booted hosts (gpu1 in gpu_hosts, cpu1 and
cpu2 in cpu_hosts; booted by mlplat.testing.hosts, like the host tests):

  floor       a play that only gathers facts: what Ansible over SSH costs
              before any role runs
  converge    the first converge of ansible/site.yml
  idempotent  the no-op re-run on converged hosts (target: within 6x the floor,
              stretch 3x), with its profile_tasks profile
  check       ``--check`` on converged hosts

Each figure is the wall time of the ansible-playbook process (start-up
included), the median of ``--runs`` runs except the first converge, which
only exists once. SSH ControlMaster connections are opened by an untimed
warm-up run first, so every timed run finds them warm. Results go to stdout
and replace the "## Ansible no-op runs (issue #14)" section of
docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import resource
import statistics
import sys
from pathlib import Path
from typing import Any

from bench import cpu_model
from mlplat.core.paths import ANSIBLE_DIR, DOCS_DIR, REPO_ROOT, TESTS_DIR
from mlplat.testing.hosts import (
    HostPool,
    PlaybookResult,
    ansible_bin,
    load_vars_dir,
    run_playbook,
    usability_problem,
    write_inventory,
)
from mlplat.testing.hosts.util import parent_pids

HEADING = "## Ansible no-op runs (issue #14)"
GROUPS = {"gpu_hosts": ["gpu1"], "cpu_hosts": ["cpu1", "cpu2"]}
# The same per-role variables the host tests converge with (throwaway-host settings).
TEST_VARS_DIR = TESTS_DIR / "hosts" / "vars"
TARGET_RATIO = 6.0  # issue #14: a no-op run within 6x the floor
STRETCH_RATIO = 3.0
MITOGEN = False  # --mitogen


def _machine() -> str:
    cpu = cpu_model()
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return (
        f"{os.cpu_count()} vCPU ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def _ansible_version() -> str:
    import subprocess

    out = subprocess.run(
        [ansible_bin("ansible-playbook"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return out.splitlines()[0] if out else "unknown"


LOG_DIR: Path | None = None  # --log-dir: keep each run's output (task timings, changes)
# Pinned in ansible/requirements-mitogen.txt; optional (the plain path is what CI runs).
MITOGEN_STRATEGY = "mitogen_linear"
# Every run: profile_tasks lists every task (not only the 20 slowest) for the profile below.
RUN_ENV: dict[str, str] = {"PROFILE_TASKS_TASK_OUTPUT_LIMIT": "all"}


def mitogen_env() -> dict[str, str]:
    """Environment that makes ansible-playbook run through Mitogen's strategy plugin."""
    import ansible_mitogen  # optional: pip install -r ansible/requirements-mitogen.txt

    plugins = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": MITOGEN_STRATEGY}


_TASK_TIME = re.compile(r"^(?P<task>.+?) -{2,} (?P<secs>\d+\.\d+)s$")


def profile(result: PlaybookResult) -> dict[str, Any]:
    """Task headers and the slowest tasks of one run, from profile_tasks' summary."""
    headers = sum(1 for ln in result.stdout.splitlines() if ln.startswith("TASK ["))
    tasks = []
    for line in result.stdout.splitlines():
        m = _TASK_TIME.match(line.strip())
        if m and not m["task"].startswith("="):
            tasks.append((m["task"], float(m["secs"])))
    skipped = max((c.get("skipped", 0) for c in result.recap.values()), default=0)
    return {"headers": headers, "slowest": tasks[:10], "skipped_per_host": skipped,
            "profiled_s": sum(secs for _, secs in tasks)}


# Controller CPU seconds (user + system of ansible-playbook, its workers and ssh clients) of
# each run, by id of its result: on a shared, loaded machine wall time grows with the load,
# CPU time much less, so both are reported.
CPU: dict[int, float] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(result: PlaybookResult) -> float:
    return CPU.get(id(result), float("nan"))


def _timed(label: str, inventory: Path, playbook: Path, *args: str) -> PlaybookResult:
    before = _children_cpu()
    result = run_playbook(inventory, playbook, *args, env=RUN_ENV)
    CPU[id(result)] = _children_cpu() - before
    print(
        f"  {label:<11} {result.duration:7.1f} s  cpu {cpu_of(result):6.1f} s  rc={result.rc}"
        f"  changed={result.changed()}",
        flush=True,
    )
    if result.changed() and label in ("idempotent", "check"):
        print(f"    changed: {result.changed_tasks()}", flush=True)
    if LOG_DIR is not None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        n = len(list(LOG_DIR.glob(f"{label}-*.log"))) + 1
        (LOG_DIR / f"{label}-{n}.log").write_text(result.stdout + result.stderr)
    if not result.ok:
        raise SystemExit(f"{label} failed:\n{result.tail(40)}")
    return result


def _tasks_per_host(result: PlaybookResult) -> int:
    """Tasks a host went through (ok includes changed; skipped ones still cost a round)."""
    return max((c.get("ok", 0) + c.get("skipped", 0)) for c in result.recap.values())


def _other_ansible_runs() -> int:
    """ansible-playbook processes on this machine that are not ours (shared machines)."""
    mine = os.getpid()
    count = 0
    for pid, ppid in parent_pids().items():
        try:
            cmd = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        # Count only the top process of each run (its workers have it as parent).
        if any(c.endswith(b"ansible-playbook") for c in cmd[:2]) and ppid != mine:
            try:
                parent = (Path("/proc") / str(ppid) / "cmdline").read_bytes()
            except OSError:
                parent = b""
            if b"ansible-playbook" not in parent:
                count += 1
    return count


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def run(playbook: Path, runs: int) -> dict[str, Any]:
    load_start = os.getloadavg()[0]
    others = _other_ansible_runs()
    loads: dict[str, str] = {}
    with HostPool() as pool:
        hosts = pool.boot([n for members in GROUPS.values() for n in members])
        inventory = write_inventory(
            hosts, GROUPS, pool.run_dir / "bench-inventory.yml", load_vars_dir(TEST_VARS_DIR)
        )
        facts = pool.run_dir / "facts-only.yml"
        facts.write_text(
            "---\n- name: Floor (gather facts only)\n  hosts: all\n  gather_facts: true\n"
            "  tasks: []\n"
        )
        print("warm-up (untimed): open SSH control connections", flush=True)
        _timed("warm-up", inventory, facts)
        loads["floor"] = _load()
        floor_runs = [_timed("floor", inventory, facts) for _ in range(runs)]
        floor = [r.duration for r in floor_runs]
        loads["converge"] = _load()
        first = _timed("converge", inventory, playbook)
        loads["idempotent"] = _load()
        idem = [_timed("idempotent", inventory, playbook) for _ in range(runs)]
        loads["check"] = _load()
        check = [_timed("check", inventory, playbook, "--check") for _ in range(runs)]
    return {
        "load_start": load_start,
        "loads": loads,
        "other_runs": others,
        "tasks_per_host": _tasks_per_host(idem[0]),
        "profile": profile(idem[-1]),
        "floor": statistics.median(floor),
        "floor_cpu": statistics.median(cpu_of(r) for r in floor_runs),
        "converge": first.duration,
        "converge_cpu": cpu_of(first),
        "idempotent_cpu": statistics.median(cpu_of(r) for r in idem),
        "check_cpu": statistics.median(cpu_of(r) for r in check),
        "converge_changed": first.changed(),
        "idempotent": statistics.median(r.duration for r in idem),
        "idempotent_changed": max(r.changed() for r in idem),
        "check": statistics.median(r.duration for r in check),
        "check_changed": max(r.changed() for r in check),
    }


def _shown(playbook: Path) -> str:
    """The playbook relative to the repository, or as given (a copy elsewhere, for a before run)."""
    try:
        return str(playbook.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(playbook)


def render(res: dict[str, Any], command: str, runs: int, playbook: Path) -> str:
    floor = float(res["floor"])
    loads = res["loads"]
    rows = [
        ("Floor: gather facts only", res["floor"], res["floor_cpu"], "-", loads["floor"]),
        ("First converge of `site.yml`", res["converge"], res["converge_cpu"],
         res["converge_changed"], loads["converge"]),
        ("No-op run (idempotent re-run)", res["idempotent"], res["idempotent_cpu"],
         res["idempotent_changed"], loads["idempotent"]),
        ("`--check` on converged hosts", res["check"], res["check_cpu"], res["check_changed"],
         loads["check"]),
    ]
    floor_cpu = float(res["floor_cpu"])
    ratio = float(res["idempotent"]) / floor
    prof = res["profile"]
    per_header = float(res["idempotent"]) / max(1, int(prof["headers"]))
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    stretch = "met" if ratio <= STRETCH_RATIO else "not met"
    strategy = "Mitogen (`mitogen_linear`)" if MITOGEN else "the stock `linear` strategy over SSH"
    lines = [
        HEADING,
        "",
        f"Three real hosts (systemd-nspawn, Debian 12; 1 in `gpu_hosts` without a GPU, "
        f"2 in `cpu_hosts`), playbook `{_shown(playbook)}`, {strategy}. Wall "
        f"time of `ansible-playbook` including its start-up; median of {runs} run(s) except "
        "the first converge; SSH control connections warm. Load: the 1-min load average when "
        "the row's first run started (2 cores; the machine is shared). CPU: user + system "
        "seconds of the controller (ansible-playbook, its workers, ssh), which a busy machine "
        "inflates far less than wall time; the hosts' own module runs are not in it.",
        "",
        "| Run | Time (s) | x floor | controller CPU (s) | CPU x floor | changed (all hosts) "
        "| load |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, secs, cpu, changed, load in rows:
        lines.append(
            f"| {name} | {float(secs):.1f} | {float(secs) / floor:.2f} | {float(cpu):.1f} "
            f"| {float(cpu) / floor_cpu:.2f} | {changed} | {load} |"
        )
    lines += [
        "",
        f"Target: a no-op run within {TARGET_RATIO:.0f}x the floor — **{verdict}** "
        f"({ratio:.2f}x); stretch {STRETCH_RATIO:.0f}x — {stretch}.",
        "",
        f"Profile of the last no-op run (profile_tasks): {prof['headers']} task headers in "
        f"the play output, {res['tasks_per_host']} tasks per host at most (ok + skipped), "
        f"{prof['skipped_per_host']} of them skipped; {per_header:.2f} s of wall time per "
        f"header. Slowest tasks (seconds, all hosts in parallel):",
        "",
        "| task | s |",
        "|---|---:|",
        *(f"| {task.replace('|', '/')} | {secs:.2f} |" for task, secs in prof["slowest"]),
        "",
        f"- Command: `{command}`",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {_machine()}; 1-min load average {res['load_start']:.1f} at the start, "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} at the end; "
        f"{res['other_runs']} other ansible-playbook run(s) on the machine at the start",
        f"- {_ansible_version()}; apt packages served by the harness's apt-cacher-ng "
        "(warm cache unless it is the first run on the machine)",
        "",
    ]
    return "\n".join(lines)


def write_section(doc: Path, section: str) -> None:
    """Replace only our section of docs/performance.md (other sections are others')."""
    text = doc.read_text() if doc.exists() else "# Performance\n\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip() == HEADING), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + section
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        tail = "".join(lines[end:])
        new = "".join(lines[:start]) + section + ("\n" + tail if tail else "")
    doc.write_text(new.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per repeatable step")
    parser.add_argument("--playbook", type=Path, default=ANSIBLE_DIR / "site.yml")
    parser.add_argument("--output", type=Path, default=DOCS_DIR / "performance.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--log-dir", type=Path, help="keep each ansible-playbook output here")
    parser.add_argument("--mitogen", action="store_true",
                        help="run through Mitogen (ansible/requirements-mitogen.txt)")
    args = parser.parse_args(argv)
    global LOG_DIR, MITOGEN
    LOG_DIR = args.log_dir
    MITOGEN = args.mitogen
    if MITOGEN:
        RUN_ENV.update(mitogen_env())
    problem = usability_problem()
    if problem:
        print(f"cannot run the Ansible benchmark here: {problem}", file=sys.stderr)
        return 2
    command = "python -m bench.ansible_bench" + (
        f" --runs {args.runs}" if args.runs != 3 else "") + (" --mitogen" if MITOGEN else "")
    print(f"$ {command}", flush=True)
    res = run(args.playbook.resolve(), args.runs)
    section = render(res, command, args.runs, args.playbook.resolve())
    print()
    print(section)
    if not args.no_write:
        write_section(args.output, section)
        print(f"wrote the section to {args.output.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
