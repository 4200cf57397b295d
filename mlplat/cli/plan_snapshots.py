"""`mlplat plan --check` and `mlplat plan --write-snapshots`: the committed plan snapshots
(`plans/<stack>.json`, see mlplat.plan.snapshots) against what the code plans now."""

from __future__ import annotations

from pathlib import Path

import click

from mlplat.cli.output import EXIT_FAILED
from mlplat.core.config_error import ConfigError


def snapshot_command(stacks: tuple[str, ...], directory: Path, jobs: int, *,
                     write: bool) -> None:
    """Plan STACKs (every stack when none is named), then compare each plan with its
    snapshot (exit 1 naming each stale one) or write the snapshots that differ.

    Raises ConfigError on bad input (unknown stack, invalid stack file) and ProgramError
    when the program fails; the caller reports both."""
    from mlplat.cli.plan import chosen_stacks, planned_stacks
    from mlplat.plan.snapshots import check_snapshots, snapshot_dir, write_snapshots
    from mlplat.stackfile import available_stacks, display_path

    known = available_stacks(directory)
    every_stack = not stacks
    names = chosen_stacks(stacks, every_stack, directory, known)
    plans = [planned.plan for planned in planned_stacks(names, directory, jobs=jobs)]
    target = snapshot_dir(directory)
    if write:
        try:
            written, removed = write_snapshots(plans, target, every_stack=every_stack)
        except OSError as error:
            raise ConfigError(f"{display_path(target)}: cannot write snapshots: "
                              f"{error.strerror or error}") from error
        for path in written:
            click.echo(f"Wrote {display_path(path)}")
        for path in removed:
            click.echo(f"Removed {display_path(path)} (no such stack)")
        click.echo(f"{len(plans)} snapshots current ({len(written)} written, "
                   f"{len(removed)} removed)")
        return
    stale = check_snapshots(plans, target, every_stack=every_stack)
    if stale:
        for item in stale:
            click.echo(f"stale: {item.stack}: {display_path(item.path)}: {item.reason}",
                       err=True)
        click.echo(f"{len(stale)} stale plan snapshot(s): run `mlplat plan --write-snapshots` "
                   "(or `make snapshots`) and commit the result", err=True)
        raise SystemExit(EXIT_FAILED)
    click.echo(f"{len(plans)} plan snapshots current in {display_path(target)}")
