"""`mlplat plan`: every resource `pulumi up` would create, offline, with no credentials."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlplat.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, fail
from mlplat.core.config_error import ConfigError
from mlplat.core.files import write_atomically

if TYPE_CHECKING:  # the plan engine imports the Pulumi SDK: only when a command needs it
    from rich.console import Console

    from mlplat.plan import PlanRequest
    from mlplat.plan.cache import Planned
    from mlplat.plan.model import Plan

STACK_DIR_HELP = "Directory holding Pulumi.<stack>.yaml (default: the repo's stacks/)."


@click.command()
@click.argument("stacks", nargs=-1, metavar="[STACK]...")
@click.option("--all", "all_stacks", is_flag=True,
              help="Plan every Pulumi.<stack>.yaml in the stack directory and every "
                   "template in its templates/ (as stack template-<name>, rendered with "
                   "its examples and defaults).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the normalised plan as JSON to this file (one stack only).")
@click.option("--json-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each plan as <stack>.json into this directory (created if "
                   "missing).")
@click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=STACK_DIR_HELP)
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, show_default=True,
              help="Worker processes for several stacks; 0 means one per CPU.")
@click.option("--quiet", "-q", is_flag=True, help="Print only one summary line per stack.")
@click.option("--graph", "graph_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also draw the plan's components and their dependencies to this file "
                   "(.svg, .png, .pdf with Graphviz; .dot without). One stack only.")
@click.option("--no-cache", is_flag=True,
              help="Plan every stack afresh instead of reusing cached plans of unchanged "
                   "inputs (the fresh plans are cached).")
# -- plan snapshots (mlplat.cli.plan_snapshots): plans/<stack>.json checked or refreshed
@click.option("--check", "check_snapshots", is_flag=True,
              help="Exit 1 naming each stack (default: every stack) whose committed "
                   "snapshot plans/<stack>.json differs from its plan now.")
@click.option("--write-snapshots", is_flag=True,
              help="Write plans/<stack>.json for each stack (default: every stack, and "
                   "remove snapshots of stacks that no longer exist).")
def plan(stacks: tuple[str, ...], all_stacks: bool, json_path: Path | None,
         json_dir: Path | None, stack_dir: Path | None, jobs: int, quiet: bool,
         graph_path: Path | None, no_cache: bool, check_snapshots: bool = False,
         write_snapshots: bool = False) -> None:
    """Plan STACK offline: every resource `pulumi up` would create, with no credentials.

    Several stacks (or --all) are validated first, all of them, every problem in every
    file reported; then planned in parallel. A stack whose inputs (stack config, program,
    components, mlplat, provider and Python versions) are unchanged since it was last
    planned reuses that plan from the cache (.mlplat-cache/plans, or $MLPLAT_CACHE_DIR).
    A shared-mode stack is planned after the platform it references (which is planned
    too), reading the platform's exports. JSON files are written only when every plan
    succeeded."""
    from mlplat.plan.engine import ProgramError
    from mlplat.stackfile import STACK_DIR, available_stacks

    directory = stack_dir or STACK_DIR
    if check_snapshots or write_snapshots:
        _snapshots(stacks, all_stacks, json_path, json_dir, directory, jobs, no_cache,
                   write=write_snapshots, check=check_snapshots)
        return
    try:
        names = chosen_stacks(stacks, all_stacks, directory, available_stacks(directory))
        _json_targets(names, json_path, json_dir)  # checked before anything is validated
        results = planned_stacks(names, directory, templates=all_stacks, jobs=jobs,
                                 refresh=no_cache)
        outputs = _json_targets([planned.stack for planned in results], json_path, json_dir)
        if json_dir is not None:
            _make_directory(json_dir)
        for planned, target in zip(results, outputs, strict=True):
            if target is not None:
                _write_plan(target, planned.plan.dumps())
        if graph_path is not None:
            _draw([planned.plan for planned in results], graph_path)
    except ConfigError as error:
        fail(str(error), EXIT_BAD_INPUT)
    except ProgramError as error:
        where = f"{error.stack}: " if error.stack else ""
        fail(f"{where}the Pulumi program failed: {error}", EXIT_FAILED)

    # --quiet prints plain lines (one per stack, never wrapped) without rich's console.
    console = None if quiet else _console()
    say = click.echo if console is None else functools.partial(console.print, markup=False)
    for planned, target in zip(results, outputs, strict=True):
        reused = " (from the cache: inputs unchanged)" if planned.from_cache else ""
        if console is None:
            say(f"{planned.managed_count} resources planned for stack {planned.stack}{reused}")
        else:
            from mlplat.render import print_plan

            print_plan(planned.plan, console)
            if planned.from_cache:
                say(f"Reused the cached plan of stack {planned.stack}: inputs unchanged "
                    "(--no-cache plans afresh).")
        if target is not None:
            say(f"Wrote {target}")
    if len(results) > 1:
        total = sum(planned.managed_count for planned in results)
        from_cache = sum(planned.from_cache for planned in results)
        say(f"{len(results)} stacks planned, {total} resources in all"
            + (f"; {from_cache} from the cache" if from_cache else ""))


def _snapshots(stacks: tuple[str, ...], all_stacks: bool, json_path: Path | None,
               json_dir: Path | None, directory: Path, jobs: int, no_cache: bool, *,
               write: bool, check: bool) -> None:
    """--check / --write-snapshots, which replace the plan listing."""
    from mlplat.cli.plan_snapshots import snapshot_command
    from mlplat.plan import ProgramError

    try:
        if check and write:
            raise ConfigError("--check and --write-snapshots: give one of them")
        if all_stacks and stacks:
            raise ConfigError("give STACK names or --all, not both")
        if json_path is not None or json_dir is not None or no_cache:
            raise ConfigError("--check and --write-snapshots take no --json, --json-dir "
                              "or --no-cache")
        snapshot_command(() if all_stacks else stacks, directory, jobs, write=write)
    except ConfigError as error:
        fail(str(error), EXIT_BAD_INPUT)
    except ProgramError as error:
        where = f"{error.stack}: " if error.stack else ""
        fail(f"{where}the Pulumi program failed: {error}", EXIT_FAILED)


def planned_stacks(names: list[str], directory: Path, *, templates: bool = False,
                   jobs: int = 0, refresh: bool = False) -> list[Planned]:
    """The plans of `names` (with `templates`, also every template of
    `directory`/templates), validated first, then planned through the plan cache.

    A run whose every input is unchanged since one that validated the same stacks (the
    stack directory's YAML, mlplat's sources, the versions; `PlanCache.remembered`)
    skips validation as well: it would pass again and give the same plan keys. Anything
    else validates every stack afresh and reports every problem in every file."""
    from mlplat.plan.cache import PlanCache, plan_with_cache

    cache = PlanCache()
    remembered = None if refresh else cache.remembered(names, directory, templates=templates)
    if remembered is not None:
        return remembered
    from mlplat.plan.api import default_jobs  # the config models: only when validating

    requests = _validated_requests(names, directory, templates=templates)
    results = plan_with_cache(requests, jobs or default_jobs(), cache, refresh=refresh)
    cache.remember(names, directory, templates=templates, requests=requests)
    return results


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _validated_requests(names: list[str], directory: Path, *,
                        templates: bool = False) -> list[PlanRequest]:
    """Every stack (and with `templates`, every template of `directory`/templates)
    validated, every problem of every file collected before giving up; then in dependency
    order (a platform before its tenants). A stack a named one references is planned too,
    not shown."""
    from mlplat.plan import stack_request
    from mlplat.plan.api import in_dependency_order, template_request
    from mlplat.templates import load_template

    requests, problems = [], []
    for name in names:
        try:
            requests.append(stack_request(name, directory))
        except ConfigError as error:
            problems.append(str(error))
    template_dir = directory / "templates"
    for path in sorted(template_dir.glob("*.yaml")) if templates else []:
        try:
            requests.append(template_request(load_template(path.stem, template_dir),
                                             stack_dir=directory))
        except ConfigError as error:
            problems.append(str(error))
    names = [request.stack for request in requests]
    if problems:
        raise ConfigError("\n".join(dict.fromkeys(problems)))
    return [request for wave in in_dependency_order(requests) for request in wave
            if request.stack in names]


def chosen_stacks(stacks: tuple[str, ...], all_stacks: bool, directory: Path,
                  known: list[str]) -> list[str]:
    """The stacks a command line names (or all of them), checked."""
    if all_stacks and stacks:
        raise ConfigError("give STACK names or --all, not both")
    if all_stacks:
        if not known:
            raise ConfigError(f"{directory}: no Pulumi.<stack>.yaml files to plan")
        return known
    if not stacks:
        raise ConfigError("no stack given: name a STACK (known: "
                          f"{', '.join(known) or 'none'}) or use --all")
    duplicated = sorted({name for name in stacks if stacks.count(name) > 1})
    if duplicated:
        raise ConfigError(f"stack named twice: {', '.join(duplicated)}")
    return list(stacks)


def _json_targets(names: list[str], json_path: Path | None,
                  json_dir: Path | None) -> list[Path | None]:
    """Where each plan's JSON goes, checked before anything is planned."""
    if json_path is not None and json_dir is not None:
        raise ConfigError("--json and --json-dir: give one of them")
    if json_path is not None:
        if len(names) != 1:
            raise ConfigError(f"--json {json_path}: takes one stack, {len(names)} given; "
                              "use --json-dir for several")
        if not (json_path.parent or Path(".")).is_dir():
            raise ConfigError(f"{json_path}: directory {json_path.parent} does not exist")
        return [json_path]
    if json_dir is not None:
        return [json_dir / f"{name}.json" for name in names]
    return [None] * len(names)


def _draw(plans: list[Plan], target: Path) -> None:
    """Draw the one plan to `target`; ConfigError when that cannot be done."""
    from mlplat.plan.graph import GraphError, render

    if len(plans) != 1:
        raise ConfigError(f"--graph {target}: draws one stack; {len(plans)} were planned")
    try:
        write_atomically(target, render(plans[0], target))
    except GraphError as error:
        raise ConfigError(str(error)) from None
    except OSError as error:
        raise ConfigError(f"{target}: cannot write: {error.strerror or error}") from None


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"--json-dir {directory}: cannot create: "
                          f"{error.strerror or error}") from error


def _write_plan(target: Path, text: str) -> None:
    try:
        write_atomically(target, text)
    except OSError as error:
        raise ConfigError(f"{target}: cannot write: {error.strerror or error}") from error
