"""Organisation guardrails: `stacks/org.yaml`, what every team environment must stay within.

One file the platform team owns (CODEOWNERS), read by every command that creates, plans or
costs a stack, so a guardrail cannot be skipped by writing a stack file by hand:

    allowedRegions: [eu-west-1, eu-central-1]
    requiredTags: [cost-center, owner]
    maxGpusPerTeam: 64
    maxGpusPerPool: 32
    environments:
      dev:
        monthlyBudgetUsd: 15000
        allowedGpuInstanceTypes: ["g5.*", "g6.*"]
        templates: [dedicated-team, shared-team]

A stack directory without org.yaml has no guardrails (and `mlplat cost` no budget).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, ValidationError

from mlplat import catalog
from mlplat.config.base import ConfigError, Env, _Model
from mlplat.core.errors import format_validation_errors

if TYPE_CHECKING:
    from mlplat.config.environment import EnvironmentConfig

ORG_FILE = "org.yaml"


class EnvironmentGuardrails(_Model):
    """What one environment tier (dev, staging, prod) may use."""

    monthly_budget_usd: float | None = Field(
        default=None, gt=0,
        description="Monthly budget in US dollars for one environment of this tier, compared "
        "with its full-scale estimate (`mlplat cost`: every pool at its limit). Absent: no "
        "budget.")
    allowed_gpu_instance_types: list[str] | None = Field(
        default=None,
        description="GPU instance types this tier may use, as shell patterns (`g5.*`). A GPU "
        "pool's instance types and families must all match. Absent: every catalogued type.")
    templates: list[str] | None = Field(
        default=None,
        description="Stack templates `mlplat new` may use for this tier. Absent: all.")

    def allows_gpu_type(self, instance_type: str) -> bool:
        patterns = self.allowed_gpu_instance_types
        return patterns is None or any(fnmatch.fnmatchcase(instance_type, p) for p in patterns)


class OrgGuardrails(_Model):
    """The organisation's guardrails for every team environment (stacks/org.yaml)."""

    allowed_regions: list[str] | None = Field(
        default=None, description="Regions environments may be created in. Absent: any "
        "region mlplat knows.")
    required_tags: list[str] = Field(
        default_factory=list,
        description="Tag keys every stack's `mlplat:tags` must set (besides cost-center, "
        "which mlplat always requires).")
    max_gpus_per_team: int | None = Field(
        default=None, ge=0, description="Most GPUs one team's pools may add up to, across "
        "all its pools of one environment.")
    max_gpus_per_pool: int | None = Field(
        default=None, ge=0, description="Most GPUs one pool may have (its gpuLimit).")
    environments: dict[Env, EnvironmentGuardrails] = Field(
        default_factory=dict, description="Per-tier limits: budget, GPU types, templates.")

    def for_env(self, env: Env | str) -> EnvironmentGuardrails:
        return self.environments.get(Env(env), EnvironmentGuardrails())


def load_org(stack_dir: Path) -> OrgGuardrails | None:
    """`<stack_dir>/org.yaml`, validated; None when the directory has none. ConfigError
    names the file and field."""
    from mlplat.core.yamlfile import YamlError, read_yaml_file
    from mlplat.stackfile import display_path

    path = stack_dir / ORG_FILE
    if not path.exists():
        return None
    shown = display_path(path)
    try:
        data = read_yaml_file(path, shown).data
    except YamlError as error:
        raise ConfigError(str(error)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{shown}: cannot read: {getattr(error, 'strerror', None) or error}"
                          ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: must be a mapping of guardrails (see docs/org.md)")
    try:
        return OrgGuardrails.model_validate(data)
    except ValidationError as error:
        raise ConfigError("\n".join(
            format_validation_errors(shown, error, OrgGuardrails))) from None


def guardrail_violations(environment: EnvironmentConfig, org: OrgGuardrails, source: str,
                         org_source: str) -> list[str]:
    """Every way `environment` (read from `source`) breaks the guardrails of `org_source`,
    one line each naming the stack file, the field and the guardrail."""
    problems: list[str] = []

    def broken(field: str, what: str, guardrail: str) -> None:
        problems.append(f"{source}: {field}: {what} (guardrail {guardrail} in {org_source})")

    # An on-prem environment has no region (mlplat:substrate onprem).
    if org.allowed_regions is not None and environment.region is not None \
            and environment.region not in org.allowed_regions:
        broken("aws:region", f"{environment.region} is not an allowed region",
               f"allowedRegions: {', '.join(org.allowed_regions)}")
    for tag in org.required_tags:
        if tag not in environment.tags:
            broken("mlplat:tags", f"the required tag {tag!r} is missing",
                   f"requiredTags: {', '.join(org.required_tags)}")
    tier = org.for_env(environment.env)
    # A platform's pools carry every tenant's capacity: the per-team GPU limits hold for
    # its tenants (their namespaces' GPU quota), not for the platform itself.
    team_limits = environment.platform is None
    team_gpus = 0
    for index, pool in enumerate(environment.gpu_pools):
        field = f"mlplat:gpuPools[{index}]"
        team_gpus += pool.gpu_limit
        if team_limits and org.max_gpus_per_pool is not None \
                and pool.gpu_limit > org.max_gpus_per_pool:
            broken(f"{field}.gpuLimit", f"{pool.gpu_limit} GPUs in pool {pool.name}",
                   f"maxGpusPerPool: {org.max_gpus_per_pool}")
        for position, instance_type in enumerate(pool.instance_types):
            if not tier.allows_gpu_type(instance_type):
                broken(f"{field}.instanceTypes[{position}]",
                       f"{instance_type} is not allowed in {environment.env.value}",
                       f"environments.{environment.env.value}.allowedGpuInstanceTypes")
        for position, family in enumerate(pool.instance_families):
            # A family is allowed when every catalogued size of it is.
            sizes = [t.name for t in catalog.types_in_family(family)]
            if not sizes or not all(tier.allows_gpu_type(name) for name in sizes):
                broken(f"{field}.instanceFamilies[{position}]",
                       f"family {family} is not allowed in {environment.env.value}",
                       f"environments.{environment.env.value}.allowedGpuInstanceTypes")
    field, what = "mlplat:gpuPools", "the team's pools"
    if not environment.gpu_pools and environment.tenancy is not None:
        # A tenant of a shared platform has no pools: its namespaces' GPU quota is its share.
        team_gpus = sum(namespace.quota.gpus for namespace in environment.tenancy.namespaces)
        field, what = "mlplat:tenancy.namespaces", "the team's namespace GPU quotas"
    if team_limits and org.max_gpus_per_team is not None \
            and team_gpus > org.max_gpus_per_team:
        broken(field, f"{team_gpus} GPUs across {what}",
               f"maxGpusPerTeam: {org.max_gpus_per_team}")
    return problems


def check_guardrails(environment: EnvironmentConfig, source: str, stack_dir: Path) -> None:
    """Raise ConfigError listing every guardrail of `stack_dir`/org.yaml that the
    environment breaks; nothing when there is no org.yaml."""
    from mlplat.stackfile import display_path

    org = load_org(stack_dir)
    if org is None:
        return
    problems = guardrail_violations(environment, org, source,
                                    display_path(stack_dir / ORG_FILE))
    if problems:
        raise ConfigError("\n".join(problems))
