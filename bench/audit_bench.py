"""Benchmark: `mlplat audit` over 50 committed demo plans, whole process.

    .venv/bin/python -m bench.audit_bench            # measure and update docs/performance.md
    .venv/bin/python -m bench.audit_bench --no-write # measure and print only

The demo is planned once and written as 50 plan JSON files (distinct stack names), as a
reviewer would have them committed; then fresh `mlplat audit --plan ...` processes audit all
50 (median of 3): interpreter start, imports, JSON reading, every rule, report. The rule
time alone (`audit_plans` in-process over the same 50 plans) is reported beside it.
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
from pathlib import Path

from bench import cpu_model
from mlplat.core.paths import DOCS_DIR, REPO_ROOT

PERFORMANCE_DOC = DOCS_DIR / "performance.md"
SECTION = "## Audit"
PLANS = 50
RUNS = 3


def write_plans(directory: Path, count: int) -> list[Path]:
    from mlplat.plan import plan_stack

    data = json.loads(plan_stack("demo").dumps())
    paths = []
    for index in range(count):
        data["stack"] = f"demo{index:02d}"
        path = directory / f"demo{index:02d}.json"
        path.write_text(json.dumps(data))
        paths.append(path)
    return paths


def cli_wall(paths: list[Path], runs: int) -> list[float]:
    args = [sys.executable, "-m", "mlplat.cli", "audit", "--format", "json",
            *(arg for path in paths for arg in ("--plan", str(path)))]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, cwd=REPO_ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def rules_time(paths: list[Path]) -> tuple[float, int, int]:
    """Seconds for every rule over every plan in-process; records and rules counted."""
    from mlplat.audit import audit_plans, load_plan_file
    from policies import ALL_RULES

    plans = [load_plan_file(path) for path in paths]
    start = time.perf_counter()
    audit_plans(plans)
    return time.perf_counter() - start, sum(len(p) for p in plans), len(ALL_RULES)


def render(times: list[float], rules_seconds: float, records: int, rules: int) -> str:
    today = datetime.date.today().isoformat()
    load = os.getloadavg()[0]
    return "\n".join([
        SECTION, "",
        f"Command: `.venv/bin/python -m bench.audit_bench` — measured {today} on "
        f"{os.cpu_count()} cores ({cpu_model()}), CPython {platform.python_version()}, "
        f"1-min load average at the end {load:.1f}.", "",
        f"`mlplat audit --format json --plan demo00.json ... --plan demo{PLANS - 1:02d}.json`: "
        f"{PLANS} committed demo plans ({records} records), {rules} rules, fresh process.", "",
        "| measurement | seconds |", "|---|---:|",
        f"| whole process, median of {len(times)} | {statistics.median(times):.2f} |",
        f"| min to max | {min(times):.2f} to {max(times):.2f} |",
        f"| rules only, in-process (`audit_plans`) | {rules_seconds:.2f} |",
        "",
    ]) + "\n"


def write_section(text: str) -> None:
    current = PERFORMANCE_DOC.read_text()
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    updated = pattern.sub(lambda _: text, current) if pattern.search(current) else (
        current.rstrip("\n") + "\n\n" + text)
    PERFORMANCE_DOC.write_text(updated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="do not update the doc")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        paths = write_plans(Path(scratch), PLANS)
        times = cli_wall(paths, RUNS)
        rules_seconds, records, rules = rules_time(paths)
    text = render(times, rules_seconds, records, rules)
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
