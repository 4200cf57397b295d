"""Stack files that cannot be misread (issue "Stack files that cannot be misread", item 1):
`mlplat validate` and `mlplat plan` refuse input that YAML would read differently from
what a reviewer sees, or that would cost unbounded time or memory, naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_plan_cli import assert_bad_input, run

from mlplat.core.paths import STACKS_DIR

pytestmark = pytest.mark.cli

DEMO = (STACKS_DIR / "Pulumi.demo.yaml").read_text()


def write_stack(directory: Path, text: str, name: str = "demo") -> Path:
    path = directory / f"Pulumi.{name}.yaml"
    path.write_text(text)
    return path


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_duplicate_key_names_both_lines(tmp_path: Path, command: str):
    text = DEMO + "  mlplat:cluster:\n    version: '1.31'\n"
    write_stack(tmp_path, text)
    first, second = line_of(text, "mlplat:cluster:"), len(text.splitlines()) - 1
    result = run(command, "demo", "--stack-dir", str(tmp_path))
    assert_bad_input(result, "Pulumi.demo.yaml",
                     f"key 'mlplat:cluster' appears twice: lines {first} and {second}")


def test_duplicate_nested_key_is_refused_too(tmp_path: Path):
    text = DEMO.replace("  mlplat:network:\n", "  mlplat:network:\n    natMode: single\n", 1)
    assert text != DEMO and "natMode" in DEMO.split("mlplat:network:")[1].split("mlplat:")[0]
    write_stack(tmp_path, text)
    assert_bad_input(run("validate", "demo", "--stack-dir", str(tmp_path)),
                     "key 'natMode' appears twice")


def test_billion_laughs_is_refused(tmp_path: Path):
    """The classic shape: ten levels of ten aliases, 10**10 values once expanded. A few
    hundred bytes of YAML; every consumer walking it would never finish."""
    levels = ["  lol0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        levels.append(f"  lol{level}: &a{level} [{refs}]")
    write_stack(tmp_path, DEMO + "x-laughs:\n" + "\n".join(levels) + "\n")
    result = run("validate", "demo", "--stack-dir", str(tmp_path))
    assert_bad_input(result, "Pulumi.demo.yaml", "aliases expand to more than 100000 values")


def test_recursive_alias_is_refused(tmp_path: Path):
    write_stack(tmp_path, DEMO + "  aws:loop: &loop\n    - *loop\n")
    assert_bad_input(run("validate", "demo", "--stack-dir", str(tmp_path)),
                     "Pulumi.demo.yaml", "recursive alias")


def test_deep_nesting_is_refused_with_its_line(tmp_path: Path):
    text = DEMO + "  aws:deep: " + "[" * 200 + "]" * 200 + "\n"
    write_stack(tmp_path, text)
    assert_bad_input(run("validate", "demo", "--stack-dir", str(tmp_path)),
                     "Pulumi.demo.yaml", f"line {line_of(text, 'aws:deep')}",
                     "nested more than 64 levels deep")


def test_oversized_file_is_refused(tmp_path: Path):
    write_stack(tmp_path, DEMO + "# " + "x" * (1024 * 1024) + "\n")
    assert_bad_input(run("validate", "demo", "--stack-dir", str(tmp_path)),
                     "Pulumi.demo.yaml", "larger than 1 MiB")


def test_misspelt_namespace_suggests_the_known_one(tmp_path: Path):
    text = DEMO.replace("  mlplat:gpuPools:", "  mlpalt:gpuPools:", 1)
    write_stack(tmp_path, text)
    result = run("validate", "demo", "--stack-dir", str(tmp_path))
    assert_bad_input(result, "Pulumi.demo.yaml", f"line {line_of(text, 'mlpalt:gpuPools')}",
                     "unknown namespace 'mlpalt:'", "did you mean 'mlplat:gpuPools'?")


def test_every_unknown_namespace_is_reported_and_printed_literally(tmp_path: Path):
    write_stack(tmp_path, DEMO + "  '[red]x:team': a\n  kubernetes:context: b\n")
    result = run("validate", "demo", "--stack-dir", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert "config.[red]x:team: unknown namespace '[red]x:'" in lines[0]
    assert "config.kubernetes:context: unknown namespace 'kubernetes:'" in lines[1]
    assert "(known: mlplat:, aws:, pulumi:)" in lines[1]
