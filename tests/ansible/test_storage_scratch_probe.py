"""The storage role's scratch decision (format / mount / refuse) against image files.

No root needed: blkid -p, mkfs and sfdisk work on regular files. Only the role's probe task
file runs (against localhost, one ansible-playbook run for every case), so nothing is formatted
or mounted here; on real hosts the same decision guards community.general.filesystem (see
tests/hosts/test_verify_storage.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_helpers import ANSIBLE_DIR, ansible_env, tool

pytestmark = pytest.mark.unit


def _need(binary: str) -> str:
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if path is None:
        pytest.skip(f"{binary} is not installed")
    return path


def _image(work: Path, name: str) -> Path:
    img = work / name
    with img.open("wb") as f:
        f.truncate(16 * 1024 * 1024)
    return img


def _uuid(device: Path) -> str:
    return subprocess.run(
        [_need("blkid"), "-p", "-s", "UUID", "-o", "value", str(device)],
        capture_output=True,
        text=True,
    ).stdout.strip()


def _case_block(case: str, args: dict[str, Any]) -> dict[str, Any]:
    record = "{{ results | combine({'%s': %s}) }}"
    return {
        "name": f"Case {case}",
        "block": [
            {
                "name": "Run the role's probe",
                "ansible.builtin.include_role": {
                    "name": "storage",
                    "tasks_from": "scratch_probe.yml",
                },
                "vars": args,
            },
            {
                "name": "Record the decision",
                "ansible.builtin.set_fact": {
                    "results": record
                    % (
                        case,
                        "{'action': _storage_scratch_action,"
                        " 'fstype': _storage_scratch_mount_fstype}",
                    )
                },
            },
        ],
        "rescue": [
            {
                "name": "Record the failure",
                "ansible.builtin.set_fact": {
                    "results": record % (case, "{'failed': ansible_failed_result.msg}")
                },
            },
        ],
    }


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("scratch")
    ext4 = _image(work, "ext4.img")
    subprocess.run([_need("mkfs.ext4"), "-q", "-F", str(ext4)], check=True)
    gpt = _image(work, "gpt.img")
    subprocess.run(
        [_need("sfdisk"), "-q", str(gpt)],
        input="label: gpt\n,,L\n",
        text=True,
        check=True,
        capture_output=True,
    )
    blank = _image(work, "blank.img")
    cases = {
        "other_fs": {"storage_scratch_device": str(ext4), "storage_scratch_fstype": "xfs"},
        "same_fs": {"storage_scratch_device": str(ext4), "storage_scratch_fstype": "ext4"},
        "mount_existing": {
            "storage_scratch_device": str(ext4),
            "storage_scratch_fstype": "xfs",
            "storage_scratch_mount_existing": True,
        },
        "gpt": {"storage_scratch_device": str(gpt), "storage_scratch_mount_existing": True},
        "blank_file": {"storage_scratch_device": str(blank)},
        "missing": {"storage_scratch_device": str(work / "nope")},
    }
    out = work / "results.json"
    tasks = [_case_block(name, args) for name, args in cases.items()]
    tasks.append(
        {
            "name": "Write results",
            "ansible.builtin.copy": {
                "dest": str(out),
                "content": "{{ results | to_json }}",
                "mode": "0644",
            },
        }
    )
    pb = work / "probe.yml"
    pb.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Scratch probe",
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "vars": {"results": {}},
                    "tasks": tasks,
                }
            ],
            sort_keys=False,
        )
    )
    uuid_before = _uuid(ext4)
    proc = subprocess.run(
        [
            tool("ansible-playbook"),
            "-i",
            "localhost,",
            str(pb),
            "-e",
            f"ansible_python_interpreter={tool('python')}",
        ],
        capture_output=True,
        text=True,
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        timeout=600,
    )
    assert out.exists(), f"probe did not run (rc={proc.returncode}):\n{proc.stdout[-3000:]}"
    return {
        "results": json.loads(out.read_text()),
        "uuid_before": uuid_before,
        "ext4": ext4,
        "blank": blank,
    }


def test_other_filesystem_is_refused_and_untouched(probe: dict[str, Any]) -> None:
    result = probe["results"]["other_fs"]
    assert "Refusing" in result.get("failed", ""), result
    assert "ext4" in result["failed"]
    assert _uuid(probe["ext4"]) == probe["uuid_before"] != ""


def test_expected_filesystem_is_mounted_not_formatted(probe: dict[str, Any]) -> None:
    assert probe["results"]["same_fs"] == {"action": "mount", "fstype": "ext4"}


def test_mount_existing_keeps_the_found_type(probe: dict[str, Any]) -> None:
    assert probe["results"]["mount_existing"] == {"action": "mount", "fstype": "ext4"}


def test_partition_table_is_always_refused(probe: dict[str, Any]) -> None:
    result = probe["results"]["gpt"]
    assert "Refusing" in result.get("failed", ""), result
    assert "gpt" in result["failed"]


def test_blank_regular_file_is_never_formatted(probe: dict[str, Any]) -> None:
    result = probe["results"]["blank_file"]
    assert "not a block device" in result.get("failed", ""), result
    assert _uuid(probe["blank"]) == ""


def test_missing_device_fails_clearly(probe: dict[str, Any]) -> None:
    assert "does not exist" in probe["results"]["missing"].get("failed", "")
