"""One pull-request report per change: the plan diff, the audit findings that are new,
fixed or waived, the cost delta and the time to stand up, for each stack a PR touches.

Both sides come from the same places `mlplat diff` uses (mlplat.plan.revisions): the base is
the committed snapshot (or stack file) at the base revision, the head is the working tree.
Findings are matched by rule and resource (URN), so a finding that only moved its message
is neither new nor fixed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplat.audit.engine import AuditReport, audit_plans
from mlplat.audit.waivers import Waiver
from mlplat.cost.estimate import CostError, CostEstimate, estimate
from mlplat.plan.diff import PlanDiff, diff_plans
from mlplat.plan.diff import render_markdown as diff_markdown
from mlplat.plan.diff import render_text as diff_text
from mlplat.plan.model import Plan
from mlplat.plan.revisions import plan_side
from mlplat.plan.standup import CriticalPath, critical_path
from policies.model import Finding


@dataclass(frozen=True)
class FindingChanges:
    """Findings of the head compared with the base, by (rule, resource)."""

    new: list[Finding]
    fixed: list[Finding]
    waived: list[Finding]
    """Findings of the head that a waiver accepts (listed so reviewers see them)."""


@dataclass(frozen=True)
class StackReview:
    """Everything a reviewer needs about one stack of a PR."""

    stack: str
    diff: PlanDiff
    findings: FindingChanges
    base_cost: CostEstimate | None
    head_cost: CostEstimate | None
    cost_note: str | None
    standup: CriticalPath

    @property
    def cost_delta(self) -> tuple[float, float] | None:
        if self.head_cost is None:
            return None
        base_idle = self.base_cost.idle if self.base_cost else 0.0
        base_full = self.base_cost.full if self.base_cost else 0.0
        return (round(self.head_cost.idle - base_idle, 2),
                round(self.head_cost.full - base_full, 2))


def _key(finding: Finding) -> tuple[str, str]:
    return finding.rule_id, finding.urn


def finding_changes(base: AuditReport, head: AuditReport) -> FindingChanges:
    before = {_key(f) for f in base.active}
    after = {_key(f) for f in head.active}
    waived = [o.finding for o in head.outcomes if o.waived]
    return FindingChanges(
        new=[f for f in head.active if _key(f) not in before],
        fixed=[f for f in base.active if _key(f) not in after],
        waived=waived)


def _cost(plan: Plan) -> tuple[CostEstimate | None, str | None]:
    if not plan.resources:
        return None, None
    try:
        return estimate(plan), None
    except CostError as error:
        return None, str(error)


def review_stack(stack: str, base_ref: str, stack_dir: Path,
                 waivers: Sequence[Waiver] = ()) -> StackReview:
    """Review `stack`: its plan at `base_ref` against the working tree."""
    base = plan_side(stack, base_ref, stack_dir)
    head = plan_side(stack, None, stack_dir)
    difference = diff_plans(base.plan, head.plan, base_label=base.label,
                            head_label=head.label,
                            notes=[side.note for side in (base, head) if side.note])
    base_audit = audit_plans([base.plan], waivers=waivers) if base.plan.resources else None
    head_audit = audit_plans([head.plan], waivers=waivers)
    changes = (finding_changes(base_audit, head_audit) if base_audit is not None else
               FindingChanges(new=list(head_audit.active), fixed=[],
                              waived=[o.finding for o in head_audit.outcomes if o.waived]))
    base_cost, base_note = _cost(base.plan)
    head_cost, head_note = _cost(head.plan)
    return StackReview(stack=stack, diff=difference, findings=changes, base_cost=base_cost,
                       head_cost=head_cost, cost_note=head_note or base_note,
                       standup=critical_path(head.plan))


def _money(value: float, signed: bool = False) -> str:
    return f"{'+' if signed and value > 0 else ''}{'-' if value < 0 else ''}${abs(value):,.2f}"


def _finding_line(finding: Finding) -> str:
    return (f"`{finding.rule_id}` ({finding.severity.label}) {finding.type.rpartition(':')[2]} "
            f"`{finding.name}`: {finding.message}")


def render_markdown(reviews: Sequence[StackReview], base_ref: str) -> str:
    lines = [f"## mlplat review against `{base_ref}`", ""]
    lines += ["| stack | plan | new findings | fixed | cost / month (idle, full) | "
              "time to stand up |", "|---|---|---:|---:|---|---|"]
    for review in reviews:
        delta = review.cost_delta
        cost = ("n/a" if delta is None or review.head_cost is None else
                f"{_money(review.head_cost.idle)} ({_money(delta[0], True)}), "
                f"{_money(review.head_cost.full)} ({_money(delta[1], True)})")
        lines.append(f"| `{review.stack}` | {review.diff.summary()} | "
                     f"{len(review.findings.new)} | {len(review.findings.fixed)} | {cost} | "
                     f"~{round(review.standup.seconds / 60)} min |")
    lines.append("")
    for review in reviews:
        lines += [f"### `{review.stack}`", ""]
        findings = review.findings
        if findings.new:
            lines += ["**New findings**", ""] + [f"- ⚠ {_finding_line(f)}" for f in findings.new]
            lines.append("")
        if findings.fixed:
            lines += ["**Fixed findings**", ""] + [f"- ✓ {_finding_line(f)}"
                                                   for f in findings.fixed]
            lines.append("")
        if findings.waived:
            lines += ["**Waived (accepted risks)**", ""] + [f"- {_finding_line(f)}"
                                                            for f in findings.waived]
            lines.append("")
        if review.cost_note:
            lines += [f"> cost not estimated: {review.cost_note}", ""]
        lines += [f"Time to stand up: {review.standup.describe()}", ""]
        lines += ["<details><summary>Plan diff</summary>", "",
                  diff_markdown(review.diff).replace("### Plan diff", "#### Plan diff"),
                  "</details>", ""]
    return "\n".join(lines)


def render_text(reviews: Sequence[StackReview], base_ref: str) -> str:
    lines = [f"mlplat review against {base_ref}"]
    for review in reviews:
        delta = review.cost_delta
        lines.append(f"\n{review.stack}: {review.diff.summary()}")
        lines.append(f"  findings: {len(review.findings.new)} new, "
                     f"{len(review.findings.fixed)} fixed, {len(review.findings.waived)} waived")
        lines += [f"    new   {_finding_line(f)}" for f in review.findings.new]
        lines += [f"    fixed {_finding_line(f)}" for f in review.findings.fixed]
        if delta is not None and review.head_cost is not None:
            lines.append(f"  cost a month: {_money(review.head_cost.idle)} idle "
                         f"({_money(delta[0], True)}), {_money(review.head_cost.full)} at full "
                         f"scale ({_money(delta[1], True)})")
        elif review.cost_note:
            lines.append(f"  cost not estimated: {review.cost_note}")
        lines.append(f"  time to stand up: {review.standup.describe()}")
        lines.append("  " + diff_text(review.diff).replace("\n", "\n  ").rstrip())
    return "\n".join(lines) + "\n"


def render_json(reviews: Sequence[StackReview], base_ref: str) -> str:
    def finding(f: Finding) -> dict[str, Any]:
        return {"rule": f.rule_id, "severity": f.severity.label, "type": f.type,
                "name": f.name, "urn": f.urn, "message": f.message}

    document = {"base": base_ref, "stacks": [{
        "stack": r.stack,
        "diff": r.diff.to_json(),
        "findings": {"new": [finding(f) for f in r.findings.new],
                     "fixed": [finding(f) for f in r.findings.fixed],
                     "waived": [finding(f) for f in r.findings.waived]},
        "cost": None if r.head_cost is None else {
            "idle": r.head_cost.idle, "full": r.head_cost.full,
            "deltaIdle": r.cost_delta[0] if r.cost_delta else None,
            "deltaFull": r.cost_delta[1] if r.cost_delta else None},
        "standUpSeconds": r.standup.seconds,
    } for r in reviews]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


RENDERERS = {"markdown": render_markdown, "text": render_text, "json": render_json}
