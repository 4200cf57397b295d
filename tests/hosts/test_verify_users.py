"""users role on the converged site: accounts, exact keys, sudo through validated drop-ins."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hosts_site import ConvergedSite, role_test_vars

from mlplat.testing.hosts import connect_testinfra, run_playbook

pytestmark = pytest.mark.hosts

TEST_VARS = role_test_vars("users")
ADMIN = TEST_VARS["users_admins"][0]
LEAVER = TEST_VARS["users_removed"][0]


@pytest.fixture(scope="module")
def site(converged_site: ConvergedSite) -> ConvergedSite:
    return converged_site


@pytest.fixture(scope="module")
def infra(site: ConvergedSite) -> dict:
    return connect_testinfra(site.inventory)


def _role_play(tmp_path: Path, role: str) -> Path:
    play = tmp_path / f"{role}.yml"
    play.write_text(
        yaml.safe_dump([{"name": f"Only {role}", "hosts": "all", "become": True, "roles": [role]}])
    )
    return play


def test_admin_account(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        user = infra[h.name].user(ADMIN["name"])
        assert user.exists, h.name
        assert user.uid == ADMIN["uid"]
        assert user.shell == "/bin/bash"
        assert "mlplat-admins" in user.groups
        assert user.home == f"/home/{ADMIN['name']}"
        status = h.exec(["passwd", "-S", ADMIN["name"]], check=True).stdout.split()
        assert status[1] == "L", f"{h.name}: password not locked: {status}"


def test_authorized_keys_are_exactly_the_listed_ones(site: ConvergedSite, infra: dict) -> None:
    path = f"/home/{ADMIN['name']}/.ssh/authorized_keys"
    for h in site.hosts:
        f = infra[h.name].file(path)
        assert (f.user, f.mode) == (ADMIN["name"], 0o600), h.name
        keys = [ln for ln in f.content_string.splitlines() if ln.strip()]
        assert keys == ADMIN["ssh_keys"], f"{h.name}: {keys}"
        assert infra[h.name].file(f"/home/{ADMIN['name']}/.ssh").mode == 0o700


def test_sudoers_dropins_modes_and_syntax(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        for name in ("mlplat-admins", "mlplat-test-journal"):
            f = infra[h.name].file(f"/etc/sudoers.d/{name}")
            assert (f.user, f.group, f.mode) == ("root", "root", 0o440), f"{h.name}: {name}"
        assert h.exec(["visudo", "-c"]).returncode == 0


def test_admin_can_sudo_without_password(site: ConvergedSite) -> None:
    for h in site.hosts:
        res = h.exec(["runuser", "-u", ADMIN["name"], "--", "sudo", "-n", "id", "-u"])
        assert res.returncode == 0 and res.stdout.strip() == "0", f"{h.name}: {res}"
        rules = h.exec(["sudo", "-l", "-U", ADMIN["name"]], check=True).stdout
        assert "/usr/bin/journalctl" in rules


def test_user_without_the_group_gets_no_sudo(site: ConvergedSite) -> None:
    h = site.hosts[-1]
    h.exec(["useradd", "--no-create-home", "mlplat-test-nobody"], check=True)
    try:
        res = h.exec(["runuser", "-u", "mlplat-test-nobody", "--", "sudo", "-n", "true"])
        assert res.returncode == 1, res
        # sudo -n fails the same way for a user who merely needs a password: ask sudo's
        # policy directly whether the user may run anything at all.
        listed = h.exec(["sudo", "-l", "-U", "mlplat-test-nobody"]).stdout
        assert "is not allowed to run sudo" in listed, listed
    finally:
        h.exec(["userdel", "mlplat-test-nobody"])


def test_removed_user_is_deleted_with_home(site: ConvergedSite, tmp_path: Path) -> None:
    h = site.hosts[-1]
    h.exec(["useradd", "--create-home", LEAVER], check=True)
    assert h.exec(["id", LEAVER]).returncode == 0
    res = run_playbook(site.inventory, _role_play(tmp_path, "users"), "-l", h.name)
    assert res.ok, res.tail()
    gone = h.exec(["id", LEAVER])
    assert gone.returncode == 1 and "no such user" in gone.stderr, f"{LEAVER} still exists"
    assert h.exec(["test", "-e", f"/home/{LEAVER}"]).returncode == 1, "home left behind"
    assert res.changed(h.name) >= 1
