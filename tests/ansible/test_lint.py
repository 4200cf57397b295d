"""ansible-lint (production profile, offline), yamllint and playbook syntax checks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ansible_helpers import ANSIBLE_DIR, REPO, all_roles, ansible_env, playbooks, tool

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def lint_findings() -> list[dict]:
    """One ansible-lint run over ansible/ (it is slow); findings as codeclimate dicts."""
    proc = subprocess.run(
        [
            tool("ansible-lint"),
            "--offline",
            "--profile",
            "production",
            "-f",
            "codeclimate",
            "--nocolor",
            "ansible/",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=ansible_env(),
        timeout=900,
    )
    try:
        findings = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        pytest.fail(
            f"ansible-lint did not produce JSON (rc={proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    if proc.returncode not in (0, 2):
        pytest.fail(f"ansible-lint crashed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
    if proc.returncode == 2 and not findings:
        pytest.fail(f"ansible-lint failed without findings:\n{proc.stderr[-3000:]}")
    return findings


def _describe(findings: list[dict]) -> str:
    return "\n".join(
        f"{f['location']['path']}:{f['location'].get('lines', {}).get('begin', '?')} "
        f"{f.get('check_name')}: {f.get('description')}"
        for f in findings
    )


@pytest.mark.parametrize("role", all_roles())
def test_role_is_ansible_lint_clean(lint_findings: list[dict], role: str) -> None:
    prefix = f"ansible/roles/{role}/"
    mine = [f for f in lint_findings if f["location"]["path"].startswith(prefix)]
    assert not mine, f"ansible-lint (production) findings in {prefix}:\n{_describe(mine)}"


def test_playbooks_and_inventories_are_ansible_lint_clean(lint_findings: list[dict]) -> None:
    rest = [f for f in lint_findings if not f["location"]["path"].startswith("ansible/roles/")]
    assert not rest, f"ansible-lint (production) findings:\n{_describe(rest)}"


def test_lint_config_is_production_and_offline() -> None:
    import yaml

    cfg = yaml.safe_load((REPO / ".ansible-lint").read_text())
    assert cfg["profile"] == "production"
    assert cfg["offline"] is True


def test_yamllint_clean() -> None:
    targets = ["ansible", ".yamllint", ".ansible-lint", "tests/hosts/vars"]
    proc = subprocess.run(
        [tool("yamllint"), "--strict", "-f", "parsable", *targets],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, f"yamllint:\n{proc.stdout}{proc.stderr}"


# Roles that only make sense on hosts with an NVIDIA GPU; every other public role goes to all.
GPU_ROLES = {"nvidia_gpu", "dcgm_exporter"}
# (earlier, later): why is in site.yml's header. Hardening comes before every role that
# starts a network-facing service; the NVIDIA toolkit must exist when containerd is set up.
ORDER = [
    ("base", "users"),
    ("users", "hardening"),
    ("hardening", "container_runtime"),
    ("hardening", "node_exporter"),
    ("hardening", "dcgm_exporter"),
    ("nvidia_gpu", "container_runtime"),
    ("nvidia_gpu", "dcgm_exporter"),
]


def site_plan(site: Path, hosts: Any) -> list[tuple[str, set[str], bool]]:
    """(role, inventory hosts it is applied to, become) in run order; hosts: InventoryManager."""
    import yaml

    plan = []
    for play in yaml.safe_load(site.read_text()):
        targets = {h.name for h in hosts.get_hosts(play["hosts"])}
        for entry in play.get("roles", []):
            role = entry["role"] if isinstance(entry, dict) else entry
            plan.append((role, targets, bool(play.get("become"))))
    return plan


def site_problems(site: Path, inventory: Path) -> list[str]:
    """What ansible/site.yml gets wrong about who runs which role, and when."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    hosts = InventoryManager(loader=DataLoader(), sources=[str(inventory)])
    every = {h.name for h in hosts.get_hosts("all")}
    gpu = {h.name for h in hosts.get_hosts("gpu_hosts")}
    plan = site_plan(site, hosts)
    order = [role for role, _, _ in plan]
    public = {r for r in all_roles() if not r.startswith("internal_")}
    problems = [f"{r} is applied {order.count(r)} times" for r in public if order.count(r) > 1]
    problems += [f"{r} is not applied" for r in sorted(public - set(order))]
    problems += [f"{r} is internal or unknown" for r in sorted(set(order) - public)]
    for role, targets, become in plan:
        want = gpu if role in GPU_ROLES else every
        if targets != want:
            problems.append(f"{role} runs on {sorted(targets)}, want {sorted(want)}")
        if not become:
            problems.append(f"{role} runs without become")
    for first, then in ORDER:
        if first in order and then in order and order.index(first) > order.index(then):
            problems.append(f"{then} runs before {first}")
    return problems


def test_site_playbook_applies_each_role_to_its_hosts_in_order() -> None:
    site = ANSIBLE_DIR / "site.yml"
    assert site in playbooks()
    inventory = ANSIBLE_DIR / "inventories" / "example" / "hosts.yml"
    problems = site_problems(site, inventory)
    assert not problems, "site.yml:\n" + "\n".join(problems)


@pytest.mark.parametrize("playbook", playbooks(), ids=lambda p: p.name)
def test_playbook_syntax(playbook: Path) -> None:
    proc = subprocess.run(
        [
            tool("ansible-playbook"),
            "--syntax-check",
            "-i",
            str(ANSIBLE_DIR / "inventories" / "example" / "hosts.yml"),
            str(playbook),
        ],
        capture_output=True,
        text=True,
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        timeout=300,
    )
    assert proc.returncode == 0, f"syntax check of {playbook.name}:\n{proc.stdout}{proc.stderr}"
