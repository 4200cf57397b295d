"""Role contracts: argument_specs is the single source of truth for every role.

- every public default is role-prefixed, documented in meta/argument_specs.yml, with the same
  default value there; private vars in vars/ are ``_<role>_*``;
- READMEs carry the generated table and it is fresh (mlplat docs --check), and the checker
  really notices a stale table;
- role argument validation rejects wrong values and names the variable.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_helpers import ANSIBLE_DIR, REPO, ROLES_DIR, all_roles, ansible_env, tool

pytestmark = pytest.mark.unit

GEN = ("-m", "mlplat.docgen")
PHASES = ("preflight.yml", "install.yml", "configure.yml", "service.yml")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def _options(role: str) -> dict[str, Any]:
    specs = _load(ROLES_DIR / role / "meta" / "argument_specs.yml") or {}
    return ((specs.get("argument_specs") or {}).get("main") or {}).get("options") or {}


def _gen_module():
    from mlplat.docgen import roles

    return roles


def _entry_points(role: str) -> set[str]:
    specs = _load(ROLES_DIR / role / "meta" / "argument_specs.yml") or {}
    return set(specs.get("argument_specs") or {})


def _is_library(role: str) -> bool:
    """A role of shared steps (internal_common): entry points only, no phases of its own."""
    return not (ROLES_DIR / role / "tasks" / "main.yml").exists() and _entry_points(role) - {"main"}


PHASED_ROLES = [r for r in all_roles() if not _is_library(r)]
LIBRARY = "internal_common"


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every task of a task list, blocks flattened."""
    out: list[dict[str, Any]] = []
    for task in node or []:
        out.append(task)
        for key in ("block", "rescue", "always"):
            out += _walk(task.get(key))
    return out


def _tasks(role: str, name: str) -> list[dict[str, Any]]:
    return _walk(_load(ROLES_DIR / role / "tasks" / name))


@pytest.mark.parametrize("role", all_roles())
def test_role_layout(role: str) -> None:
    root = ROLES_DIR / role
    for rel in ("defaults/main.yml", "meta/main.yml", "meta/argument_specs.yml", "README.md"):
        assert (root / rel).is_file(), f"{role}: missing {rel}"
    if _is_library(role):
        # Every task file is an entry point documented (and validated) in argument_specs.
        files = {p.stem for p in (root / "tasks").glob("*.yml")}
        assert files == _entry_points(role) - {"main"}, (
            f"{role}: task files {sorted(files)} vs entry points {sorted(_entry_points(role))}"
        )
        return
    assert (root / "tasks" / "main.yml").is_file(), f"{role}: missing tasks/main.yml"
    # Handlers live in the role, or in the shared internal role it delegates to.
    delegated = [
        r
        for r in all_roles()
        if r != role and any(f"name: {r}" in t.read_text() for t in (root / "tasks").glob("*.yml"))
    ]
    assert (root / "handlers" / "main.yml").is_file() or any(
        (ROLES_DIR / r / "handlers" / "main.yml").is_file() for r in delegated
    ), f"{role}: no handlers/main.yml, neither its own nor in a role it includes"
    main = (root / "tasks" / "main.yml").read_text()
    positions = [main.find(p) for p in PHASES]
    assert all(p >= 0 for p in positions), f"{role}: tasks/main.yml must include {PHASES}"
    assert positions == sorted(positions), f"{role}: phases must run in order {PHASES}"


@pytest.mark.parametrize("role", PHASED_ROLES)
def test_phases_are_static_imports_tagged_by_role_and_phase(role: str) -> None:
    """The tag scheme of docs/roles.md: every phase carries <role>, <phase>, <role>_<phase>;
    preflight also carries always. Static imports, so the tags reach every task inside."""
    phases = {}
    for task in _tasks(role, "main.yml"):
        for module in ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks"):
            if task.get(module) in PHASES:
                phases[task[module]] = (module, set(task.get("tags") or []))
    assert set(phases) == set(PHASES), f"{role}: phases found in main.yml: {sorted(phases)}"
    for file, (module, tags) in phases.items():
        phase = file.removesuffix(".yml")
        assert module == "ansible.builtin.import_tasks", f"{role}: {file} is not imported"
        want = {role, phase, f"{role}_{phase}"} | ({"always"} if phase == "preflight" else set())
        assert tags == want, f"{role}: {file} tags {sorted(tags)}, want {sorted(want)}"


