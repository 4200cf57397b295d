"""Every rule: a passing and a failing fixture, and the failing one trips only that rule."""

from __future__ import annotations

import pytest
from policy_cases import CASES, EXTRA_FAILURES, Case, plan

from policies import ALL_RULES, Severity, rule_by_id

pytestmark = pytest.mark.policy


def _findings(records):  # type: ignore[no-untyped-def]
    built = plan(*records)
    return [finding for rule in ALL_RULES for finding in rule.run(built)]


def test_every_rule_has_a_case() -> None:
    assert sorted(case.rule for case in CASES) == sorted(rule.id for rule in ALL_RULES)


def test_there_are_at_least_fifty_rules_with_unique_ids() -> None:
    ids = [rule.id for rule in ALL_RULES]
    assert len(ids) >= 50
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_passing_fixture_passes_every_rule(case: Case) -> None:
    assert [(f.rule_id, f.name, f.message) for f in _findings(case.passing())] == []


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_failing_fixture_fails_only_its_rule(case: Case) -> None:
    findings = _findings(case.failing())
    assert findings, f"{case.rule} found nothing in its failing fixture"
    assert {(f.rule_id, f.name) for f in findings} == {(case.rule, case.target)}, [
        (f.rule_id, f.name, f.message) for f in findings]


@pytest.mark.parametrize("case", EXTRA_FAILURES, ids=lambda case: case.id)
def test_rule_covers_its_other_resource_kinds(case: Case) -> None:
    rule = rule_by_id(case.rule)
    assert rule is not None
    assert [f.name for f in rule.run(plan(*case.failing()))] == [case.target]
    assert rule.run(plan(*case.passing())) == []


def test_every_rule_is_documented_and_mapped() -> None:
    for rule in ALL_RULES:
        assert rule.id.startswith("MLP-") and rule.title and rule.rationale, rule.id
        assert rule.remediation and rule.controls and rule.resource_types, rule.id
        assert isinstance(rule.severity, Severity)


def test_the_demo_plan_passes_every_rule(demo_plan) -> None:  # type: ignore[no-untyped-def]
    findings = [f for rule in ALL_RULES for f in rule.run(demo_plan)]
    assert [(f.rule_id, f.name, f.message) for f in findings] == []
