"""`mlplat audit`: the security rule set over offline plans or committed plan JSON files."""

from __future__ import annotations

from pathlib import Path

import click

from mlplat.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, check_output, deliver, fail
from mlplat.cli.plans import plans_from
from mlplat.core.config_error import ConfigError

FORMATS = ("table", "json", "sarif", "markdown", "junit")
SEVERITIES = ("low", "medium", "high", "critical")


@click.command()
@click.argument("stacks", nargs=-1, metavar="[STACK]...")
@click.option("--all", "all_stacks", is_flag=True,
              help="Audit every Pulumi.<stack>.yaml in the stack directory.")
@click.option("--plan", "plan_files", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Audit a plan JSON file written by `mlplat plan --json` (repeatable); "
                   "the program is not run.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True, help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of standard output.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="high", show_default=True,
              help="Exit 1 on unwaived findings of this severity or above.")
@click.option("--waivers", "waivers_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Waivers file (default: stacks/waivers.yaml of the stack directory, "
                   "if present).")
@click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory holding Pulumi.<stack>.yaml (default: the repo's stacks/).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, show_default=True,
              help="Worker processes for planning several stacks; 0 means one per CPU.")
@click.option("--no-cache", is_flag=True,
              help="Plan every stack afresh instead of reusing cached plans of unchanged "
                   "inputs (as `mlplat plan --no-cache`).")
@click.option("--list-rules", is_flag=True, help="List the rules and exit.")
def audit(stacks: tuple[str, ...], all_stacks: bool, plan_files: tuple[Path, ...], fmt: str,
          output: Path | None, fail_on: str, waivers_path: Path | None,
          stack_dir: Path | None, jobs: int, no_cache: bool, list_rules: bool) -> None:
    """Audit STACK offline against mlplat's security rules (docs/security.md).

    Exit 0 when clean, 1 on unwaived findings at or above --fail-on, 2 on bad input.
    Nothing is written unless the whole audit ran."""
    from mlplat.audit.engine import AuditInputError, audit_plans
    from mlplat.audit.formats import RENDERERS
    from mlplat.audit.waivers import WaiverError, stack_waivers
    from mlplat.plan import ProgramError
    from mlplat.stackfile import STACK_DIR
    from policies import ALL_RULES, Severity

    if list_rules:
        for rule in ALL_RULES:
            click.echo(f"{rule.id}  {rule.severity.label:8}  {rule.title}")
        return
    directory = stack_dir or STACK_DIR
    try:
        check_output(output)
        waivers = stack_waivers(directory, waivers_path)
        plans = plans_from(stacks, all_stacks, plan_files, directory, jobs,
                           refresh=no_cache)
        report = audit_plans(plans, waivers=waivers, fail_on=Severity.parse(fail_on))
        deliver(RENDERERS[fmt](report), output,
                f"{len(report.active)} findings, {'FAILED' if report.failed else 'passed'}")
    except (ConfigError, AuditInputError, WaiverError) as error:
        fail(str(error), EXIT_BAD_INPUT)
    except ProgramError as error:
        where = f"{error.stack}: " if error.stack else ""
        fail(f"{where}the Pulumi program failed: {error}", EXIT_FAILED)
    except OSError as error:
        fail(f"{output}: cannot write: {error.strerror or error}", EXIT_BAD_INPUT)
    if report.failed:
        raise SystemExit(EXIT_FAILED)

