"""mlplat's security rule set: pure checks over plan records, importable anywhere.

The same `Rule` objects run in three places: `mlplat audit` on offline plans, the
CrossGuard pack in this directory (`pulumi preview --policy-pack policies/`) and, later,
a live verifier that reuses the rule IDs. Importing this package never starts anything;
only `policies/__main__.py` builds the PolicyPack (which starts a gRPC server and blocks).
"""

from policies.model import Control, Finding, Rule, Severity
from policies.rules import ALL_RULES, rule_by_id

__all__ = ["ALL_RULES", "Control", "Finding", "Rule", "Severity", "rule_by_id"]
