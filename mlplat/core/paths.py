"""Where things live in an mlplat checkout. Computed once, here.

mlplat is used from a clone of its repository (stacks, roles and templates are files in it),
so every path is relative to the repository root that contains this package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: The checkout that holds `mlplat/`, `components/`, `stacks/`, `ansible/`, ...
REPO_ROOT: Final = Path(__file__).resolve().parents[2]
STACKS_DIR: Final = REPO_ROOT / "stacks"
#: The Pulumi program every stack runs (`stacks/__main__.py`, as Pulumi.yaml says).
PROGRAM_DIR: Final = STACKS_DIR
DOCS_DIR: Final = REPO_ROOT / "docs"
ANSIBLE_DIR: Final = REPO_ROOT / "ansible"
CLOUD_INIT_DIR: Final = REPO_ROOT / "cloud-init"
TESTS_DIR: Final = REPO_ROOT / "tests"
