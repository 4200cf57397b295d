"""What a rule is, and what it reports.

A rule's `check` is a pure function of one plan record and the whole plan: no I/O, no
Pulumi runtime, no clock. That keeps it runnable on an offline plan, inside CrossGuard
(records rebuilt from the resource's properties) and against live state turned into
records by a verifier.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mlplat.plan.model import Plan, ResourceRecord


class Severity(enum.IntEnum):
    """Ordered: `--fail-on high` fails on high and critical."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]


@dataclass(frozen=True)
class Control:
    """One control of an external framework that a rule enforces (by the framework's own ID)."""

    framework: str
    control: str

    def __str__(self) -> str:
        return f"{self.framework} {self.control}"


CIS_EKS = "CIS Amazon EKS Benchmark v1.7"
AWS_FSBP = "AWS Foundational Security Best Practices"
CIS_K8S = "CIS Kubernetes Benchmark v1.10"
PSS = "Kubernetes Pod Security Standards"
MLPLAT = "mlplat baseline"


def cis_eks(control: str) -> Control:
    return Control(CIS_EKS, control)


def fsbp(control: str) -> Control:
    return Control(AWS_FSBP, control)


def cis_k8s(control: str) -> Control:
    return Control(CIS_K8S, control)


def pss(control: str) -> Control:
    return Control(PSS, control)


def baseline(control: str) -> Control:
    return Control(MLPLAT, control)


#: A check yields one message per problem it finds on the record ("" is not a message).
Check = Callable[[ResourceRecord, Plan], Iterable[str]]


@dataclass(frozen=True)
class Rule:
    """One security rule: identity and documentation, the types it applies to, its check.

    `resource_types` empty means every custom resource (the check filters). `needs_plan`
    marks rules that look at other records of the plan (a bucket and its separate public
    access block; a namespace and its NetworkPolicy): CrossGuard runs those over the whole
    stack instead of one resource at a time."""

    id: str
    title: str
    severity: Severity
    rationale: str
    remediation: str
    controls: tuple[Control, ...]
    resource_types: tuple[str, ...]
    check: Check = field(compare=False, repr=False)
    needs_plan: bool = False

    def applies_to(self, record: ResourceRecord) -> bool:
        if not record.custom or record.is_provider:
            return False
        return not self.resource_types or record.type in self.resource_types

    def evaluate(self, record: ResourceRecord, plan: Plan) -> list[Finding]:
        """Findings of this rule on one record (none when it does not apply)."""
        if not self.applies_to(record):
            return []
        return [Finding(rule=self, stack=plan.stack, urn=record.urn, type=record.type,
                        name=record.name, message=message)
                for message in self.check(record, plan) if message]

    def run(self, plan: Plan) -> list[Finding]:
        """Findings of this rule on every record of `plan`."""
        return [finding for record in plan.resources for finding in self.evaluate(record, plan)]


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, which resource of which stack, and what exactly is wrong."""

    rule: Rule
    stack: str
    urn: str
    type: str
    name: str
    message: str

    @property
    def rule_id(self) -> str:
        return self.rule.id

    @property
    def severity(self) -> Severity:
        return self.rule.severity
