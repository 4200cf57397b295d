"""Committed plan snapshots: `plans/<stack>.json`, one per stack file, beside `stacks/`.

A snapshot is the stack's offline plan as `Plan.dumps()` writes it (byte-identical
between runs), committed with the change that produced it, so a PR's diff of
`plans/*.json` shows what it changes in every environment. `mlplat plan --check`
re-plans and fails naming each stale snapshot (CI runs it through
tests/unit/test_plan_snapshot.py); `mlplat plan --write-snapshots` (or `make snapshots`)
refreshes them. Stacks are discovered from the stack directory, never listed, so a new
stack file gets its snapshot at the next refresh and a snapshot without a stack file is
stale.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from mlplat.core.files import write_atomically
from mlplat.core.paths import REPO_ROOT
from mlplat.plan.model import Plan
from mlplat.stackfile import STACK_DIR

if TYPE_CHECKING:
    from mlplat.plan.diff import PlanDiff

#: Where the repository's snapshots live.
SNAPSHOT_DIR: Final = REPO_ROOT / "plans"
#: Changed resources named in a stale snapshot's summary before "...".
MAX_NAMED: Final = 3


def snapshot_dir(stack_dir: Path = STACK_DIR) -> Path:
    """The snapshot directory that belongs to a stack directory: `plans/` beside it."""
    return stack_dir.parent / "plans"


def snapshot_path(stack: str, directory: Path) -> Path:
    return directory / f"{stack}.json"


def snapshot_stacks(directory: Path) -> list[str]:
    """Stacks that have a snapshot in `directory`."""
    return sorted(path.stem for path in directory.glob("*.json"))


def read_snapshot(text: str, where: str) -> Plan:
    """The plan a snapshot holds; ValueError naming `where` when it holds none."""
    try:
        return Plan.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{where}: not a plan snapshot ({error})") from None


@dataclass(frozen=True)
class Staleness:
    """Why one snapshot does not match: the stack, its snapshot file, what differs."""

    stack: str
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.stack}: {self.path} is stale: {self.reason}"


def check_snapshots(plans: Sequence[Plan], directory: Path, *,
                    every_stack: bool) -> list[Staleness]:
    """Each snapshot of `plans` that is missing or differs from the plan, with a short
    summary of the difference; with `every_stack` (the plans are of all stack files),
    snapshots of stacks that no longer exist too."""
    from mlplat.plan.diff import diff_plans

    stale = []
    for plan in plans:
        path = snapshot_path(plan.stack, directory)
        try:
            committed = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            stale.append(Staleness(plan.stack, path, "missing"))
            continue
        except (OSError, UnicodeDecodeError) as error:
            stale.append(Staleness(plan.stack, path, f"unreadable ({error})"))
            continue
        if committed == plan.dumps():
            continue
        try:
            snapshot = read_snapshot(committed, str(path))
        except ValueError as error:
            stale.append(Staleness(plan.stack, path, str(error)))
            continue
        difference = diff_plans(snapshot, plan, rules=())
        stale.append(Staleness(plan.stack, path, describe(difference)))
    if every_stack:
        planned = {plan.stack for plan in plans}
        stale += [Staleness(stack, snapshot_path(stack, directory), "no such stack file "
                            "(remove the snapshot or restore the stack)")
                  for stack in snapshot_stacks(directory) if stack not in planned]
    return stale


def describe(difference: PlanDiff) -> str:
    """A one-line account of a stale snapshot: counts and the first resources."""
    if difference.empty:
        return "same resources and outputs, different document (format or summary)"
    changes = difference.resources
    named = [f"{change.kind} {change.name}" for change in changes[:MAX_NAMED]]
    more = ", ..." if len(changes) > MAX_NAMED else ""
    return difference.summary() + (f": {', '.join(named)}{more}" if named else "")


def write_snapshots(plans: Sequence[Plan], directory: Path, *,
                    every_stack: bool) -> tuple[list[Path], list[Path]]:
    """Write each plan's snapshot where it differs; with `every_stack`, delete snapshots
    of stacks that no longer exist. Returns (written, removed)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for plan in plans:
        path = snapshot_path(plan.stack, directory)
        text = plan.dumps()
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_atomically(path, text)
            written.append(path)
    removed = []
    if every_stack:
        planned = {plan.stack for plan in plans}
        for stack in snapshot_stacks(directory):
            if stack not in planned:
                path = snapshot_path(stack, directory)
                path.unlink()
                removed.append(path)
    return written, removed
