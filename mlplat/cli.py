"""The `mlplat` command line.

Exit codes: 0 success; 1 the program or a check failed; 2 bad input (unknown stack,
unreadable or invalid config, bad arguments). Bad input prints one message per problem,
naming the file and the field, and never a traceback.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click
from rich.console import Console

from mlplat.config import ConfigError

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

_err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, code: int) -> None:
    for line in message.splitlines() or [message]:
        _err.print(f"[red]error:[/red] {line}", markup=True)
    sys.exit(code)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one, never
    half of it: write a temp file in the same directory, fsync, rename."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ConfigError(f"{path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlplat")
def main() -> None:
    """mlplat: ML platform environments as code, planned and audited offline."""


@main.command()
@click.argument("stacks", nargs=-1, metavar="[STACK]...")
@click.option("--all", "all_stacks", is_flag=True,
              help="Plan every Pulumi.<stack>.yaml in the stack directory.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the normalised plan as JSON to this file (one stack only).")
@click.option("--json-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each plan as <stack>.json into this existing directory.")
@click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory holding Pulumi.<stack>.yaml (default: the repo's stacks/).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, show_default=True,
              help="Worker processes for several stacks; 0 means one per CPU.")
@click.option("--quiet", "-q", is_flag=True, help="Print only one summary line per stack.")
def plan(stacks: tuple[str, ...], all_stacks: bool, json_path: Path | None,
         json_dir: Path | None, stack_dir: Path | None, jobs: int, quiet: bool) -> None:
    """Plan STACK offline: every resource `pulumi up` would create, with no credentials.

    Several stacks (or --all) are validated first, all of them, then planned in parallel;
    JSON files are written only when every plan succeeded."""
    from mlplat.plan import ProgramError, default_jobs, plan_requests, stack_request
    from mlplat.render import print_plan
    from mlplat.stackfile import STACK_DIR, available_stacks

    directory = stack_dir or STACK_DIR
    try:
        names = _chosen_stacks(stacks, all_stacks, directory, available_stacks(directory))
        outputs = _json_targets(names, json_path, json_dir)
        requests = [stack_request(name, directory) for name in names]
        plans = plan_requests(requests, jobs=jobs or default_jobs())
        for plan_, target in zip(plans, outputs, strict=True):
            if target is not None:
                _write_plan(target, plan_.dumps())
    except ConfigError as error:
        _fail(str(error), EXIT_BAD_INPUT)
    except ProgramError as error:
        where = f"{error.stack}: " if error.stack else ""
        _fail(f"{where}the Pulumi program failed: {error}", EXIT_FAILED)

    console = Console(highlight=False)
    for plan_, target in zip(plans, outputs, strict=True):
        if quiet:
            console.print(f"{len(plan_.managed())} resources planned for stack {plan_.stack}")
        else:
            print_plan(plan_, console)
        if target is not None:
            console.print(f"Wrote {target}")
    if len(plans) > 1:
        total = sum(len(plan_.managed()) for plan_ in plans)
        console.print(f"{len(plans)} stacks planned, {total} resources in all")


def _chosen_stacks(stacks: tuple[str, ...], all_stacks: bool, directory: Path,
                   known: list[str]) -> list[str]:
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
        if not json_dir.is_dir():
            raise ConfigError(f"--json-dir {json_dir}: directory does not exist")
        return [json_dir / f"{name}.json" for name in names]
    return [None] * len(names)


def _write_plan(target: Path, text: str) -> None:
    try:
        write_atomically(target, text)
    except OSError as error:
        raise ConfigError(f"{target}: cannot write: {error.strerror or error}") from error


@main.command()
@click.argument("stack")
@click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory holding Pulumi.<stack>.yaml (default: the repo's stacks/).")
def validate(stack: str, stack_dir: Path | None) -> None:
    """Validate STACK's config only (fast; no program run)."""
    from mlplat.config import load_stack_file
    from mlplat.stackfile import STACK_DIR, stack_file

    try:
        config = load_stack_file(stack_file(stack, stack_dir or STACK_DIR))
    except ConfigError as error:
        _fail(str(error), EXIT_BAD_INPUT)
    Console(highlight=False).print(
        f"{stack}: valid ({config.name}, {len(config.gpu_pools)} GPU pools)")


if __name__ == "__main__":
    main()
