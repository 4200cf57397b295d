"""Rendered user data passes cloud-init's own schema and our top-level key check."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cloudinit_cases import load_example, require_cloud_init, template_of

from mlplat.cloudinit import render, validate_user_data
from mlplat.cloudinit.validate import MODULE_KEYS

pytestmark = pytest.mark.unit

MINIMAL = "#cloud-config\nruncmd:\n  - [echo, hello]\n"


def test_every_example_is_valid_cloud_config(example: Path) -> None:
    require_cloud_init()
    text = render(template_of(example), load_example(example))
    assert validate_user_data(text) == []


def test_unknown_top_level_key_is_reported() -> None:
    require_cloud_init()
    text = MINIMAL + "runcmds:\n  - [echo, typo]\n"
    problems = validate_user_data(text)
    assert len(problems) == 1
    assert "unknown top-level key 'runcmds'" in problems[0]


def test_cloud_init_schema_errors_are_reported() -> None:
    require_cloud_init()
    problems = validate_user_data("#cloud-config\npackages: 5\n")
    assert any(p.startswith("cloud-init schema:") and "packages" in p for p in problems)


def test_nested_unknown_keys_are_caught_by_cloud_init_itself() -> None:
    require_cloud_init()
    problems = validate_user_data("#cloud-config\nusers:\n  - name: a\n    bogus: 1\n")
    assert any("users.0" in p for p in problems)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("runcmd: []\n", "first line must be exactly '#cloud-config'"),
        ("#cloud-config\n- a\n", "must be a mapping"),
        ("#cloud-config\nruncmd: [a\n", "not valid YAML"),
        (
            "#cloud-config\nwrite_files:\n  - path: /k\n    content: |\n"
            "      -----BEGIN OPENSSH PRIVATE KEY-----\n",
            "private key",
        ),
    ],
)
def test_structural_problems_without_the_schema_tool(text: str, needle: str) -> None:
    problems = validate_user_data(text, run_schema=False)
    assert any(needle in p for p in problems), problems


def test_valid_minimal_document_has_no_problems_offline() -> None:
    assert validate_user_data(MINIMAL, run_schema=False) == []


def test_allow_list_matches_the_installed_cloud_init_schema() -> None:
    cloud_init = require_cloud_init()
    # Ask cloud-init's own interpreter: the venv cannot import the Debian package.
    interpreter = Path(cloud_init).read_text().splitlines()[0].removeprefix("#!").split()
    code = "import json, cloudinit.config.schema as s; print(json.dumps(s.get_schema()))"
    out = subprocess.run([*interpreter, "-c", code], capture_output=True, text=True, check=True)
    schema = json.loads(out.stdout)
    installed: set[str] = set()
    for ref in schema["allOf"]:
        name = ref["$ref"].rsplit("/", 1)[-1]
        installed |= set(schema["$defs"][name].get("properties", {}))
    assert installed, "could not read module keys from the installed schema"
    missing, extra = installed - MODULE_KEYS, MODULE_KEYS - installed
    assert not missing and not extra, json.dumps(
        {"not allowed but in schema": sorted(missing), "allowed but not in schema": sorted(extra)}
    )


def test_user_data_above_the_ec2_limit_is_reported() -> None:
    padding = "".join(f"  - [echo, line-{i:05d}]\n" for i in range(800))
    problems = validate_user_data(MINIMAL + padding, run_schema=False)
    assert any("above EC2's user-data limit of 16384 bytes" in p for p in problems)


def test_renderings_leave_room_under_the_ec2_limit(example: Path) -> None:
    text = render(template_of(example), load_example(example))
    assert len(text.encode()) < 16 * 1024 // 2
