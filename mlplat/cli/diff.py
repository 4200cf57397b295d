"""`mlplat diff`: what a change does to a stack's plan, between two git revisions."""

from __future__ import annotations

from pathlib import Path

import click

from mlplat.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, check_output, deliver, fail
from mlplat.core.config_error import ConfigError

FORMATS = ("text", "markdown", "json")


@click.command()
@click.argument("stack")
@click.option("--base", "base_ref", required=True, metavar="GITREF",
              help="Revision to compare from (a branch, tag or commit).")
@click.option("--head", "head_ref", default=None, metavar="GITREF",
              help="Revision to compare to (default: the working tree).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True, help="Output format (markdown for a PR comment).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the diff to this file instead of standard output.")
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when there are changes, like `git diff --exit-code`.")
@click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory holding Pulumi.<stack>.yaml, inside a git repository "
                   "(default: the repo's stacks/); snapshots are read from plans/ beside it.")
def diff(stack: str, base_ref: str, head_ref: str | None, fmt: str, output: Path | None,
         exit_code: bool, stack_dir: Path | None) -> None:
    """Show the resources STACK adds, removes and changes from --base to --head.

    Each side is the committed snapshot plans/STACK.json at that revision; a revision
    without one has its stack file planned with the working tree's program (the output
    says so). Changed fields are listed with old -> new values, secrets masked, and marked
    ⚠ with the security rules that read them. Exit 0 (with --exit-code: 1 when something
    changed), 2 on bad input: unknown stack, bad revision, not a git repository."""
    from mlplat.plan import ProgramError
    from mlplat.plan.diff import RENDERERS, diff_plans
    from mlplat.plan.revisions import (
        RevisionError,
        plan_side,
        repository_root,
        resolve_revision,
    )
    from mlplat.stackfile import STACK_DIR, stack_file

    directory = stack_dir or STACK_DIR
    try:
        stack_file(stack, directory)  # a plain stack name, before git is asked anything
        check_output(output)
        root = repository_root(directory)  # git problems first: they cost no planning
        for ref in (base_ref, head_ref):
            if ref is not None:
                resolve_revision(root, ref)
        head = plan_side(stack, head_ref, directory)
        base = plan_side(stack, base_ref, directory)
        if not (base.exists or head.exists):
            raise ConfigError(f"unknown stack {stack!r}: no stack file at {base_ref} or "
                              f"{head_ref}")
        difference = diff_plans(base.plan, head.plan, base_label=base.label,
                                head_label=head.label,
                                notes=[side.note for side in (base, head) if side.note])
        deliver(RENDERERS[fmt](difference), output, difference.summary())
    except (ConfigError, RevisionError) as error:
        fail(str(error), EXIT_BAD_INPUT)
    except ProgramError as error:
        fail(f"{stack}: the Pulumi program failed: {error}", EXIT_FAILED)
    except OSError as error:
        fail(f"{output}: cannot write: {error.strerror or error}", EXIT_BAD_INPUT)
    if exit_code and not difference.empty:
        raise SystemExit(EXIT_FAILED)
