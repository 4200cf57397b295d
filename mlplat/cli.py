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
@click.argument("stack")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the normalised plan as JSON to this file.")
@click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory holding Pulumi.<stack>.yaml (default: the repo's stacks/).")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary line.")
def plan(stack: str, json_path: Path | None, stack_dir: Path | None, quiet: bool) -> None:
    """Plan STACK offline: every resource `pulumi up` would create, with no credentials."""
    from mlplat.plan import ProgramError, plan_stack
    from mlplat.render import print_plan
    from mlplat.stackfile import STACK_DIR, available_stacks, display_path, stack_file

    directory = stack_dir or STACK_DIR
    try:
        if json_path is not None and not (json_path.parent or Path(".")).is_dir():
            raise ConfigError(f"{json_path}: directory {json_path.parent} does not exist")
        path = stack_file(stack, directory)
        if not path.exists():
            known = ", ".join(available_stacks(directory)) or "none"
            raise ConfigError(f"{display_path(path)}: no such stack file (unknown stack {stack!r}; "
                              f"known stacks: {known})")
        result = plan_stack(stack, directory)
        if json_path is not None:
            write_atomically(json_path, result.dumps())
    except ConfigError as error:
        _fail(str(error), EXIT_BAD_INPUT)
    except ProgramError as error:
        _fail(f"{stack}: the Pulumi program failed: {error}", EXIT_FAILED)
    except OSError as error:
        _fail(f"{json_path}: cannot write: {error.strerror or error}", EXIT_BAD_INPUT)

    console = Console(highlight=False)
    if quiet:
        console.print(f"{len(result.managed())} resources planned for stack {stack}")
    else:
        print_plan(result, console)
    if json_path is not None:
        console.print(f"Wrote {json_path}")


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
