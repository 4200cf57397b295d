"""`mlplat templates`: the stack templates teams can start from, with what they create and
their parameters (stacks/templates/, ADR 0009). `mlplat new` creates a stack from one."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlplat.cli.output import EXIT_BAD_INPUT, fail
from mlplat.core.config_error import ConfigError


@click.command()
@click.argument("name", required=False)
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Template directory (default: the repo's stacks/templates).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
def templates(name: str | None, directory: Path | None, fmt: str) -> None:
    """List the stack templates (or show template NAME): what each creates and its
    parameters, with their types and defaults."""
    from mlplat.templates import TEMPLATES_DIR, list_templates, load_template

    where = directory or TEMPLATES_DIR
    try:
        chosen = [load_template(name, where)] if name else list_templates(where)
    except ConfigError as error:
        fail(str(error), EXIT_BAD_INPUT)
    if fmt == "json":
        click.echo(json.dumps([{
            "name": t.name, "description": " ".join(t.description.split()),
            "creates": list(t.creates),
            "parameters": {p.name: {"description": p.description, "type": p.type,
                                    "required": p.required, "default": p.default}
                           for p in t.parameters.values()}} for t in chosen], indent=2))
        return
    for template in chosen:
        click.echo(f"{template.name}: {' '.join(template.description.split())}")
        click.echo(f"  creates: {'; '.join(template.creates)}")
        for parameter in template.parameters.values():
            given = ("required" if parameter.required
                     else f"default {parameter.default!r}")
            click.echo(f"  {parameter.name} ({parameter.type}, {given}): "
                       f"{parameter.description}")
        click.echo("")
