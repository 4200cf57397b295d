"""`mlplat audit`: the rule set of `policies/` run over offline plans, with waivers and
report formats (table, JSON, SARIF 2.1.0, Markdown, JUnit XML)."""

from mlplat.audit.engine import AuditInputError, AuditReport, audit_plans, load_plan_file
from mlplat.audit.waivers import Waiver, load_waivers

__all__ = ["AuditInputError", "AuditReport", "Waiver", "audit_plans", "load_plan_file",
           "load_waivers"]
