"""`mlplat validate`: check stack files only (fast; the program is not run)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from mlplat.cli.output import EXIT_BAD_INPUT, fail
from mlplat.cli.plan import STACK_DIR_HELP, chosen_stacks
from mlplat.core.config_error import ConfigError


@click.command()
@click.argument("stacks", nargs=-1, metavar="[STACK]...")
@click.option("--all", "all_stacks", is_flag=True,
              help="Validate every Pulumi.<stack>.yaml in the stack directory.")
@click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=STACK_DIR_HELP)
def validate(stacks: tuple[str, ...], all_stacks: bool, stack_dir: Path | None) -> None:
    """Validate STACK's config only (fast; no program run). Every problem of every file
    is reported, one line each."""
    from mlplat.plan import validate_stack
    from mlplat.stackfile import STACK_DIR, available_stacks

    directory = stack_dir or STACK_DIR
    problems, valid = [], []
    try:
        names = chosen_stacks(stacks, all_stacks, directory, available_stacks(directory))
    except ConfigError as error:
        fail(str(error), EXIT_BAD_INPUT)
    for name in names:
        try:
            config = validate_stack(name, directory)
        except ConfigError as error:
            problems.append(str(error))
        else:
            valid.append(f"{name}: valid ({config.name}, {len(config.gpu_pools)} GPU pools)")
    if problems:
        fail("\n".join(problems), EXIT_BAD_INPUT)
    console = Console(highlight=False)
    for line in valid:
        console.print(line, markup=False)
