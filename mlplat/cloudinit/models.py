"""Typed inputs of the cloud-init templates.

One model per template (``GpuNodeInputs`` for ``gpu-node``, ``OnpremHostInputs``
for ``onprem-host``), built from small shared parts. Every field carries a
description: cloud-init/README.md's input tables are generated from them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from mlplat.cloudinit import checks

SafeStr = Annotated[str, AfterValidator(checks.no_secret)]
SshPublicKey = Annotated[str, AfterValidator(checks.ssh_public_key)]
Username = Annotated[str, AfterValidator(checks.username)]
HttpsUrl = Annotated[str, AfterValidator(checks.https_url)]
CallbackUrl = Annotated[str, AfterValidator(checks.callback_url)]
PackageName = Annotated[str, AfterValidator(checks.package_name)]
Hostname = Annotated[str, AfterValidator(checks.hostname)]
GitCommit = Annotated[str, AfterValidator(checks.git_commit)]
GitRef = Annotated[str, AfterValidator(checks.git_ref)]
Timezone = Annotated[str, AfterValidator(checks.timezone)]
PlaybookPath = Annotated[str, AfterValidator(checks.playbook_path)]
ExtraVarName = Annotated[
    str,
    Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"),
    AfterValidator(checks.secret_free_key_name),
]
ExtraVarValue = Annotated[str, AfterValidator(checks.no_secret)] | int | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SudoPolicy(StrEnum):
    """What the admin user may run through sudo."""

    # Passwords are locked (key-only logins), so a password prompt could never be
    # answered: sudo for the admin is either password-less or absent.
    NOPASSWD_ALL = "nopasswd_all"
    NONE = "none"


class AdminUser(_Strict):
    """The one human/automation account that logs in over SSH with a key."""

    name: Username = Field(description="Login name of the admin account (created by cloud-init).")
    ssh_authorized_keys: list[SshPublicKey] = Field(
        min_length=1,
        description="SSH public keys allowed to log in as this user, one OpenSSH key per entry.",
    )
    sudo: SudoPolicy = Field(
        default=SudoPolicy.NOPASSWD_ALL,
        description=(
            "Sudo rights: 'nopasswd_all' writes a visudo-checked /etc/sudoers.d drop-in; "
            "'none' writes nothing."
        ),
    )
    shell: SafeStr = Field(
        default="/bin/bash",
        pattern=r"^/(usr/)?bin/[a-z]+$",
        description="Login shell, an absolute path under /bin or /usr/bin.",
    )
    gecos: SafeStr = Field(
        default="mlplat admin",
        max_length=64,
        pattern=r"^[A-Za-z0-9 ._-]*$",
        description="Comment (GECOS) field of the account.",
    )


class SshHardening(_Strict):
    """sshd settings written as a drop-in in /etc/ssh/sshd_config.d/."""

    allow_groups: list[Annotated[str, AfterValidator(checks.username)]] = Field(
        default_factory=list,
        description=(
            "If set, only members of these groups may log in over SSH (AllowGroups). "
            "The group 'mlplat-ssh', which the admin user is in, is always allowed."
        ),
    )
    max_auth_tries: int = Field(
        default=3, ge=1, le=10, description="MaxAuthTries: failed attempts before a disconnect."
    )
    client_alive_interval: int = Field(
        default=300,
        ge=0,
        le=3600,
        description="ClientAliveInterval in seconds (0 disables keep-alive probes).",
    )


class UnattendedUpgrades(_Strict):
    """Automatic security updates through Debian/Ubuntu's unattended-upgrades."""

    enabled: bool = Field(default=True, description="Install unattended-upgrades and turn it on.")
    automatic_reboot: bool = Field(
        default=False,
        description=(
            "Reboot by itself when an update needs it. Off by default: GPU jobs "
            "should be drained first."
        ),
    )
    automatic_reboot_time: SafeStr = Field(
        default="03:30",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time (HH:MM) of automatic reboots when they are enabled.",
    )


