"""docs/verify.md's generated block: the reviewer's read-only IAM policy, from
`coverage.READ_CALLS` (the guard's allow-list), so the runbook cannot ask for less (or
more) than verify calls. Which rules are live is in the control matrix of security.md."""

from __future__ import annotations

import json

from mlplat.core.paths import DOCS_DIR
from mlplat.docgen.markdown import replace_block
from mlplat.verify.coverage import iam_actions

RUNBOOK = DOCS_DIR / "verify.md"
POLICY_BEGIN = "<!-- BEGIN GENERATED VERIFY POLICY (mlplat docs) -->"
POLICY_END = "<!-- END GENERATED VERIFY POLICY -->"


def reviewer_policy() -> dict[str, object]:
    """Every action verify may call, read-only, on every resource (the resources are found
    by listing, so they cannot be named in advance)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "MlplatVerifyReadOnly", "Effect": "Allow", "Action": iam_actions(),
        "Resource": "*"}]}


def render_runbook(current: str) -> str:
    policy = "```json\n" + json.dumps(reviewer_policy(), indent=2) + "\n```\n"
    return replace_block(current, POLICY_BEGIN, POLICY_END, policy, str(RUNBOOK))
