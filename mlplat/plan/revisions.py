"""A stack's plan at a git revision, or in the working tree: the two sides of a diff.

At a revision, the plan is the committed snapshot `plans/<stack>.json` when that
revision has one: it is what the program of that revision planned (`mlplat plan --check`
keeps it so in CI). A revision without a snapshot (history older than snapshots, or a
branch that never refreshed them) has its stack file planned with the program and
components of the working tree, not of the revision: running an old revision's code
would need its whole tree and its dependency versions, and would silently differ from
what that revision would have planned in its own environment anyway. The diff says so in
a note, so a reviewer knows that component changes between the two sides are not shown.
A revision where the stack file does not exist gives an empty plan (everything added).

Nothing here calls anything but `git rev-parse`, `git cat-file` and `git show`, with the
revision checked first; nothing is checked out or written into the repository.
"""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from mlplat.config import ConfigError
from mlplat.plan.model import PLAN_FORMAT, Plan
from mlplat.plan.snapshots import read_snapshot, snapshot_dir, snapshot_path
from mlplat.stackfile import STACK_DIR, available_stacks, display_path, stack_file

GIT_TIMEOUT: Final = 60


class RevisionError(Exception):
    """Bad input about git: not a repository, an unknown revision, a path outside it."""


@dataclass(frozen=True)
class SidePlan:
    """One side of a diff: the plan, how to name it, and what a reviewer should know."""

    plan: Plan
    label: str
    note: str | None = None
    #: False when the stack does not exist on this side (the plan is empty).
    exists: bool = True


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              timeout=GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise RevisionError("git is not installed") from None


def repository_root(path: Path) -> Path:
    """The top of the git work tree holding `path`."""
    probe = path if path.is_dir() else path.parent
    done = _git(probe, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise RevisionError(f"{path}: not inside a git repository")
    return Path(done.stdout.decode().strip())


def resolve_revision(root: Path, ref: str) -> str:
    """The commit `ref` names, as a full hash; RevisionError when it names none."""
    if not ref or ref.startswith("-") or any(ch.isspace() for ch in ref):
        raise RevisionError(f"invalid git revision {ref!r}")
    done = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise RevisionError(f"unknown git revision {ref!r} in {root}")
    return done.stdout.decode().strip()


def file_at(root: Path, commit: str, path: Path) -> str | None:
    """The text of `path` (inside `root`) at `commit`, or None when it does not exist."""
    try:
        relative = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise RevisionError(f"{path}: outside the git repository {root}") from None
    if _git(root, "cat-file", "-e", f"{commit}:{relative}").returncode != 0:
        return None
    done = _git(root, "show", f"{commit}:{relative}")
    if done.returncode != 0:
        raise RevisionError(f"git show {commit[:12]}:{relative} failed: "
                            f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode("utf-8", errors="replace")


def plan_at_revision(stack: str, ref: str, stack_dir: Path = STACK_DIR) -> SidePlan:
    """`stack`'s plan at git revision `ref` (see the module doc for where it comes from).

    Raises RevisionError (not a repository, bad revision), ConfigError (the stack file at
    that revision is invalid) or ProgramError (the program fails on it)."""
    root = repository_root(stack_dir)
    commit = resolve_revision(root, ref)
    snapshot = snapshot_path(stack, snapshot_dir(stack_dir))
    text = file_at(root, commit, snapshot)
    if text is not None:
        where = f"{display_path(snapshot)}@{ref}"
        try:
            return SidePlan(read_snapshot(text, where), where)
        except ValueError as error:
            raise RevisionError(str(error)) from None
    config_file = stack_file(stack, stack_dir)
    stack_text = file_at(root, commit, config_file)
    if stack_text is None:
        return SidePlan(empty_plan(stack), f"{display_path(config_file)}@{ref}",
                        f"stack {stack} does not exist at {ref}", exists=False)
    where = f"{display_path(config_file)}@{ref}"
    with tempfile.TemporaryDirectory(prefix="mlplat-revision-") as temporary:
        extracted = Path(temporary) / config_file.name
        extracted.write_text(stack_text, encoding="utf-8")
        try:
            plan = _plan_file(stack, Path(temporary), source=where)
        except ConfigError as error:  # named as the reviewer knows it, not the temp copy
            raise ConfigError(str(error).replace(str(extracted), where)) from None
    return SidePlan(plan, where, f"no snapshot at {ref}: its stack file was planned with the "
                                 "working tree's program and components")


def plan_working_tree(stack: str, stack_dir: Path = STACK_DIR) -> SidePlan:
    """`stack`'s plan from the working tree (cached when its inputs are unchanged).

    Raises ConfigError for an unknown stack or an invalid stack file."""
    if stack not in available_stacks(stack_dir):
        known = ", ".join(available_stacks(stack_dir)) or "none"
        raise ConfigError(f"unknown stack {stack!r} (known stacks: {known})")
    return SidePlan(_plan_file(stack, stack_dir), "working tree")


def _plan_file(stack: str, directory: Path, source: str | None = None) -> Plan:
    """The plan of a stack file, through the plan cache. `source` names the file in the
    plan (and so in the cache key) when it is a temporary copy."""
    from mlplat.plan.api import stack_request
    from mlplat.plan.cache import PlanCache, plan_with_cache

    request = stack_request(stack, directory)
    if source is not None:
        request = dataclasses.replace(request, source=source)
    (planned,) = plan_with_cache([request], 1, PlanCache())
    return planned.plan


def empty_plan(stack: str) -> Plan:
    """A plan with nothing in it: the base of a stack that is new."""
    return Plan.from_json({"format": PLAN_FORMAT, "project": "mlplat", "stack": stack,
                           "source": "(none)", "resources": [], "outputs": {}})


def plan_side(stack: str, ref: str | None, stack_dir: Path = STACK_DIR) -> SidePlan:
    """The plan at `ref`, or in the working tree when `ref` is None."""
    if ref is None:
        return plan_working_tree(stack, stack_dir)
    return plan_at_revision(stack, ref, stack_dir)
