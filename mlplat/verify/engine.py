"""Compare a deployed stack with its plan: the same rules on both, drift is the difference.

Drift is (a) a rule failing on the live resource that passes on the planned one, (b) a
planned resource that cannot be found, (c) a bucket, database or KMS key carrying the
stack's tag that the plan does not declare. A rule failing on both is no drift (`mlplat
audit` reports it already); it is listed as `planned` in the JSON report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mlplat.plan.model import Plan, ResourceRecord
from mlplat.verify import records
from mlplat.verify.aws import SUBJECT_TYPES, TAG_SCANNED_TYPES, AwsReader
from mlplat.verify.coverage import checks_live, live_rules
from policies import Finding, Rule, Severity
from policies.model import baseline
from policies.rules import iam, kms, rds, s3
from policies.rules._helpers import related

MISSING = Rule(
    id="MLP-VFY-001", title="Planned resource is deployed", severity=Severity.HIGH,
    rationale="A resource the plan declares but the account lacks (deleted by hand, never "
              "created, or its identifying tags removed) is drift nobody reviewed.",
    remediation="Run `pulumi up` for the stack, or find who removed it.",
    controls=(baseline("drift"),), resource_types=SUBJECT_TYPES,
    check=lambda record, plan: (),
)

UNEXPECTED = Rule(
    id="MLP-VFY-002", title="Every resource carrying the stack's tag is planned",
    severity=Severity.MEDIUM,
    rationale="A bucket, database or key tagged as the stack's but declared by no plan was "
              "made by hand or by another program: nobody reviewed or audits it.",
    remediation="Import it into the stack, delete it, or remove the mlplat-stack tag.",
    controls=(baseline("drift"),), resource_types=tuple(TAG_SCANNED_TYPES.values()),
    check=lambda record, plan: (),
)

#: Planned records that belong to a resource and carry findings of their own (the rules of
#: buckets, databases, clusters and keys report on the resource itself), with the input
#: naming the resource.
_COMPANIONS: dict[str, tuple[tuple[str, str], ...]] = {
    iam.ROLE: ((iam.ROLE_POLICY, "role"), (iam.ATTACHMENT, "role")),
}


@dataclass(frozen=True)
class Drift:
    """One live finding the plan does not have, a missing planned resource, or a tagged
    resource the plan does not declare (then `planned` is a record of what was found)."""

    finding: Finding
    planned: ResourceRecord


@dataclass
class VerifyReport:
    stack: str
    region: str
    rules: tuple[Rule, ...]
    checked: list[ResourceRecord] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    #: Live findings the plan has too: already `mlplat audit`'s to report.
    planned: list[Finding] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return bool(self.drift)


def subjects(plan: Plan) -> list[ResourceRecord]:
    """The planned resources verify reads, in report order."""
    return [r for t in SUBJECT_TYPES for r in plan.of_type(t)]


def _failed(group: Sequence[ResourceRecord], plan: Plan,
            rules: Sequence[Rule]) -> list[Finding]:
    return [f for record in group for rule in rules if checks_live(rule, record.type)
            for f in rule.evaluate(record, plan)]


def _planned_group(subject: ResourceRecord, plan: Plan) -> list[ResourceRecord]:
    return [subject] + [other for type_token, key in _COMPANIONS.get(subject.type, ())
                        for other in related(plan, subject, type_token, key)]


def verify(plan: Plan, reader: AwsReader, region: str) -> VerifyReport:
    """Read every planned bucket, database, cluster, key and role; report drift."""
    rules = live_rules()
    report = VerifyReport(stack=plan.stack, region=region, rules=rules)
    groups: dict[str, list[ResourceRecord]] = {}
    for subject in subjects(plan):
        group = reader.read(subject, plan)
        if group is None:
            report.drift.append(Drift(Finding(
                rule=MISSING, stack=plan.stack, urn=subject.urn, type=subject.type,
                name=subject.name, message="not found in the account"), subject))
        else:
            groups[subject.urn] = group
            report.checked.append(subject)
    report.drift += _unexpected(reader.tagged(plan.stack), groups.values(), plan.stack)
    # One live plan of everything read: rules that look across records (a bucket and the
    # buckets logging into it) see the live neighbours, as they see planned ones.
    live = Plan(project=plan.project, stack=plan.stack, source=f"live:{region}",
                resources=[r for group in groups.values() for r in group])
    for subject in report.checked:
        expected = {f.rule_id for f in _failed(_planned_group(subject, plan), plan, rules)}
        for finding in _failed(groups[subject.urn], live, rules):
            if finding.rule_id in expected:
                report.planned.append(finding)
            else:
                report.drift.append(Drift(finding, subject))
    return report


def _live_id(type_token: str, value: object) -> str:
    """The identifier an ARN or record input ends in: bucket name, DB identifier, key ID."""
    text = str(value)
    return text.rsplit(":::", 1)[-1] if type_token == s3.BUCKET else text.rsplit(
        "/" if type_token == kms.KEY else ":", 1)[-1]


def _unexpected(arns: Sequence[str], groups: Iterable[Sequence[ResourceRecord]],
                stack: str) -> list[Drift]:
    """Tagged resources none of the planned ones was found as."""
    keys = {rds.INSTANCE: "identifier", s3.BUCKET: "bucket", kms.KEY: "arn"}
    found = {(g[0].type, _live_id(g[0].type, g[0].inputs.get(keys[g[0].type])))
             for g in groups if g[0].type in keys}
    drift = []
    for arn in arns:
        service = arn.split(":")[2]
        type_token = {"s3": s3.BUCKET, "rds": rds.INSTANCE, "kms": kms.KEY}.get(service)
        if type_token is None or (type_token, _live_id(type_token, arn)) in found:
            continue
        resource = records.record(arn, type_token, _live_id(type_token, arn), {})
        drift.append(Drift(Finding(
            rule=UNEXPECTED, stack=stack, urn=arn, type=type_token, name=resource.name,
            message=f"carries mlplat-stack={stack} but the plan declares no such resource"),
            resource))
    return drift
