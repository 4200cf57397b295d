"""Docs stay true to the code: named tests exist, relative links resolve."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlplat.core.paths import ANSIBLE_DIR, DOCS_DIR, REPO_ROOT, TESTS_DIR

pytestmark = pytest.mark.unit

DOCS = [REPO_ROOT / "README.md", *sorted(DOCS_DIR.rglob("*.md"))]


def all_test_names() -> set[str]:
    names: set[str] = set()
    for path in TESTS_DIR.rglob("test_*.py"):
        names.update(re.findall(r"^\s*def (test_\w+)", path.read_text(), re.M))
    return names


def test_security_controls_name_existing_tests():
    text = (DOCS_DIR / "security.md").read_text()
    referenced = set(re.findall(r"\b(test_\w+)\b(?!\.py)", text))
    missing = sorted(referenced - all_test_names())
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"
    assert len(referenced) > 20


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_relative_links_resolve(doc: Path):
    text = doc.read_text()
    broken = []
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        if not (doc.parent / target).exists():
            broken.append(target)
    assert not broken, f"{doc.name}: broken links {broken}"


def test_generated_docs_are_current():
    """`mlplat docs --check` as CI runs it: every generated document matches its source."""
    result = subprocess.run([sys.executable, "-m", "mlplat.docgen", "--check"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_docs_check_notices_every_kind_of_stale_doc(tmp_path: Path, monkeypatch):
    from mlplat.docgen import cloudinit, configuration, generate

    stale_config = tmp_path / "configuration.md"
    stale_config.write_text("# outdated\n")
    readme = tmp_path / "cloud-init-README.md"
    readme.write_text(cloudinit.README.read_text().replace("**required**", "required", 1))
    roles = tmp_path / "roles"
    shutil.copytree(ANSIBLE_DIR / "roles" / "base", roles / "base")
    base_readme = roles / "base" / "README.md"
    base_readme.write_text(base_readme.read_text().replace("| `base_", "| `old_", 1))
    monkeypatch.setattr(configuration, "TARGET", stale_config)
    monkeypatch.setattr(cloudinit, "README", readme)

    before = {path: path.read_text() for path in (stale_config, readme, base_readme)}
    outcome = generate(check=True, roles_dir=roles)
    assert outcome.errors == []
    assert sorted(outcome.stale) == sorted(before)
    assert {path: path.read_text() for path in before} == before  # --check writes nothing

    assert generate(check=False, roles_dir=roles).stale == outcome.stale
    assert generate(check=True, roles_dir=roles).stale == []
