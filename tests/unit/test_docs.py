"""Docs stay true to the code: named tests exist, relative links resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]


def all_test_names() -> set[str]:
    names: set[str] = set()
    for path in (REPO_ROOT / "tests").rglob("test_*.py"):
        names.update(re.findall(r"^\s*def (test_\w+)", path.read_text(), re.M))
    return names


def test_security_controls_name_existing_tests():
    text = (REPO_ROOT / "docs" / "security.md").read_text()
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
