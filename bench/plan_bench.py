"""Benchmark: offline planning of 1, 10 and 50 team environments.

    .venv/bin/python -m bench.plan_bench            # measure and update docs/performance.md
    .venv/bin/python -m bench.plan_bench --no-write # measure and print only

For each N it measures, in a fresh worker process per N (so peak memory is per N):
- in-process: wall time of planning N distinct environments after imports are warm;
- fresh process: wall time of the whole worker process (interpreter start, imports, N plans),
  which is what a CLI user or CI job pays;
- peak RSS of the worker (ru_maxrss).
And separately the wall time of one `mlplat plan demo -q` CLI process (median of 3).
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
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PERFORMANCE_DOC = REPO_ROOT / "docs" / "performance.md"
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


def worker(count: int) -> None:
    """Plan `count` environments; print a JSON line with timings."""
    started = time.perf_counter()
    from mlplat.plan import plan_environment

    configs = environment_configs(count)
    imported = time.perf_counter()
    resources = 0
    for index, config in enumerate(configs):
        resources += len(plan_environment(config, stack=f"bench{index}"))
    finished = time.perf_counter()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"count": count, "registrations": resources,
                      "imports_s": imported - started, "plan_s": finished - imported,
                      "peak_rss_mib": peak_kib / 1024}))


def measure(count: int) -> dict[str, float]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "bench.plan_bench", "--worker", str(count)],
                            cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["process_s"] = wall
    return data


def cli_wall(runs: int = 3) -> float:
    mlplat = Path(sys.executable).with_name("mlplat")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(mlplat), "plan", "demo", "-q"], cwd=REPO_ROOT, check=True,
                       capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def render(rows: list[dict[str, float]], cli: float) -> str:
    load = os.getloadavg()[0]
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python -m bench.plan_bench` — measured "
        f"{datetime.date.today().isoformat()} on {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"1-min load average at the end {load:.1f}.",
        "",
        "| environments | registrations | plan time in-process (s) | per environment (ms) "
        "| fresh process wall (s) | peak RSS (MiB) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['count']} | {row['registrations']} | {row['plan_s']:.2f} | "
            f"{1000 * row['plan_s'] / row['count']:.0f} | {row['process_s']:.2f} | "
            f"{row['peak_rss_mib']:.0f} |")
    per_env = [r["plan_s"] / r["count"] for r in rows]
    lines += [
        "",
        f"One `mlplat plan demo -q` CLI process (median of 3): {cli:.2f} s wall.",
        "",
        f"Target: 50 environments in under 10 s — "
        f"{'met' if rows[-1]['plan_s'] < 10 else 'NOT met'} in-process "
        f"({rows[-1]['plan_s']:.1f} s), "
        f"{'met' if rows[-1]['process_s'] < 10 else 'not met'} including process start "
        f"({rows[-1]['process_s']:.1f} s). Growth: per-environment time goes "
        f"{' → '.join(f'{1000 * p:.0f}' for p in per_env)} ms from 1 to 50 environments "
        "(flat means linear).",
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
    parser.add_argument("--no-write", action="store_true", help="do not update the doc")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    rows = [measure(count) for count in COUNTS]
    text = render(rows, cli_wall())
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"updated {PERFORMANCE_DOC}")


if __name__ == "__main__":
    main()
