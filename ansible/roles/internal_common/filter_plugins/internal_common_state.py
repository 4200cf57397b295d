"""Gates for writing tasks: does the live object differ from what the task would make it?

Each takes the result of the internal_common_host_state module (read once per role, ADR
0028) and answers True ("run the task") when the object differs **or when the state does not
know it** (read skipped by tags, path not read, unexpected value): a gate may only ever skip
a task whose module would have found nothing to do.
"""

from __future__ import annotations

import hashlib
from typing import Any


def _entry(state: Any, section: str, key: str) -> dict[str, Any] | None:
    if not isinstance(state, dict):
        return None
    found = (state.get(section) or {}).get(key)
    return found if isinstance(found, dict) else None


def _mode(mode: Any) -> str:
    if isinstance(mode, int):
        return "%04o" % mode
    text = str(mode)
    return text if len(text) == 4 else text.rjust(4, "0")


def file_differs(
    state: Any,
    path: str,
    content: str | None = None,
    mode: Any = None,
    owner: str | None = None,
    group: str | None = None,
    kind: str = "file",
    target: str | None = None,
) -> bool:
    """True unless ``path`` is a ``kind`` with exactly this content/target, mode, owner, group.

    ``content`` is compared by SHA-1 of its UTF-8 bytes, the checksum the copy module (and so
    template, which hands copy the rendering) compares before writing.
    """
    found = _entry(state, "files", path)
    if found is None:
        return True
    if kind == "absent":
        return bool(found.get("exists"))
    if not found.get("exists") or found.get("type") != kind:
        return True
    if content is not None:
        wanted = hashlib.sha1(str(content).encode("utf-8")).hexdigest()  # noqa: S324
        if found.get("checksum") != wanted:
            return True
    if target is not None and found.get("target") != target:
        return True
    if mode is not None and found.get("mode") != _mode(mode):
        return True
    if owner is not None and found.get("owner") != owner:
        return True
    return group is not None and found.get("group") != group


def unit_differs(
    state: Any,
    unit: str,
    enabled: bool | None = None,
    active: bool | None = None,
    masked: bool | None = None,
) -> bool:
    """True unless systemd reports ``unit`` enabled/active/masked as wanted (None: not asked).

    Strict on purpose: "enabled" means UnitFileState=enabled (not static or indirect), so a
    unit the systemd module would treat differently is simply never skipped.
    """
    found = _entry(state, "units", unit)
    if found is None or found.get("load") in ("", "not-found", "error"):
        return True
    file_state, active_state = found.get("enabled"), found.get("active")
    if masked is True and file_state != "masked":
        return True
    if masked is False and file_state == "masked":
        return True
    if enabled is True and file_state != "enabled":
        return True
    if enabled is False and file_state not in ("disabled", "masked"):
        return True
    if active is True and active_state != "active":
        return True
    return active is False and active_state not in ("inactive", "failed")


def group_differs(state: Any, name: str) -> bool:
    """True unless the local group ``name`` exists (all ansible.builtin.group checks without gid)."""
    found = _entry(state, "groups", name)
    return found is None or not found.get("exists")


def account_differs(
    state: Any,
    name: str,
    absent: bool = False,
    uid: Any = None,
    comment: str | None = None,
    shell: str | None = None,
    groups: list[str] | None = None,
    create_home: bool = True,
) -> bool:
    """True unless user ``name`` is absent (``absent``) or exists as ansible.builtin.user with
    these arguments (append=true, update_password=on_create) would leave it."""
    found = _entry(state, "accounts", name)
    if found is None:
        return True
    if absent:
        return bool(found.get("exists"))
    if not found.get("exists"):
        return True
    if uid is not None and found.get("uid") != int(uid):
        return True
    if comment is not None and found.get("comment") != comment:
        return True
    if shell is not None and found.get("shell") != shell:
        return True
    if groups is not None and set(groups) - set(found.get("groups") or []):
        return True
    return bool(create_home and not (found.get("home_state") or {}).get("exists"))


