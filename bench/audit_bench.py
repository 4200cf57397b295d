"""Benchmark: `mlplat audit` and checkov over the same 50 demo plans, whole process.

    .venv/bin/python -m bench.audit_bench            # measure and update docs/performance.md
    .venv/bin/python -m bench.audit_bench --no-write # measure and print only

The demo is planned once (the stack file as it is when the bench runs) and written as 50 plan
JSON files with distinct stack names, as a reviewer would have them committed. The same 50
plans are exported the way the scanner tests export them (`mlplat.audit.tfplan`: a Terraform-
plan JSON per plan and its Kubernetes objects as YAML) for checkov, the second opinion. Then,
interleaved, fresh processes of each (median of --runs): `mlplat audit --format json --plan
...` over all 50 (interpreter start, imports, JSON reading, every rule, report) and one
`checkov --framework terraform_plan kubernetes -d DIR --skip-download` over all 50 exports.
The export itself is not timed (checkov would need it in any pipeline; mlplat does not).
Target (issue "Speed"): mlplat audit at least 3x faster than checkov on the same plans.
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
from typing import Any

from bench import cpu_model
from mlplat.core.paths import DOCS_DIR, REPO_ROOT

PERFORMANCE_DOC = DOCS_DIR / "performance.md"
SECTION = "## Audit"
PLANS = 50
CHECKOV = REPO_ROOT / ".venv-scanners" / "bin" / "checkov"
TARGET = 3.0


def write_plans(directory: Path, count: int) -> tuple[list[Path], Path, int]:
    """`count` plan files of the demo and, under directory/checkov, their exports.
    Returns the plan paths, the export directory and the records per plan."""
    import yaml

    from mlplat.audit import load_plan_file
    from mlplat.audit.tfplan import kubernetes_manifests, terraform_plan
    from mlplat.plan import plan_stack

    plan = plan_stack("demo")
    data = json.loads(plan.dumps())
    exports = directory / "checkov"
    exports.mkdir()
    paths = []
    for index in range(count):
        data["stack"] = f"demo{index:02d}"
        path = directory / f"demo{index:02d}.json"
        path.write_text(json.dumps(data))
        paths.append(path)
        renamed = load_plan_file(path)
        (exports / f"demo{index:02d}.tf.json").write_text(json.dumps(terraform_plan(renamed)))
        (exports / f"demo{index:02d}.k8s.yaml").write_text(
            yaml.safe_dump_all([m for _, m in kubernetes_manifests(renamed)]))
    return paths, exports, len(plan)


LAST_OUTPUT: dict[str, str] = {}  # each command's last stdout, by name


def timed(name: str, argv: list[str], ok: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in ok:
        raise SystemExit(f"{argv[:4]} failed ({done.returncode}): {done.stderr[-2000:]!r}")
    LAST_OUTPUT[name] = done.stdout
    return elapsed


def checkov_summary(report: str) -> dict[str, int]:
    """Checks checkov ran over the exports (so the comparison is not against an empty run)."""
    reports = json.loads(report)
    reports = reports if isinstance(reports, list) else [reports]
    total = {"passed": 0, "failed": 0, "resource_count": 0, "parsing_errors": 0}
    for one in reports:
        for key in total:
            total[key] += int(one.get("summary", {}).get(key, 0))
    return total


def checkov_args(exports: Path) -> list[str]:
    return [str(CHECKOV), "--framework", "terraform_plan", "kubernetes", "-d", str(exports),
            "--skip-download", "-o", "json", "--quiet", "--compact"]


def summary(times: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def render(fig: dict[str, Any], loads: dict[str, str], runs: int, records: int, rules: int,
           checked: dict[str, int], plans: int) -> str:
    floor, audit, checkov = fig["floor"], fig["audit"], fig["checkov"]
    ratio = checkov["median"] / audit["median"]
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    row = "| {name} | `{cmd}` | {median:.2f} | {min:.2f} to {max:.2f} | {x} | {load} |"
    return "\n".join([
        SECTION, "",
        f"Command: `.venv/bin/python -m bench.audit_bench{_runs_flag(runs)}"
        f"{f' --plans {plans}' if plans != PLANS else ''}`"
        f" — measured {when} on {os.cpu_count()} cores ({cpu_model()}), CPython "
        f"{platform.python_version()}; 1-min load average when each figure started in its "
        "last column (the machine is shared; on 2 cores).", "",
        f"The same {plans} demo plans ({records} records each, {records * plans} in all; the "
        "demo stack file as it was when the bench ran), each tool in fresh processes, whole "
        f"process from start to exit, median of {runs} interleaved runs ({len(fig['checkov_all'])}"
        " for checkov, which takes minutes per run here). mlplat audit runs "
        f"{rules} rules; checkov scanned the exports of the same plans "
        f"(`mlplat.audit.tfplan`, as in tests/policies/test_scanners.py; export not timed): "
        f"{checked['resource_count']} resources, {checked['passed']} passed and "
        f"{checked['failed']} failed checks, {checked['parsing_errors']} parsing errors.", "",
        "| run | command | median (s) | min to max (s) | x | load |",
        "|---|---|---:|---:|---:|---:|",
        row.format(name="floor", cmd="mlplat --help", x="1.0 (floor)", load=loads["floor"],
                   **floor),
        row.format(name=f"mlplat audit, {plans} plans",
                   cmd="mlplat audit --format json --plan demo00.json ... "
                       f"--plan demo{plans - 1:02d}.json",
                   x=f"{audit['median'] / floor['median']:.1f} x floor", load=loads["audit"],
                   **audit),
        row.format(name=f"checkov, same {plans} plans",
                   cmd="checkov --framework terraform_plan kubernetes -d DIR --skip-download "
                       "-o json --quiet --compact",
                   x=f"{ratio:.1f} x mlplat audit", load=loads["checkov"], **checkov),
        "",
        f"Target: mlplat audit at least {TARGET:.0f}x faster than checkov on the same plans — "
        f"**{'met' if ratio >= TARGET else 'NOT met'}** ({ratio:.1f}x). Of the audit's "
        f"{audit['median']:.2f} s, {floor['median']:.2f} s is the floor (interpreter start and "
        f"the CLI's imports) and {fig['rules_s']:.2f} s the rules themselves "
        "(`audit_plans` in-process over the same plans, one run); the rest is reading the "
        "plans and writing the report. checkov runs as the second opinion in the test "
        "suite, not in `mlplat audit`.",
        "",
    ]) + "\n"


def _runs_flag(runs: int) -> str:
    return f" --runs {runs}" if runs != 5 else ""


def rules_time(paths: list[Path]) -> tuple[float, int]:
    """Seconds for every rule over every plan in-process, and the number of rules."""
    from mlplat.audit import audit_plans, load_plan_file
    from policies import ALL_RULES

    plans = [load_plan_file(path) for path in paths]
    start = time.perf_counter()
    audit_plans(plans)
    return time.perf_counter() - start, len(ALL_RULES)


def write_section(text: str) -> None:
    current = PERFORMANCE_DOC.read_text()
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    updated = pattern.sub(lambda _: text, current) if pattern.search(current) else (
        current.rstrip("\n") + "\n\n" + text)
    PERFORMANCE_DOC.write_text(updated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="processes per tool (median)")
    parser.add_argument("--checkov-runs", type=int, default=1,
                        help="checkov processes (default 1: minutes each on 2 cores)")
    parser.add_argument("--plans", type=int, default=PLANS, help="plans (default 50)")
    parser.add_argument("--no-write", action="store_true", help="do not update the doc")
    args = parser.parse_args()
    if not CHECKOV.exists():
        raise SystemExit(f"{CHECKOV} missing: run `make scanners`")
    cli = [sys.executable, "-m", "mlplat.cli"]
    with tempfile.TemporaryDirectory(prefix="mlplat-audit-bench-") as scratch:
        paths, exports, records = write_plans(Path(scratch), args.plans)
        audit_argv = [*cli, "audit", "--format", "json",
                      *(arg for path in paths for arg in ("--plan", str(path)))]
        # mlplat audit exits 1 when it finds something; the demo is clean, so 0 only.
        commands = {"floor": ([*cli, "--help"], (0,)), "audit": (audit_argv, (0,)),
                    "checkov": (checkov_args(exports), (0, 1))}
        times: dict[str, list[float]] = {name: [] for name in commands}
        loads: dict[str, str] = {}
        for run in range(args.runs):  # interleaved: a load spike hits every tool alike
            for name, (argv, ok) in commands.items():
                if name == "checkov" and run >= args.checkov_runs:
                    continue
                loads.setdefault(name, f"{os.getloadavg()[0]:.1f}")
                times[name].append(timed(name, argv, ok))
                print(name, f"{times[name][-1]:.2f}", f"load {os.getloadavg()[0]:.1f}",
                      file=sys.stderr, flush=True)
        checked = checkov_summary(LAST_OUTPUT["checkov"])
        rules_s, rules = rules_time(paths)
    fig: dict[str, Any] = {name: summary(t) for name, t in times.items()}
    fig["checkov_all"] = times["checkov"]
    fig["rules_s"] = rules_s
    text = render(fig, loads, args.runs, records, rules, checked, len(paths))
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
