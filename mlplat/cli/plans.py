"""Plans for the commands that read them (audit, cost): planned offline from stack files, or
read from plan JSON files that `mlplat plan --json` wrote."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the plan engine imports the Pulumi SDK: only when a command needs it
    from mlplat.plan.model import Plan


def planned(stacks: Sequence[str], all_stacks: bool, directory: Path, jobs: int, *,
            refresh: bool = False) -> list[Plan]:
    """Plans of the named stacks (or all), every stack file validated first and unchanged
    stacks read from the plan cache, as `mlplat plan` does (`refresh`: plan afresh).
    Raises ConfigError for an unknown stack or an invalid file."""
    from mlplat.cli.plan import chosen_stacks, planned_stacks
    from mlplat.stackfile import available_stacks

    names = chosen_stacks(tuple(stacks), all_stacks, directory, available_stacks(directory))
    return [result.plan for result in planned_stacks(names, directory, jobs=jobs,
                                                     refresh=refresh)]


def plans_from(stacks: Sequence[str], all_stacks: bool, plan_files: Sequence[Path],
               directory: Path, jobs: int, *, refresh: bool = False) -> list[Plan]:
    """The plan files given, then the stacks named (all stacks when nothing is named)."""
    from mlplat.audit.engine import load_plan_file

    plans = [load_plan_file(path) for path in plan_files]
    if stacks or all_stacks or not plan_files:
        plans += planned(stacks, all_stacks, directory, jobs, refresh=refresh)
    return plans
