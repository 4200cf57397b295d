"""cloud-init user data for mlplat hosts, rendered from typed inputs.

    from mlplat.cloudinit import GpuNodeInputs, render, validate_user_data
    user_data = render("gpu-node", GpuNodeInputs(...))   # or a plain dict
    assert validate_user_data(user_data) == []

Templates live in cloud-init/templates/; see cloud-init/README.md.
"""

from mlplat.cloudinit.models import (
    TEMPLATE_MODELS,
    AdminUser,
    AnsiblePull,
    Callback,
    GpuNodeInputs,
    OnpremHostInputs,
    SshHardening,
    SudoPolicy,
    UnattendedUpgrades,
)
from mlplat.cloudinit.render import TemplateNotFound, render, template_names
from mlplat.cloudinit.validate import SchemaToolMissing, validate_user_data

__all__ = [
    "TEMPLATE_MODELS",
    "AdminUser",
    "AnsiblePull",
    "Callback",
    "GpuNodeInputs",
    "OnpremHostInputs",
    "SchemaToolMissing",
    "SshHardening",
    "SudoPolicy",
    "TemplateNotFound",
    "UnattendedUpgrades",
    "render",
    "template_names",
    "validate_user_data",
]
