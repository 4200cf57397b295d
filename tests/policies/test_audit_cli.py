"""`mlplat audit` as a user runs it: exit codes, one-line errors, files written atomically."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from policy_cases import plan, store
from sarif_schema import SARIF_2_1_0_STRUCTURE

from mlplat.cli import main
from mlplat.core.paths import REPO_ROOT
from policies import ALL_RULES

pytestmark = [pytest.mark.policy, pytest.mark.cli]


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["audit", *args])
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, err


@pytest.fixture()
def bad_plan(tmp_path: Path) -> Path:
    """A committed plan with a bucket that accepts plain HTTP (high) and no versioning."""
    path = tmp_path / "bad.json"
    path.write_text(plan(*store(tls_deny=False, versioning="Suspended")).dumps())
    return path


@pytest.fixture()
def good_plan(tmp_path: Path) -> Path:
    path = tmp_path / "good.json"
    path.write_text(plan(*store()).dumps())
    return path


@pytest.fixture()
def no_waivers(tmp_path: Path) -> Path:
    path = tmp_path / "none.yaml"
    path.write_text("waivers: []\n")
    return path


def test_clean_plan_file_exits_0(capsys, good_plan: Path, no_waivers: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = audit(capsys, "--plan", str(good_plan), "--waivers", str(no_waivers))
    assert code == 0
    assert "0 findings" in out and "passed" in out


def test_findings_at_or_above_fail_on_exit_1(capsys, bad_plan: Path, no_waivers: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = audit(capsys, "--plan", str(bad_plan), "--waivers", str(no_waivers))
    assert code == 1
    assert "MLP-S3-009" in out and "FAILED" in out
    code, _, _ = audit(capsys, "--plan", str(bad_plan), "--waivers", str(no_waivers),
                       "--fail-on", "critical")
    assert code == 0
    code, _, _ = audit(capsys, "--plan", str(bad_plan), "--waivers", str(no_waivers),
                       "--fail-on", "medium")
    assert code == 1


def test_a_waiver_file_accepts_the_finding(capsys, bad_plan: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rule: MLP-S3-009\n    stack: fixture\n"
                       "    resource: '*::team-data'\n    justification: test\n"
                       "    approver: security-review\n    expires: 2999-01-01\n")
    code, out, _ = audit(capsys, "--plan", str(bad_plan), "--waivers", str(waivers),
                         "--format", "json")
    assert code == 0
    findings = json.loads(out)["findings"]
    assert {f["rule"]: bool(f["waiver"]) for f in findings} == {"MLP-S3-009": True,
                                                                "MLP-S3-007": False}


@pytest.mark.parametrize("fmt", ["sarif", "junit", "markdown", "json", "table"])
def test_output_file_in_each_format(capsys, bad_plan: Path, no_waivers: Path,  # type: ignore[no-untyped-def]
                                    tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"report.{fmt}"
    code, out, err = audit(capsys, "--plan", str(bad_plan), "--waivers", str(no_waivers),
                           "--format", fmt, "--output", str(target))
    assert code == 1 and out == ""
    assert f"Wrote {target}" in err
    text = target.read_text()
    if fmt == "sarif":
        jsonschema.validate(json.loads(text), SARIF_2_1_0_STRUCTURE)
    elif fmt == "junit":
        suite = ET.fromstring(text).find("testsuite")
        assert suite is not None and len(suite.findall("testcase")) == len(ALL_RULES)
    assert "MLP-S3-009" in text


def _bad_input(capsys, tmp_path: Path, *args: str) -> str:  # type: ignore[no-untyped-def]
    target = tmp_path / "report.txt"
    code, _, err = audit(capsys, *args, "--output", str(target))
    assert code == 2
    assert not target.exists(), "nothing is written on bad input"
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    return err


def test_foreign_json_exits_2_naming_the_file(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"resources": []}')
    assert f"{foreign}: not an mlplat plan" in _bad_input(capsys, tmp_path, "--plan",
                                                          str(foreign))


def test_unreadable_json_exits_2_naming_the_file(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert f"{broken}: not valid JSON" in _bad_input(capsys, tmp_path, "--plan", str(broken))
    missing = tmp_path / "missing.json"
    assert f"{missing}: cannot read" in _bad_input(capsys, tmp_path, "--plan", str(missing))


def test_malformed_waivers_exit_2_naming_the_line(capsys, good_plan: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rule: MLP-S3-009\n    stack: x\n")
    err = _bad_input(capsys, tmp_path, "--plan", str(good_plan), "--waivers", str(waivers))
    assert "line 2: waivers[0].resource: required field is missing" in err


def test_unknown_stack_exits_2(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    err = _bad_input(capsys, tmp_path, "no-such-stack")
    assert "unknown stack 'no-such-stack'" in err


def test_list_rules_lists_every_rule(capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = audit(capsys, "--list-rules")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [r.id for r in ALL_RULES]


def test_audit_all_shipped_stacks_is_clean_in_a_fresh_process() -> None:
    """What `make plan` and CI run: every shipped stack planned offline and audited, with
    the shipped waivers file."""
    result = subprocess.run([sys.executable, "-m", "mlplat.cli", "audit", "--all"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 findings" in result.stdout
