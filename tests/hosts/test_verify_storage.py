"""storage role on the converged site: NFS fstab staging and the scratch safety refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hosts_site import ROLES_DIR, STAGED_NFS_MOUNT, ConvergedSite
from hosts_units import unit_for_path, unit_property

from mlplat.testing.hosts import Host, connect_testinfra, run_playbook

pytestmark = pytest.mark.hosts

DEFAULTS = yaml.safe_load((ROLES_DIR / "storage" / "defaults" / "main.yml").read_text())
MOUNT = STAGED_NFS_MOUNT
IMAGE = "/var/tmp/mlplat-scratch-test.img"


@pytest.fixture(scope="module")
def site(converged_site: ConvergedSite) -> ConvergedSite:
    return converged_site


@pytest.fixture(scope="module")
def infra(site: ConvergedSite) -> dict:
    return connect_testinfra(site.inventory)


def _fstab(host: Host) -> list[list[str]]:
    text = host.exec(["cat", "/etc/fstab"], check=True).stdout
    return [ln.split() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def test_nfs_client_installed(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        assert infra[h.name].package("nfs-common").is_installed, h.name


def test_nfs_mount_staged_in_fstab_not_mounted(site: ConvergedSite, infra: dict) -> None:
    for h in site.hosts:
        entries = [e for e in _fstab(h) if e[1] == MOUNT["path"]]
        assert len(entries) == 1, f"{h.name}: {entries}"
        src, _path, fstype, opts = entries[0][:4]
        assert (src, fstype) == (MOUNT["src"], "nfs")
        assert opts == DEFAULTS["storage_nfs_default_opts"]
        assert {"nofail", "_netdev", "nosuid", "nodev", "hard", "x-systemd.automount"} <= set(
            opts.split(",")
        )
        assert infra[h.name].file(MOUNT["path"]).is_directory
        # state=present: written, never mounted (there is no server to mount from).
        # After a reboot an autofs trigger may sit there; an NFS mount never does.
        nfs = h.exec(["findmnt", "-t", "nfs,nfs4", "--mountpoint", MOUNT["path"]])
        # findmnt exits 1 with no output when nothing matches (not on bad arguments: 1 too,
        # but then with a message on stderr).
        assert (nfs.returncode, nfs.stdout, nfs.stderr) == (1, "", ""), nfs


def test_fstab_change_reloaded_systemd(site: ConvergedSite) -> None:
    # The role reloads systemd after writing fstab: the generated unit for the
    # staged share exists and systemd does not report a stale fstab.
    for h in site.hosts:
        name = unit_for_path(h, MOUNT["path"], "automount")
        stale = unit_property(h, name, "NeedDaemonReload")
        assert stale == "no", f"{h.name}: {name} needs daemon-reload"
        loaded = unit_property(h, name, "LoadState")
        assert loaded == "loaded", f"{h.name}: {name} not generated from fstab"


def test_scratch_with_other_filesystem_is_refused_untouched(
    site: ConvergedSite, tmp_path: Path
) -> None:
    h = site.hosts[0]
    h.exec(["truncate", "-s", "32M", IMAGE], check=True)
    try:
        h.exec(["mkfs.ext4", "-q", "-F", IMAGE], check=True)
        uuid = h.exec(["blkid", "-p", "-s", "UUID", "-o", "value", IMAGE], check=True).stdout
        play = tmp_path / "storage.yml"
        play.write_text(
            yaml.safe_dump(
                [{"name": "Only storage", "hosts": "all", "become": True, "roles": ["storage"]}]
            )
        )
        extra = {"storage_scratch_device": IMAGE, "storage_scratch_fstype": "xfs"}
        res = run_playbook(site.inventory, play, "-l", h.name, "-e", json.dumps(extra))
        assert not res.ok, "the role accepted a device carrying ext4 while xfs was wanted"
        assert "Refusing to use" in res.stdout and "ext4" in res.stdout, res.tail()
        assert res.changed(h.name) == 0, res.changed_tasks()
        after = h.exec(["blkid", "-p", "-s", "UUID", "-o", "value", IMAGE], check=True).stdout
        assert after == uuid != "", "the filesystem on the device changed"
        assert not any(e[1] == DEFAULTS["storage_scratch_path"] for e in _fstab(h))
    finally:
        h.exec(["rm", "-f", IMAGE])
