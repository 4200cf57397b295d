"""The `mlplat` command line: one click group, one module per command.

Exit codes, for every command: 0 success; 1 the program or a check failed; 2 bad input
(unknown stack or template, unreadable or invalid file, bad arguments). Bad input prints
one `error:` line per problem, naming the file and the field, and never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from mlplat.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, report

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "cli", "main"]

#: Every command: its name and where it is defined. A command's module is imported only when
#: that command runs (or `--help` lists them all): `mlplat plan` does not pay for the
#: cloud-init models or the audit engine, and a fully cached plan never imports the config
#: models (ADR 0030).
COMMANDS: dict[str, str] = {
    "plan": "mlplat.cli.plan:plan",
    "audit": "mlplat.cli.audit:audit",
    "cost": "mlplat.cli.cost:cost",
    "new": "mlplat.cli.new:new",
    "templates": "mlplat.cli.templates:templates",
    "review": "mlplat.cli.review:review",
    "validate": "mlplat.cli.validate:validate",
    "cloud-init": "mlplat.cli.cloud_init:cloud_init",
    "docs": "mlplat.cli.docs:docs",
    "verify": "mlplat.cli.verify:verify",
    "diff": "mlplat.cli.diff:diff",  # plan diff between git revisions
}


class _LazyGroup(click.Group):
    """A group whose commands are imported by name, on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), target
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlplat")
def cli() -> None:
    """mlplat: ML platform environments as code, planned and audited offline."""


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
