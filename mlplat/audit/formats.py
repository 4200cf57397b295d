"""Audit reports as text: a terminal table, JSON, SARIF 2.1.0 (code scanning), Markdown
(PR comments) and JUnit XML (CI test reports). Each renderer is a pure function of the
report, so every format says the same thing."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from mlplat.audit.engine import AuditReport, Outcome
from mlplat.audit.waivers import WAIVER_RULES, WAIVER_TYPE
from policies import Finding, Rule, Severity

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error",
                Severity.MEDIUM: "warning", Severity.LOW: "note"}
# GitHub code scanning reads `security-severity` (0-10) to rank security results.
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0",
                      Severity.MEDIUM: "5.5", Severity.LOW: "2.0"}


def _tool_version() -> str:
    try:
        return version("mlplat")
    except PackageNotFoundError:
        return "0"


def _ordered(outcomes: list[Outcome]) -> list[Outcome]:
    return sorted(outcomes, key=lambda o: (-o.finding.severity, o.finding.rule_id,
                                           o.finding.stack, o.finding.urn))


def _summary(report: AuditReport) -> str:
    waived = sum(o.waived for o in report.outcomes)
    verdict = "FAILED" if report.failed else "passed"
    return (f"{len(report.active)} findings ({len(report.blocking)} at or above "
            f"{report.fail_on.label}), {waived} waived, {len(report.rules)} rules, "
            f"{len(report.plans)} stack{'' if len(report.plans) == 1 else 's'}: {verdict}")


def render_table(report: AuditReport) -> str:
    rows = [("SEVERITY", "RULE", "STACK", "RESOURCE", "FINDING")]
    for outcome in _ordered(report.outcomes):
        finding = outcome.finding
        note = f" [waived until {outcome.waiver.expires}]" if outcome.waiver else ""
        rows.append((finding.severity.label, finding.rule_id, finding.stack, finding.name,
                     finding.message + note))
    if len(rows) == 1:
        return _summary(report) + "\n"
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
             + "  " + row[4] for row in rows]
    return "\n".join([*lines, "", _summary(report)]) + "\n"


def _finding_json(outcome: Outcome) -> dict[str, Any]:
    finding = outcome.finding
    waiver = outcome.waiver
    return {
        "rule": finding.rule_id, "title": finding.rule.title,
        "severity": finding.severity.label, "stack": finding.stack, "urn": finding.urn,
        "type": finding.type, "name": finding.name, "message": finding.message,
        "controls": [str(c) for c in finding.rule.controls],
        "waiver": None if waiver is None else {
            "justification": waiver.justification, "approver": waiver.approver,
            "expires": waiver.expires.isoformat(), "source": waiver.where},
    }


def render_json(report: AuditReport) -> str:
    data = {
        "format": "mlplat.audit/v1",
        "stacks": report.stacks,
        "fail_on": report.fail_on.label,
        "failed": report.failed,
        "summary": {"findings": len(report.active), "blocking": len(report.blocking),
                    "waived": sum(o.waived for o in report.outcomes),
                    "rules": len(report.rules)},
        "findings": [_finding_json(o) for o in _ordered(report.outcomes)],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.id.replace("-", ""),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": f"{rule.rationale}\n\nRemediation: {rule.remediation}",
                 "markdown": f"{rule.rationale}\n\n**Remediation:** {rule.remediation}"},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        "properties": {"tags": ["security", *(str(c) for c in rule.controls)],
                       "security-severity": _SECURITY_SEVERITY[rule.severity],
                       "severity": rule.severity.label},
    }


def _sarif_result(outcome: Outcome, index: dict[str, int], sources: dict[str, str]
                  ) -> dict[str, Any]:
    finding = outcome.finding
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": index[finding.rule_id],
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": f"{finding.name}: {finding.message}"},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": _location_file(finding, sources)},
                                 "region": {"startLine": _location_line(finding)}},
            "logicalLocations": [{"fullyQualifiedName": finding.urn, "name": finding.name,
                                  "kind": "resource"}],
        }],
        "partialFingerprints": {"mlplatFinding/v1": f"{finding.rule_id}|{finding.urn}"},
        "properties": {"stack": finding.stack, "resourceType": finding.type},
    }
    if outcome.waiver is not None:
        result["suppressions"] = [{
            "kind": "external", "status": "accepted",
            "justification": (f"{outcome.waiver.justification} (approved by "
                              f"{outcome.waiver.approver}, expires "
                              f"{outcome.waiver.expires.isoformat()})"),
            "location": {"physicalLocation": {
                "artifactLocation": {"uri": outcome.waiver.source},
                "region": {"startLine": outcome.waiver.line}}},
        }]
    return result


def _location_file(finding: Finding, sources: dict[str, str]) -> str:
    if finding.type == WAIVER_TYPE:
        return finding.urn.rsplit(":", 1)[0]
    return sources.get(finding.stack) or f"stacks/Pulumi.{finding.stack}.yaml"


def _location_line(finding: Finding) -> int:
    if finding.type == WAIVER_TYPE:
        return int(finding.urn.rsplit(":", 1)[1])
    return 1  # a plan record has no line of its own: the stack file is the artifact


def render_sarif(report: AuditReport) -> str:
    rules = [*report.rules, *WAIVER_RULES]
    index = {rule.id: i for i, rule in enumerate(rules)}
    sources = {plan.stack: plan.source for plan in report.plans}
    data = {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": "mlplat-audit", "version": _tool_version(),
                                "rules": [_sarif_rule(rule) for rule in rules]}},
            "automationDetails": {"id": "mlplat-audit/" + ",".join(report.stacks)},
            "results": [_sarif_result(o, index, sources) for o in _ordered(report.outcomes)],
        }],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _md(text: str) -> str:
    """A table cell: pipes escaped, one line."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: AuditReport) -> str:
    icon = ":x:" if report.failed else ":white_check_mark:"
    lines = [f"### {icon} mlplat audit: {', '.join(report.stacks) or 'no stacks'}", "",
             _summary(report), ""]
    active = [o for o in _ordered(report.outcomes) if not o.waived]
    waived = [o for o in _ordered(report.outcomes) if o.waived]
    if active:
        lines += ["| severity | rule | stack | resource | finding |",
                  "|---|---|---|---|---|"]
        lines += [f"| {o.finding.severity.label} | `{o.finding.rule_id}` "
                  f"{_md(o.finding.rule.title)} | {o.finding.stack} | `{_md(o.finding.name)}` "
                  f"| {_md(o.finding.message)} |" for o in active]
        lines.append("")
    if waived:
        lines += ["<details><summary>Waived findings</summary>", "",
                  "| rule | stack | resource | justification | approver | expires |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| `{o.finding.rule_id}` | {o.finding.stack} | `{_md(o.finding.name)}` | "
                  f"{_md(o.waiver.justification)} | {o.waiver.approver} | "
                  f"{o.waiver.expires.isoformat()} |" for o in waived if o.waiver]
        lines += ["", "</details>", ""]
    return "\n".join(lines)


