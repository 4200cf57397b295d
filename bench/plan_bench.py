"""Benchmark: `mlplat plan --all` over 1, 10 and 50 environments, cold and cached.

    .venv/bin/python -m bench.plan_bench            # measure and update docs/performance.md
    .venv/bin/python -m bench.plan_bench --no-write # measure and print only

Two sizes of environment: demo-sized (generated team stack files: network, cluster, GPU
pools; tiers, pools and sizes vary) and full (copies of stacks/Pulumi.demo.yaml as it is when
the bench runs, so every layer the demo has). For N in 1, 10, 50 of each, with 1 job and with
one job per CPU, cold (`--no-cache`) and cached (every plan reused): the wall time of fresh
`mlplat plan --all -q` processes (median and range of --repeat), their CPU time (user +
system, workers included) and the peak RSS of the largest process, each as a ratio to the
floor (a fresh `mlplat --help`) and, cached, to the cold row above it; the load average
when each row started beside it. The SDK shortcuts (ADR 0029) against the stock SDK in the
same run: the CPU of a warm plan of the demo in a process that plans it again and again, and
the 50-environment cold rows again with MLPLAT_PLAN_STOCK_SDK=1.
Targets (issue "Speed"): 50 environments cold under 5 s on 2 cores; cached under 1 s.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import cpu_model
from mlplat.core.paths import DOCS_DIR, REPO_ROOT, STACKS_DIR

PERFORMANCE_DOC = DOCS_DIR / "performance.md"
SECTION = "## Offline plans: demo-sized and full environments (issue \"Speed\")"
FULL_STACK = "demo"
KINDS = ("demo-sized", "full")
STOCK_SDK_ENV = "MLPLAT_PLAN_STOCK_SDK"  # mlplat.plan.shortcuts.STOCK_SDK_ENV
WARM_PLANS = 9  # plans per process when measuring a warm plan's CPU
BEFORE_HEADING = "## Offline plans: first speed run (issue \"Speed\", 2026-12-02 morning)"
COUNTS = (1, 10, 50)
TEAMS = ["vision", "nlp", "speech", "recsys", "search", "ads", "fraud", "robotics", "bio", "maps"]


def environment_configs(count: int) -> list[Any]:
    """`count` distinct, valid environments cycling through tiers, pools and sizes."""
    from mlplat.config import parse_environment

    envs = []
    for index in range(count):
        tier = ("dev", "staging", "prod")[index % 3]
        pools = [{"name": "training", "purpose": "training", "accelerator": "a10g",
                  "instanceFamilies": ["g5"], "capacityTypes": ["spot", "on-demand"],
                  "gpuLimit": 8 + index}]
        if index % 2 == 0:
            pools.append({"name": "serving", "purpose": "serving", "accelerator": "l4",
                          "instanceTypes": ["g6.xlarge", "g6.2xlarge"], "gpuLimit": 4})
        envs.append(parse_environment({
            "team": f"{TEAMS[index % len(TEAMS)]}{index}",
            "env": tier,
            "region": "eu-west-1",
            "tags": {"cost-center": f"cc-{1000 + index}"},
            "network": {"vpcCidr": f"10.{index % 200}.0.0/16"},
            "gpuPools": pools,
        }, f"<bench {index}>"))
    return envs


@dataclass(frozen=True)
class Run:
    """One fresh CLI process: wall and CPU seconds, peak RSS of its largest process."""

    wall_s: float
    cpu_s: float
    peak_rss_mib: float


# Measured by hand (cProfile and CPU clocks in one process), not by this script; dated.
WHERE_THE_TIME_GOES = [
    "Earlier changes (2026-12-02 morning, CPU per warm plan of a demo-sized environment, "
    "median of 8 plans in one process): before, 317 ms. `gc.freeze()` after warming: 273 ms "
    "(-14 %). Collector off while a plan runs and one collection after it: 197 ms (-38 %). "
    "Collector off and never collecting: 178 ms (-44 %), so that is done only in workers, up "
    "to `GARBAGE_LIMIT`. Loading the provider submodules before forking "
    "(`PROVIDER_MODULES`): a worker's first plan 0.23 s of CPU instead of about 0.7 s. "
    "Chunks of one request per hand-out (argued, not measured).",
    "",
    "The SDK shortcuts (ADR 0029; the warm-plan table above measures them each run). Where "
    "the CPU of a warm plan of the demo goes with them (cProfile of 3 plans, own time by "
    "module, 2026-12-02 15:25 UTC): the Pulumi SDK 46 %, mlplat's plan engine (recording "
    "monitor, normalisation, the shortcuts themselves) 11 %, asyncio 8 %, protobuf 6 %, "
    "`isinstance`/typing/inspect calls made mostly by the SDK about 8 %, the components "
    "and program 1 %. What is left of the SDK is its registration body: `prepare_resource` "
    "(dependencies, aliases, provider references), building the RegisterResourceRequest, "
    "`resolve_outputs` (type-directed translation of every output property) and the "
    "context-variable settings it reads about 140 times per registration. In the parent, "
    "before workers fork: interpreter start, validation of every stack file and the "
    "provider imports, about 1.3 s of one core.",
    "",
    "Where a cold run of fifty full environments goes besides the plans themselves "
    "(2026-12-02 19:55 UTC, load 3-4, so every figure here is inflated about 1.4x against "
    "the quiet warm-plan row): the parent, before and while the workers run, 4.0 s of one "
    "core (interpreter and CLI imports, validating fifty stack files, the provider imports "
    "of the warm-up); in a worker, 0.37-0.41 s of CPU per plan, 0.01 s to store it in the "
    "cache and 3 ms to send it back to the parent, its first plan 0.3 s more (lazy set-up "
    "in the SDK and the providers) and, every eleven or so full plans, a full collection "
    "of the garbage they left (`GARBAGE_LIMIT`, about one million objects) costing about "
    "1 s, so about 0.09 s per plan. A plan's garbage is cyclic (futures, tasks and "
    "resources refer to each other), so reference counting cannot free it and a "
    "collection has to walk every object once, however often it runs.",
    "",
    "Cached runs (ADR 0030). Before: `mlplat plan --all -q` over fifty cached full "
    "environments took 1.1-2.0 s: importing every command and the config models 0.37 s, "
    "validating fifty stack files 0.22 s (needed only to compute each plan's cache key) "
    "and parsing fifty cached plans of about 500 KB each 0.25-0.35 s, to print one count "
    "per stack. After: validation is skipped when nothing it reads changed (the validation "
    "memo), only the command that runs is imported, and a cache entry's header carries the "
    "count, so the plan is parsed only by a command that uses it. What is left: the "
    "interpreter's start, click, hashing the inputs (mlplat/ and components/ sources, the "
    "stack directory, the program) and reading fifty entries and their digests. `mlplat "
    "audit --all` over the same cached plans parses every plan and runs the rule set: "
    "about 0.8 s of CPU, a third each parsing, rules and start-up.",
    "",
]


_WARM_PLAN_SCRIPT = """
import gc, json, sys, time
from mlplat.plan.api import _plan, stack_request
from mlplat.plan.engine import warm_up
warm_up()
request = stack_request(sys.argv[1])
gc.disable()  # as in a planning worker
plans = []
for _ in range(int(sys.argv[2]) + 1):  # the first plan loads what warm_up does not
    started = time.process_time()
    plan = _plan(request)
    plans.append(time.process_time() - started)
    gc.collect()
