#!/usr/bin/python
"""Read the live state of the objects a role manages, in one module run (ADR 0028).

A no-op run used to pay one module run (two for an unchanged template) per managed file,
unit and sysctl just to find nothing to do. This module reads them all at once; each
writing task then runs only when its object differs (filters in filter_plugins/), and the
writing task itself is unchanged, so drift is corrected by the same task as before.
Read-only: it never changes the host, and it runs in check mode too.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import re
import stat

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: internal_common_host_state
short_description: Read files, systemd units and sysctls in one module run
description:
  - For every path, whether it exists, its type, and for a regular file its SHA-1 checksum
    (the one ansible.builtin.copy and template compare), mode, owner and group.
  - For every unit, systemd's UnitFileState, ActiveState, LoadState and NeedDaemonReload.
  - For every sysctl key, its current value (whitespace collapsed) or null when absent.
  - For every named read-only check, its exit code and output.
options:
  paths: {type: list, elements: str, default: [], description: Files, directories or links.}
  units: {type: list, elements: str, default: [], description: systemd unit names.}
  sysctls: {type: list, elements: str, default: [], description: Sysctl keys (dotted).}
  kernel_modules: {type: list, elements: str, default: [], description: Modules to look up as loaded or built in.}
  accounts:
    type: list
    elements: str
    default: []
    description:
      - Local users; for each, uid, comment, shell, home, primary group, every group it is in
        (primary included), and its home, ~/.ssh and ~/.ssh/authorized_keys as for paths.
  groups: {type: list, elements: str, default: [], description: Local groups to look up.}
  dpkg:
    type: bool
    default: false
    description: Also list every package dpkg knows, as C(dpkg-query -W) lines "<status> <name>=<version>".
  regexps:
    type: dict
    default: {}
    description: name -> {path, regexp}; whether the multiline regexp matches the file (null when unreadable).
  commands:
    type: dict
    default: {}
    description:
      - name -> argv of a read-only check (C(visudo -c), C(auditctl -s)) to run in the same
        module run; its exit code and output. A program that is not installed gives rc 127.
      - Only checks that change nothing belong here: the module also runs in check mode.
"""

RETURN = r"""
files: {description: path -> facts, type: dict, returned: always}
units: {description: unit -> facts, type: dict, returned: always}
sysctls: {description: key -> value or null, type: dict, returned: always}
kernel_modules: {description: module -> loaded or built in (what community.general.modprobe checks), type: dict, returned: always}
regexps: {description: name -> true/false/null, type: dict, returned: always}
regexps_asked: {description: "name -> the {path, regexp} it was read for (a later read of the play compares them)", type: dict, returned: always}
accounts: {description: user -> facts (exists false when absent), type: dict, returned: always}
groups: {description: group -> {exists, gid}, type: dict, returned: always}
dpkg: {description: "dpkg-query lines (status abbreviation, name=version); empty unless asked", type: list, returned: always}
commands: {description: "name -> {rc, stdout, stderr} of each check", type: dict, returned: always}
commands_asked: {description: name -> the argv it was run with (a later read of the play compares them), type: dict, returned: always}
sysctls_read_only: {description: keys that exist but cannot be written here, type: list, returned: always}
"""

_UNIT_PROPERTIES = ("Id", "LoadState", "ActiveState", "UnitFileState", "NeedDaemonReload")


def _name(lookup, ident: int) -> str:
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def _sha1(path: str) -> str:
    digest = hashlib.sha1()  # noqa: S324 - the checksum Ansible's own modules compare
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_path(path: str) -> dict:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False}
    kind = (
        "link" if stat.S_ISLNK(st.st_mode)
        else "directory" if stat.S_ISDIR(st.st_mode)
        else "file" if stat.S_ISREG(st.st_mode)
        else "other"
    )
    info = {
        "exists": True,
        "type": kind,
        "mode": "%04o" % stat.S_IMODE(st.st_mode),
        "owner": _name(pwd.getpwuid, st.st_uid),
        "group": _name(grp.getgrgid, st.st_gid),
        "mtime": st.st_mtime,
    }
    if kind == "link":
        info["target"] = os.readlink(path)
    elif kind == "file":
        info["checksum"] = _sha1(path)
    return info


def read_units(module: AnsibleModule, units: list[str]) -> dict:
    if not units:
        return {}
    systemctl = module.get_bin_path("systemctl", required=True)
    # One `systemctl show` for every unit: blocks in the order asked, separated by blank lines.
    cmd = [systemctl, "show", "--property=" + ",".join(_UNIT_PROPERTIES), "--", *units]
    rc, out, err = module.run_command(cmd)
    if rc != 0:
        module.fail_json(msg=f"systemctl show failed: {err.strip()}", rc=rc)
    blocks = [b for b in out.strip().split("\n\n")]
    result = {}
    for unit, block in zip(units, blocks):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        result[unit] = {
            "load": props.get("LoadState", ""),
            "active": props.get("ActiveState", ""),
            "enabled": props.get("UnitFileState", ""),
            "need_reload": props.get("NeedDaemonReload", "") == "yes",
        }
    return result


