"""`mlplat new`: a team creates its environment from a template (`mlplat templates` lists
them), within the organisation's guardrails, without waiting on the platform team."""

from __future__ import annotations

import datetime
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml

from mlplat.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, fail
from mlplat.core.config_error import ConfigError

if TYPE_CHECKING:
    from mlplat.config.org import OrgGuardrails
    from mlplat.templates import Template


def _assignments(pairs: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise ConfigError(f"--set {pair}: expected PARAMETER=VALUE")
        if key in values:
            raise ConfigError(f"--set {key}: given twice")
        values[key] = value
    return values


def _ask_missing(template: Template, values: dict[str, str], interactive: bool) -> None:
    """Prompt for each required parameter not given (in a terminal); otherwise list them."""
    missing = [name for name, parameter in template.parameters.items()
               if parameter.required and name not in values]
    if not missing:
        return
    if not interactive:
        raise ConfigError("; ".join(
            f"{template.source}: parameters.{name}: required, not given (--set {name}=...: "
            f"{template.parameters[name].description})" for name in missing))
    for name in missing:
        parameter = template.parameters[name]
        values[name] = click.prompt(f"{name} ({parameter.description})", type=str)


def stack_file_text(template: Template, values: Mapping[str, str],
                    config: Mapping[str, Any]) -> str:
    """The new stack file: a header saying where it came from, then its `config:`."""
    given = ", ".join(f"{name}={value}" for name, value in sorted(values.items()))
    header = [
        f"# Created by `mlplat new` from template {template.name} on "
        f"{datetime.date.today().isoformat()}",
        f"# ({template.source}); parameters: {given}.",
        "# Edit it like any stack file: every key is documented in docs/configuration.md;",
        "# `mlplat validate`, `plan`, `audit` and `cost` check it against stacks/org.yaml.",
    ]
    body = yaml.safe_dump({"config": dict(config)}, sort_keys=False, default_flow_style=False,
                          width=100)
    return "\n".join(header) + "\n" + body


def _next_steps(path: str, stack: str) -> str:
    return "\n".join([
        f"Created {path}. Next:",
        f"  1. look it over: mlplat plan {stack} && mlplat audit {stack} && mlplat cost {stack}",
        f"  2. commit it on a branch and open a pull request (git add {path})",
        "  3. CI plans, audits and costs it and posts one report (mlplat review); after the",
        f"     merge the platform pipeline runs `pulumi up` for stack {stack}",
    ])


@click.command()
@click.option("--team", required=True, help="Team name (a DNS label).")
@click.option("--env", "env", required=True, type=click.Choice(["dev", "staging", "prod"]),
              help="Environment tier.")
@click.option("--template", "template_name", required=True,
              help="Template name (see `mlplat templates`).")
@click.option("--set", "assignments", multiple=True, metavar="PARAMETER=VALUE",
              help="A template parameter (repeatable).")
@click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory holding the stacks, org.yaml and templates/ (default: stacks/).")
@click.option("--dry-run", is_flag=True, help="Check everything and print the stack file "
              "instead of writing it.")
def new(team: str, env: str, template_name: str, assignments: tuple[str, ...],
        stack_dir: Path | None, dry_run: bool) -> None:
    """Create stacks/Pulumi.<TEAM>-<ENV>.yaml from a template.

    The new stack is validated against the config schema and every guardrail of
    stacks/org.yaml (regions, GPU types and counts, tags, which templates a tier may use,
    the monthly budget at full scale), and planned offline, before anything is written. An
    existing stack file is never overwritten. Exit 0 written, 2 on any problem (nothing is
    written)."""
    from mlplat.config import environment_from_stack_config
    from mlplat.config.org import check_guardrails, load_org
    from mlplat.plan import ProgramError
    from mlplat.stackfile import STACK_DIR, display_path, stack_file
    from mlplat.templates import TemplateError, load_template

    directory = stack_dir or STACK_DIR
    stack = f"{team}-{env}"
    target = stack_file(stack, directory)
    shown = display_path(target)
    try:
        if target.exists():
            raise ConfigError(f"{shown}: already exists; `mlplat new` never overwrites a "
                              "stack (edit it, or choose another --team or --env)")
        template = load_template(template_name, directory / "templates")
        org = load_org(directory)
        allowed = org.for_env(env).templates if org is not None else None
        if allowed is not None and template.name not in allowed:
            raise ConfigError(f"template {template.name} is not allowed for {env} (guardrail "
                              f"environments.{env}.templates: {', '.join(allowed)} in "
                              f"{display_path(directory / 'org.yaml')})")
        values = _assignments(assignments)
        for fixed, value in (("team", team), ("env", env)):
            if fixed in values and values[fixed] != value:
                raise ConfigError(f"--set {fixed}={values[fixed]}: contradicts --{fixed} "
                                  f"{value}")
            if fixed in template.parameters:
                values[fixed] = value
        _ask_missing(template, values, interactive=sys.stdin.isatty())
        config = template.render(values)
        environment = environment_from_stack_config(config, shown)
        check_guardrails(environment, shown, directory)
        text = stack_file_text(template, values, config)
        _plan_and_cost(stack, text, directory, env, org)
        if dry_run:
            click.echo(text, nl=False)
            return
        _create(target, text)
    except (ConfigError, TemplateError) as error:
        fail(str(error), EXIT_BAD_INPUT)
    except ProgramError as error:
        fail(f"{shown}: the Pulumi program failed on the new stack: {error}", EXIT_FAILED)
    click.echo(_next_steps(shown, stack))


def _plan_and_cost(stack: str, text: str, directory: Path, env: str,
                   org: OrgGuardrails | None) -> None:
    """Plan the new stack beside the existing ones (a shared-mode tenant resolves its
    platform) in a scratch directory, then hold its full-scale cost against the budget."""
    import shutil
    import tempfile

    from mlplat.cost.estimate import CostError, estimate
    from mlplat.cost.render import Costed
    from mlplat.plan import plan_requests
    from mlplat.plan.api import stack_request

    with tempfile.TemporaryDirectory(prefix="mlplat-new-") as scratch:
        sandbox = Path(scratch)
        for existing in directory.glob("*.yaml"):
            shutil.copy(existing, sandbox / existing.name)
        (sandbox / f"Pulumi.{stack}.yaml").write_text(text, encoding="utf-8")
        try:
            [plan] = plan_requests([stack_request(stack, sandbox)])
        except ConfigError as error:
            raise ConfigError(str(error).replace(str(sandbox), str(directory))) from None
    try:
        estimated = estimate(plan)
    except CostError as error:
        raise ConfigError(str(error)) from None
    costed = Costed.under(estimated, org)
    if costed.over_budget:
        raise ConfigError(f"{stack}: ${estimated.full:,.2f} a month at full scale is over the "
                          f"{env} budget of ${costed.budget:,.2f} (guardrail environments.{env}."
                          "monthlyBudgetUsd in stacks/org.yaml); lower a pool's gpuLimit or "
                          "cpuLimit")
    click.echo(f"Planned {len(plan.managed())} resources; ${estimated.idle:,.2f} a month "
               f"idle, ${estimated.full:,.2f} at full scale.", err=True)


def _create(target: Path, text: str) -> None:
    """Write `target` atomically and only if it still does not exist (a concurrent `new`
    for the same stack loses instead of overwriting)."""
    import os
    import tempfile

    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        try:
            os.link(temporary, target)  # fails if target exists, unlike a rename
        except FileExistsError:
            raise ConfigError(f"{target}: already exists; `mlplat new` never overwrites a "
                              "stack") from None
    finally:
        os.unlink(temporary)

