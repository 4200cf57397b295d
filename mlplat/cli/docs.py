"""`mlplat docs`: write every generated document, or check that none is stale."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mlplat.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, report
from mlplat.core.paths import REPO_ROOT


@click.command()
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 when any generated document is stale.")
@click.option("--roles-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None, help="Another Ansible roles directory (default: ansible/roles).")
def docs(check: bool, roles_dir: Path | None) -> None:
    """Generate docs/configuration.md, the cloud-init inputs tables and every Ansible
    role's variable table from their sources of truth."""
    from mlplat.docgen import generate

    outcome = generate(check=check, roles_dir=roles_dir)
    for path in outcome.stale:
        click.echo(f"{'stale' if check else 'updated'}: {_shown(path)}")
    report(outcome.errors)
    if check and outcome.stale:
        report(["generated documents are stale: run `mlplat docs` (or `make snapshots`)"])
    if outcome.errors:
        sys.exit(EXIT_BAD_INPUT)
    if check and outcome.stale:
        sys.exit(EXIT_FAILED)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