@pytest.mark.parametrize("role", PHASED_ROLES)
def test_dynamic_includes_hand_on_the_phase_tags(role: str) -> None:
    """Tasks of a dynamic include do not inherit tags: each must pass them through apply."""
    for file in sorted((ROLES_DIR / role / "tasks").glob("*.yml")):
        for task in _walk(_load(file)):
            for module in ("ansible.builtin.include_tasks", "ansible.builtin.include_role"):
                if module in task:
                    args = task[module] if isinstance(task[module], dict) else {}
                    tags = (args.get("apply") or {}).get("tags") or []
                    assert role in tags, f"{role}/{file.name}: {task['name']!r} applies {tags}"


@pytest.mark.parametrize("role", PHASED_ROLES)
def test_preflight_asserts_the_one_os_list(role: str) -> None:
    imports = [
        t
        for t in _tasks(role, "preflight.yml")
        if (t.get("ansible.builtin.import_role") or {}).get("tasks_from") == "os_preflight.yml"
    ]
    assert len(imports) == 1, f"{role}: preflight.yml must import {LIBRARY}'s os_preflight once"
    assert imports[0]["ansible.builtin.import_role"]["name"] == LIBRARY
    assert imports[0]["vars"] == {"internal_common_role": role}
    # No second list of supported releases in the role's variables.
    for file in sorted((ROLES_DIR / role).glob("*/main.yml")):
        data = _load(file)
        lists = [v for v in data.values() if isinstance(v, list)] if isinstance(data, dict) else []
        assert not any("Debian 12" in v for v in lists), (
            f"{file.relative_to(ROLES_DIR)} lists supported releases; use {LIBRARY}'s vars"
        )


def test_supported_os_list_is_in_the_library() -> None:
    private = _load(ROLES_DIR / LIBRARY / "vars" / "main.yml")
    assert private["_internal_common_supported_os"] == ["Debian 12", "Ubuntu 22.04", "Ubuntu 24.04"]


@pytest.mark.parametrize("role", [*PHASED_ROLES, LIBRARY])
def test_apt_tasks_leave_the_cache_to_the_library(role: str) -> None:
    """One lists refresh per run (internal_common's apt_cache), never one per apt task."""
    for file in sorted((ROLES_DIR / role / "tasks").glob("*.yml")):
        for task in _walk(_load(file)):
            args = task.get("ansible.builtin.apt")
            if not isinstance(args, dict):
                continue
            assert "cache_valid_time" not in args, f"{role}/{file.name}: {task['name']!r}"
            # Only the refresh itself, and a task right after adding a repository, update.
            allowed = {"{{ _nvidia_gpu_sources is changed }}"}
            if file.name == "apt_refresh.yml":
                allowed.add(True)
            assert args.get("update_cache") in {None, *allowed}, (
                f"{role}/{file.name}: {task['name']!r} updates the cache itself"
            )


