"""How every command reports problems: exit codes and literal `error:` lines on stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import NoReturn

import click

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