def _authorized_keys_content(keys: list[str]) -> str:
    # What ansible.posix.authorized_key (exclusive) writes for plain "type key comment" lines:
    # one line each, whitespace collapsed, first occurrence of a key kept. Lines with options
    # are not modelled: they make the gate say "differs", so the module decides.
    lines: list[str] = []
    seen: set[str] = set()
    for raw in keys:
        for line in str(raw).splitlines():
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if len(parts) < 3 or "=" in parts[0] or parts[1] in seen:
                return ""
            seen.add(parts[1])
            lines.append(f"{parts[0]} {parts[1]} {' '.join(parts[2:])}\n")
    return "".join(lines)


def authorized_keys_differ(state: Any, name: str, keys: list[str]) -> bool:
    """True unless ~name/.ssh (0700) and its authorized_keys (0600) hold exactly ``keys``,
    both owned by the user and its primary group, as the exclusive module leaves them."""
    found = _entry(state, "accounts", name)
    if found is None or not found.get("exists"):
        return True
    owner, group = name, found.get("group")
    content = _authorized_keys_content(keys)
    if not content:
        return True
    view = {"files": {"d": found.get("ssh_dir"), "f": found.get("authorized_keys")}}
    return file_differs(view, "d", kind="directory", mode="0700", owner=owner, group=group) or file_differs(
        view, "f", content=content, mode="0600", owner=owner, group=group
    )


def paths_differing(paths: Any, state: Any, **wanted: Any) -> list[str]:
    """The ``paths`` that file_differs with the same ``wanted`` arguments (a looped task's gate)."""
    return [p for p in paths or [] if file_differs(state, p, **wanted)]


def units_differing(units: Any, state: Any, **wanted: Any) -> list[str]:
    """The ``units`` that unit_differs with the same ``wanted`` states (a looped task's gate)."""
    return [u for u in units or [] if unit_differs(state, u, **wanted)]


def anything_differs(gates: Any) -> bool:
    """True when any gate of a phase says "differs": true, a non-empty list of differing loop
    items, or a non-blank string of their names (a gate written as a Jinja loop). The gated
    tasks of that phase are included only then (ADR 0031). Anything that is not a mapping of
    gates counts as "differs"."""
    if not isinstance(gates, dict):
        return True
    return any(bool(v.strip()) if isinstance(v, str) else bool(v) for v in gates.values())


def state_covers(
    state: Any,
    paths: Any = (),
    units: Any = (),
    sysctls: Any = (),
    kernel_modules: Any = (),
    regexps: Any = None,
    accounts: Any = (),
    groups: Any = (),
    commands: Any = None,
) -> bool:
    """True when ``state``, an earlier host_state read of this play, already holds every object
    asked for (ADR 0031), so host_state need not read again. A regexp or a check (command)
    counts only when the earlier read was asked the same under that name. Anything else (no
    read yet, a skipped or failed read, an object it did not list) is False: read again."""
    if not isinstance(state, dict) or state.get("skipped") or state.get("failed"):
        return False
    wanted = {
        "files": paths,
        "units": units,
        "sysctls": sysctls,
        "kernel_modules": kernel_modules,
        "accounts": accounts,
        "groups": groups,
    }
    for section, names in wanted.items():
        found = state.get(section)
        if not isinstance(found, dict) or any(n not in found for n in names or ()):
            return False
    for section, specs in (("regexps_asked", regexps), ("commands_asked", commands)):
        asked = state.get(section) or {}
        if any(asked.get(name) != spec for name, spec in (specs or {}).items()):
            return False
    return True


def check_result(state: Any, name: str) -> dict[str, Any]:
    """The {rc, stdout, stderr} of the read-only check ``name`` in a host_state read, or {}
    when there is no such read or it did not run that check (callers treat {} as unknown)."""
    if not isinstance(state, dict):
        return {}
    found = (state.get("commands") or {}).get(name)
    return found if isinstance(found, dict) else {}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "internal_common_file_differs": file_differs,
            "internal_common_unit_differs": unit_differs,
            "internal_common_group_differs": group_differs,
            "internal_common_account_differs": account_differs,
            "internal_common_authorized_keys_differ": authorized_keys_differ,
            "internal_common_paths_differing": paths_differing,
            "internal_common_units_differing": units_differing,
            "internal_common_anything_differs": anything_differs,
            "internal_common_state_covers": state_covers,
            "internal_common_check_result": check_result,
        }
