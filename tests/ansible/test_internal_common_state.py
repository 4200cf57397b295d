"""The phase gates and the play-wide read of internal_common's filters (ADR 0031)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from types import ModuleType

from mlplat.core.paths import ANSIBLE_DIR

_PATH = ANSIBLE_DIR / "roles/internal_common/filter_plugins/internal_common_state.py"


def _filters() -> ModuleType:
    spec = importlib.util.spec_from_file_location("internal_common_state", _PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


f = _filters()

ROOT = {"owner": "root", "group": "root"}
READ = {
    "files": {
        "/etc/a": {"exists": True, "type": "directory", "mode": "0755", **ROOT},
        "/etc/b": {"exists": True, "type": "directory", "mode": "0700", **ROOT},
    },
    "units": {
        "x.service": {"load": "loaded", "enabled": "enabled", "active": "active"},
        "y.service": {"load": "loaded", "enabled": "disabled", "active": "inactive"},
    },
    "sysctls": {"net.a": "1"},
    "kernel_modules": {"overlay": True},
    "regexps": {"swap": False},
    "regexps_asked": {"swap": {"path": "/etc/fstab", "regexp": "^swap"}},
    "accounts": {"alice": {"exists": True}},
    "groups": {"admins": {"exists": True}},
    "commands": {"sudoers_parses": {"rc": 0, "stdout": "", "stderr": ""}},
    "commands_asked": {"sudoers_parses": ["/usr/sbin/visudo", "-c"]},
}


def test_anything_differs_reads_booleans_lists_and_loop_strings() -> None:
    assert not f.anything_differs({"a": False, "b": [], "c": "", "d": None, "e": "  "})
    assert f.anything_differs({"a": False, "b": ["/etc/x"]})
    assert f.anything_differs({"a": True})
    assert f.anything_differs({"a": "alice "})
    # Not a mapping of gates: unknown, so the phase's tasks are included and decide.
    assert f.anything_differs(None)
    assert f.anything_differs("False")


def test_paths_and_units_differing_apply_one_want_to_each_item() -> None:
    dirs = ["/etc/a", "/etc/b", "/etc/unread"]
    got = f.paths_differing(dirs, READ, kind="directory", mode="0755", owner="root", group="root")
    assert got == ["/etc/b", "/etc/unread"]
    units = ["x.service", "y.service"]
    assert f.units_differing(units, READ, enabled=True, active=True) == ["y.service"]
    assert f.units_differing(units, {}, enabled=True) == units


def test_state_covers_only_what_the_earlier_read_holds() -> None:
    covers = f.state_covers
    assert covers(READ, paths=["/etc/a"], units=["x.service"], sysctls=["net.a"],
                  kernel_modules=["overlay"], accounts=["alice"], groups=["admins"],
                  regexps={"swap": {"path": "/etc/fstab", "regexp": "^swap"}})
    assert covers(READ)
    assert not covers(READ, paths=["/etc/c"])
    assert not covers(READ, units=["z.service"])
    assert not covers(READ, sysctls=["net.b"])
    assert not covers(READ, accounts=["bob"])
    # Same name, another pattern: read again.
    assert not covers(READ, regexps={"swap": {"path": "/etc/fstab", "regexp": "^other"}})
    assert not covers(READ, regexps={"nfs": {"path": "/etc/fstab", "regexp": "x"}})
    # A check counts only when the earlier read ran the same argv under that name.
    assert covers(READ, commands={"sudoers_parses": ["/usr/sbin/visudo", "-c"]})
    assert not covers(READ, commands={"sudoers_parses": ["/usr/sbin/visudo", "-c", "-q"]})
    assert not covers(READ, commands={"auditctl_status": ["auditctl", "-s"]})
    # No read yet, or a skipped or failed one.
    assert not covers(None, paths=[])
    assert not covers({"skipped": True}, paths=[])
    assert not covers({**READ, "failed": True})
    assert not covers({"files": {}}, paths=[])


def test_check_result_is_the_read_check_or_empty() -> None:
    assert f.check_result(READ, "sudoers_parses") == {"rc": 0, "stdout": "", "stderr": ""}
    assert f.check_result(READ, "auditctl_status") == {}
    assert f.check_result(None, "sudoers_parses") == {}
    assert f.check_result({"skipped": True}, "sudoers_parses") == {}


def _host_state_module() -> ModuleType:
    path = ANSIBLE_DIR / "roles/internal_common/library/internal_common_host_state.py"
    spec = importlib.util.spec_from_file_location("internal_common_host_state", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _FakeModule:
    """The two AnsibleModule methods run_checks uses, running for real."""

    def get_bin_path(self, name: str) -> str | None:
        return shutil.which(name)

    def run_command(self, argv: list[str]) -> tuple[int, str, str]:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr


def test_checks_report_exit_codes_and_a_missing_program_as_127() -> None:
    run_checks = _host_state_module().run_checks
    found = run_checks(_FakeModule(), {
        "passes": ["true"],
        "fails": ["sh", "-c", "echo broken >&2; exit 3"],
        "absent": ["/usr/sbin/no-such-check", "-c"],
        "absent_on_path": ["no-such-check-either"],
    })
    assert found["passes"]["rc"] == 0
    assert found["fails"] == {"rc": 3, "stdout": "", "stderr": "broken\n"}
    assert found["absent"]["rc"] == 127
    assert found["absent_on_path"]["rc"] == 127
