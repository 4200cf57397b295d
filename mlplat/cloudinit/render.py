"""Render cloud-init user data from a template name and typed inputs.

Pulumi components call :func:`render` directly (for ``ec2.LaunchTemplate``
``user_data``); `mlplat cloud-init render` wraps the same function.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from mlplat.cloudinit.models import TEMPLATE_MODELS, GpuNodeInputs, OnpremHostInputs, SudoPolicy
from mlplat.core.paths import CLOUD_INIT_DIR

TEMPLATE_SUFFIX = ".yaml.j2"
CLOUD_CONFIG_HEADER = "#cloud-config"
# The group sshd's AllowGroups admits; the admin user is always a member.
SSH_LOGIN_GROUP = "mlplat-ssh"


class TemplateNotFound(LookupError):
    """The template name does not match a file in the templates directory."""


def templates_dir() -> Path:
    """Where the ``*.yaml.j2`` files live (``cloud-init/templates`` of the repo)."""
    override = os.environ.get("MLPLAT_CLOUDINIT_TEMPLATES")
    if override:
        return Path(override)
    return CLOUD_INIT_DIR / "templates"


def template_names() -> list[str]:
    """Templates that have both a file and an input model."""
    on_disk = {
        p.name.removesuffix(TEMPLATE_SUFFIX) for p in templates_dir().glob(f"*{TEMPLATE_SUFFIX}")
    }
    return sorted(on_disk & TEMPLATE_MODELS.keys())


def _yaml_scalar(value: Any) -> str:
    # JSON is a subset of YAML 1.2 and PyYAML reads JSON strings as YAML
    # double-quoted scalars, so every value is quoted the same safe way.
    return json.dumps(value, ensure_ascii=False)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # YAML output: values are quoted by the `q` filter instead.
    )
    env.filters["q"] = _yaml_scalar
    env.filters["json"] = lambda v: json.dumps(v, sort_keys=True)
    return env


def coerce_inputs(template_name: str, inputs: BaseModel | dict[str, Any]) -> BaseModel:
    """Validate ``inputs`` against the template's model (pydantic ValidationError on failure)."""
    try:
        model = TEMPLATE_MODELS[template_name]
    except KeyError:
        raise TemplateNotFound(
            f"unknown template {template_name!r}; known: {', '.join(sorted(TEMPLATE_MODELS))}"
        ) from None
    if isinstance(inputs, model):
        return inputs
    if isinstance(inputs, tuple(TEMPLATE_MODELS.values())):
        raise TypeError(
            f"template {template_name!r} takes {model.__name__}, got {type(inputs).__name__}"
        )
    if isinstance(inputs, BaseModel):
        # Another model with the same fields (e.g. a component's args): re-validate.
        inputs = inputs.model_dump(mode="json")
    return model.model_validate(inputs)


def _packages(inputs: GpuNodeInputs | OnpremHostInputs) -> list[str]:
    wanted = ["openssh-server", "sudo", "python3"]
    if inputs.unattended_upgrades.enabled:
        wanted.append("unattended-upgrades")
    if isinstance(inputs, GpuNodeInputs) and inputs.ansible_pull is not None:
        wanted += [inputs.ansible_pull.ansible_package, "git"]
    wanted += inputs.packages
    return list(dict.fromkeys(wanted))  # de-duplicated, first occurrence keeps its place


def _context(inputs: GpuNodeInputs | OnpremHostInputs) -> dict[str, Any]:
    keys = list(inputs.admin.ssh_authorized_keys)
    if isinstance(inputs, OnpremHostInputs):
        keys += inputs.ansible_controller_keys
    allow_groups = list(dict.fromkeys([SSH_LOGIN_GROUP, *inputs.ssh.allow_groups]))
    return {
        "i": inputs,
        "authorized_keys": list(dict.fromkeys(keys)),
        "packages": _packages(inputs),
        "sudo_rule": (
            f"{inputs.admin.name} ALL=(ALL:ALL) NOPASSWD: ALL"
            if inputs.admin.sudo is SudoPolicy.NOPASSWD_ALL
            else None
        ),
        "ssh_login_group": SSH_LOGIN_GROUP,
        "allow_groups": allow_groups,
        "ready_dir": str(Path(inputs.ready_marker).parent),
    }


def render(template_name: str, inputs: BaseModel | dict[str, Any]) -> str:
    """Render ``template_name`` (e.g. ``"gpu-node"``) with validated ``inputs``.

    ``inputs`` is the template's input model or a plain dict that validates
    against it; a pydantic ``ValidationError`` names the offending field.
    """
    model = coerce_inputs(template_name, inputs)
    if not isinstance(model, GpuNodeInputs | OnpremHostInputs):
        raise TypeError(f"no rendering context for {type(model).__name__}")
    try:
        template = _environment().get_template(template_name + TEMPLATE_SUFFIX)
    except jinja2.TemplateNotFound:
        raise TemplateNotFound(
            f"template file {template_name}{TEMPLATE_SUFFIX} not found in {templates_dir()}"
        ) from None
    text = template.render(**_context(model))
    if not text.startswith(CLOUD_CONFIG_HEADER + "\n"):
        raise ValueError(f"template {template_name!r} must start with {CLOUD_CONFIG_HEADER!r}")
    return text
