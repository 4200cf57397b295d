"""How every command reports problems: exit codes and literal `error:` lines on stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

import click

from mlplat.core.config_error import ConfigError
from mlplat.core.files import write_atomically

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def report(lines: Iterable[str]) -> None:
    """Print each problem as one `error:` line. Text is printed as is: file contents and
    field names may contain `[...]`, which a markup-aware printer would swallow."""
    for line in lines:
        click.echo(f"error: {line}", err=True)


def fail(message: str | Iterable[str], code: int) -> NoReturn:
    """Report one problem per line of `message` and exit with `code`."""
    lines = message.splitlines() if isinstance(message, str) else list(message)
    report(lines or [str(message)])
    sys.exit(code)


# -- reports written to --output or printed (mlplat audit, mlplat diff)

def check_output(output: Path | None) -> None:
    """Refuse an --output file whose directory does not exist, before any work is done."""
    if output is not None and not (output.parent or Path(".")).is_dir():
        raise ConfigError(f"{output}: directory {output.parent} does not exist")


def deliver(text: str, output: Path | None, summary: str) -> None:
    """Print a report, or write it to `output` (atomically) and say so, with `summary`, on
    stderr. Raises OSError when the file cannot be written."""
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomically(output, text)
    click.echo(f"Wrote {output} ({summary})", err=True)
