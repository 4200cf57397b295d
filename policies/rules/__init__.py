"""Every rule, in one tuple, grouped by area (one module per area)."""

from __future__ import annotations

from policies.model import Rule
from policies.rules import (
    compute,
    eks,
    helm,
    iam,
    kms,
    kubernetes,
    network,
    observability,
    rds,
    s3,
    tags,
    training_serving,
)

ALL_RULES: tuple[Rule, ...] = tuple(sorted(
    (*s3.RULES, *kms.RULES, *rds.RULES, *eks.RULES, *compute.RULES, *iam.RULES,
     *network.RULES, *observability.RULES, *kubernetes.RULES, *helm.RULES, *tags.RULES,
     *training_serving.RULES),
    key=lambda rule: rule.id))

_BY_ID = {rule.id: rule for rule in ALL_RULES}
if len(_BY_ID) != len(ALL_RULES):  # a copy-pasted ID would silently shadow a rule
    raise RuntimeError("duplicate rule IDs in policies.rules")


def rule_by_id(rule_id: str) -> Rule | None:
    return _BY_ID.get(rule_id)
