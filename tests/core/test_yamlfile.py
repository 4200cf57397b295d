"""mlplat.core.yamlfile: bounded, duplicate-free YAML with the line of every key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplat.core.yamlfile import YamlError, YamlLimits, parse_yaml, read_yaml_file

pytestmark = pytest.mark.unit


def test_lines_of_keys_and_items():
    document = parse_yaml("config:\n  a: 1\n  b:\n    - x\n    - {c: 2}\n", "f.yaml")
    assert document.data == {"config": {"a": 1, "b": ["x", {"c": 2}]}}
    assert document.line_of(("config", "a")) == 2
    assert document.line_of(("config", "b", 1, "c")) == 5


def test_merge_keys_may_override_what_they_merge():
    document = parse_yaml("base: &b {a: 1, b: 2}\nuse:\n  <<: *b\n  a: 3\n", "f.yaml")
    assert document.data["use"] == {"a": 3, "b": 2}


@pytest.mark.parametrize(("text", "message"), [
    ("{a: 1, a: 2}\n", "f.yaml: key 'a' appears twice: lines 1 and 1"),
    ("a: &x [*x]\n", "f.yaml: line 1: an alias refers to the value that contains it"),
    ("a: " + "[" * 11 + "]" * 11 + "\n", "f.yaml: line 1: nested more than 10 levels deep"),
    ("a: &x [1, 2, 3, 4, 5]\nb: [*x, *x, *x, *x, *x]\n", "aliases expand to more than 30"),
    ("a: [1\n", "f.yaml: not valid YAML (line 2, column 1)"),
])
def test_refused_input(text: str, message: str):
    with pytest.raises(YamlError, match=None) as info:
        parse_yaml(text, "f.yaml", YamlLimits(max_depth=10, max_values=30))
    assert message in str(info.value)


def test_aliases_nested_through_each_other_count_against_the_depth_bound():
    text = "a: &a [[[1]]]\nb: &b [[[*a]]]\nc: [[[*b]]]\n"
    assert parse_yaml(text, "f.yaml", YamlLimits(max_depth=10)).data["c"][0][0][0][0]
    with pytest.raises(YamlError, match="aliases expanded"):
        parse_yaml(text, "f.yaml", YamlLimits(max_depth=9))


def test_size_bound_is_checked_before_reading_the_whole_file(tmp_path: Path):
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 100 + "\n")
    with pytest.raises(YamlError, match=r"big\.yaml: larger than 50 bytes"):
        read_yaml_file(path, "big.yaml", YamlLimits(max_bytes=50))
    assert read_yaml_file(path, "big.yaml").data == {"a": "x" * 100}
