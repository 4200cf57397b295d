"""`mlplat new` and `mlplat templates` as a team runs them: real stack directories, real
exit codes, and nothing written on any error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlplat.core.paths import REPO_ROOT, STACKS_DIR

pytestmark = pytest.mark.cli
MLPLAT = [sys.executable, "-m", "mlplat.cli"]
ROLES = ["--set", "adminRoleArn=arn:aws:iam::111122223333:role/platform-admins",
         "--set", "teamRoleArn=arn:aws:iam::111122223333:role/speech-devs"]


def _run(*args: str, cwd: Path = REPO_ROOT, cache: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    if cache is not None:
        env["MLPLAT_CACHE_DIR"] = str(cache)
    return subprocess.run([*MLPLAT, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False, stdin=subprocess.DEVNULL)


@pytest.fixture()
def stacks(tmp_path: Path) -> Path:
    """A copy of the shipped stacks and templates with guardrails written per test."""
    directory = tmp_path / "stacks"
    shutil.copytree(STACKS_DIR, directory, ignore=shutil.ignore_patterns("__main__.py"))
    _guardrails(directory, {})
    return directory


def _guardrails(directory: Path, org: dict) -> None:
    (directory / "org.yaml").write_text(yaml.safe_dump(org))


def _new(directory: Path, *args: str, team: str = "speech", env: str = "dev",
         template: str = "dedicated-team") -> subprocess.CompletedProcess[str]:
    return _run("new", "--team", team, "--env", env, "--template", template,
                "--stack-dir", str(directory), "--set", "costCenter=cc-9",
                "--set", "owner=speech-lead@example.com", *args)


def _stack_files(directory: Path) -> set[str]:
    return {path.name for path in directory.glob("Pulumi.*.yaml")}


def test_a_valid_request_creates_a_stack_that_plans_and_audits_clean(
        stacks: Path, tmp_path: Path) -> None:
    before = _stack_files(stacks)
    result = _new(stacks, *ROLES, "--set", "gpuLimit=4")
    assert result.returncode == 0, result.stderr
    assert "Created" in result.stdout and "mlplat plan speech-dev" in result.stdout
    assert _stack_files(stacks) - before == {"Pulumi.speech-dev.yaml"}
    created = yaml.safe_load((stacks / "Pulumi.speech-dev.yaml").read_text())["config"]
    assert created["mlplat:team"] == "speech" and created["mlplat:env"] == "dev"
    assert created["mlplat:gpuPools"][0]["gpuLimit"] == 4
    cache = tmp_path / "cache"
    planned = _run("plan", "speech-dev", "--stack-dir", str(stacks), "-q", cache=cache)
    assert planned.returncode == 0, planned.stderr
    audited = _run("audit", "speech-dev", "--stack-dir", str(stacks), cache=cache)
    assert audited.returncode == 0, audited.stdout[-2000:]
    assert "0 findings" in audited.stdout


def test_a_tenant_of_the_shared_platform_is_created_and_plans(stacks: Path,
                                                              tmp_path: Path) -> None:
    result = _new(stacks, "--set", "teamRoleArn=arn:aws:iam::111122223333:role/speech-devs",
                  template="shared-team")
    assert result.returncode == 0, result.stderr
    planned = _run("plan", "speech-dev", "--stack-dir", str(stacks), "-q",
                   cache=tmp_path / "cache")
    assert planned.returncode == 0, planned.stderr


@pytest.mark.parametrize(("org", "args", "guardrail"), [
    ({"allowedRegions": ["eu-central-1"]}, ["--set", "region=eu-west-1"],
     "guardrail allowedRegions: eu-central-1"),
    ({"requiredTags": ["data-classification"]}, [],
     "the required tag 'data-classification' is missing"),
    ({"maxGpusPerPool": 4}, ["--set", "gpuLimit=8"], "guardrail maxGpusPerPool: 4"),
    ({"maxGpusPerTeam": 2}, ["--set", "gpuLimit=4"], "guardrail maxGpusPerTeam: 2"),
    ({"environments": {"dev": {"allowedGpuInstanceTypes": ["g6.*"]}}}, [],
     "guardrail environments.dev.allowedGpuInstanceTypes"),
    ({"environments": {"dev": {"templates": ["shared-team"]}}}, [],
     "template dedicated-team is not allowed for dev (guardrail environments.dev.templates"),
    ({"environments": {"dev": {"monthlyBudgetUsd": 1000}}}, ["--set", "gpuLimit=8"],
     "over the dev budget of $1,000.00 (guardrail environments.dev.monthlyBudgetUsd"),
])
def test_each_guardrail_violation_is_a_clear_error_and_writes_nothing(
        stacks: Path, org: dict, args: list[str], guardrail: str) -> None:
    _guardrails(stacks, org)
    before = _stack_files(stacks)
    result = _new(stacks, *ROLES, *args)
    assert result.returncode == 2, result.stdout
    assert guardrail in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert _stack_files(stacks) == before
    assert not list(stacks.glob(".Pulumi.*"))  # no temporary file left behind


def test_an_existing_stack_is_never_overwritten(stacks: Path) -> None:
    existing = stacks / "Pulumi.speech-dev.yaml"
    existing.write_text("config:\n  mlplat:team: hand-written\n")
    result = _new(stacks, *ROLES)
    assert result.returncode == 2
    assert "already exists; `mlplat new` never overwrites" in result.stderr
    assert existing.read_text() == "config:\n  mlplat:team: hand-written\n"


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "gpuLimit=many"], "parameters.gpuLimit"),
    (["--set", "colour=blue"], "unknown parameter 'colour'"),
    (["--set", "novalue"], "--set novalue: expected PARAMETER=VALUE"),
    (["--set", "team=other"], "--set team=other: contradicts --team speech"),
])
def test_bad_parameters_are_one_line_errors(stacks: Path, args: list[str],
                                            message: str) -> None:
    result = _new(stacks, *ROLES, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Pulumi.speech-dev.yaml" not in {p.name for p in stacks.iterdir()}


def test_missing_required_parameters_are_named_without_a_terminal(stacks: Path) -> None:
    result = _new(stacks)  # no role ARNs, stdin is not a terminal
    assert result.returncode == 2
    assert "parameters.adminRoleArn: required, not given (--set adminRoleArn=" in result.stderr
    assert "parameters.teamRoleArn" in result.stderr


def test_an_unknown_template_lists_the_known_ones(stacks: Path) -> None:
    result = _new(stacks, template="gpu-farm")
    assert result.returncode == 2
    assert "no such template" in result.stderr and "dedicated-team" in result.stderr


def test_missing_parameters_are_asked_for_in_a_terminal(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    from mlplat.cli.new import _ask_missing
    from mlplat.templates import load_template

    template = load_template("dedicated-team")
    asked: list[str] = []
    monkeypatch.setattr("click.prompt", lambda text, type: asked.append(text) or "x")
    values = {"team": "speech", "costCenter": "cc-1", "owner": "lead@example.com"}
    _ask_missing(template, values, interactive=True)
    assert [text.split(" ")[0] for text in asked] == ["adminRoleArn", "teamRoleArn"]
    assert values["adminRoleArn"] == "x"


def test_templates_lists_every_template_with_its_parameters() -> None:
    text = _run("templates")
    assert text.returncode == 0
    shipped = sorted(path.stem for path in (STACKS_DIR / "templates").glob("*.yaml"))
    for name in shipped:
        assert f"\n{name}: " in f"\n{text.stdout}"
    document = json.loads(_run("templates", "--format", "json").stdout)
    assert sorted(item["name"] for item in document) == shipped
    dedicated = next(item for item in document if item["name"] == "dedicated-team")
    assert dedicated["parameters"]["team"]["required"] is True
    assert dedicated["creates"]
