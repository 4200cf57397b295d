"""`mlplat cloud-init`: render and check cloud-init user data.

    mlplat cloud-init render gpu-node \\
        --inputs cloud-init/examples/gpu-node--ansible-pull.yaml [--out user-data] [--validate]
    mlplat cloud-init validate user-data
    mlplat cloud-init inputs-table

Exit codes: 0 ok, 1 the user data failed validation, 2 bad inputs or usage. Errors name
the file and the field; the output file is written whole or not at all.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from mlplat.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, fail
from mlplat.cloudinit.models import TEMPLATE_MODELS


@click.group("cloud-init")
def cloud_init() -> None:
    """Render and check cloud-init user data (templates in cloud-init/templates/)."""


@cloud_init.command()
@click.argument("template", type=click.Choice(sorted(TEMPLATE_MODELS)), metavar="TEMPLATE")
@click.option("--inputs", "inputs_path", required=True, metavar="FILE.yaml",
              type=click.Path(dir_okay=False, path_type=Path), help="Inputs (a YAML mapping).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write here (atomically) instead of stdout.")
@click.option("--validate", "check", is_flag=True,
              help="Also check the result (cloud-init schema + top-level keys).")
def render(template: str, inputs_path: Path, out: Path | None, check: bool) -> None:
    """Render TEMPLATE from an inputs YAML file."""
    from pydantic import ValidationError

    from mlplat.cloudinit.render import TemplateNotFound
    from mlplat.cloudinit.render import render as render_template
    from mlplat.core.errors import format_validation_errors
    from mlplat.core.files import write_atomically

    data = _load_inputs(inputs_path)
    try:
        text = render_template(template, data)
    except ValidationError as exc:
        fail(format_validation_errors(str(inputs_path), exc, TEMPLATE_MODELS[template]),
             EXIT_BAD_INPUT)
    except TemplateNotFound as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    if check:
        _check(text, f"rendered {template} from {inputs_path}")
    if out is None:
        sys.stdout.write(text)
        return
    try:
        write_atomically(out, text, mode=0o644)
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror or exc}", EXIT_BAD_INPUT)


@cloud_init.command()
@click.argument("user_data", metavar="FILE", type=click.Path(path_type=Path))
def validate(user_data: Path) -> None:
    """Check a rendered user-data FILE."""
    try:
        text = user_data.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{user_data}: cannot read: {getattr(exc, 'strerror', None) or exc}",
             EXIT_BAD_INPUT)
    _check(text, str(user_data))
    click.echo(f"{user_data}: valid cloud-config")


@cloud_init.command("inputs-table")
def inputs_table() -> None:
    """Print the inputs tables generated into cloud-init/README.md."""
    from mlplat.docgen.cloudinit import inputs_table as table

    sys.stdout.write(table())


def _load_inputs(path: Path) -> dict[str, Any]:
    from mlplat.core.yamlfile import YamlError, read_yaml_file

    try:
        data = read_yaml_file(path, str(path)).data
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read inputs: {getattr(exc, 'strerror', None) or exc}",
             EXIT_BAD_INPUT)
    except YamlError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    if data is None:
        return {}
    if not isinstance(data, dict):
        fail(f"{path}: the inputs must be a YAML mapping, got {type(data).__name__}",
             EXIT_BAD_INPUT)
    return data


def _check(text: str, label: str) -> None:
    from mlplat.cloudinit.validate import SchemaToolMissing, validate_user_data

    try:
        problems = validate_user_data(text)
    except SchemaToolMissing as exc:
        fail(f"{label}: {exc}", EXIT_BAD_INPUT)
    if problems:
        fail([f"{label}: {problem}" for problem in problems], EXIT_FAILED)
