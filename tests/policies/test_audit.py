"""The audit engine: waivers (matching, expiry, unused, malformed files) and every report
format (SARIF validated against a schema, JUnit parsed, Markdown, JSON, table)."""

from __future__ import annotations

import datetime
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from policy_cases import plan as fixture_plan
from policy_cases import store, urn
from sarif_schema import SARIF_2_1_0_STRUCTURE

from mlplat.audit.engine import AuditInputError, audit_plans, plan_from_json
from mlplat.audit.formats import RENDERERS, render_junit, render_sarif
from mlplat.audit.waivers import Waiver, WaiverError, load_waivers
from policies import ALL_RULES, Severity

pytestmark = pytest.mark.policy

TODAY = datetime.date(2026, 12, 2)
TARGET = urn("aws:s3/bucket:Bucket", "team-data")


def _failing_plan():  # type: ignore[no-untyped-def]
    """Two findings on one bucket: no TLS-only policy (high), versioning off (medium)."""
    return fixture_plan(*store(tls_deny=False, versioning="Suspended"))


def _waiver(rule: str = "MLP-S3-009", expires: datetime.date = datetime.date(2027, 1, 31),
            resource: str = "*::team-data", stack: str = "fixture") -> Waiver:
    return Waiver(rule=rule, stack=stack, resource=resource, justification="accepted for test",
                  approver="security-review", expires=expires, source="waivers.yaml", line=3)


def test_findings_at_or_above_fail_on_fail_the_audit() -> None:
    report = audit_plans([_failing_plan()], today=TODAY)
    assert sorted(f.rule_id for f in report.active) == ["MLP-S3-007", "MLP-S3-009"]
    assert [f.rule_id for f in report.blocking] == ["MLP-S3-009"]
    assert report.failed
    assert not audit_plans([_failing_plan()], fail_on=Severity.CRITICAL, today=TODAY).failed


def test_a_waiver_accepts_matching_findings_only() -> None:
    report = audit_plans([_failing_plan()], waivers=[_waiver()], today=TODAY)
    assert not report.failed
    waived = [o for o in report.outcomes if o.waived]
    assert [(o.finding.rule_id, o.finding.urn) for o in waived] == [("MLP-S3-009", TARGET)]
    assert [f.rule_id for f in report.active] == ["MLP-S3-007"]


def test_an_expired_waiver_waives_nothing_and_is_a_finding() -> None:
    expired = _waiver(expires=datetime.date(2026, 12, 1))
    report = audit_plans([_failing_plan()], waivers=[expired], today=TODAY)
    assert sorted(f.rule_id for f in report.blocking) == ["MLP-S3-009", "MLP-WVR-001"]
    # Valid through its expiry day.
    assert not audit_plans([_failing_plan()], waivers=[_waiver(expires=TODAY)],
                           today=TODAY).failed


def test_an_unused_waiver_is_a_finding_but_not_for_stacks_not_audited() -> None:
    unused = _waiver(rule="MLP-RDS-002", resource="*")
    report = audit_plans([_failing_plan()], waivers=[_waiver(), unused], today=TODAY)
    assert [f.rule_id for f in report.blocking] == ["MLP-WVR-002"]
    assert "MLP-RDS-002" in report.blocking[0].message
    elsewhere = _waiver(rule="MLP-RDS-002", stack="prod")
    report = audit_plans([_failing_plan()], waivers=[_waiver(), elsewhere], today=TODAY)
    assert not report.failed


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return path


GOOD = """\
waivers:
  - rule: MLP-S3-009
    stack: fixture
    resource: "*::team-data"
    justification: accepted for test
    approver: security-review
    expires: 2027-01-31
"""


def test_waivers_file_is_read_with_lines(tmp_path: Path) -> None:
    [waiver] = load_waivers(_write(tmp_path, GOOD), "waivers.yaml")
    assert (waiver.rule, waiver.expires, waiver.where) == (
        "MLP-S3-009", datetime.date(2027, 1, 31), "waivers.yaml:2")


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("    approver: security-review\n", ""),
     "waivers.yaml: line 2: waivers[0].approver: required field is missing"),
    (GOOD.replace("2027-01-31", "soon"),
     "waivers.yaml: line 7: waivers[0].expires: must be a date YYYY-MM-DD (got 'soon')"),
    (GOOD.replace("MLP-S3-009", "MLP-S3-999"),
     "waivers.yaml: line 2: waivers[0].rule: no such rule 'MLP-S3-999'"),
    (GOOD.replace("    stack: fixture\n", "    stack: fixture\n    owner: me\n"),
     "waivers.yaml: line 4: waivers[0].owner: unknown key"),
    (GOOD.replace("justification: accepted for test", "justification: ''"),
     "waivers.yaml: line 5: waivers[0].justification: must be a non-empty string"),
    ("waivers:\n  - rule: a\n  rule: b\n", "waivers.yaml: not valid YAML (line 3"),
    ("- rule: MLP-S3-009\n", "waivers.yaml: line 1: expected one top-level key `waivers:`"),
])
def test_malformed_waivers_name_the_file_and_line(tmp_path: Path, text: str,
                                                  expected: str) -> None:
    with pytest.raises(WaiverError) as error:
        load_waivers(_write(tmp_path, text), "waivers.yaml")
    assert str(error.value).startswith(expected), str(error.value)


