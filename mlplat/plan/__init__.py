"""Offline plans: run the Pulumi program under mocks and record what it would create."""

from mlplat.plan.api import plan_environment, plan_stack
from mlplat.plan.engine import ProgramError, run_program
from mlplat.plan.model import SECRET, Plan, ResourceRecord

__all__ = [
    "SECRET",
    "Plan",
    "ProgramError",
    "ResourceRecord",
    "plan_environment",
    "plan_stack",
    "run_program",
]