def read_sysctl(key: str) -> str | None:
    try:
        with open(_sysctl_path(key)) as fh:
            return " ".join(fh.read().split())
    except OSError:
        return None


def _sysctl_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


def sysctl_read_only(key: str) -> bool:
    # access(2) reports EROFS for a read-only mount even to root: vm.* and kernel.* in a
    # container sharing the host kernel, where `sysctl -w` could only fail.
    path = _sysctl_path(key)
    return os.path.exists(path) and not os.access(path, os.W_OK)


def read_kernel_modules(names: list[str]) -> dict:
    if not names:
        return {}
    present = set()
    try:
        with open("/proc/modules") as fh:
            present |= {line.split(" ", 1)[0] for line in fh}
    except OSError:
        pass
    try:
        with open(f"/lib/modules/{os.uname().release}/modules.builtin") as fh:
            present |= {os.path.basename(line.strip())[: -len(".ko")] for line in fh if line.strip().endswith(".ko")}
    except OSError:
        pass
    return {name: name.replace("-", "_") in {p.replace("-", "_") for p in present} for name in names}


def read_regexps(specs: dict) -> dict:
    found = {}
    for name, spec in specs.items():
        try:
            with open(spec["path"], encoding="utf-8", errors="surrogateescape") as fh:
                found[name] = re.search(spec["regexp"], fh.read(), re.MULTILINE) is not None
        except (OSError, KeyError, re.error):
            found[name] = None
    return found


def read_account(name: str) -> dict:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return {"exists": False}
    primary = _name(grp.getgrgid, entry.pw_gid)
    member_of = sorted({primary} | {g.gr_name for g in grp.getgrall() if name in g.gr_mem})
    ssh_dir = os.path.join(entry.pw_dir, ".ssh")
    return {
        "exists": True,
        "uid": entry.pw_uid,
        "group": primary,
        "groups": member_of,
        "comment": entry.pw_gecos,
        "home": entry.pw_dir,
        "shell": entry.pw_shell,
        "home_state": read_path(entry.pw_dir),
        "ssh_dir": read_path(ssh_dir),
        "authorized_keys": read_path(os.path.join(ssh_dir, "authorized_keys")),
    }


def read_group(name: str) -> dict:
    try:
        return {"exists": True, "gid": grp.getgrnam(name).gr_gid}
    except KeyError:
        return {"exists": False}


def read_dpkg(module: AnsibleModule) -> list[str]:
    dpkg_query = module.get_bin_path("dpkg-query", required=True)
    rc, out, err = module.run_command([dpkg_query, "-W", "-f=${db:Status-Abbrev}${Package}=${Version}\n"])
    if rc != 0:
        module.fail_json(msg=f"dpkg-query failed: {err.strip()}", rc=rc)
    return out.splitlines()


def run_checks(module: AnsibleModule, commands: dict) -> dict:
    found = {}
    for name, argv in commands.items():
        argv = [str(arg) for arg in argv]
        # run_command fails the whole module on a missing program; a check of a package not
        # installed yet (before the install phases of a converge) is an answer, not an error.
        program = argv[0] if os.path.isabs(argv[0]) else module.get_bin_path(argv[0])
        if not program or not os.access(program, os.X_OK):
            found[name] = {"rc": 127, "stdout": "", "stderr": f"{argv[0]}: not installed"}
            continue
        rc, out, err = module.run_command([program, *argv[1:]])
        found[name] = {"rc": rc, "stdout": out, "stderr": err}
    return found


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "str", "default": []},
            "units": {"type": "list", "elements": "str", "default": []},
            "sysctls": {"type": "list", "elements": "str", "default": []},
            "kernel_modules": {"type": "list", "elements": "str", "default": []},
            "regexps": {"type": "dict", "default": {}},
            "accounts": {"type": "list", "elements": "str", "default": []},
            "groups": {"type": "list", "elements": "str", "default": []},
            "dpkg": {"type": "bool", "default": False},
            "commands": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    p = module.params
    module.exit_json(
        changed=False,
        files={path: read_path(path) for path in p["paths"]},
        units=read_units(module, p["units"]),
        sysctls={key: read_sysctl(key) for key in p["sysctls"]},
        kernel_modules=read_kernel_modules(p["kernel_modules"]),
        regexps=read_regexps(p["regexps"]),
        regexps_asked=p["regexps"],
        accounts={name: read_account(name) for name in p["accounts"]},
        groups={name: read_group(name) for name in p["groups"]},
        dpkg=read_dpkg(module) if p["dpkg"] else [],
        sysctls_read_only=[key for key in p["sysctls"] if sysctl_read_only(key)],
        commands=run_checks(module, p["commands"]),
        commands_asked=p["commands"],
    )


if __name__ == "__main__":
    main()
