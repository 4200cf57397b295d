"""Lint IAM policy documents with parliament (community auditors on) and cloudsplaining.

Runs inside .venv-scanners (`make scanners`), called by tests/policies/test_scanners.py.
stdin: a JSON list of {"where": str, "kind": "identity" | "trust", "policy": str};
stdout: a JSON list of {"where", "tool", "issue", "detail"}, one per finding.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from cloudsplaining.scan.policy_document import PolicyDocument
from parliament import analyze_policy_string

#: cloudsplaining's risk categories, by the PolicyDocument property that finds them.
RISKS = {
    "PRIVILEGE_ESCALATION": "allows_privilege_escalation",
    "CREDENTIALS_EXPOSURE": "credentials_exposure",
    "RESOURCE_EXPOSURE": "permissions_management_without_constraints",
    "DATA_EXFILTRATION": "allows_data_exfiltration_actions",
    "INFRASTRUCTURE_MODIFICATION": "infrastructure_modification",
}


def lint(entry: dict[str, Any]) -> list[dict[str, Any]]:
    where, text = entry["where"], entry["policy"]
    findings = [{"where": where, "tool": "parliament", "issue": f.issue,
                 "detail": json.dumps(f.detail, sort_keys=True, default=str)}
                for f in analyze_policy_string(text, include_community_auditors=True).findings]
    if entry["kind"] == "identity":
        # Trust policies grant no permissions: cloudsplaining's risks are about actions.
        document = PolicyDocument(json.loads(text))
        for issue, prop in RISKS.items():
            value = getattr(document, prop)
            if value:
                findings.append({"where": where, "tool": "cloudsplaining", "issue": issue,
                                 "detail": json.dumps(value, sort_keys=True, default=str)})
    return findings


def main() -> None:
    entries = json.load(sys.stdin)
    json.dump([f for entry in entries for f in lint(entry)], sys.stdout, indent=1)


if __name__ == "__main__":
    main()
