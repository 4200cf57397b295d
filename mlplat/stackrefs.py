"""References between stacks of this repository: a shared-mode team stack and its platform.

A team stack with `cluster.mode: shared` names its platform in `cluster.platformStack`
(`platform`, or `org/project/stack` of this project). Two things come from the platform:

* its validated stack config (`load_platform`): the facts that shape the team's resource
  definitions and must be plain values when the program runs (cluster name, Kubernetes
  version, VPC CIDR, setup namespace, region). Read from `stacks/Pulumi.<stack>.yaml`,
  offline and inside `pulumi up` alike: the platform's stack file is in the same repository.
* its deploy-time outputs (kubeconfig, cluster ARN, database endpoint and secret ARN),
  through a Pulumi `StackReference`; offline, the plan engine answers it from the
  platform's own offline plan exports (ADR 0008).

Every error is a ConfigError naming the team's stack file and `mlplat:cluster.platformStack`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from mlplat.config import ConfigError, EnvironmentConfig, load_stack_file, referenced_stack
from mlplat.core.paths import STACKS_DIR

#: The Pulumi project every stack of this repository belongs to (Pulumi.yaml `name`).
PROJECT: Final = "mlplat"
FIELD: Final = "mlplat:cluster.platformStack"

#: Where referenced stack files are read from. The offline engine sets it for the run of
#: a request planned from another directory (`mlplat plan --stack-dir`).
STACK_DIR: contextvars.ContextVar[Path] = contextvars.ContextVar("mlplat_stack_dir",
                                                                 default=STACKS_DIR)


def platform_stack(config: EnvironmentConfig, source: str) -> str | None:
    """The stack name a shared-mode environment lands on (None for any other stack)."""
    reference = config.cluster.platform_stack
    if not config.shared or reference is None:
        return None
    project, stack = referenced_stack(reference)
    if project is not None and project != PROJECT:
        raise ConfigError(
            f"{source}: {FIELD}: {reference!r} is in project {project!r}; a platform stack "
            f"must be a stack of this project ({PROJECT!r}), whose stack file is here")
    return stack


def load_platform(config: EnvironmentConfig, source: str,
                  stack_dir: Path | None = None) -> EnvironmentConfig:
    """The validated config of the platform `config` lands on, checked against `config`."""
    stack = platform_stack(config, source)
    if stack is None:
        raise ConfigError(f"{source}: {FIELD}: not a shared-mode stack")
    directory = stack_dir or STACK_DIR.get()
    path = directory / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name[len("Pulumi."):-len(".yaml")]
                       for p in directory.glob("Pulumi.*.yaml"))
        raise ConfigError(f"{source}: {FIELD}: no stack {stack!r} ({_shown(path)} does not "
                          f"exist; known stacks: {', '.join(known) or 'none'})")
    platform = load_stack_file(path)
    if platform.platform is None:
        raise ConfigError(f"{source}: {FIELD}: stack {stack!r} is not a platform "
                          f"({_shown(path)} has no mlplat:platform)")
    problems = []
    if platform.region != config.region:
        problems.append(f"aws:region: {config.region} but platform stack {stack!r} is in "
                        f"{platform.region}; a team lands on a platform of its own region")
    setup = platform.platform.setup_namespace
    if config.mlflow is not None and config.mlflow.platform_namespace != setup:
        problems.append(f"mlplat:mlflow.platformNamespace: {config.mlflow.platform_namespace}"
                        f" but platform stack {stack!r} runs setup Jobs in {setup} "
                        "(mlplat:platform.setupNamespace); use that or leave it out")
    if config.tenancy is not None:
        own = {ns.name_in(config.name) for ns in config.tenancy.namespaces}
        if setup in own:
            problems.append(f"mlplat:tenancy.namespaces: {setup} is the platform's setup "
                            "namespace, which holds the database master secret's reader")
    if problems:
        raise ConfigError("\n".join(f"{source}: {problem}" for problem in problems))
    return platform


def _shown(path: Path) -> str:
    from mlplat.stackfile import display_path

    return display_path(path)


def secret_output_names(outputs: Mapping[str, object], marker: str) -> list[str]:
    """Names of a plan's exports that were secret (their value is the plan's marker)."""
    return sorted(name for name, value in outputs.items() if value == marker)