def render_junit(report: AuditReport) -> str:
    """One testsuite per stack, one testcase per rule; waiver findings in their own suite.
    A testcase fails on unwaived findings at or above --fail-on; others go to system-out."""
    root = ET.Element("testsuites", name="mlplat audit")
    groups: list[tuple[str, tuple[Rule, ...]]] = [(s, report.rules) for s in report.stacks]
    waiver_outcomes = [o for o in report.outcomes if o.finding.rule in WAIVER_RULES]
    if waiver_outcomes or report.waivers:
        groups.append(("waivers", WAIVER_RULES))
    total_tests = total_failures = 0
    for suite_name, rules in groups:
        suite = ET.SubElement(root, "testsuite", name=suite_name)
        failures = 0
        for rule in rules:
            case = ET.SubElement(suite, "testcase", classname=f"mlplat.audit.{suite_name}",
                                 name=f"{rule.id} {rule.title}")
            mine = [o for o in report.outcomes if o.finding.rule is rule
                    and (suite_name == "waivers" or o.finding.stack == suite_name)]
            blocking = [o for o in mine if not o.waived and o.finding.severity >= report.fail_on]
            if blocking:
                failures += 1
                failure = ET.SubElement(case, "failure", type=rule.severity.label,
                                        message=f"{len(blocking)} finding(s)")
                failure.text = "\n".join(f"{o.finding.urn}: {o.finding.message}"
                                         for o in blocking)
            others = [o for o in mine if o not in blocking]
            if others:
                out = ET.SubElement(case, "system-out")
                out.text = "\n".join(
                    f"{'waived' if o.waived else o.finding.severity.label}: "
                    f"{o.finding.urn}: {o.finding.message}" for o in others)
        suite.set("tests", str(len(rules)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        total_tests += len(rules)
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


RENDERERS: dict[str, Callable[[AuditReport], str]] = {
    "table": render_table,
    "json": render_json,
    "sarif": render_sarif,
    "markdown": render_markdown,
    "junit": render_junit,
}
