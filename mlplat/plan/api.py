"""Entry points: plan a stack file, or plan an in-memory environment config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlplat.config import EnvironmentConfig, load_stack_file
from mlplat.plan.engine import run_program
from mlplat.plan.model import Plan
from mlplat.stackfile import STACK_DIR, display_path, read_stack_config, secret_keys, stack_file


def plan_stack(stack: str, stack_dir: Path = STACK_DIR) -> Plan:
    """Validate `stacks/Pulumi.<stack>.yaml` and plan it. Raises ConfigError on bad config
    (message names the file and field) and ProgramError if the program fails."""
    path = stack_file(stack, stack_dir)
    load_stack_file(path)  # validate first: errors name the file, not the program
    config = read_stack_config(path)
    return run_program(stack=stack, config=config, secret_keys=secret_keys(path),
                       source=display_path(path))


def plan_environment(config: EnvironmentConfig, stack: str = "test") -> Plan:
    """Plan an environment built in memory (tests, benchmarks, templates)."""
    return run_program(stack=stack, config=stack_config_of(config), source="<memory>")


def stack_config_of(config: EnvironmentConfig) -> dict[str, Any]:
    """The namespaced stack config that parses back into `config`."""
    data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    region = data.pop("region")
    return {"aws:region": region, **{f"mlplat:{key}": value for key, value in data.items()}}
