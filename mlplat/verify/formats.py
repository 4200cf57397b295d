"""`mlplat verify` reports: a terminal table and JSON. Only rule messages and resource
names are printed: the readers never turn a secret value into an input."""

from __future__ import annotations

import json
from typing import Any

from mlplat.verify.engine import VerifyReport


def table(report: VerifyReport) -> str:
    lines = [f"mlplat verify {report.stack} ({report.region}): {len(report.checked)} "
             f"resources read, {len(report.rules)} live rules"]
    if not report.drift:
        lines.append("no drift: every live rule that passes in the plan passes live")
        return "\n".join(lines) + "\n"
    rows = [("rule", "severity", "resource", "problem")] + [
        (d.finding.rule_id, d.finding.severity.label, d.planned.name, d.finding.message)
        for d in report.drift]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
                     + "  " + row[3])
    lines.append(f"DRIFT: {len(report.drift)} findings")
    return "\n".join(lines) + "\n"


def as_json(report: VerifyReport) -> str:
    def finding(item: Any, resource: str) -> dict[str, str]:
        return {"rule": item.rule_id, "severity": item.severity.label, "resource": resource,
                "type": item.type, "urn": item.urn, "message": item.message}

    document = {
        "format": "mlplat.verify/v1",
        "stack": report.stack,
        "region": report.region,
        "drifted": report.drifted,
        "rules": [rule.id for rule in report.rules],
        "checked": [r.urn for r in report.checked],
        "drift": [finding(d.finding, d.planned.name) for d in report.drift],
        "planned": [finding(f, f.name) for f in report.planned],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


RENDERERS = {"table": table, "json": as_json}
