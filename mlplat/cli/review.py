"""`mlplat review`: one report for a pull request (plan diff, findings, cost, time)."""

from __future__ import annotations

from pathlib import Path

import click

from mlplat.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, fail
from mlplat.config import ConfigError

FORMATS = ("markdown", "text", "json")


@click.command()
@click.argument("stacks", nargs=-1, metavar="[STACK]...")
@click.option("--base", "base_ref", required=True, metavar="GITREF",
              help="Revision the PR is compared with (the target branch, e.g. origin/main).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="markdown",
              show_default=True, help="Report format (markdown: one PR comment).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of standard output.")
@click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory holding the stacks, inside a git repository (default: stacks/).")
def review(stacks: tuple[str, ...], base_ref: str, fmt: str, output: Path | None,
           stack_dir: Path | None) -> None:
    """Review STACK (default: every stack) against --base: what the plan adds, removes and
    changes, which audit findings are new, fixed or waived, the monthly cost and its change,
    and the time to stand up — one report a reviewer reads in a minute.

    Exit 0 when the report was written, 2 on bad input (unknown stack, bad revision, not a
    git repository), 1 when the program fails on a stack."""
    from mlplat.audit.waivers import WaiverError, load_waivers
    from mlplat.core.files import write_atomically
    from mlplat.plan import ProgramError
    from mlplat.plan.revisions import RevisionError, repository_root, resolve_revision
    from mlplat.review import RENDERERS, review_stack
    from mlplat.stackfile import STACK_DIR, available_stacks, display_path, stack_file

    directory = stack_dir or STACK_DIR
    try:
        known = available_stacks(directory)
        for stack in stacks:
            stack_file(stack, directory)
            if stack not in known:
                raise ConfigError(f"unknown stack {stack!r} (known stacks: "
                                  f"{', '.join(known) or 'none'})")
        if output is not None and not (output.parent or Path(".")).is_dir():
            raise ConfigError(f"{output}: directory {output.parent} does not exist")
        resolve_revision(repository_root(directory), base_ref)
        waivers_file = directory / "waivers.yaml"
        waivers = (load_waivers(waivers_file, display_path(waivers_file))
                   if waivers_file.exists() else [])
        reviews = [review_stack(stack, base_ref, directory, waivers)
                   for stack in (stacks or tuple(known))]
        text = RENDERERS[fmt](reviews, base_ref)
        if output is not None:
            write_atomically(output, text)
    except (ConfigError, RevisionError, WaiverError) as error:
        fail(str(error), EXIT_BAD_INPUT)
    except ProgramError as error:
        where = f"{error.stack}: " if error.stack else ""
        fail(f"{where}the Pulumi program failed: {error}", EXIT_FAILED)
    except OSError as error:
        fail(f"{output}: cannot write: {error.strerror or error}", EXIT_BAD_INPUT)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"Wrote {output}", err=True)
