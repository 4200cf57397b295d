"""Offline plans: run the Pulumi program under mocks and record what it would create.

The public names below are imported from their modules on first use (PEP 562): a command
that only reads cached plans (`mlplat.plan.cache`, `mlplat.plan.model`) must not pay for
importing `mlplat.plan.api`, which brings in the config models (ADR 0030).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the redundant aliases mark re-exports
    from mlplat.plan.api import PlanRequest as PlanRequest
    from mlplat.plan.api import default_jobs as default_jobs
    from mlplat.plan.api import environment_request as environment_request
    from mlplat.plan.api import plan_environment as plan_environment
    from mlplat.plan.api import plan_requests as plan_requests
    from mlplat.plan.api import plan_stack as plan_stack
    from mlplat.plan.api import stack_request as stack_request
    from mlplat.plan.api import validate_stack as validate_stack
    from mlplat.plan.engine import ProgramError as ProgramError
    from mlplat.plan.engine import run_program as run_program
    from mlplat.plan.model import SECRET as SECRET
    from mlplat.plan.model import Plan as Plan
    from mlplat.plan.model import ResourceRecord as ResourceRecord

#: Each public name and the module that defines it.
_HOMES = {
    **dict.fromkeys(("PlanRequest", "default_jobs", "environment_request", "plan_environment",
                     "plan_requests", "plan_stack", "stack_request", "validate_stack"),
                    "mlplat.plan.api"),
    **dict.fromkeys(("ProgramError", "run_program"), "mlplat.plan.engine"),
    **dict.fromkeys(("SECRET", "Plan", "ResourceRecord"), "mlplat.plan.model"),
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value
