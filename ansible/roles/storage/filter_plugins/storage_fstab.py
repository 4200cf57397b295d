"""The questions about /etc/fstab whose answers gate the NFS mount task (ADR 0028)."""

from __future__ import annotations

import re
from typing import Any


def fstab_regexps(mounts: list[dict[str, Any]], default_opts: str) -> dict[str, dict[str, str]]:
    """For each mount, two regexps for internal_common's host_state read of /etc/fstab.

    ``exact <path>``: the line ansible.posix.mount writes for it (dump and passno 0), any
    whitespace between the fields. ``other <path>``: any other active line for the path.
    """
    out: dict[str, dict[str, str]] = {}
    for m in mounts:
        path = re.escape(str(m["path"]))
        line = r"\s+".join(
            [re.escape(str(m["src"])), path, "nfs", re.escape(str(m.get("opts", default_opts))), "0", "0"]
        )
        out["exact " + str(m["path"])] = {"path": "/etc/fstab", "regexp": rf"^{line}\s*$"}
        out["other " + str(m["path"])] = {
            "path": "/etc/fstab",
            "regexp": rf"^(?!{line}\s*$)\s*[^#\s]\S*\s+{path}\s",
        }
    return out


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"storage_fstab_regexps": fstab_regexps}
