"""The module map of docs/architecture.md, generated from each module's docstring.

The map is what a newcomer reads to find a piece of code in one hop, so it must list every
module that exists and nothing that does not. Generating it from the docstrings (read with
`ast`, nothing is imported) makes a new module without a docstring, or a moved one, fail
`mlplat docs --check` instead of leaving the map stale.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import yaml

from mlplat.core.paths import ANSIBLE_DIR, DOCS_DIR, REPO_ROOT
from mlplat.docgen.markdown import GeneratedDocError, replace_block, table

ARCHITECTURE: Final = DOCS_DIR / "architecture.md"
BEGIN: Final = "<!-- BEGIN GENERATED MODULE MAP (mlplat docs) -->"
END: Final = "<!-- END GENERATED MODULE MAP -->"

#: Python trees in the map, in reading order: the program, what it composes, the engine.
PYTHON_TREES: Final = ("stacks", "components", "mlplat", "policies", "bench")


def summary(docstring: str) -> str:
    """The first sentence of a docstring's first paragraph, on one line."""
    paragraph = " ".join(line.strip() for line in docstring.strip().split("\n\n")[0].splitlines())
    cut = paragraph.find(". ")
    sentence = paragraph[: cut + 1] if cut > 0 else paragraph
    # "…, one module per layer:" introduces a list that the map does not show.
    return sentence[:-1] + "." if sentence.endswith(":") else sentence


def python_modules(root: Path = REPO_ROOT) -> Iterator[Path]:
    """Every tracked-looking Python module of the mapped trees, sorted by path."""
    for tree in PYTHON_TREES:
        base = root / tree
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            # A package's `__main__` only runs what the package documents; a program
            # directory's (stacks/) is the program itself.
            if path.name == "__main__.py" and (path.parent / "__init__.py").exists():
                continue
            if path.name == "__init__.py" and path.stat().st_size == 0:
                continue
            yield path


def _module_row(path: Path, root: Path) -> list[str]:
    shown = path.relative_to(root).as_posix()
    try:
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except SyntaxError as exc:
        raise GeneratedDocError(f"{shown}: cannot parse: {exc.msg} (line {exc.lineno})") from None
    if not docstring:
        raise GeneratedDocError(f"{shown}: needs a module docstring (it is the module map entry)")
    if path.name == "__init__.py":
        shown = shown.removesuffix("__init__.py")
    return [f"`{shown}`", summary(docstring)]


def _role_rows(roles_dir: Path, root: Path) -> list[list[str]]:
    rows = []
    for role in sorted(p for p in roles_dir.iterdir() if (p / "meta").is_dir()):
        specs_path = role / "meta" / "argument_specs.yml"
        specs: dict[str, Any] = {}
        if specs_path.is_file():
            specs = yaml.safe_load(specs_path.read_text(encoding="utf-8")) or {}
        main = (specs.get("argument_specs") or {}).get("main") or {}
        description = main.get("short_description")
        if not description:
            raise GeneratedDocError(
                f"{specs_path.relative_to(root)}: needs argument_specs.main.short_description "
                "(it is the module map entry)")
        rows.append([f"`{role.relative_to(root).as_posix()}/`", summary(str(description))])
    return rows


def render_map(root: Path = REPO_ROOT, roles_dir: Path | None = None) -> str:
    """The generated block: one row per Python module, then one per Ansible role."""
    rows = [_module_row(path, root) for path in python_modules(root)]
    rows += _role_rows(roles_dir or ANSIBLE_DIR / "roles", root)
    return "\n".join(table(["module", "responsibility"], rows)) + "\n"


def render_architecture(current: str) -> str:
    """docs/architecture.md with its module map block brought up to date."""
    return replace_block(current, BEGIN, END, render_map(), str(ARCHITECTURE))
