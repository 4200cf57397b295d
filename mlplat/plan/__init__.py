"""Offline plans: run the Pulumi program under mocks and record what it would create."""

from mlplat.plan.api import (
    PlanRequest,
    default_jobs,
    environment_request,
    plan_environment,
    plan_requests,
    plan_stack,
    stack_request,
    validate_stack,
)
from mlplat.plan.engine import ProgramError, run_program
from mlplat.plan.model import SECRET, Plan, ResourceRecord

__all__ = [
    "SECRET",
    "Plan",
    "PlanRequest",
    "ProgramError",
    "ResourceRecord",
    "default_jobs",
    "environment_request",
    "plan_environment",
    "plan_requests",
    "plan_stack",
    "run_program",
    "stack_request",
    "validate_stack",
]
