"""The `mlplat` command line: one click group, one module per command.

Exit codes, for every command: 0 success; 1 the program or a check failed; 2 bad input
(unknown stack or template, unreadable or invalid file, bad arguments). Bad input prints
one `error:` line per problem, naming the file and the field, and never a traceback.
"""

from __future__ import annotations

import sys

import click

from mlplat.cli.audit import audit
from mlplat.cli.cloud_init import cloud_init
from mlplat.cli.cost import cost
from mlplat.cli.docs import docs
from mlplat.cli.new import new
from mlplat.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, report
from mlplat.cli.plan import plan
from mlplat.cli.review import review
from mlplat.cli.templates import templates
from mlplat.cli.validate import validate
from mlplat.cli.verify import verify

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlplat")
def cli() -> None:
    """mlplat: ML platform environments as code, planned and audited offline."""


for _command in (plan, audit, cost, new, templates, review, validate, cloud_init, docs):
    cli.add_command(_command)
cli.add_command(verify)

# -- mlplat diff (mlplat.cli.diff): plan diff between git revisions
from mlplat.cli.diff import diff  # noqa: E402

cli.add_command(diff)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; a usage mistake is one line and exit 2, like any bad input."""
    try:
        code = cli.main(args=argv, prog_name="mlplat", standalone_mode=False)
    except click.UsageError as error:
        hint = f" (see `{error.ctx.command_path} --help`)" if error.ctx else ""
        report([error.format_message() + hint])
        sys.exit(EXIT_BAD_INPUT)
    except click.ClickException as error:
        report([error.format_message()])
        sys.exit(error.exit_code)
    except click.Abort:
        report(["aborted"])
        sys.exit(EXIT_FAILED)
    sys.exit(code if isinstance(code, int) else 0)
