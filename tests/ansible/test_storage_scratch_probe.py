"""The storage role's scratch decision (format / mount / refuse) against image files.

No root needed: blkid -p and mkfs work on regular files. Only the role's probe task file runs
(against localhost), so nothing is formatted or mounted here; on real hosts the same decision
guards community.general.filesystem (see tests/hosts/test_verify_storage.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ANSIBLE_DIR, ansible_env, tool

pytestmark = pytest.mark.unit


def _need(binary: str) -> str:
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if path is None:
        pytest.skip(f"{binary} is not installed")
    return path


def _image(tmp_path: Path, name: str) -> Path:
    img = tmp_path / name
    with img.open("wb") as f:
        f.truncate(16 * 1024 * 1024)
    return img


def _probe(tmp_path: Path, device: Path, **extra: object) -> dict:
    out = tmp_path / f"decision-{device.name}.json"
    play = [{
        "name": "Scratch probe",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "tasks": [
            {"name": "Probe", "block": [
                {"name": "Run the role's probe",
                 "ansible.builtin.include_role": {"name": "storage",
                                                  "tasks_from": "scratch_probe.yml"}},
                {"name": "Record", "ansible.builtin.copy": {
                    "dest": str(out), "mode": "0644",
                    "content": "{{ {'action': _storage_scratch_action,"
                               " 'fstype': _storage_scratch_mount_fstype} | to_json }}"}},
            ], "rescue": [
                {"name": "Record failure", "ansible.builtin.copy": {
                    "dest": str(out), "mode": "0644",
                    "content": "{{ {'failed': ansible_failed_result.msg} | to_json }}"}},
            ]},
        ],
    }]
    pb = tmp_path / "probe.yml"
    pb.write_text(yaml.safe_dump(play, sort_keys=False))
    args = {"storage_scratch_device": str(device), **extra}
    proc = subprocess.run(
        [tool("ansible-playbook"), "-i", "localhost,", str(pb),
         "-e", json.dumps({**args, "ansible_python_interpreter": tool("python")})],
        capture_output=True, text=True, cwd=ANSIBLE_DIR, env=ansible_env(), timeout=300,
    )
    assert out.exists(), f"probe did not run (rc={proc.returncode}):\n{proc.stdout[-3000:]}"
    return json.loads(out.read_text())


def _uuid(device: Path) -> str:
    return subprocess.run([_need("blkid"), "-p", "-s", "UUID", "-o", "value", str(device)],
                          capture_output=True, text=True).stdout.strip()


def test_other_filesystem_is_refused_and_untouched(tmp_path: Path) -> None:
    img = _image(tmp_path, "ext4.img")
    subprocess.run([_need("mkfs.ext4"), "-q", "-F", str(img)], check=True)
    before = _uuid(img)
    result = _probe(tmp_path, img, storage_scratch_fstype="xfs")
    assert "Refusing" in result.get("failed", ""), result
    assert "ext4" in result["failed"]
    assert _uuid(img) == before != ""


def test_expected_filesystem_is_mounted_not_formatted(tmp_path: Path) -> None:
    img = _image(tmp_path, "ext4.img")
    subprocess.run([_need("mkfs.ext4"), "-q", "-F", str(img)], check=True)
    assert _probe(tmp_path, img, storage_scratch_fstype="ext4") == {
        "action": "mount", "fstype": "ext4"}


def test_mount_existing_keeps_the_found_type(tmp_path: Path) -> None:
    img = _image(tmp_path, "ext4.img")
    subprocess.run([_need("mkfs.ext4"), "-q", "-F", str(img)], check=True)
    result = _probe(tmp_path, img, storage_scratch_fstype="xfs",
                    storage_scratch_mount_existing=True)
    assert result == {"action": "mount", "fstype": "ext4"}


def test_partition_table_is_always_refused(tmp_path: Path) -> None:
    img = _image(tmp_path, "gpt.img")
    subprocess.run([_need("sfdisk"), "-q", str(img)], input="label: gpt\n,,L\n", text=True,
                   check=True, capture_output=True)
    result = _probe(tmp_path, img, storage_scratch_mount_existing=True)
    assert "Refusing" in result.get("failed", ""), result
    assert "gpt" in result["failed"]


def test_blank_regular_file_is_never_formatted(tmp_path: Path) -> None:
    img = _image(tmp_path, "blank.img")
    result = _probe(tmp_path, img)
    assert "not a block device" in result.get("failed", ""), result
    assert _uuid(img) == ""


def test_missing_device_fails_clearly(tmp_path: Path) -> None:
    result = _probe(tmp_path, tmp_path / "nope")
    assert "does not exist" in result.get("failed", ""), result