class AnsiblePull(_Strict):
    """Hand-over to Ansible: a systemd timer runs ansible-pull against a pinned repo."""

    repo_url: HttpsUrl = Field(
        description="https URL of the git repository holding the playbooks (no credentials in it)."
    )
    branch: GitRef = Field(
        default="main", description="Branch (or tag) to check out when no commit is pinned."
    )
    commit: GitCommit | None = Field(
        default=None,
        description=(
            "Full 40-hex commit to check out; when set, it wins over 'branch' so every "
            "node converges to the same reviewed code."
        ),
    )
    playbook: PlaybookPath = Field(
        default="site.yml", description="Playbook path relative to the repository root."
    )
    directory: SafeStr = Field(
        default="/var/lib/mlplat/ansible-pull",
        pattern=r"^/var/lib/[A-Za-z0-9_./-]+$",
        description="Checkout directory on the node (under /var/lib).",
    )
    interval_minutes: int = Field(
        default=30,
        ge=5,
        le=1440,
        description="Minutes between two runs of the timer (drift correction).",
    )
    randomized_delay_seconds: int = Field(
        default=300,
        ge=0,
        le=3600,
        description="Random delay added to each timer run so a fleet does not pull at once.",
    )
    run_at_boot: bool = Field(
        default=True,
        description="Start a first run at the end of cloud-init instead of waiting for the timer.",
    )
    ansible_package: PackageName = Field(
        default="ansible-core",
        description="Distribution package providing ansible-pull ('ansible-core' or 'ansible').",
    )
    extra_vars: dict[ExtraVarName, ExtraVarValue] = Field(
        default_factory=dict,
        description=(
            "Non-secret variables passed with --extra-vars (written to a JSON file "
            "beside the unit). Names that look like credentials are refused."
        ),
    )

    @property
    def checkout(self) -> str:
        return self.commit or self.branch


class Callback(_Strict):
    """Hand-over by callback: cloud-init's phone_home posts when the node is ready."""

    url: CallbackUrl = Field(
        description=(
            "https URL that receives the POST (instance id, hostname, fqdn, SSH host "
            "public keys). '$INSTANCE_ID' in it is replaced by cloud-init."
        )
    )
    tries: int = Field(default=10, ge=1, le=50, description="Attempts before giving up.")


class _HostBase(_Strict):
    hostname: Hostname | None = Field(
        default=None,
        description="Host name to set; empty keeps the one the platform provides.",
    )
    timezone: Timezone = Field(default="UTC", description="IANA time zone of the host.")
    admin: AdminUser = Field(description="The admin account.")
    packages: list[PackageName] = Field(
        default_factory=list,
        description="Extra distribution packages to install on first boot.",
    )
    upgrade_on_first_boot: bool = Field(
        default=False,
        description=(
            "Run a full package upgrade on first boot. Off by default: it slows boot and can "
            "pull a kernel the GPU driver was not built for; unattended-upgrades covers security."
        ),
    )
    ssh: SshHardening = Field(default_factory=SshHardening, description="sshd hardening settings.")
    unattended_upgrades: UnattendedUpgrades = Field(
        default_factory=UnattendedUpgrades,
        description="Automatic security updates.",
    )
    ready_marker: SafeStr = Field(
        default="/var/lib/mlplat/bootstrap-complete",
        pattern=r"^/var/lib/[A-Za-z0-9_./-]+$",
        description="File written as the last bootstrap step; its presence means 'bootstrap done'.",
    )


class GpuNodeInputs(_HostBase):
    """Inputs of ``gpu-node.yaml.j2``: a VM that bootstraps itself and hands over to Ansible."""

    node_pool: SafeStr = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description=(
            "Name of the GPU node pool the VM belongs to "
            "(an Ansible local fact in /etc/ansible/facts.d/mlplat.fact)."
        ),
    )
    ansible_pull: AnsiblePull | None = Field(
        default=None, description="Converge with ansible-pull on a systemd timer."
    )
    callback: Callback | None = Field(
        default=None, description="Tell a provisioning service (e.g. AWX) the node is ready."
    )

    @model_validator(mode="after")
    def _needs_a_hand_over(self) -> GpuNodeInputs:
        if self.ansible_pull is None and self.callback is None:
            raise ValueError(
                "ansible_pull and callback are both unset: a gpu-node must hand over to "
                "Ansible by at least one of them"
            )
        return self


class OnpremHostInputs(_HostBase):
    """Inputs of ``onprem-host.yaml.j2``: a host made ready to be managed by Ansible over SSH."""

    ansible_controller_keys: list[SshPublicKey] = Field(
        default_factory=list,
        description=(
            "Extra public keys of the Ansible controller(s), added to the admin user "
            "beside its own keys."
        ),
    )


TEMPLATE_MODELS: dict[str, type[_HostBase]] = {
    "gpu-node": GpuNodeInputs,
    "onprem-host": OnpremHostInputs,
}
