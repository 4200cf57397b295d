"""`mlplat review`: one report for a pull request (plan diff, findings, cost, time)."""

from __future__ import annotations

from pathlib import Path

import click

from mlplat.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, check_output, deliver, fail
from mlplat.core.config_error import ConfigError

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
    from mlplat.audit.waivers import WaiverError, stack_waivers
    from mlplat.plan import ProgramError
    from mlplat.plan.revisions import RevisionError, repository_root, resolve_revision
    from mlplat.review import RENDERERS, review_stack
    from mlplat.stackfile import STACK_DIR, available_stacks, stack_file

    directory = stack_dir or STACK_DIR
    try:
        known = available_stacks(directory)
        for stack in stacks:
            stack_file(stack, directory)
            if stack not in known:
                raise ConfigError(f"unknown stack {stack!r} (known stacks: "
                                  f"{', '.join(known) or 'none'})")
        check_output(output)
        resolve_revision(repository_root(directory), base_ref)
        waivers = stack_waivers(directory)
        reviews = [review_stack(stack, base_ref, directory, waivers)
                   for stack in (stacks or tuple(known))]
        deliver(RENDERERS[fmt](reviews, base_ref), output, f"{len(reviews)} stacks reviewed")
    except (ConfigError, RevisionError, WaiverError) as error:
        fail(str(error), EXIT_BAD_INPUT)
    except ProgramError as error:
        where = f"{error.stack}: " if error.stack else ""
        fail(f"{where}the Pulumi program failed: {error}", EXIT_FAILED)
    except OSError as error:
        fail(f"{output}: cannot write: {error.strerror or error}", EXIT_BAD_INPUT)
