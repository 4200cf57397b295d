"""The module map in docs/architecture.md is generated and cannot drift from the tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplat.core.paths import ANSIBLE_DIR, REPO_ROOT
from mlplat.docgen import modules
from mlplat.docgen.markdown import GeneratedDocError


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "roles").mkdir()
    return tmp_path


def test_every_module_of_the_repo_is_in_the_committed_map() -> None:
    text = (REPO_ROOT / "docs" / "architecture.md").read_text()
    for path in modules.python_modules():
        shown = path.relative_to(REPO_ROOT).as_posix().removesuffix("__init__.py")
        assert f"| `{shown}` |" in text, f"{shown} is missing from the module map"
    for role in (ANSIBLE_DIR / "roles").iterdir():
        assert f"| `ansible/roles/{role.name}/` |" in text


def test_a_new_module_appears_with_its_first_sentence(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "components/__init__.py": '"""Components. More text."""\n',
        "components/aws/new_thing.py": '"""The new thing: does\nwork. Details follow."""\n',
    })
    block = modules.render_map(root, roles_dir=root / "roles")
    assert "| `components/aws/new_thing.py` | The new thing: does work. |" in block
    assert "| `components/` | Components. |" in block


def test_a_module_without_docstring_is_an_error_naming_it(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"mlplat/undocumented.py": "VALUE = 1\n"})
    expected = r"mlplat/undocumented.py: needs a module docstring"
    with pytest.raises(GeneratedDocError, match=expected):
        modules.render_map(root, roles_dir=root / "roles")


def test_a_removed_module_leaves_the_map(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"mlplat/a.py": '"""A."""\n', "mlplat/b.py": '"""B."""\n'})
    before = modules.render_map(root, roles_dir=root / "roles")
    (root / "mlplat" / "b.py").unlink()
    after = modules.render_map(root, roles_dir=root / "roles")
    assert "`mlplat/b.py`" in before and "`mlplat/b.py`" not in after
