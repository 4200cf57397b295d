"""Benchmark: offline planning of 1, 10 and 50 team environments.

    .venv/bin/python -m bench.plan_bench            # measure and update docs/performance.md
    .venv/bin/python -m bench.plan_bench --no-write # measure and print only

For each N, with 1 job and with one job per CPU, in a fresh process per measurement:
- plan time: wall time of `plan_requests` over N distinct environments (the first plan
  in a process pays the AWS SDK imports);
- whole process: wall time including interpreter start and imports, which is what a CLI
  user or CI job pays;
- peak RSS of the largest process (ru_maxrss of the parent and of its workers).
And separately fresh `mlplat` CLI processes: `plan demo -q`, and `plan --all -q` over N
generated stack files (median of 3).
Target (issue #3): 50 environments in under 10 s on a 2-core machine, growing linearly.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import cpu_model
from mlplat.core.paths import DOCS_DIR, REPO_ROOT

PERFORMANCE_DOC = DOCS_DIR / "performance.md"
SECTION = "## Offline plans (issue #3)"
COUNTS = (1, 10, 50)
TEAMS = ["vision", "nlp", "speech", "recsys", "search", "ads", "fraud", "robotics", "bio", "maps"]


def environment_configs(count: int):
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


def worker(count: int, jobs: int) -> None:
    """Plan `count` environments with `jobs` processes; print a JSON line with timings."""
    from mlplat.plan import environment_request, plan_requests

    requests = [environment_request(config, stack=f"bench{index}")
                for index, config in enumerate(environment_configs(count))]
    started = time.perf_counter()
    plans = plan_requests(requests, jobs=jobs)
    finished = time.perf_counter()
    # Children are waited for by the pool, so RUSAGE_CHILDREN holds the largest worker.
    peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"count": count, "jobs": jobs,
                      "registrations": sum(len(plan) for plan in plans),
                      "plan_s": finished - started,
                      "peak_rss_mib": peak_kib / 1024}))


def measure(count: int, jobs: int, repeat: int) -> dict[str, Any]:
    """Median over `repeat` fresh processes (this machine's speed drifts by tens of %)."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "bench.plan_bench", "--worker",
                                 str(count), "--jobs", str(jobs)],
                                cwd=REPO_ROOT, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
        data = json.loads(result.stdout.strip().splitlines()[-1])
        data["process_s"] = wall
        runs.append(data)
    row = dict(runs[0])
    for key in ("plan_s", "process_s", "peak_rss_mib"):
        row[key] = statistics.median(run[key] for run in runs)
    row["process_range"] = (min(r["process_s"] for r in runs), max(r["process_s"] for r in runs))
    return row


def cli_wall(args: list[str], runs: int = 3) -> float:
    """Median wall time of a fresh `mlplat` CLI process."""
    mlplat = Path(sys.executable).with_name("mlplat")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(mlplat), *args], cwd=REPO_ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def write_stack_files(directory: Path, count: int) -> None:
    """`count` team stack files, as teams would commit them, for `mlplat plan --all`."""
    import yaml

    from mlplat.plan.api import stack_config_of

    for index, config in enumerate(environment_configs(count)):
        document = {"config": stack_config_of(config)}
        (directory / f"Pulumi.team{index:02d}.yaml").write_text(
            yaml.safe_dump(document, sort_keys=False))


def render(rows: list[dict[str, Any]], cli_one: float, cli_all: float, jobs: int,
           repeat: int) -> str:
    load = os.getloadavg()[0]
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python -m bench.plan_bench` — measured "
        f"{datetime.date.today().isoformat()} on {os.cpu_count()} cores "
        f"({cpu_model()}), {platform.python_implementation()} {platform.python_version()}, "
        f"1-min load average at the end {load:.1f}.",
        "",
        "Each row is one fresh worker process planning N distinct environments (tiers, pools "
        "and sizes vary) with `plan_requests(..., jobs=J)`: J=1 plans in-process one after "
        f"another; J={jobs} plans the first in-process and forks workers for the rest "
        f"(`mlplat plan --all` does the same). Times are medians of {repeat} processes.",
        "",
        "| environments | jobs | registrations | plan time (s) | per environment (ms) "
        "| whole process wall (s) | min to max (s) | peak RSS, largest process (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['count']} | {row['jobs']} | {row['registrations']} | {row['plan_s']:.2f} | "
            f"{1000 * row['plan_s'] / row['count']:.0f} | {row['process_s']:.2f} | "
            f"{row['process_range'][0]:.2f} to {row['process_range'][1]:.2f} | "
            f"{row['peak_rss_mib']:.0f} |")
    fifty = {row["jobs"]: row for row in rows if row["count"] == max(COUNTS)}
    best = min(fifty.values(), key=lambda row: row["process_s"])
    sequential = [row for row in rows if row["jobs"] == 1]
    per_env = [row["plan_s"] / row["count"] for row in sequential]
    lines += [
        "",
        f"Fresh CLI processes (median of 3): `mlplat plan demo -q` {cli_one:.2f} s; "
        f"`mlplat plan --all -q` over {max(COUNTS)} committed stack files (validation, "
        f"{jobs} jobs) {cli_all:.2f} s.",
        "",
        f"Target: {max(COUNTS)} environments in under 10 s on 2 cores — "
        f"**{'met' if best['process_s'] < 10 else 'NOT met'}**: best whole-process time "
        f"{best['process_s']:.1f} s with {best['jobs']} jobs "
        f"({fifty[1]['process_s']:.1f} s with 1). Growth with 1 job: per-environment time "
        f"{' → '.join(f'{1000 * p:.0f}' for p in per_env)} ms for "
        f"{' / '.join(str(c) for c in COUNTS)} environments (the first plan in a process "
        "pays the AWS SDK imports; after that, flat: linear).",
        "",
        "Where the time goes (cProfile of 5 warm plans, 2026-11-30): over 90 % is inside the "
        "Pulumi Python SDK's per-resource registration (`transfer_properties`, "
        "`serialize_property`, output and asyncio task bookkeeping, about 4 ms per resource); "
        "mlplat's recording monitor, mocks and normalisation are about 3 %. Already removed: "
        "the SDK's thread hop per monitor call and its per-registration stack walk (about a "
        "fifth). What is left to reach the target is outside this code base: fewer resources "
        "per environment, or an SDK with cheaper registrations.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    current = PERFORMANCE_DOC.read_text() if PERFORMANCE_DOC.exists() else (
        "# Performance\n\nEach section is written by the benchmark named in it.\n\n")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text + "\n", current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    PERFORMANCE_DOC.write_text(updated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=0,
                        help="parallel jobs to compare with 1 (default: one per CPU)")
    parser.add_argument("--repeat", type=int, default=3, help="processes per row (median)")
    parser.add_argument("--no-write", action="store_true", help="do not update the doc")
    args = parser.parse_args()
    from mlplat.plan import default_jobs

    jobs = args.jobs or default_jobs()
    if args.worker:
        worker(args.worker, jobs)
        return
    rows = [measure(count, j, args.repeat) for count in COUNTS for j in sorted({1, jobs})]
    with tempfile.TemporaryDirectory(prefix="mlplat-bench-") as scratch:
        write_stack_files(Path(scratch), max(COUNTS))
        cli_all = cli_wall(["plan", "--all", "-q", "--stack-dir", scratch, "-j", str(jobs)])
    text = render(rows, cli_wall(["plan", "demo", "-q"]), cli_all, jobs, args.repeat)
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"updated {PERFORMANCE_DOC}")


if __name__ == "__main__":
    main()
