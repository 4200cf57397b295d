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

from pydantic import Field, ValidationError

from mlplat.config.base import ConfigError, Env, _Model
from mlplat.core.errors import format_validation_errors

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
