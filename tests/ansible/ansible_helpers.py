"""Shared helpers for the non-root Ansible tests (lint, syntax, role contracts).

A plain module, imported by name (``from ansible_helpers import ...``): some helpers are
needed at collection time (``parametrize``), where fixtures cannot help.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from mlplat.core.paths import ANSIBLE_DIR, REPO_ROOT

REPO = REPO_ROOT
ROLES_DIR = ANSIBLE_DIR / "roles"
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A tool from the venv running the tests, else from PATH; skip if neither has it."""
    candidate = VENV_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing (install the 'hosts' extra)")
        pytest.skip(f"{name} is not installed (install the 'hosts' extra)")
    return found


def ansible_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_LOCAL_TEMP": str(Path(os.environ.get("TMPDIR", "/tmp")) / "mlplat-ans"),
            "PY_COLORS": "0",
            "NO_COLOR": "1",
        }
    )
    # The venv's own bin first: ansible-lint runs ansible-playbook / ansible-galaxy by name.
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def all_roles() -> list[str]:
    return sorted(p.name for p in ROLES_DIR.iterdir() if (p / "tasks").is_dir())


def playbooks() -> list[Path]:
    """Top-level playbooks: YAML files in ansible/ whose document is a list of plays."""
    import yaml

    found = []
    for path in sorted(ANSIBLE_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        if isinstance(data, list) and all(isinstance(p, dict) and "hosts" in p for p in data):
            found.append(path)
    return found
