"""Organisation guardrails (stacks/org.yaml) hold for hand-written stack files: `plan`,
`validate` and `audit` refuse a stack that breaks one, naming the field and the guardrail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlplat.core.paths import REPO_ROOT

pytestmark = pytest.mark.cli
MLPLAT = [sys.executable, "-m", "mlplat.cli"]


def _run(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "MLPLAT_CACHE_DIR": str(cache)}
    return subprocess.run([*MLPLAT, *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.fixture()
def stack_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "stacks"
    directory.mkdir()
    shutil.copy(REPO_ROOT / "stacks" / "Pulumi.demo.yaml", directory / "Pulumi.demo.yaml")
    shutil.copy(REPO_ROOT / "stacks" / "org.yaml", directory / "org.yaml")
    return directory


def _edit_org(directory: Path, **changes: object) -> None:
    org = yaml.safe_load((directory / "org.yaml").read_text())
    org.update(changes)
    (directory / "org.yaml").write_text(yaml.safe_dump(org))


@pytest.mark.parametrize(("changes", "expected"), [
    ({"allowedRegions": ["us-east-1"]},
     "Pulumi.demo.yaml: aws:region: eu-west-1 is not an allowed region (guardrail "
     "allowedRegions: us-east-1 in "),
    ({"requiredTags": ["owner", "data-classification"]},
     "mlplat:tags: the required tag 'data-classification' is missing"),
    ({"maxGpusPerPool": 16},
     "mlplat:gpuPools[0].gpuLimit: 32 GPUs in pool training (guardrail maxGpusPerPool: 16"),
    ({"maxGpusPerTeam": 39},
     "mlplat:gpuPools: 40 GPUs across the team's pools (guardrail maxGpusPerTeam: 39"),
    ({"environments": {"staging": {"allowedGpuInstanceTypes": ["g6.*"]}}},
     "mlplat:gpuPools[0].instanceFamilies[0]: family g5 is not allowed in staging "
     "(guardrail environments.staging.allowedGpuInstanceTypes"),
    ({"environments": {"staging": {"allowedGpuInstanceTypes": ["g5.*", "g6.xlarge"]}}},
     "mlplat:gpuPools[1].instanceTypes[1]: g6.2xlarge is not allowed in staging"),
])
def test_a_stack_breaking_a_guardrail_does_not_plan(stack_dir: Path, tmp_path: Path,
                                                    changes: dict, expected: str) -> None:
    _edit_org(stack_dir, **changes)
    target = tmp_path / "plan.json"
    result = _run("plan", "demo", "--stack-dir", str(stack_dir), "--json", str(target),
                  cache=tmp_path / "cache")
    assert result.returncode == 2, result.stdout[-500:]
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not target.exists()


def test_validate_and_audit_enforce_them_too(stack_dir: Path, tmp_path: Path) -> None:
    _edit_org(stack_dir, maxGpusPerPool=8)
    for command in ("validate", "audit"):
        result = _run(command, "demo", "--stack-dir", str(stack_dir), cache=tmp_path / "c")
        assert result.returncode == 2, (command, result.stdout[-300:])
        assert "guardrail maxGpusPerPool: 8" in result.stderr


def test_the_shipped_stacks_keep_the_shipped_guardrails(tmp_path: Path) -> None:
    result = _run("validate", "--all", cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
