"""A host's converged state as comparable data: packages, enabled units, /etc.

Host identity (names, addresses, SSH host keys, machine-id) is normalised
away so two hosts converged with the same variables fingerprint equal.
"""

from __future__ import annotations

import json
from typing import Any

# Runs inside the host with its own python3 (present in every flavor).
_PROBE = r"""
import hashlib, json, os, stat, subprocess, sys
name, address = sys.argv[1], sys.argv[2]
SKIP_FILES = {
    "/etc/machine-id", "/etc/hostname", "/etc/hosts", "/etc/ld.so.cache", "/etc/adjtime",
    "/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/passwd-",
    "/etc/group-", "/etc/subuid-", "/etc/subgid-", "/etc/.pwd.lock", "/etc/.updated",
    "/etc/mtab", "/etc/resolv.conf",
}
SKIP_PREFIXES = ("/etc/ssh/ssh_host_",)
def norm(data):
    return data.replace(address.encode(), b"@ADDRESS@").replace(name.encode(), b"@HOSTNAME@")
files = {}
for root, dirs, names in os.walk("/etc"):
    dirs.sort()
    for n in sorted(names):
        p = os.path.join(root, n)
        if p in SKIP_FILES or p.startswith(SKIP_PREFIXES) or "__pycache__" in p:
            continue
        st = os.lstat(p)
        meta = f"{stat.filemode(st.st_mode)} {st.st_uid}:{st.st_gid}"
        if stat.S_ISLNK(st.st_mode):
            files[p] = meta + " -> " + os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                files[p] = meta + " " + hashlib.sha256(norm(f.read())).hexdigest()[:16]
def out(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout
packages = sorted(
    line.split(" ", 2)[0] + " " + line.split(" ", 2)[1]
    for line in out("dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n")
    .splitlines() if line.split(" ", 2)[2].startswith("ii")
)
units = sorted(l.split()[0] for l in out(
    "systemctl", "list-unit-files", "--state=enabled", "--no-legend", "--plain").splitlines() if l)
users = sorted(l.split(":")[0] for l in open("/etc/passwd"))
print(json.dumps({"packages": packages, "enabled_units": units, "users": users, "etc": files}))
"""


def fingerprint(host: Any) -> dict[str, Any]:
    """The host's converged state, as the probe script running on it reports it."""
    proc = host.exec(["python3", "-c", _PROBE, host.name, host.address], check=True)
    state: dict[str, Any] = json.loads(proc.stdout)
    return state


def diff(a: dict[str, Any], b: dict[str, Any], limit: int = 40) -> list[str]:
    """Human-readable differences between two fingerprints (empty when equal)."""
    lines: list[str] = []
    for key in ("packages", "enabled_units", "users"):
        sa, sb = set(a[key]), set(b[key])
        lines += [f"{key}: only in first: {x}" for x in sorted(sa - sb)]
        lines += [f"{key}: only in second: {x}" for x in sorted(sb - sa)]
    fa, fb = a["etc"], b["etc"]
    for path in sorted(set(fa) | set(fb)):
        if fa.get(path) != fb.get(path):
            lines.append(f"{path}: {fa.get(path, '<absent>')} != {fb.get(path, '<absent>')}")
    return lines[:limit] + ([f"... {len(lines) - limit} more"] if len(lines) > limit else [])