@pytest.mark.parametrize("role", PHASED_ROLES)
def test_install_phase_starts_with_the_library(role: str) -> None:
    """A role's packages come through internal_common's packages (one read of the installed
    packages per run, one header per role on a no-op: ADR 0032); a role that must add a
    repository first starts its install steps with apt_cache and runs its own apt tasks."""
    if not (ROLES_DIR / role / "tasks" / "install.yml").exists():
        return
    file = "install.yml"
    first = _tasks(role, file)[0]
    # A GPU role's install phase is one include of install_gpu.yml (ADR 0031): the included
    # file is where the steps, and so the cache refresh, start.
    include = first.get("ansible.builtin.include_tasks")
    if isinstance(include, dict) and len(_tasks(role, file)) == 1:
        file = include["file"]
        first = _tasks(role, file)[0]
    imported = first.get("ansible.builtin.import_role") or {}
    assert imported.get("name") == LIBRARY, f"{role}: {file} must start with {LIBRARY}"
    own_apt = [t["name"] for f in sorted((ROLES_DIR / role / "tasks").glob("*.yml"))
               for t in _walk(_load(f)) if "ansible.builtin.apt" in t]
    if imported.get("tasks_from") == "packages.yml":
        assert first["vars"]["internal_common_role"] == role, f"{role}: {file}"
        assert "internal_common_apt_wanted" in first["vars"], f"{role}: {file}"
        assert not own_apt, f"{role}: apt tasks of its own besides packages.yml: {own_apt}"
    else:
        assert imported.get("tasks_from") == "apt_cache.yml", (
            f"{role}: {file} must start with {LIBRARY}'s packages or apt_cache"
        )
        assert own_apt, f"{role}: apt_cache without an apt task of its own; use packages.yml"


@pytest.mark.parametrize("role", all_roles())
def test_every_default_is_prefixed_and_documented(role: str) -> None:
    defaults = _load(ROLES_DIR / role / "defaults" / "main.yml") or {}
    options = _options(role)
    prefix = f"{role.lstrip('_')}_"
    unprefixed = [k for k in defaults if not k.startswith(prefix)]
    assert not unprefixed, f"{role}: defaults without the {prefix} prefix: {unprefixed}"
    undocumented = [k for k in defaults if k not in options]
    assert not undocumented, f"{role}: defaults missing from argument_specs: {undocumented}"
    mismatched = {
        k: (defaults[k], options[k].get("default"))
        for k in defaults
        if options[k].get("default") != defaults[k] and "{{" not in json.dumps(defaults[k])
    }
    assert not mismatched, f"{role}: defaults/main.yml vs argument_specs default: {mismatched}"
    # The other direction: a documented optional variable must have a default to fall back on.
    no_default = [k for k, o in options.items() if not o.get("required") and k not in defaults]
    assert not no_default, f"{role}: documented but neither required nor defaulted: {no_default}"


@pytest.mark.parametrize("role", all_roles())
def test_every_option_has_type_and_description(role: str) -> None:
    def walk(options: dict[str, Any], path: str) -> list[str]:
        bad = []
        for name, spec in options.items():
            if not spec.get("description"):
                bad.append(f"{path}{name}: no description")
            if "type" not in spec:
                bad.append(f"{path}{name}: no type")
            bad += walk(spec.get("options") or {}, f"{path}{name}.")
        return bad

    assert not walk(_options(role), ""), walk(_options(role), "")


@pytest.mark.parametrize("role", all_roles())
def test_private_vars_are_underscored_and_prefixed(role: str) -> None:
    private = _load(ROLES_DIR / role / "vars" / "main.yml") or {}
    prefix = f"_{role.lstrip('_')}_"
    wrong = [k for k in private if not k.startswith(prefix)]
    assert not wrong, f"{role}: vars/main.yml names must start with {prefix}: {wrong}"


@pytest.mark.parametrize("role", all_roles())
def test_meta_declares_platforms(role: str) -> None:
    meta = _load(ROLES_DIR / role / "meta" / "main.yml")
    platforms = {p["name"]: p.get("versions", []) for p in meta["galaxy_info"]["platforms"]}
    assert "bookworm" in platforms.get("Debian", []), f"{role}: Debian 12 is what is tested"


