"""`mlplat cost`: the estimate equals the figures worked out by hand from the price table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlplat.core.paths import REPO_ROOT
from mlplat.cost.estimate import CostError, estimate
from mlplat.plan.model import Plan
from tests.cost.plans import costed_plan, record

pytestmark = pytest.mark.unit
MLPLAT = [sys.executable, "-m", "mlplat.cli"]


def test_estimate_equals_the_hand_computed_figures() -> None:
    # us-east-1, 730 hours a month (mlplat/data/prices.yaml):
    #   EKS control plane        0.10 x 730                                   =   73.00
    #   2 NAT gateways           2 x 0.045 x 730                              =   65.70
    #   1 public IPv4            0.005 x 730                                  =    3.65
    #   gateway endpoint         free                                         =    0
    #   system node group        per node m7i.large 2 x 0.0504 x 730 = 73.584
    #                            + 50 GiB gp3 x 0.08 = 4.00 -> 77.584
    #                            idle 2 nodes = 155.17, full 4 nodes          =  310.34
    #   RDS db.t4g.medium M-AZ   0.065 x 2 x 730 = 94.90 + secret 0.40
    #                            idle + 20 GiB x 0.115 x 2 = 4.60             =   99.90
    #                            full + 100 GiB x 0.115 x 2 = 23.00           =  118.30
    #   KMS key                  1.00                                         =    1.00
    #   GPU pool, 8 GPUs         cheapest per GPU: g6.xlarge 0.8048 x 730 x 8 = 4700.03
    #   CPU pool, 64 vCPUs spot  c7g 0.03625 x (1 - 0.5) x 730 x 64           =  846.80
    result = estimate(costed_plan())
    by_resource = {item.resource: (item.idle, item.full) for item in result.items}
    assert by_resource == {
        "eks": (73.0, 73.0), "nat-0": (32.85, 32.85), "nat-1": (32.85, 32.85),
        "nat-ip-0": (3.65, 3.65), "system": (155.17, 310.34), "db": (99.9, 118.3),
        "key": (1.0, 1.0), "gpu": (0.0, 4700.03), "cpu": (0.0, 846.8)}
    assert result.idle == 398.42          # 73 + 65.70 + 3.65 + 155.17 + 99.90 + 1
    assert result.full == 6118.82         # 73 + 65.70 + 3.65 + 310.34 + 118.30 + 1
    #                                       + 4700.03 + 846.80
    assert result.usage_based == {"aws:s3/bucket:Bucket": 1}
    assert result.unpriced == {}


def test_a_region_multiplier_scales_instances_not_flat_service_prices() -> None:
    home, away = estimate(costed_plan("us-east-1")), estimate(costed_plan("eu-west-1"))
    home_items = {i.resource: i for i in home.items}
    away_items = {i.resource: i for i in away.items}
    assert away_items["gpu"].full == pytest.approx(home_items["gpu"].full * 1.116, abs=0.02)
    assert away_items["eks"].full == home_items["eks"].full  # EKS costs the same everywhere


def test_a_chargeable_type_without_a_rule_is_reported_not_free() -> None:
    plan = costed_plan("us-east-1", record("aws:ec2/instance:Instance", "bastion"),
                       record("aws:lb/loadBalancer:LoadBalancer", "ingress"))
    assert estimate(plan).unpriced == {"aws:ec2/instance:Instance": 1,
                                       "aws:lb/loadBalancer:LoadBalancer": 1}


def test_a_region_without_prices_is_an_error_naming_the_table() -> None:
    with pytest.raises(CostError, match=r"mlplat/data/prices.yaml: no prices for region "
                                        r"'ap-south-2'"):
        estimate(costed_plan("ap-south-2"))


def test_an_instance_type_without_a_price_is_an_error_naming_it() -> None:
    plan = costed_plan("us-east-1", record("aws:eks/nodeGroup:NodeGroup", "odd", {
        "instance_types": ["p5en.48xlarge"], "scaling_config": {"desired_size": 1,
                                                                 "max_size": 1}}))
    with pytest.raises(CostError, match=r"no ec2 price for 'p5en.48xlarge'"):
        estimate(plan)


def test_every_resource_of_the_demo_is_priced_or_known_free(demo_plan: Plan) -> None:
    """A component that adds a chargeable resource type must add its pricing rule."""
    result = estimate(demo_plan)
    assert result.unpriced == {}
    assert result.idle > 0 and result.full > result.idle


def _cost(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MLPLAT, "cost", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture()
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "costed.json"
    path.write_text(costed_plan().dumps())
    return path


def test_a_budget_breach_exits_1_and_a_budget_kept_exits_0(tmp_path: Path,
                                                           plan_file: Path) -> None:
    (tmp_path / "org.yaml").write_text("environments:\n  dev:\n    monthlyBudgetUsd: 5000\n")
    over = _cost("--plan", str(plan_file), "--stack-dir", str(tmp_path))
    assert over.returncode == 1, over.stderr
    assert "OVER BUDGET" in over.stdout and "over budget: costed" in over.stderr
    (tmp_path / "org.yaml").write_text("environments:\n  dev:\n    monthlyBudgetUsd: 7000\n")
    kept = _cost("--plan", str(plan_file), "--stack-dir", str(tmp_path), "--format", "json")
    assert kept.returncode == 0, kept.stderr
    [document] = json.loads(kept.stdout)
    assert document["monthly"] == {"idle": 398.42, "full": 6118.82}
    assert document["budget"] == 7000 and document["overBudget"] is False


def test_markdown_report_has_the_totals(plan_file: Path, tmp_path: Path) -> None:
    result = _cost("--plan", str(plan_file), "--stack-dir", str(tmp_path), "--format",
                   "markdown")
    assert result.returncode == 0, result.stderr
    assert "| **total** | **$398.42** | **$6,118.82** |" in result.stdout


@pytest.mark.parametrize(("org", "message"), [
    ("environments:\n  dev:\n    monthlyBudgetUsd: -5\n",
     "org.yaml: environments.dev.monthlyBudgetUsd"),
    ("environments:\n  qa: {}\n", "org.yaml: environments.qa"),
    ("maxGpusPerTeem: 3\n", "org.yaml: maxGpusPerTeem"),
    ("- just\n- a list\n", "org.yaml: must be a mapping"),
])
def test_a_broken_org_file_is_one_line_exit_2_naming_the_field(
        tmp_path: Path, plan_file: Path, org: str, message: str) -> None:
    (tmp_path / "org.yaml").write_text(org)
    output = tmp_path / "report.txt"
    result = _cost("--plan", str(plan_file), "--stack-dir", str(tmp_path), "-o", str(output))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not output.exists()


def test_the_shipped_org_file_is_valid_and_budgets_the_demo() -> None:
    from mlplat.config.org import load_org

    org = load_org(REPO_ROOT / "stacks")
    assert org is not None and org.for_env("staging").monthly_budget_usd


def test_a_plan_file_that_is_not_a_plan_exits_2(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text("{}")
    result = _cost("--plan", str(bogus))
    assert result.returncode == 2 and "not an mlplat plan" in result.stderr