def test_the_shipped_waivers_file_is_valid(repo_root: Path) -> None:
    load_waivers(repo_root / "stacks" / "waivers.yaml")


@pytest.mark.parametrize(("data", "expected"), [
    ({"format": "something/else"}, "plan.json: not an mlplat plan"),
    ([1, 2], "plan.json: not an mlplat plan"),
    ({"format": "mlplat.plan/v1", "stack": "x", "resources": [{"urn": "u"}]},
     "plan.json: resources[0]: not a plan record"),
])
def test_foreign_json_is_refused_naming_the_file(data: object, expected: str) -> None:
    with pytest.raises(AuditInputError) as error:
        plan_from_json(data, "plan.json")
    assert str(error.value).startswith(expected)


def test_a_plan_survives_its_json_round_trip() -> None:
    original = _failing_plan()
    again = plan_from_json(json.loads(original.dumps()), "plan.json")
    assert [f.message for f in audit_plans([again], today=TODAY).active] == [
        f.message for f in audit_plans([original], today=TODAY).active]


def test_sarif_is_valid_and_carries_rules_results_and_suppressions() -> None:
    report = audit_plans([_failing_plan()], waivers=[_waiver()], today=TODAY)
    data = json.loads(render_sarif(report))
    jsonschema.validate(data, SARIF_2_1_0_STRUCTURE)
    run = data["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rule_ids[: len(ALL_RULES)] == [rule.id for rule in ALL_RULES]
    results = {r["ruleId"]: r for r in run["results"]}
    assert set(results) == {"MLP-S3-007", "MLP-S3-009"}
    assert results["MLP-S3-009"]["suppressions"][0]["kind"] == "external"
    assert "suppressions" not in results["MLP-S3-007"]
    assert results["MLP-S3-007"]["level"] == "warning"
    assert rule_ids[results["MLP-S3-009"]["ruleIndex"]] == "MLP-S3-009"
    location = results["MLP-S3-009"]["locations"][0]["logicalLocations"][0]
    assert location["fullyQualifiedName"] == TARGET


def test_the_sarif_check_rejects_what_sarif_forbids() -> None:
    data = json.loads(render_sarif(audit_plans([_failing_plan()], today=TODAY)))
    data["runs"][0]["results"][0]["level"] = "severe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SARIF_2_1_0_STRUCTURE)


def test_junit_has_one_testcase_per_rule_and_stack() -> None:
    plans = [_failing_plan(), fixture_plan(*store())]
    plans[1].stack = "clean"
    report = audit_plans(plans, waivers=[_waiver()], today=TODAY, fail_on=Severity.MEDIUM)
    root = ET.fromstring(render_junit(report))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"fixture", "clean", "waivers"}
    for name in ("fixture", "clean"):
        assert len(suites[name].findall("testcase")) == len(ALL_RULES)
    failed = [c.get("name", "").split()[0] for c in suites["fixture"].iter("testcase")
              if c.find("failure") is not None]
    assert failed == ["MLP-S3-007"]  # MLP-S3-009 is waived
    assert suites["clean"].get("failures") == "0"


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_every_format_names_each_unwaived_finding(fmt: str) -> None:
    text = RENDERERS[fmt](audit_plans([_failing_plan()], today=TODAY))
    assert "MLP-S3-007" in text and "MLP-S3-009" in text


def test_the_control_matrix_in_security_md_is_current() -> None:
    from mlplat.audit.matrix import SECURITY_DOC, updated_document

    text = SECURITY_DOC.read_text(encoding="utf-8")
    assert updated_document(text) == text, (
        "docs/security.md is stale: run .venv/bin/python -m mlplat.audit.matrix")


def test_the_indexed_audit_finds_what_every_rule_finds_on_its_own() -> None:
    """audit_plans looks records up by type instead of asking every rule about every
    record; on every failing and passing fixture it must report exactly, and in the same
    order, what running each rule over the whole plan reports."""
    from policy_cases import CASES

    for case in CASES:
        for records in (case.passing, case.failing):
            fixture = fixture_plan(*records())
            expected = [(f.rule_id, f.urn, f.message)
                        for rule in ALL_RULES for f in rule.run(fixture)]
            got = [(o.finding.rule_id, o.finding.urn, o.finding.message)
                   for o in audit_plans([fixture]).outcomes]
            assert got == expected, case.rule
            assert records is case.passing or got, case.rule
