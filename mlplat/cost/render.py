"""Cost estimates as a table, JSON and Markdown (a PR comment)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mlplat.config.org import OrgGuardrails
from mlplat.cost.estimate import CostEstimate


@dataclass(frozen=True)
class Costed:
    """One stack's estimate and its budget (None when org.yaml sets none for its tier)."""

    estimate: CostEstimate
    budget: float | None

    @classmethod
    def under(cls, estimate: CostEstimate, org: OrgGuardrails | None) -> Costed:
        """`estimate` with its tier's monthly budget from org.yaml (None: no budget)."""
        budget = (org.for_env(estimate.env).monthly_budget_usd
                  if org is not None and estimate.env else None)
        return cls(estimate, budget)

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.estimate.full > self.budget


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _assumptions(estimate: CostEstimate) -> str:
    return (f"on-demand prices of {estimate.region} checked {estimate.checked} "
            f"(mlplat/data/prices.yaml); spot at {estimate.spot_discount:.0%} off on-demand; "
            "730 hours a month")


def _budget_line(costed: Costed) -> str:
    if costed.budget is None:
        return "no budget set for this tier (stacks/org.yaml)"
    verdict = "OVER BUDGET" if costed.over_budget else "within budget"
    return f"budget {_money(costed.budget)} a month at full scale: {verdict}"


def render_table(results: Sequence[Costed]) -> str:
    lines: list[str] = []
    for costed in results:
        estimate = costed.estimate
        lines.append(f"{estimate.stack} ({estimate.env}, {estimate.region}): "
                     f"{_money(estimate.idle)} a month idle, "
                     f"{_money(estimate.full)} at full scale")
        width = max([len(name) for name in estimate.by_component()] + [9])
        lines.append(f"  {'component':{width}}  {'idle':>12}  {'full scale':>12}")
        for name, (idle, full) in estimate.by_component().items():
            lines.append(f"  {name:{width}}  {_money(idle):>12}  {_money(full):>12}")
        lines.append("  by resource type:")
        for name, (idle, full) in estimate.by_type().items():
            lines.append(f"    {name:{width - 2}}  {_money(idle):>12}  {_money(full):>12}")
        if estimate.usage_based:
            lines.append("  billed by usage, not estimated: " + ", ".join(
                f"{count} x {kind}" for kind, count in estimate.usage_based.items()))
        if estimate.unpriced:
            lines.append("  NOT PRICED (no rule; treated as free): " + ", ".join(
                f"{count} x {kind}" for kind, count in estimate.unpriced.items()))
        lines.append(f"  {_budget_line(costed)}")
        lines.append(f"  assumptions: {_assumptions(estimate)}")
    return "\n".join(lines) + "\n"


def render_json(results: Sequence[Costed]) -> str:
    document = [{
        "stack": c.estimate.stack,
        "env": c.estimate.env,
        "region": c.estimate.region,
        "currency": c.estimate.currency,
        "monthly": {"idle": c.estimate.idle, "full": c.estimate.full},
        "budget": c.budget,
        "overBudget": c.over_budget,
        "components": {name: {"idle": idle, "full": full}
                       for name, (idle, full) in c.estimate.by_component().items()},
        "types": {name: {"idle": idle, "full": full}
                  for name, (idle, full) in c.estimate.by_type().items()},
        "items": [{"component": item.component, "resource": item.resource, "type": item.type,
                   "idle": item.idle, "full": item.full, "basis": item.basis}
                  for item in c.estimate.items],
        "usageBased": c.estimate.usage_based,
        "unpriced": c.estimate.unpriced,
        "assumptions": _assumptions(c.estimate),
    } for c in results]
    return json.dumps(document, indent=2) + "\n"


def render_markdown(results: Sequence[Costed]) -> str:
    lines = ["## Cost estimate", ""]
    for costed in results:
        estimate = costed.estimate
        flag = " ⚠ over budget" if costed.over_budget else ""
        lines += [f"### `{estimate.stack}` ({estimate.env}, {estimate.region}){flag}", "",
                  "| component | idle / month | full scale / month |", "|---|---:|---:|"]
        for name, (idle, full) in estimate.by_component().items():
            lines.append(f"| {name} | {_money(idle)} | {_money(full)} |")
        lines += [f"| **total** | **{_money(estimate.idle)}** | **{_money(estimate.full)}** |",
                  "", f"- {_budget_line(costed)}"]
        if estimate.usage_based:
            lines.append("- billed by usage, not estimated: " + ", ".join(
                f"{count} x `{kind}`" for kind, count in estimate.usage_based.items()))
        if estimate.unpriced:
            lines.append("- **not priced**: " + ", ".join(
                f"{count} x `{kind}`" for kind, count in estimate.unpriced.items()))
        lines += [f"- assumptions: {_assumptions(estimate)}", ""]
    return "\n".join(lines)


RENDERERS: dict[str, Callable[[Sequence[Costed]], str]] = {
    "table": render_table, "json": render_json, "markdown": render_markdown}