def test_readme_tables_are_fresh() -> None:
    proc = subprocess.run(
        [tool("python"), *GEN, "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, f"stale or broken role READMEs:\n{proc.stdout}{proc.stderr}"


def test_readme_check_notices_a_stale_table(tmp_path: Path) -> None:
    roles = tmp_path / "roles"
    shutil.copytree(ROLES_DIR / "base", roles / "base")
    gen = [tool("python"), *GEN, "--roles-dir", str(roles)]
    assert subprocess.run([*gen, "--check"], cwd=REPO).returncode == 0

    spec_file = roles / "base" / "meta" / "argument_specs.yml"
    specs = yaml.safe_load(spec_file.read_text())
    specs["argument_specs"]["main"]["options"]["base_timezone"]["description"] = "Changed."
    spec_file.write_text(yaml.safe_dump(specs))
    stale = subprocess.run([*gen, "--check"], cwd=REPO, capture_output=True, text=True)
    assert stale.returncode == 1
    assert "base/README.md" in stale.stdout

    assert subprocess.run(gen, cwd=REPO, capture_output=True).returncode == 0
    assert "| Changed. |" in (roles / "base" / "README.md").read_text()
    assert subprocess.run([*gen, "--check"], cwd=REPO).returncode == 0


def test_readme_without_markers_is_an_error(tmp_path: Path) -> None:
    roles = tmp_path / "roles"
    shutil.copytree(ROLES_DIR / "base", roles / "base")
    (roles / "base" / "README.md").write_text("# base\n\nNo table here.\n")
    proc = subprocess.run(
        [tool("python"), *GEN, "--roles-dir", str(roles), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 2
    assert "markers" in proc.stderr


def test_table_renders_nested_options_and_escapes_pipes() -> None:
    gen = _gen_module()
    table = gen.render_table(
        {
            "x_items": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "description": "a | b",
                "options": {"name": {"type": "str", "required": True, "description": "N."}},
            }
        }
    )
    assert "| `x_items` | list of dict | no | `[]` |  | a \\| b |" in table
    assert "| `x_items[].name` | str | yes |" in table


# --- argument validation -------------------------------------------------------------------

# (role, variables, name the failure must mention). Each is a value of the wrong type or
# outside its choices; the role's own argument_specs must reject it before any task runs.
BAD_VALUES = [
    ("base", {"base_chrony_clock_mode": "sometimes"}, "base_chrony_clock_mode"),
    ("hardening", {"hardening_ssh_port": "twenty-two"}, "hardening_ssh_port"),
    ("hardening", {"hardening_ssh_permit_root_login": "yes"}, "hardening_ssh_permit_root_login"),
    ("users", {"users_admins": [{"ssh_keys": ["ssh-ed25519 AAAA x"]}]}, "name"),
    ("users", {"users_admins": "alice"}, "users_admins"),
    ("storage", {"storage_scratch_mount_existing": "perhaps"}, "storage_scratch_mount_existing"),
    ("storage", {"storage_nfs_mounts": [{"src": "a:/b", "path": "/c", "state": "up"}]}, "state"),
    # (a "k=v" string would be converted to a dict by Ansible's type check, so a list it is)
    (
        "k8s_node_prereqs",
        {"k8s_node_prereqs_sysctls": ["net.ipv4.ip_forward=1"]},
        "k8s_node_prereqs_sysctls",
    ),
]


def _literal_defaults(role: str) -> dict[str, Any]:
    """defaults/main.yml without templated values (those only make sense at run time)."""
    defaults = _load(ROLES_DIR / role / "defaults" / "main.yml") or {}
    options = _options(role)
    return {
        k: v
        for k, v in defaults.items()
        if "{{" not in json.dumps(v) and "{{" not in json.dumps(options.get(k, {}))
    }


def _bad_value_block(i: int, role: str, bad: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"Case {i}: {role} with a bad value",
        "block": [
            {
                "name": "Include the role",
                "ansible.builtin.include_role": {"name": role},
                "vars": bad,
            },
            {
                "name": "Record that the value was accepted",
                "ansible.builtin.set_fact": {
                    "results": "{{ results | combine({'" + str(i) + "': 'ACCEPTED'}) }}"
                },
            },
        ],
        "rescue": [
            {
                "name": "Record the failure message",
                "ansible.builtin.set_fact": {
                    "results": "{{ results | combine({'" + str(i) + "': ansible_failed_result.msg"
                    " | default('') | string}) }}"
                },
            },
        ],
    }


@pytest.fixture(scope="module")
def validation_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One ansible-playbook run against localhost that (a) includes each role with a bad value
    and rescues the failure, and (b) validates each role's defaults against its own specs with
    ansible.builtin.validate_argument_spec.

    The run is in check mode and role validation happens before the role's first task, so this
    machine is not changed even if a case wrongly passes validation (it is then reported as
    'ACCEPTED').
    """
    work = tmp_path_factory.mktemp("argspec")
    out = work / "results.json"
    tasks: list[dict[str, Any]] = [
        _bad_value_block(i, role, bad) for i, (role, bad, _e) in enumerate(BAD_VALUES)
    ]
    for role in all_roles():
        # Required options come from the caller, not from defaults; options whose spec holds
        # Jinja would be templated by the module itself, so they are left out here.
        spec = {
            name: {k: v for k, v in opt.items() if k != "required"}
            for name, opt in _options(role).items()
            if "{{" not in json.dumps(opt)
        }
        tasks.append(
            {
                "name": f"Validate the defaults of {role}",
                "ansible.builtin.validate_argument_spec": {
                    "argument_spec": spec,
                    "provided_arguments": _literal_defaults(role),
                },
                "register": f"defaults_{role.lstrip('_')}",
                "ignore_errors": True,
            }
        )
    summary = {}
    for role in all_roles():
        reg = "defaults_" + role.lstrip("_")
        summary[role] = (
            "{{ " + reg + ".msg | default('') if " + reg + ".failed | default(false) else '' }}"
        )
    tasks.append(
        {
            "name": "Write results",
            "ansible.builtin.copy": {
                "dest": str(out),
                "content": "{{ {'cases': results, 'defaults': defaults_summary} | to_json }}",
                "mode": "0644",
            },
            "vars": {"defaults_summary": summary},
            "check_mode": False,
        }
    )
    play = [
        {
            "name": "Role argument validation",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"results": {}},
            "tasks": tasks,
        }
    ]
    playbook = work / "validate.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    proc = subprocess.run(
        [
            tool("ansible-playbook"),
            "-i",
            "localhost,",
            "--check",
            str(playbook),
            "-e",
            f"ansible_python_interpreter={tool('python')}",
        ],
        capture_output=True,
        text=True,
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        timeout=600,
    )
    if not out.exists():
        pytest.fail(
            f"validation playbook did not finish (rc={proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
        )
    data = json.loads(out.read_text())
    data["cases"] = {int(k): v for k, v in data["cases"].items()}
    return data


@pytest.mark.parametrize(
    ("index", "role", "expect"),
    [(i, role, expect) for i, (role, _bad, expect) in enumerate(BAD_VALUES)],
    ids=[f"{role}-{expect}" for role, _bad, expect in BAD_VALUES],
)
def test_argument_specs_reject_bad_value(
    validation_results: dict[str, Any], index: int, role: str, expect: str
) -> None:
    msg = validation_results["cases"][index]
    assert msg != "ACCEPTED", f"{role} accepted {BAD_VALUES[index][1]}"
    assert "alidation of arguments failed" in msg, f"{role}: failed for another reason: {msg}"
    assert expect in msg, f"{role}: the failure does not name {expect!r}: {msg}"


def test_defaults_pass_their_own_specs(validation_results: dict[str, Any]) -> None:
    assert set(validation_results["defaults"]) == set(all_roles())
    failed = {role: msg for role, msg in validation_results["defaults"].items() if msg}
    assert not failed, f"defaults/main.yml rejected by meta/argument_specs.yml: {failed}"
