"""The rule set as CrossGuard policies, built without starting a policy pack.

`pulumi preview --policy-pack policies/` runs `policies/__main__.py`, which hands these
policies to `PolicyPack` (that call starts a gRPC server and blocks, so it lives only
there). Tests call each policy's `validate` directly, with arguments built from plan
records, so the pack and `mlplat audit` run the very same checks on the very same record
shapes: CrossGuard properties go through the plan engine's own `normalise`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import Severity as PolicySeverity
from pulumi_policy.proxy import UnknownValueError
from pulumi_policy.secret import Secret

from mlplat.plan.model import SECRET, UNKNOWN, Plan, ResourceRecord, normalise
from policies.model import Rule, Severity
from policies.rules import ALL_RULES


def enforcement(severity: Severity) -> EnforcementLevel:
    """High and critical block a deployment; medium and low are reported."""
    return EnforcementLevel.MANDATORY if severity >= Severity.HIGH else EnforcementLevel.ADVISORY


def _plain(value: Any) -> Any:
    """CrossGuard's proxies (which raise on unknown values during preview) -> plain JSON."""
    if isinstance(value, Secret):
        return SECRET
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            try:
                out[key] = _plain(value[key])
            except UnknownValueError:
                out[key] = UNKNOWN
        return out
    if isinstance(value, list | tuple) or (hasattr(value, "__getitem__")
                                           and hasattr(value, "__len__")
                                           and not isinstance(value, str | bytes)):
        items = []
        for index in range(len(value)):
            try:
                items.append(_plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def record_of(resource_type: str, urn: str, name: str, props: Mapping[str, Any], *,
              parent: str | None = None, provider: str | None = None,
              dependencies: list[str] | None = None) -> ResourceRecord:
    """A plan record from CrossGuard's view of a resource (Pulumi property names)."""
    inputs = normalise(_plain(props), rename=not resource_type.startswith("kubernetes:"))
    return ResourceRecord(urn=urn, type=resource_type, name=name, custom=True, parent=parent,
                          provider=provider, inputs=inputs, dependencies=dependencies or [])


def _stack_of(urn: str) -> str:
    # urn:pulumi:<stack>::<project>::<type>::<name>
    return urn.split("::", 1)[0].rsplit(":", 1)[-1] if urn.startswith("urn:pulumi:") else ""


def _report(rule: Rule, record: ResourceRecord, plan: Plan, report: ReportViolation) -> None:
    for finding in rule.evaluate(record, plan):
        report(f"{rule.id}: {finding.message}", finding.urn)


def _resource_policy(rule: Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        record = record_of(args.resource_type, args.urn, args.name, args.props)
        plan = Plan(project="", stack=_stack_of(args.urn), source="crossguard",
                    resources=[record])
        _report(rule, record, plan, report)

    return ResourceValidationPolicy(name=rule.id, description=rule.title, validate=validate,
                                    **_metadata(rule))


def _stack_policy(rule: Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        records = [record_of(r.resource_type, r.urn, r.name, r.props,
                             parent=r.parent.urn if r.parent else None,
                             dependencies=[d.urn for d in r.dependencies])
                   for r in args.resources]
        stack = _stack_of(records[0].urn) if records else ""
        plan = Plan(project="", stack=stack, source="crossguard", resources=records)
        for record in plan.resources:
            _report(rule, record, plan, report)

    return StackValidationPolicy(name=rule.id, description=rule.title, validate=validate,
                                 **_metadata(rule))


def _metadata(rule: Rule) -> dict[str, Any]:
    frameworks = sorted({c.framework for c in rule.controls})
    return {
        "enforcement_level": enforcement(rule.severity),
        "display_name": rule.title,
        "severity": PolicySeverity(rule.severity.label),
        "framework": PolicyComplianceFramework(name=frameworks[0]) if frameworks else None,
        "tags": [str(c) for c in rule.controls],
        "remediation_steps": rule.remediation,
    }


def policy_for(rule: Rule) -> Policy:
    """Single-resource rules validate each resource; rules that need other records
    (`needs_plan`) validate the whole stack, where CrossGuard shows every resource."""
    return _stack_policy(rule) if rule.needs_plan else _resource_policy(rule)


def all_policies() -> list[Policy]:
    """One policy per rule, in rule-ID order."""
    return [policy_for(rule) for rule in ALL_RULES]
