"""One generator for every generated document, so references cannot drift from the code.

    python -m mlplat.docgen            # or: mlplat docs — rewrite what is stale
    python -m mlplat.docgen --check    # or: mlplat docs --check — exit 1 if anything is stale

Generated: docs/configuration.md (config models), the inputs tables of
cloud-init/README.md (cloud-init input models), the reviewer's IAM policy in
docs/verify.md (mlplat.verify.coverage), the variable table of every Ansible
role README (its meta/argument_specs.yml), the module map of docs/architecture.md
(module docstrings and role descriptions), the version matrix of docs/upgrades.md
(components/versions.py) and docs/components/reference.md (each component's typed
arguments and outputs).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlplat.core.files import write_atomically
from mlplat.docgen.markdown import GeneratedDocError


@dataclass(frozen=True)
class GeneratedDoc:
    """A file and how to bring it up to date from its current text."""

    path: Path
    render: Callable[[str], str]
    #: Whether the file must already exist (it holds hand-written text around the block).
    partial: bool = True


@dataclass
class Outcome:
    """What a run found: files that were (or, with check, would be) rewritten, errors."""

    stale: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def documents(roles_dir: Path | None = None) -> list[GeneratedDoc]:
    """Every generated document. `roles_dir` points at another roles tree (tests)."""
    from mlplat.docgen import cloudinit, component_reference, configuration, modules, roles
    from mlplat.docgen import versions as version_matrix

    def whole_file(_: str) -> str:
        return configuration.render()

    docs = [
        GeneratedDoc(configuration.TARGET, whole_file, partial=False),
        GeneratedDoc(cloudinit.README, cloudinit.render_readme),
        GeneratedDoc(modules.ARCHITECTURE, modules.render_architecture),
        GeneratedDoc(version_matrix.UPGRADES, version_matrix.render_upgrades),
        GeneratedDoc(component_reference.TARGET, component_reference.render, partial=False),
    ]
    # docs/verify.md: the reviewer's read-only IAM policy (live-verify branch).
    from mlplat.verify import docs as verify_docs

    docs.append(GeneratedDoc(verify_docs.RUNBOOK, verify_docs.render_runbook))
    for role_dir in roles.role_dirs(roles_dir or roles.ROLES_DIR):
        docs.append(GeneratedDoc(role_dir / "README.md",
                                 functools.partial(roles.render_readme, role_dir)))
    return docs


def generate(*, check: bool, roles_dir: Path | None = None) -> Outcome:
    """Bring every generated document up to date (or, with `check`, only report)."""
    outcome = Outcome()
    for doc in documents(roles_dir):
        try:
            if doc.path.is_file():
                current = doc.path.read_text(encoding="utf-8")
            elif doc.partial:
                raise GeneratedDocError(f"{doc.path}: missing")
            else:
                current = ""
            wanted = doc.render(current)
        except GeneratedDocError as exc:
            outcome.errors.append(str(exc))
            continue
        if wanted != current:
            outcome.stale.append(doc.path)
            if not check:
                write_atomically(doc.path, wanted)
    return outcome
