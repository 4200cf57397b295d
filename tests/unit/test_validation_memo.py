"""The validation memo (ADR 0030): a run whose every input is unchanged skips validation as
well as planning; any change to anything validation reads validates again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mlplat.cli import plan as plan_cli
from mlplat.core.config_error import ConfigError
from mlplat.core.paths import STACKS_DIR
from mlplat.plan import cache as plan_cache

pytestmark = pytest.mark.unit

# A tenant on the shared platform: validating it reads its own file, the platform's
# (a stack it references) and org.yaml.
NAMES = ["nlp-dev"]


@pytest.fixture()
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLPLAT_CACHE_DIR", str(tmp_path / "cache"))
    directory = tmp_path / "stacks"
    directory.mkdir()
    for name in ("Pulumi.nlp-dev.yaml", "Pulumi.platform.yaml", "org.yaml"):
        shutil.copy(STACKS_DIR / name, directory / name)
    return directory


@pytest.fixture()
def validations(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The names each validation was asked for, in order."""
    calls: list[list[str]] = []
    real = plan_cli._validated_requests

    def counted(names: list[str], directory: Path, **kwargs: bool):  # type: ignore[no-untyped-def]
        calls.append(list(names))
        return real(names, directory, **kwargs)

    monkeypatch.setattr(plan_cli, "_validated_requests", counted)
    return calls


def dumps(stack_dir: Path, **options: bool) -> list[str]:
    return [planned.plan.dumps()
            for planned in plan_cli.planned_stacks(NAMES, stack_dir, jobs=1, **options)]


def test_an_unchanged_run_skips_validation_and_reads_the_same_plans(stack_dir, validations):
    first = dumps(stack_dir)
    assert validations == [NAMES]
    results = plan_cli.planned_stacks(NAMES, stack_dir, jobs=1)
    assert validations == [NAMES], "validated again although nothing changed"
    assert [planned.from_cache for planned in results] == [True]
    assert [planned.plan.dumps() for planned in results] == first


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}"
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("change", [
    "the stack file", "a referenced platform", "org.yaml", "a new file in the directory",
    "org.yaml removed", "pydantic version", "PyYAML version", "working directory",
    "the program",
])
def test_any_change_to_what_validation_reads_validates_again(stack_dir, validations,
                                                             monkeypatch, tmp_path, change):
    dumps(stack_dir)
    if change == "the stack file":
        replace_in(stack_dir / "Pulumi.nlp-dev.yaml", "cc-2040", "cc-2041")
    elif change == "a referenced platform":
        replace_in(stack_dir / "Pulumi.platform.yaml", "db.r7g.large", "db.r7g.xlarge")
    elif change == "org.yaml":
        (stack_dir / "org.yaml").write_text((stack_dir / "org.yaml").read_text() + "\n# x\n")
    elif change == "a new file in the directory":
        (stack_dir / "templates").mkdir()
        (stack_dir / "templates" / "notes.yaml").write_text("a: file validation might read\n")
    elif change == "org.yaml removed":
        (stack_dir / "org.yaml").unlink()
    elif change in ("pydantic version", "PyYAML version"):
        bumped = change.split()[0]
        real = plan_cache.installed_version
        monkeypatch.setattr(plan_cache, "installed_version",
                            lambda name: real(name) + ".post1" if name == bumped else real(name))
    elif change == "working directory":  # file names in messages and plans are cwd-relative
        monkeypatch.chdir(tmp_path)
    elif change == "the program":
        program = tmp_path / "program"
        shutil.copytree(STACKS_DIR, program, ignore=shutil.ignore_patterns("*.yaml"))
        monkeypatch.setattr(plan_cache, "PROGRAM_DIR", program)
        (program / "__main__.py").write_text((program / "__main__.py").read_text() + "\n")
    plan_cli.planned_stacks(NAMES, stack_dir, jobs=1)
    assert validations == [NAMES, NAMES], f"a change to {change} did not validate again"


def test_a_file_made_invalid_after_a_good_run_is_reported(stack_dir, validations):
    dumps(stack_dir)
    replace_in(stack_dir / "Pulumi.nlp-dev.yaml", "mlplat:env: dev", "mlplat:env: [dev]")
    with pytest.raises(ConfigError, match=r"Pulumi\.nlp-dev\.yaml: mlplat:env"):
        plan_cli.planned_stacks(NAMES, stack_dir, jobs=1)


def test_a_missing_plan_entry_validates_and_plans_again(stack_dir, validations):
    first = dumps(stack_dir)
    cache_dir = Path(os.environ["MLPLAT_CACHE_DIR"])
    for entry in cache_dir.glob("*.json"):
        entry.unlink()
    results = plan_cli.planned_stacks(NAMES, stack_dir, jobs=1)
    assert validations == [NAMES, NAMES]
    assert [planned.from_cache for planned in results] == [False]
    assert [planned.plan.dumps() for planned in results] == first


def test_refresh_validates_and_plans_afresh(stack_dir, validations):
    first = dumps(stack_dir)
    results = plan_cli.planned_stacks(NAMES, stack_dir, jobs=1, refresh=True)
    assert validations == [NAMES, NAMES]
    assert [planned.from_cache for planned in results] == [False]
    assert [planned.plan.dumps() for planned in results] == first


def test_templates_are_covered_when_planned_with_them(tmp_path, monkeypatch, validations):
    monkeypatch.setenv("MLPLAT_CACHE_DIR", str(tmp_path / "cache"))
    directory = tmp_path / "stacks"
    shutil.copytree(STACKS_DIR / "templates", directory / "templates")
    for name in ("Pulumi.platform.yaml", "org.yaml"):
        shutil.copy(STACKS_DIR / name, directory / name)
    names = ["platform"]
    first = plan_cli.planned_stacks(names, directory, templates=True, jobs=1)
    assert {planned.stack for planned in first} >= {"platform", "template-dedicated-team"}
    plan_cli.planned_stacks(names, directory, templates=True, jobs=1)
    assert len(validations) == 1
    template = directory / "templates" / "dedicated-team.yaml"
    template.write_text(template.read_text() + "\n# edited\n")
    plan_cli.planned_stacks(names, directory, templates=True, jobs=1)
    assert len(validations) == 2



def test_files_validation_never_reads_do_not_invalidate_the_memo(stack_dir, validations):
    """Only YAML in the stack directory and its templates/ counts: a stack directory may be
    a checkout's root, with a virtualenv and build output below it."""
    dumps(stack_dir)
    (stack_dir / "README.md").write_text("notes\n")
    (stack_dir / ".venv" / "lib").mkdir(parents=True)
    (stack_dir / ".venv" / "lib" / "big.yaml").write_text("x: 1\n")
    plan_cli.planned_stacks(NAMES, stack_dir, jobs=1)
    assert validations == [NAMES]
