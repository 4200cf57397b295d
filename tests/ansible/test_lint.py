"""ansible-lint (production profile, offline), yamllint and playbook syntax checks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import ANSIBLE_DIR, REPO, all_roles, ansible_env, playbooks, tool

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


def test_there_is_a_site_playbook() -> None:
    assert ANSIBLE_DIR / "site.yml" in playbooks()


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
