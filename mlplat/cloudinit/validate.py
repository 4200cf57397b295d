"""Check rendered user data before it ships.

Two independent checks, because neither is enough alone:
- ``cloud-init schema --config-file`` (the real cloud-init's JSON schema), which
  in cloud-init 22.4 lets an unknown top-level key through without a word;
- our allow-list of top-level keys, which catches a typo such as ``runcmds:``
  that cloud-init would then silently ignore on the instance.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import yaml

from mlplat.cloudinit.checks import find_secret

# Top-level keys read by cloud-init 22.4's config modules (the properties of the
# module definitions in its schema-cloud-config-v1.json), plus the few keys that
# cloud-init itself reads outside the modules. A test compares this list with the
# schema of the installed cloud-init so it cannot silently drift.
MODULE_KEYS: frozenset[str] = frozenset(
    """
    allow_public_ssh_keys ansible apk_repos apt apt_pipelining apt_reboot_if_required
    apt_update apt_upgrade authkey_hash autoinstall bootcmd byobu_by_default ca-certs
    ca_certs chef chpasswd cloud_config_modules cloud_final_modules cloud_init_modules
    device_aliases disable_ec2_metadata disable_root disable_root_opts disk_setup drivers
    fan final_message fqdn fs_setup groups growpart grub-dpkg grub_dpkg hostname keyboard
    landscape locale locale_configfile lxd manage_etc_hosts manage_resolv_conf mcollective
    migrate mount_default_fields mounts no_ssh_fingerprints ntp package_reboot_if_required
    package_update package_upgrade packages password phone_home power_state
    prefer_fqdn_over_hostname preserve_hostname puppet random_seed reporting resize_rootfs
    resolv_conf rh_subscription rsyslog runcmd salt_minion snap spacewalk ssh
    ssh_authorized_keys ssh_deletekeys ssh_fp_console_blacklist ssh_genkeytypes
    ssh_import_id ssh_key_console_blacklist ssh_keys ssh_publish_hostkeys ssh_pwauth
    ssh_quiet_keygen swap timezone ubuntu_advantage updates user users vendor_data
    wireguard write_files yum_repo_dir yum_repos zypper
    """.split()  # noqa: SIM905 - a word list reads better than 90 quoted strings
)
# Read by cloud-init's core (merging, logging, datasources), not by a module.
CORE_KEYS: frozenset[str] = frozenset(
    {
        "merge_how",
        "merge_type",
        "output",
        "log_cfgs",
        "datasource",
        "datasource_list",
        "system_info",
    }
)
ALLOWED_TOP_LEVEL_KEYS: frozenset[str] = MODULE_KEYS | CORE_KEYS
# EC2 refuses user data above 16 KiB (before base64), so a larger rendering
# would only fail at launch time, far from the change that caused it.
EC2_USER_DATA_LIMIT = 16 * 1024


class SchemaToolMissing(RuntimeError):
    """``cloud-init`` is not installed, so the schema check cannot run."""


def unknown_top_level_keys(data: dict[str, object]) -> list[str]:
    return sorted(k for k in data if str(k) not in ALLOWED_TOP_LEVEL_KEYS)


def _cloud_init_schema(text: str, cloud_init: str) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="mlplat-cloudinit-") as tmp:
        path = os.path.join(tmp, "user-data")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        proc = subprocess.run(
            [cloud_init, "schema", "--config-file", path],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if proc.returncode == 0:
        return []
    out = (proc.stderr + proc.stdout).replace(path, "<user-data>")
    lines = [ln.strip() for ln in out.splitlines()]
    # Keep the messages, drop the banners cloud-init prints around them.
    msgs = [ln for ln in lines if ln and ln not in {"Error:", "Cloud config schema deprecations:"}]
    return [f"cloud-init schema: {m}" for m in msgs] or [
        f"cloud-init schema: exited {proc.returncode} without a message"
    ]


def validate_user_data(text: str, *, run_schema: bool = True) -> list[str]:
    """Return the problems found in rendered user data; an empty list means valid.

    Raises :class:`SchemaToolMissing` when ``run_schema`` is true and the
    ``cloud-init`` command is not installed (Debian package ``cloud-init``).
    """
    problems: list[str] = []
    if not text.startswith("#cloud-config\n"):
        problems.append("the first line must be exactly '#cloud-config'")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [*problems, f"not valid YAML: {exc}"]
    if not isinstance(data, dict):
        return [*problems, f"the document must be a mapping, got {type(data).__name__}"]
    problems += [
        f"unknown top-level key {key!r}: no cloud-config module reads it "
        "(cloud-init would silently ignore it)"
        for key in unknown_top_level_keys(data)
    ]
    size = len(text.encode("utf-8"))
    if size > EC2_USER_DATA_LIMIT:
        problems.append(f"{size} bytes: above EC2's user-data limit of {EC2_USER_DATA_LIMIT} bytes")
    secret = find_secret(text)
    if secret:
        problems.append(f"the user data contains {secret}; secrets must not be put in user data")
    if run_schema:
        cloud_init = shutil.which("cloud-init")
        if cloud_init is None:
            raise SchemaToolMissing(
                "the 'cloud-init' command is not installed (Debian package cloud-init); "
                "install it or call validate_user_data(..., run_schema=False)"
            )
        problems += _cloud_init_schema(text, cloud_init)
    return problems
