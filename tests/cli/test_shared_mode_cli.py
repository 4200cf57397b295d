"""`mlplat plan` with a platform and its tenants, as a user runs it: a subprocess, real exit
codes, real files (ADR 0008)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlplat.core.paths import REPO_ROOT, STACKS_DIR

pytestmark = pytest.mark.cli


def run(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PULUMI_"))}
    env["MLPLAT_CACHE_DIR"] = str(cache)
    return subprocess.run([sys.executable, "-m", "mlplat.cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def test_plan_all_plans_every_stack_and_template_platform_first(tmp_path: Path) -> None:
    result = run("plan", "--all", "-q", "--json-dir", str(tmp_path / "plans"),
                 cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    planned = re.findall(r"resources planned for stack (\S+)", result.stdout)
    stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in STACKS_DIR.glob("Pulumi.*.yaml"))
    templates = sorted(f"template-{p.stem}" for p in (STACKS_DIR / "templates").glob("*.yaml"))
    assert sorted(planned) == sorted(stacks + templates)
    assert planned.index("platform") < planned.index("nlp-dev")
    assert planned.index("platform") < planned.index("template-shared-team")
    assert sorted(p.stem for p in (tmp_path / "plans").glob("*.json")) == sorted(planned)


def test_impossible_shared_config_exits_2_naming_file_and_field_writing_nothing(
        tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    shutil.copy(STACKS_DIR / "Pulumi.platform.yaml", stacks)
    tenant = (STACKS_DIR / "Pulumi.nlp-dev.yaml").read_text()
    (stacks / "Pulumi.nlp-dev.yaml").write_text(
        tenant + "  mlplat:gpuPools: []\n")
    (stacks / "Pulumi.lost.yaml").write_text(
        tenant.replace("platformStack: platform", "platformStack: nowhere"))
    out = tmp_path / "plans"
    result = run("plan", "--all", "--stack-dir", str(stacks), "--json-dir", str(out),
                 cache=tmp_path / "cache")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith(f"error: {stacks / 'Pulumi.nlp-dev.yaml'}: mlplat:gpuPools: "
                               "not allowed in shared mode") for line in lines), lines
    assert any(f"{stacks / 'Pulumi.lost.yaml'}: mlplat:cluster.platformStack: no stack "
               "'nowhere'" in line for line in lines), lines
    assert not out.exists()


def test_templates_lists_every_template_and_shows_parameters(tmp_path: Path) -> None:
    listed = run("templates", cache=tmp_path)
    assert listed.returncode == 0, listed.stderr
    names = re.findall(r"^([a-z0-9-]+): ", listed.stdout, re.MULTILINE)
    assert names == sorted(p.stem for p in (STACKS_DIR / "templates").glob("*.yaml"))
    shown = run("templates", "shared-team", cache=tmp_path)
    assert "  team (string, required): " in shown.stdout
    assert "  gpuQuota (integer, default 8): " in shown.stdout
    missing = run("templates", "nope", cache=tmp_path)
    assert missing.returncode == 2 and "stacks/templates/nope.yaml: no such template" in (
        missing.stderr)
