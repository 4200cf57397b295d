"""`mlplat review` on a real two-commit history: the report lists exactly the changed
resources, the new finding and the cost delta."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_diff_cli import SCRATCH_RESOURCES, TEAM, changed_stack, commit, git, write_stack
from test_plan_cli import MLPLAT, assert_bad_input, clean_env

from mlplat.cost.prices import region_prices

pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    root = tmp_path_factory.mktemp("review")
    env = clean_env()
    env["MLPLAT_CACHE_DIR"] = str(root / "plan-cache")
    repo = root / "repo"
    (repo / "stacks").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    write_stack(repo, TEAM)
    base = commit(repo, "the team's stack")
    changed = changed_stack()
    # An explicit opt-in the audit reports (MLP-NET-007): the new finding of the report.
    changed["config"]["mlplat:network"] = {"internetFacingLoadBalancers": True}
    write_stack(repo, changed)
    commit(repo, "public endpoint, internet-facing LBs, scratch bucket, bigger node group")
    return repo, env, base


def _review(repo: tuple[Path, dict[str, str], str], *args: str
            ) -> subprocess.CompletedProcess[str]:
    path, env, _ = repo
    return subprocess.run([*MLPLAT, "review", *args, "--stack-dir", str(path / "stacks")],
                          cwd=path, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def test_the_report_lists_the_changes_the_new_finding_and_the_cost_delta(repo: Any) -> None:
    result = _review(repo, "team", "--base", repo[2], "--format", "json")
    assert result.returncode == 0, result.stderr
    [stack] = json.loads(result.stdout)["stacks"]
    changes = {(c["kind"], c["type"], c["name"]) for c in stack["diff"]["resources"]}
    assert changes == {("added", kind, name) for kind, name in SCRATCH_RESOURCES} | {
        ("changed", "aws:eks/cluster:Cluster", "vision-dev-cluster-eks"),
        ("changed", "aws:eks/nodeGroup:NodeGroup", "vision-dev-cluster-system"),
        # the access-log bucket's policy admits logs from the new bucket
        ("changed", "aws:s3/bucketPolicy:BucketPolicy", "vision-dev-objects-access-logs-policy"),
        # internet-facing load balancers: public subnets tagged for them, the admission
        # policy that keeps load balancers internal gone
        *{("changed", "aws:ec2/subnet:Subnet", f"vision-dev-network-public-{i}")
          for i in range(3)},
        ("removed", "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
         "vision-dev-admission-mlplat-internal-load-balancers"),
        ("removed",
         "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding",
         "vision-dev-admission-mlplat-internal-load-balancers-binding")}
    new = {f["rule"] for f in stack["findings"]["new"]}
    assert new == {"MLP-NET-007"}, new
    assert stack["findings"]["fixed"] == []
    # Two more system nodes at full scale (maxSize 4 -> 6): m7i.large in eu-west-1 plus its
    # 50 GiB gp3 root volume, each a month; buckets are billed by usage (no delta); idle
    # (desired size) is unchanged.
    prices = region_prices("eu-west-1")
    per_node = prices.monthly(prices.ec2_hour("m7i.large")) + 50 * prices.services.ebs_gp3_gib_month
    assert stack["cost"]["deltaIdle"] == 0.0
    assert stack["cost"]["deltaFull"] == pytest.approx(2 * per_node, abs=0.02)
    assert stack["standUpSeconds"] >= 600


def test_the_markdown_report_is_one_comment(repo: Any) -> None:
    result = _review(repo, "--base", repo[2])  # every stack, markdown by default
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith(f"## mlplat review against `{repo[2]}`")
    assert "| `team` |" in text and "**New findings**" in text
    assert "Time to stand up: ~" in text and "<details><summary>Plan diff</summary>" in text


@pytest.mark.parametrize(("args", "fragment"), [
    (("team", "--base", "no-such-branch"), "unknown git revision 'no-such-branch'"),
    (("ghost", "--base", "main"), "unknown stack 'ghost'"),
])
def test_bad_input_is_one_line_exit_2(repo: Any, args: tuple[str, ...], fragment: str) -> None:
    assert_bad_input(_review(repo, *args), fragment)
