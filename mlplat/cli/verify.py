"""`mlplat verify`: check a deployed stack against the rule set with read-only AWS calls."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from mlplat.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, fail
from mlplat.core.config_error import ConfigError

if TYPE_CHECKING:
    from mlplat.plan.model import Plan

FORMATS = ("table", "json")


@click.command()
@click.argument("stack")
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Compare with this plan JSON (`mlplat plan --json`) instead of planning "
                   "STACK.")
@click.option("--region", help="AWS region (default: the stack's `aws:region`).")
@click.option("--endpoint-url", help="Send every AWS call here (a test double such as moto); "
                                     "AWS_ENDPOINT_URL works too.")
@click.option("--profile", help="AWS profile of the standard credential chain.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True, help="Report format.")
@click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory holding Pulumi.<stack>.yaml (default: the repo's stacks/).")
def verify(stack: str, plan_file: Path | None, region: str | None, endpoint_url: str | None,
           profile: str | None, fmt: str, stack_dir: Path | None) -> None:
    """Verify the deployed STACK: its S3 buckets, RDS instance, EKS cluster, KMS keys and
    IAM roles read back with read-only calls and checked with the live rules of
    docs/security.md. Drift: a rule failing live that passes in the plan, or a planned
    resource that is not there.

    Exit 0 no drift, 1 drift, 2 bad input (unknown stack, bad endpoint, no credentials,
    missing permission). See docs/verify.md for the IAM policy it needs."""
    from mlplat.verify.aws import AwsReader, VerifyInputError
    from mlplat.verify.engine import verify as run_verify
    from mlplat.verify.formats import RENDERERS

    try:
        import boto3
    except ImportError:
        fail("mlplat verify needs boto3: pip install 'mlplat[verify]'", EXIT_BAD_INPUT)
    try:
        if endpoint_url is not None:
            _check_endpoint(endpoint_url)
        plan = _plan(stack, plan_file, stack_dir)
        chosen = region or _stack_region(plan)
        session = boto3.Session(profile_name=profile, region_name=chosen)
        chosen = chosen or session.region_name
        if not chosen:
            raise ConfigError("no region: pass --region or set aws:region in the stack file")
        report = run_verify(plan, AwsReader(session, chosen, endpoint_url), chosen)
    except (ConfigError, VerifyInputError) as error:
        fail(str(error), EXIT_BAD_INPUT)
    except Exception as error:  # botocore's ProfileNotFound and kin: still one line
        if type(error).__module__.startswith("botocore"):
            fail(f"AWS configuration: {error}", EXIT_BAD_INPUT)
        raise
    click.echo(RENDERERS[fmt](report), nl=False)
    if report.drifted:
        raise SystemExit(EXIT_FAILED)


def _check_endpoint(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--endpoint-url {url!r}: not an http(s) URL with a host")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ConfigError(f"--endpoint-url {url!r}: the port is not a number") from None


def _plan(stack: str, plan_file: Path | None, stack_dir: Path | None) -> Plan:
    """The plan to compare with: the given file, or STACK planned offline (cached)."""
    from mlplat.audit.engine import AuditInputError, load_plan_file

    if plan_file is not None:
        try:
            plan = load_plan_file(plan_file)
        except AuditInputError as error:
            raise ConfigError(str(error)) from None
        if plan.stack != stack:
            raise ConfigError(f"{plan_file}: a plan of stack {plan.stack!r}, not {stack!r}")
        return plan
    from mlplat.cli.plan import _validated_requests
    from mlplat.plan import ProgramError, default_jobs
    from mlplat.plan.cache import PlanCache, plan_with_cache
    from mlplat.stackfile import STACK_DIR

    requests = _validated_requests([stack], stack_dir or STACK_DIR)
    try:
        return plan_with_cache(requests, default_jobs(), PlanCache(), refresh=False)[0].plan
    except ProgramError as error:
        fail(f"{stack}: the Pulumi program failed: {error}", EXIT_FAILED)


def _stack_region(plan: Plan) -> str | None:
    """The region of the stack's AWS provider, as planned."""
    for record in plan.resources:
        region = record.inputs.get("region") if record.type == "pulumi:providers:aws" else None
        if isinstance(region, str):
            return region
    return None