print(json.dumps({"cpu_s": plans[1:], "registrations": len(plan.resources)}))
"""


def warm_plan_cpu(stock: bool, env: dict[str, str]) -> dict[str, Any]:
    """CPU of one warm plan of the demo in a process that plans it again and again, as a
    worker does: median and minimum of WARM_PLANS, per plan and per registration. With
    `stock`, through the unmodified SDK (no shortcuts, ADR 0029)."""
    env = {**env, STOCK_SDK_ENV: "1" if stock else "0", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", _WARM_PLAN_SCRIPT, FULL_STACK,
                             str(WARM_PLANS)], env=env, cwd=REPO_ROOT, capture_output=True,
                            text=True, check=True)
    figures = json.loads(result.stdout)
    cpu = figures["cpu_s"]
    per_registration = statistics.median(cpu) * 1000 / figures["registrations"]
    return {"median_ms": statistics.median(cpu) * 1000, "min_ms": min(cpu) * 1000,
            "registrations": figures["registrations"], "ms_per_registration": per_registration,
            "load": f"{os.getloadavg()[0]:.1f}"}


def run_cli(args: list[str], env: dict[str, str], checkout: Path = REPO_ROOT,
            ok: tuple[int, ...] = (0,)) -> Run:
    """Run the mlplat CLI of `checkout` with ARGS and measure it; wait4 reports CPU and
    peak RSS of the whole process tree (the CLI reaps its workers before it exits). Exit
    codes other than `ok` stop the bench."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "mlplat.cli", *args], cwd=checkout,
                               env={**env, "PYTHONPATH": str(checkout)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    assert process.stderr is not None
    errors = process.stderr.read()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) not in ok:
        raise SystemExit(f"mlplat {' '.join(args)} in {checkout} failed: {errors!r}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def measure(args: list[str], repeat: int, env: dict[str, str],
            checkout: Path = REPO_ROOT, *, before: Callable[[int], None] | None = None,
            ok: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """Median over `repeat` fresh processes (this machine's speed drifts by tens of %);
    `before(i)` runs ahead of the i-th, untimed."""
    runs = []
    for index in range(repeat):
        if before is not None:
            before(index)
        runs.append(run_cli(args, env, checkout, ok))
    walls = [run.wall_s for run in runs]
    return {"wall_s": statistics.median(walls), "range": (min(walls), max(walls)),
            "cpu_s": statistics.median(run.cpu_s for run in runs),
            "peak_rss_mib": max(run.peak_rss_mib for run in runs)}


def write_stack_files(directory: Path, count: int) -> None:
    """`count` team stack files, as teams would commit them, for `mlplat plan --all`."""
    import yaml

    from mlplat.plan.api import stack_config_of

    directory.mkdir(parents=True, exist_ok=True)
    for index, config in enumerate(environment_configs(count)):
        document = {"config": stack_config_of(config)}
        (directory / f"Pulumi.team{index:02d}.yaml").write_text(
            yaml.safe_dump(document, sort_keys=False))


def write_full_stack_files(directory: Path, count: int) -> None:
    """`count` copies of the demo stack file as it is NOW (read at run time, so layers added
    to the demo since this script was written are in the figures), each under its own stack
    name and team so that no two plans are alike."""
    import yaml

    demo = yaml.safe_load((STACKS_DIR / f"Pulumi.{FULL_STACK}.yaml").read_text())
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        config = dict(demo["config"])
        config["mlplat:team"] = f"{config['mlplat:team']}{index}"
        (directory / f"Pulumi.full{index:02d}.yaml").write_text(
            yaml.safe_dump({**demo, "config": config}, sort_keys=False))


def full_environment_size() -> int:
    """Registrations of one plan of the demo stack file as it is now."""
    from mlplat.plan import plan_stack

    return len(plan_stack(FULL_STACK))


def cached_variants(count: int, kind: str, jobs: int, stack_dir: Path, cold: dict[str, Any],
                    repeat: int, env: dict[str, str]) -> list[dict[str, Any]]:
    """Two more cached rows for the headline size (ADR 0030): every plan cached but the
    validation memo missed (a new file in the stack directory before each run, as after an
    unrelated edit), and `mlplat audit --all` over the cached plans (it parses every plan
    and runs the rule set; exit 1 on findings is a result, not a failure)."""
    common = {"count": count, "kind": kind, "jobs": jobs, "cold": cold}

    def unrelated_edit(index: int) -> None:
        # YAML: the memo covers the stack directory's YAML files (validated_files), which a
        # stack may read (org.yaml, templates); a file of another kind would not miss it.
        (stack_dir / f"notes-{index}.yaml").write_text("# not read by any stack\n")

    plan_all = ["plan", "--all", "-q", "--stack-dir", str(stack_dir), "-j", str(jobs)]
    revalidated = {**common, "cache": "cached, revalidated",
                   "load": f"{os.getloadavg()[0]:.1f}",
                   **measure(plan_all, repeat, env, before=unrelated_edit)}
    audit = ["audit", "--all", "--format", "json", "--stack-dir", str(stack_dir), "-j",
             str(jobs)]
    run_cli(audit, env, ok=(0, 1))  # the memo for this stack directory as audit names it
    audited = {**common, "cache": "audit, cached", "load": f"{os.getloadavg()[0]:.1f}",
               **measure(audit, repeat, env, ok=(0, 1))}
    return [revalidated, audited]


def floor(repeat: int, env: dict[str, str]) -> dict[str, Any]:
    """A fresh CLI process that plans nothing: interpreter start and the CLI's imports."""
    return measure(["--help"], repeat, env)


def _figures(row: dict[str, Any]) -> str:
    return (f"{row['wall_s']:.2f} | {row['range'][0]:.2f} to {row['range'][1]:.2f} "
            f"| {row['cpu_s']:.2f} | {row['peak_rss_mib']:.0f}")


def render(rows: list[dict[str, Any]], base: dict[str, Any], jobs: int, repeat: int,
           command: str, sizes: dict[str, int], warm: dict[str, dict[str, Any]],
           stock_rows: list[dict[str, Any]]) -> str:
    lines = [
        SECTION,
        "",
        f"Command: `{command}` — measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M}"
        f" UTC on {os.cpu_count()} cores ({cpu_model()}), {platform.python_implementation()} "
        f"{platform.python_version()}. The machine is shared with other jobs: the 1-min load "
        "average when each row started is in its last column (on 2 cores; above 2 the wall "
        "times are inflated). CPU time (user + system of the CLI and its workers) is the "
        "steadier figure.",
        "",
        f"Each row: fresh `mlplat plan --all -q -j J --stack-dir DIR [--no-cache]` processes "
        f"over N stack files, medians of {repeat}. *Demo-sized*: generated team environments "
        f"(network, cluster, GPU pools; {sizes['demo-sized']} registrations each). *Full*: "
        f"copies of `stacks/Pulumi.{FULL_STACK}.yaml` read when the bench ran (every layer the "
        f"demo has; {sizes['full']} registrations each), team renamed per copy. Cold: "
        "`--no-cache`; cached: every plan reused from the plan cache and, nothing having "
        "changed, validation skipped (ADR 0030); *cached, revalidated*: the same after a new "
        "file in the stack directory, so every stack file is validated again (an unrelated "
        "edit); *audit, cached*: `mlplat audit --all --format json` over the cached plans "
        "(each plan parsed and the rule set run). \"x floor\" divides by the floor (a fresh "
        "`mlplat --help`: interpreter start and the CLI's imports); \"x cold\" divides a "
        "cached row by the cold row of its size.",
        "",
        f"Floor: `mlplat --help`, {base['wall_s']:.2f} s wall ({base['range'][0]:.2f} to "
        f"{base['range'][1]:.2f}), {base['cpu_s']:.2f} s CPU; load {base['load']}.",
        "",
        "| environments | size | jobs | cache | wall (s) | min to max (s) | CPU (s) "
        "| peak RSS (MiB) | x floor | x cold | load |",
        "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cold = row.get("cold")
        cache = row.get("cache") or ("cached" if cold else "cold")
        lines.append(
            f"| {row['count']} | {row['kind']} | {row['jobs']} | {cache} "
            f"| {_figures(row)} | {row['wall_s'] / base['wall_s']:.1f} "
            f"| {row['wall_s'] / cold['wall_s'] if cold else 0:.2f} | {row['load']} |"
            .replace("| 0.00 |", "| - |"))
    per_registration = warm["shortcuts"]["ms_per_registration"]
    floors = ", ".join(
        f"{max(COUNTS)} {kind} environments about "
        f"{max(COUNTS) * n * per_registration / 1000:.1f} s of CPU ({n} registrations each)"
        for kind, n in sizes.items())
    lines += ["", *_verdicts(rows, jobs), *_shortcut_table(warm, stock_rows, rows),
              f"The floor with this SDK and these shortcuts (about {per_registration:.2f} ms "
              f"of CPU per registration, measured above): {floors}, before start-up; halve "
              "for two idle cores, and add the parent's start-up, validation and imports "
              "before workers fork (about 1.3 s of one core). The plan cache is what makes "
              "repeated runs fast.", "", *WHERE_THE_TIME_GOES]
    return "\n".join(lines)


def _shortcut_table(warm: dict[str, dict[str, Any]], stock_rows: list[dict[str, Any]],
                    rows: list[dict[str, Any]]) -> list[str]:
    """The shortcuts through the SDK (ADR 0029) against the stock SDK, same machine, same
    run: a warm plan in one process, and the headline cold rows."""
    fast, stock = warm["shortcuts"], warm["stock"]
    lines = [
        "Shortcuts through the SDK (ADR 0029) against the stock SDK "
        f"(`{STOCK_SDK_ENV}=1`), in this run. Warm plan: CPU of one plan of the "
        f"`{FULL_STACK}` stack ({fast['registrations']} registrations) in a process that "
        f"plans it {WARM_PLANS} times with the collector off, as a worker does. Cold rows: "
        "the same command as the row above, interleaved with it.",
        "",
        "| what | stock SDK | with the shortcuts | x | load |",
        "|---|---:|---:|---:|---:|",
        f"| warm plan, median (ms CPU) | {stock['median_ms']:.0f} | {fast['median_ms']:.0f} "
        f"| {fast['median_ms'] / stock['median_ms']:.2f} | {fast['load']} |",
        f"| warm plan, minimum (ms CPU) | {stock['min_ms']:.0f} | {fast['min_ms']:.0f} "
        f"| {fast['min_ms'] / stock['min_ms']:.2f} | {fast['load']} |",
        f"| per registration (ms CPU) | {stock['ms_per_registration']:.2f} "
        f"| {fast['ms_per_registration']:.2f} "
        f"| {fast['ms_per_registration'] / stock['ms_per_registration']:.2f} | {fast['load']} |",
    ]
    for stock_row in stock_rows:
        row = next(r for r in rows if not r.get("cold") and r["count"] == stock_row["count"]
                   and r["kind"] == stock_row["kind"] and r["jobs"] == stock_row["jobs"])
        label = f"{row['count']} {row['kind']}, {row['jobs']} jobs, cold"
        lines += [
            f"| {label}: wall (s) | {stock_row['wall_s']:.2f} | {row['wall_s']:.2f} "
            f"| {row['wall_s'] / stock_row['wall_s']:.2f} | {stock_row['load']} |",
            f"| {label}: CPU (s) | {stock_row['cpu_s']:.2f} | {row['cpu_s']:.2f} "
            f"| {row['cpu_s'] / stock_row['cpu_s']:.2f} | {stock_row['load']} |",
        ]
    return [*lines, ""]


def _verdicts(rows: list[dict[str, Any]], jobs: int) -> list[str]:
    out = []
    for kind in KINDS:
        fifty = [r for r in rows if r["count"] == max(COUNTS) and r["jobs"] == jobs
                 and r["kind"] == kind]
        variants = {r["cache"]: r for r in fifty if "cache" in r}
        fifty = [r for r in fifty if "cache" not in r]
        if len(fifty) != 2:
            continue
        cold_row, cached_row = (next(r for r in fifty if not r.get("cold")),
                                next(r for r in fifty if r.get("cold")))
        out.append(
            f"Targets, {max(COUNTS)} {kind} environments, {jobs} jobs: cold under 5 s — "
            f"**{'met' if cold_row['wall_s'] < 5 else 'NOT met'}** ({cold_row['wall_s']:.2f} s "
            f"wall at load {cold_row['load']}; {cold_row['cpu_s']:.2f} s of CPU, so two idle "
            f"cores need at least {cold_row['cpu_s'] / jobs:.2f} s); cached under 1 s — "
            f"**{'met' if cached_row['wall_s'] < 1 else 'NOT met'}** "
            f"({cached_row['wall_s']:.2f} s wall, {cached_row['cpu_s']:.2f} s CPU)"
            + "".join(f"; {name}: {row['wall_s']:.2f} s wall" for name, row in variants.items())
            + ".")
        out.append("")
    return out


def write_section(text: str) -> None:
    current = PERFORMANCE_DOC.read_text() if PERFORMANCE_DOC.exists() else (
        "# Performance\n\nEach section is written by the benchmark named in it.\n\n")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text + "\n", current)
    elif BEFORE_HEADING in current:  # the new figures go first, the history stays below
        updated = current.replace(BEFORE_HEADING, text + "\n" + BEFORE_HEADING, 1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    PERFORMANCE_DOC.write_text(updated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=0,
                        help="parallel jobs to compare with 1 (default: one per CPU)")
    parser.add_argument("--repeat", type=int, default=3, help="processes per row (median)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS),
                        help="which environment sizes to plan (default: both)")
    parser.add_argument("--counts", type=int, nargs="+", default=list(COUNTS),
                        help="numbers of environments (default: 1 10 50)")
    parser.add_argument("--no-write", action="store_true", help="do not update the doc")
    args = parser.parse_args()
    from mlplat.plan import default_jobs

    jobs = args.jobs or default_jobs()
    command = ".venv/bin/python -m bench.plan_bench" + (
        f" --repeat {args.repeat}" if args.repeat != 3 else "") + (
        f" --kinds {' '.join(args.kinds)}" if args.kinds != list(KINDS) else "") + (
        f" --counts {' '.join(map(str, args.counts))}" if args.counts != list(COUNTS) else "")
    writers = {"demo-sized": write_stack_files, "full": write_full_stack_files}
    rows: list[dict[str, Any]] = []
    stock_rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mlplat-bench-") as scratch:
        env = {**os.environ, "MLPLAT_CACHE_DIR": str(Path(scratch) / "cache")}
        base = {**floor(args.repeat, env), "load": f"{os.getloadavg()[0]:.1f}"}
        warm = {"shortcuts": warm_plan_cpu(False, env), "stock": warm_plan_cpu(True, env)}
        for kind in args.kinds:
            for count in args.counts:
                stack_dir = Path(scratch) / f"{kind}{count}"
                writers[kind](stack_dir, count)
                for j in sorted({1, jobs}):
                    plan_all = ["plan", "--all", "-q", "--stack-dir", str(stack_dir),
                                "-j", str(j)]
                    load = f"{os.getloadavg()[0]:.1f}"
                    cold = {"count": count, "kind": kind, "jobs": j, "load": load,
                            **measure([*plan_all, "--no-cache"], args.repeat, env)}
                    run_cli(plan_all, env)  # fills the cache
                    cached = {"count": count, "kind": kind, "jobs": j, "cold": cold,
                              "load": f"{os.getloadavg()[0]:.1f}",
                              **measure(plan_all, args.repeat, env)}
                    rows += [cold, cached]
                    if count == max(args.counts) and j == jobs:
                        rows += cached_variants(count, kind, j, stack_dir, cold, args.repeat,
                                                env)
                        stock_rows.append({
                            "count": count, "kind": kind, "jobs": j,
                            "load": f"{os.getloadavg()[0]:.1f}",
                            **measure([*plan_all, "--no-cache"], args.repeat,
                                      {**env, STOCK_SDK_ENV: "1"})})
                    print(kind, count, j, f"cold {cold['wall_s']:.2f}",
                          f"cached {cached['wall_s']:.2f}", f"load {load}", file=sys.stderr)
    # Planned in this process only after the measurements: a child forked from a big process
    # reports that process's RSS as its own peak (Linux ru_maxrss survives exec).
    sizes = {"demo-sized": len(_one_generated_plan()), "full": full_environment_size()}
    text = render(rows, base, jobs, args.repeat, command, sizes, warm, stock_rows)
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"updated {PERFORMANCE_DOC}")


def _one_generated_plan() -> Any:
    from mlplat.plan import plan_environment

    return plan_environment(environment_configs(1)[0])


if __name__ == "__main__":
    main()
