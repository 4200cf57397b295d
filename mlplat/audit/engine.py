"""Run every rule over plans, apply waivers, decide the outcome.

Plans come from the offline plan engine (`mlplat.plan`) or from JSON files written by
`mlplat plan --json`, so a reviewer can audit a committed plan without running the program.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplat.audit.waivers import EXPIRED_WAIVER, UNUSED_WAIVER, Waiver, waiver_finding
from mlplat.plan.model import Plan, ResourceRecord
from policies import ALL_RULES, Finding, Rule, Severity

PLAN_FORMAT = "mlplat.plan/v1"
_RECORD_FIELDS = ("urn", "type", "name", "custom", "parent", "provider", "inputs",
                  "dependencies")


class AuditInputError(ValueError):
    """A plan file we cannot audit; the message names the file."""


@dataclass(frozen=True)
class Outcome:
    """A finding and the waiver that accepts it, if one does (and has not expired)."""

    finding: Finding
    waiver: Waiver | None = None

    @property
    def waived(self) -> bool:
        return self.waiver is not None


@dataclass
class AuditReport:
    plans: list[Plan]
    rules: tuple[Rule, ...]
    outcomes: list[Outcome]
    fail_on: Severity
    waivers: list[Waiver] = field(default_factory=list)

    @property
    def stacks(self) -> list[str]:
        return [plan.stack for plan in self.plans]

    @property
    def active(self) -> list[Finding]:
        """Findings not waived, any severity."""
        return [o.finding for o in self.outcomes if not o.waived]

    @property
    def blocking(self) -> list[Finding]:
        """Findings not waived at or above `fail_on`: these make the audit fail."""
        return [f for f in self.active if f.severity >= self.fail_on]

    @property
    def failed(self) -> bool:
        return bool(self.blocking)


def audit_plans(plans: Sequence[Plan], *, waivers: Sequence[Waiver] = (),
                fail_on: Severity = Severity.HIGH, today: datetime.date | None = None,
                rules: Sequence[Rule] = ALL_RULES) -> AuditReport:
    """Every rule on every plan; waivers applied; expired and unused waivers reported."""
    today = today or datetime.date.today()
    live = [w for w in waivers if not w.expired(today)]
    used: set[Waiver] = set()
    outcomes = []
    for plan in plans:
        candidates = _Candidates(plan)
        for rule in rules:
            for finding in candidates.findings(rule):
                waiver = next((w for w in live if w.covers(finding)), None)
                if waiver is not None:
                    used.add(waiver)
                outcomes.append(Outcome(finding, waiver))
    for waiver in waivers:
        if not any(waiver.covers_stack(plan.stack) for plan in plans):
            continue  # about stacks not audited in this run
        if waiver.expired(today):
            outcomes.append(Outcome(waiver_finding(
                EXPIRED_WAIVER, waiver, f"waiver of {waiver.rule} expired on "
                f"{waiver.expires.isoformat()} (approved by {waiver.approver})")))
        elif waiver not in used:
            outcomes.append(Outcome(waiver_finding(
                UNUSED_WAIVER, waiver, f"waiver of {waiver.rule} for {waiver.resource} "
                "matches no finding")))
    return AuditReport(plans=list(plans), rules=tuple(rules), outcomes=outcomes,
                       fail_on=fail_on, waivers=list(waivers))


class _Candidates:
    """The records each rule applies to, found through an index by type instead of asking
    every rule about every record (fifty plans of a few hundred records and some seventy
    rules would be a million `applies_to` calls). Findings come in the order `Rule.run`
    gives them: by rule, then by record in plan order."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.custom = [(index, record) for index, record in enumerate(plan.resources)
                       if record.custom and not record.is_provider]
        self.by_type: dict[str, list[tuple[int, ResourceRecord]]] = {}
        for item in self.custom:
            self.by_type.setdefault(item[1].type, []).append(item)

    def findings(self, rule: Rule) -> list[Finding]:
        if not rule.resource_types:
            records = self.custom
        else:
            records = sorted(item for kind in set(rule.resource_types)
                             for item in self.by_type.get(kind, ()))
        return [finding for _, record in records
                for finding in rule.evaluate(record, self.plan)]


def load_plan_file(path: Path) -> Plan:
    """A plan JSON file written by `mlplat plan --json`. Raises AuditInputError naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise AuditInputError(f"{path}: cannot read: {reason}") from None
    except ValueError as error:
        raise AuditInputError(f"{path}: not valid JSON: {error}") from None
    return plan_from_json(data, str(path))


def plan_from_json(data: Any, source: str) -> Plan:
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise AuditInputError(f"{source}: not an mlplat plan (expected \"format\": "
                              f"\"{PLAN_FORMAT}\", as written by `mlplat plan --json`)")
    resources = data.get("resources")
    if not isinstance(resources, list) or not isinstance(data.get("stack"), str):
        raise AuditInputError(f"{source}: an mlplat plan needs `stack` and a `resources` list")
    records = []
    for index, item in enumerate(resources):
        if not isinstance(item, dict) or not all(key in item for key in _RECORD_FIELDS) \
                or not isinstance(item["inputs"], dict):
            raise AuditInputError(f"{source}: resources[{index}]: not a plan record "
                                  f"(needs {', '.join(_RECORD_FIELDS)})")
        records.append(ResourceRecord(**{key: item[key] for key in _RECORD_FIELDS},
                                      options=item.get("options") or {}))
    return Plan(project=str(data.get("project", "")), stack=data["stack"], source=source,
                resources=records, outputs=data.get("outputs") or {})
