"""`mlplat cost`: what an environment costs a month, idle and at full scale, before it exists."""

from __future__ import annotations

from pathlib import Path

import click

from mlplat.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, check_output, deliver, fail
from mlplat.cli.plans import plans_from
from mlplat.core.config_error import ConfigError

FORMATS = ("table", "json", "markdown")


@click.command()
@click.argument("stacks", nargs=-1, metavar="[STACK]...")
@click.option("--all", "all_stacks", is_flag=True,
              help="Cost every Pulumi.<stack>.yaml in the stack directory.")
@click.option("--plan", "plan_files", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Cost a plan JSON file written by `mlplat plan --json` (repeatable).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True, help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of standard output.")
@click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory holding Pulumi.<stack>.yaml and org.yaml (default: stacks/).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, show_default=True,
              help="Worker processes for planning several stacks; 0 means one per CPU.")
@click.option("--no-cache", is_flag=True,
              help="Plan every stack afresh instead of reusing cached plans of unchanged "
                   "inputs (as `mlplat plan --no-cache`).")
def cost(stacks: tuple[str, ...], all_stacks: bool, plan_files: tuple[Path, ...], fmt: str,
         output: Path | None, stack_dir: Path | None, jobs: int, no_cache: bool) -> None:
    """Estimate STACK's monthly cost: idle (GPU and CPU pools empty) and at full scale
    (every pool at its limit), per component and resource type, from the price table in
    mlplat/data/prices.yaml (docs/cost.md says how).

    Exit 0 within budget (or no budget), 1 when a stack's full-scale estimate exceeds its
    tier's monthlyBudgetUsd in org.yaml, 2 on bad input."""
    from mlplat.audit.engine import AuditInputError
    from mlplat.config.org import load_org
    from mlplat.cost.estimate import CostError, estimate
    from mlplat.cost.render import RENDERERS, Costed
    from mlplat.plan import ProgramError
    from mlplat.stackfile import STACK_DIR

    directory = stack_dir or STACK_DIR
    try:
        check_output(output)
        org = load_org(directory)
        plans = plans_from(stacks, all_stacks, plan_files, directory, jobs,
                           refresh=no_cache)
        results = [Costed.under(estimate(plan), org) for plan in plans]
        deliver(RENDERERS[fmt](results), output, f"{len(results)} stacks costed")
    except (ConfigError, AuditInputError, CostError) as error:
        fail(str(error), EXIT_BAD_INPUT)
    except ProgramError as error:
        where = f"{error.stack}: " if error.stack else ""
        fail(f"{where}the Pulumi program failed: {error}", EXIT_FAILED)
    except OSError as error:
        fail(f"{output}: cannot write: {error.strerror or error}", EXIT_BAD_INPUT)

    over = [c.estimate.stack for c in results if c.over_budget]
    if over:
        click.echo(f"error: over budget: {', '.join(over)}", err=True)
        raise SystemExit(EXIT_FAILED)
