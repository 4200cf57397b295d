"""The CrossGuard pack agrees with `mlplat audit`: each policy's validate function, called
as the Pulumi engine would (Pulumi property names, PolicyResource graph), reports exactly
the findings the audit reports on the same fixtures. The PolicyPack itself is never built
here (constructing it starts a gRPC server and blocks)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from policy_cases import CASES, Case, plan
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from mlplat.plan.model import _MAP_PROPERTIES, ResourceRecord
from policies import ALL_RULES, Severity, rule_by_id
from policies.crossguard import all_policies, enforcement, policy_for

pytestmark = pytest.mark.policy


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def pulumi_props(value: Any, *, rename: bool, under_map: bool = False) -> Any:
    """Plan inputs (snake_case) back to Pulumi property names, as CrossGuard sees them."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out[key if under_map or not rename else _camel(key)] = pulumi_props(
                item, rename=rename, under_map=rename and key in _MAP_PROPERTIES)
        return out
    if isinstance(value, list):
        return [pulumi_props(item, rename=rename) for item in value]
    return value


def _props(record: ResourceRecord) -> dict[str, Any]:
    return pulumi_props(record.inputs, rename=not record.type.startswith("kubernetes:"))


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None,
                                 aliases=[], custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                 additional_secret_outputs=[])


def violations(case_records: list[ResourceRecord], rule_id: str) -> list[tuple[str, str]]:
    """(message, urn) pairs the rule's CrossGuard policy reports on these records."""
    rule = rule_by_id(rule_id)
    assert rule is not None
    policy = policy_for(rule)
    reported: list[tuple[str, str]] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append((message, urn or ""))

    if isinstance(policy, ResourceValidationPolicy):
        for record in case_records:
            args = ResourceValidationArgs(record.type, _props(record), record.urn, record.name,
                                          _options(), None)
            assert policy.validate(args, report) is None
    else:
        resources = {r.urn: PolicyResource(r.type, _props(r), r.urn, r.name, _options(), None,
                                           None, [], {}) for r in case_records}
        for r in case_records:
            resources[r.urn].dependencies = [resources[d] for d in r.dependencies]
        assert policy.validate(StackValidationArgs(list(resources.values())), report) is None
    return reported


def _audit(case_records: list[ResourceRecord], rule_id: str) -> list[tuple[str, str]]:
    rule = rule_by_id(rule_id)
    assert rule is not None
    return [(f"{rule_id}: {f.message}", f.urn) for f in rule.run(plan(*case_records))]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_policy_fails_the_failing_fixture_like_the_audit(case: Case) -> None:
    records = case.failing()
    reported = violations(records, case.rule)
    assert reported, f"{case.rule}: CrossGuard reported nothing on the failing fixture"
    assert sorted(reported) == sorted(_audit(records, case.rule))
    assert {urn.rsplit("::", 1)[-1] for _, urn in reported} == {case.target}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_policy_passes_the_passing_fixture(case: Case) -> None:
    assert violations(case.passing(), case.rule) == []


def test_one_policy_per_rule_named_by_rule_id() -> None:
    policies = all_policies()
    assert [p.name for p in policies] == [rule.id for rule in ALL_RULES]


@pytest.mark.parametrize(("severity", "level"), [
    (Severity.CRITICAL, EnforcementLevel.MANDATORY), (Severity.HIGH, EnforcementLevel.MANDATORY),
    (Severity.MEDIUM, EnforcementLevel.ADVISORY), (Severity.LOW, EnforcementLevel.ADVISORY)])
def test_enforcement_follows_severity(severity: Severity, level: EnforcementLevel) -> None:
    assert enforcement(severity) is level


def test_the_pack_entry_point_builds_the_pack_from_the_rule_set(repo_root) -> None:  # type: ignore[no-untyped-def]
    source = (repo_root / "policies" / "__main__.py").read_text()
    assert re.search(r"PolicyPack\(.*policies=all_policies\(\)", source)
    assert (repo_root / "policies" / "PulumiPolicy.yaml").read_text().count("runtime:") == 1


def test_values_unknown_during_preview_are_not_findings() -> None:
    """In a preview, generated names and ARNs are unknown: CrossGuard's proxy raises on
    them. They become "[unknown]" and no rule fails a resource on them alone."""
    from policy_cases import cluster, database
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

    group, db = database()
    props = {r.urn: _props(r) for r in (group, db)}
    props[db.urn]["parameterGroupName"] = UNKNOWN_STRING_VALUE
    resources = {r.urn: PolicyResource(r.type, unknown_checking_proxy(props[r.urn]), r.urn,
                                       r.name, _options(), None, None, [], {})
                 for r in (group, db)}
    resources[db.urn].dependencies = [resources[group.urn]]
    reported: list[str] = []
    policy = policy_for(rule_by_id("MLP-RDS-007"))  # type: ignore[arg-type]
    policy.validate(StackValidationArgs(list(resources.values())),  # type: ignore[arg-type]
                    lambda message, urn=None: reported.append(message))
    assert reported == []

    eks = cluster()
    eks_props = _props(eks)
    eks_props["encryptionConfig"]["provider"]["keyArn"] = UNKNOWN_STRING_VALUE
    args = ResourceValidationArgs(eks.type, unknown_checking_proxy(eks_props), eks.urn,
                                  eks.name, _options(), None)
    for rule in ALL_RULES:
        if rule.applies_to(eks):
            policy_for(rule).validate(args, lambda message, urn=None: reported.append(message))  # type: ignore[arg-type]
    assert reported == []
