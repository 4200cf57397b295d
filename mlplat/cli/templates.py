"""`mlplat templates`: the stack templates teams can start from, with what they create and
their parameters (stacks/templates/, ADR 0009)."""

from __future__ import annotations

from pathlib import Path

import click

from mlplat.cli.output import EXIT_BAD_INPUT, fail
from mlplat.config import ConfigError


@click.command()
@click.argument("name", required=False)
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Template directory (default: the repo's stacks/templates).")
def templates(name: str | None, directory: Path | None) -> None:
    """List the stack templates, or show template NAME with its parameters."""
    from mlplat.templates import TEMPLATES_DIR, list_templates, load_template

    where = directory or TEMPLATES_DIR
    try:
        chosen = [load_template(name, where)] if name else list_templates(where)
    except ConfigError as error:
        fail(str(error), EXIT_BAD_INPUT)
    for template in chosen:
        click.echo(f"{template.name}: {template.description}")
        click.echo(f"  creates: {'; '.join(template.creates)}")
        if name is None:
            continue
        for parameter in template.parameters.values():
            given = ("required" if parameter.required
                     else f"default {parameter.default!r}")
            click.echo(f"  {parameter.name} ({parameter.type}, {given}): "
                       f"{parameter.description}")
