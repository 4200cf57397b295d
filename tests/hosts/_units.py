"""systemd units the converged hosts generate from /etc/fstab, queried over exec."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    import harness

# The NFS share the site converge stages (state: present; its server does not exist).
STAGED_NFS_MOUNT: dict[str, str] = yaml.safe_load(
    (Path(__file__).resolve().parent / "vars" / "storage.yml").read_text()
)["storage_nfs_mounts"][0]


def unit_for_path(host: harness.Host, path: str, suffix: str) -> str:
    """The unit name systemd's fstab generator gives `path` (e.g. mnt-datasets.automount)."""
    escaped = host.exec(["systemd-escape", "--path", f"--suffix={suffix}", path], check=True)
    return escaped.stdout.strip()


def unit_property(host: harness.Host, unit: str, prop: str) -> str:
    """One property of one unit (one query per unit: a batched query drops rejected units)."""
    return host.exec(["systemctl", "show", "-p", prop, "--value", unit]).stdout.strip()
