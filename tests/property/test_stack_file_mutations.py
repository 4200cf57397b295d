"""Property: however a shipped stack file is broken, `mlplat validate` either accepts it
with exactly what the file says, or refuses it with one line per problem naming the file.

Every shipped `stacks/Pulumi.*.yaml` is mutated at random (types, keys, values, YAML
structure) and validated in-process through the CLI. Allowed outcomes:

- exit 2, every stderr line `error: <file>: ...`: refused; or
- exit 0, and the parsed config carries the value a plain YAML reader sees at every path
  of the file (never a silently changed plan). Mutations that can never be valid (an added
  or misspelt key, a key written twice) must be refused.

Lossless coercions (accepted as "the same value"): a number for a number of equal value
(`5.0` for `5`), and a string that spells the number the field holds (`"5"` for `5`).
Nothing else: a string is never another string, a bool never anything but a bool.

The example budget is fixed and derandomized so CI is reproducible; time in docs/testing.md.
"""

from __future__ import annotations

import math
import os
import re
import signal
import tempfile
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from mlplat.cli import cli
from mlplat.config import EnvironmentConfig
from mlplat.core.paths import STACKS_DIR
from mlplat.plan import plan_stack, validate_stack

pytestmark = pytest.mark.unit

SHIPPED = {path.name[len("Pulumi."):-len(".yaml")]: path.read_text()
           for path in sorted(STACKS_DIR.glob("Pulumi.*.yaml"))}
#: Top-level keys of a Pulumi stack file (Pulumi's stack schema); anything else is a typo.
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
#: Namespaces whose keys mlplat leaves to their providers: adding one is not a mistake.
PROVIDER_NAMESPACES = ("aws", "pulumi")
#: The YAML reader the oracle compares with: the same parser mlplat uses (libyaml when
#: PyYAML has it; libyaml and the pure-Python parser disagree on a few tab placements).
READER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Seconds one validation may take before the example counts as a hang.
HANG_SECONDS = 30

#: Fixed and derandomized for CI; `MLPLAT_PROPERTY_EXAMPLES=5000` (random each run) digs
#: deeper locally.
_DEEP = int(os.environ.get("MLPLAT_PROPERTY_EXAMPLES", "0"))
SETTINGS = settings(max_examples=_DEEP or 150, derandomize=not _DEEP, deadline=None,
                    database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _field_names(model: type[BaseModel]) -> Iterator[str]:
    """Every key any config model accepts, at any depth."""
    for name, info in model.model_fields.items():
        yield info.alias or name
        pending = [info.annotation]
        while pending:
            annotation = pending.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                yield from _field_names(annotation)
            pending.extend(typing.get_args(annotation))


KNOWN_KEYS = frozenset(_field_names(EnvironmentConfig))


# ------------------------------------------------------------------ mutations


@dataclass(frozen=True)
class Mutation:
    kind: str
    text: str
    must_refuse: bool
    detail: str


Path_ = tuple[str | int, ...]


def _paths(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*path, index))


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def _type_at(path: Path_) -> Any:
    """The annotation validating the value at `path` (from the document root), or None."""
    if len(path) < 2 or path[0] != "config":
        return None
    namespace, _, name = str(path[1]).partition(":")
    if namespace != "mlplat":
        return None
    annotation: Any = EnvironmentConfig
    for part in (name, *path[2:]):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType) and members:
            annotation = members[0]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = {info.alias or key: info.annotation
                      for key, info in annotation.model_fields.items()}
            annotation = fields.get(str(part))
        elif typing.get_origin(annotation) in (dict, list):
            annotation = typing.get_args(annotation)[-1]
        else:
            return None
    return annotation


def _in_free_mapping(path: Path_) -> bool:
    """Whether the key at `path` is the user's to choose: a key of a mapping field (tags,
    buckets, service accounts) or of a provider namespace's value."""
    if len(path) >= 2 and path[0] == "config" and path[1:2] != ("aws:region",) and str(
            path[1]).partition(":")[0] in PROVIDER_NAMESPACES:
        return True
    parent = _type_at(path[:-1])
    members = [a for a in typing.get_args(parent) if a is not type(None)]
    if typing.get_origin(parent) in (typing.Union, types.UnionType) and members:
        parent = members[0]
    return typing.get_origin(parent) is dict


SCALARS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 2**31, 2**63, 2**64, -(2**63) - 1, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.sampled_from(["", "\n", "a\nb", "vision\n", " vision", "ü", "日本", "\u2028", "x" * 300,
                     "1.33", "5", "0x10", "yes", "null", "~", "- x", "{a: 1}", "*a", "&a"]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3),
                   st.dictionaries(st.text(max_size=8), SCALARS, max_size=2))
NEW_KEYS = st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,12}", fullmatch=True),
                     st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=10))


def _typo(draw: st.DrawFn, word: str) -> str:
    index = draw(st.integers(0, max(len(word) - 1, 0)))
    kind = draw(st.sampled_from(["drop", "swap", "double", "replace", "case"]))
    if kind == "drop":
        return word[:index] + word[index + 1:]
    if kind == "swap" and index + 1 < len(word):
        return word[:index] + word[index + 1] + word[index] + word[index + 2:]
    if kind == "double":
        return word[:index] + word[index] + word[index:]
    if kind == "replace":
        return word[:index] + draw(st.sampled_from("aeioulnrstxz-_:.")) + word[index + 1:]
    return word[:index] + word[index:index + 1].swapcase() + word[index + 1:]


def _dump(data: Any, draw: st.DrawFn) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=draw(st.booleans()), width=4096)


@st.composite
def data_mutations(draw: st.DrawFn, text: str) -> Mutation:
    """Mutations of the parsed document, written back as YAML."""
    data = yaml.safe_load(text)
    nodes = list(_paths(data))
    kind = draw(st.sampled_from(["retype", "value", "delete", "add", "typo", "wrap",
                                 "mapping-to-scalar"]))
    leaves = [(p, v) for p, v in nodes if p and not isinstance(v, dict | list)]
    mappings = [(p, v) for p, v in nodes if isinstance(v, dict)]
    keyed = [(p, v) for p, v in nodes if p and isinstance(p[-1], str)]
    must_refuse = False
    if kind in ("retype", "value", "wrap"):
        path, old = draw(st.sampled_from(leaves))
        if kind == "wrap":
            new: Any = [old]
        elif kind == "retype":
            new = draw(VALUES.filter(lambda v: type(v) is not type(old)))
        else:
            new = draw(SCALARS)
        _get(data, path[:-1])[path[-1]] = new
        detail = f"{'.'.join(map(str, path))} = {new!r}"
    elif kind == "mapping-to-scalar":
        path, _ = draw(st.sampled_from([(p, v) for p, v in mappings if p]))
        new = draw(SCALARS)
        _get(data, path[:-1])[path[-1]] = new
        detail = f"{'.'.join(map(str, path))} = {new!r}"
    elif kind == "delete":
        path, _ = draw(st.sampled_from(keyed))
        del _get(data, path[:-1])[path[-1]]
        detail = f"del {'.'.join(map(str, path))}"
    elif kind == "add":
        path, mapping = draw(st.sampled_from(mappings))
        key = draw(NEW_KEYS)
        if path == ("config",):
            namespace = draw(st.sampled_from(["mlplat", "mlpalt", "aws", "x"]))
            key = f"{namespace}:{key}"
            assume(namespace not in PROVIDER_NAMESPACES)
        assume(key not in mapping and key not in KNOWN_KEYS and key not in STACK_FILE_KEYS)
        mapping[key] = draw(VALUES)
        must_refuse = not _in_free_mapping((*path, key))
        detail = f"add {'.'.join(map(str, (*path, key)))}"
    else:  # typo
        path, _ = draw(st.sampled_from(keyed))
        old_key = str(path[-1])
        new_key = _typo(draw, old_key)
        parent = _get(data, path[:-1])
        namespaced = new_key.partition(":")
        assume(new_key != old_key and new_key not in parent and new_key not in KNOWN_KEYS)
        assume(new_key not in STACK_FILE_KEYS)
        parent_items = list(parent.items())
        parent.clear()
        parent.update((new_key if k == old_key else k, v) for k, v in parent_items)
        # Tag keys are the user's; `aws:regoin` is some provider's setting (aws:region is then
        # missing, so it is refused anyway, but not as a misspelt key).
        must_refuse = not _in_free_mapping(path) or (
            path[:-1] == ("config",) and namespaced[0] not in PROVIDER_NAMESPACES)
        detail = f"rename {'.'.join(map(str, path))} -> {new_key!r}"
    return Mutation(kind, _dump(data, draw), must_refuse, detail)


_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<dash>- )?(?P<key>[^\s#-][^#]*?):(?P<rest> .*)?$")
#: Keys YAML reads as something other than a string.
NOT_STRING_KEYS = ("1", "0x1", "1.5", "null", "~", "true", "yes", "2026-01-01", "? [a]",
                   "!!binary aGk=")
#: Plain scalars YAML reads as something other than a string, or not at all.
TOKENS = st.sampled_from([
    "2026-01-01", "2026-13-45", "2026-02-30 25:61:00", "12:30:00", "190:20:30", "0x1F",
    "0o17", "017", "0b101", "1_000", "+5", "-0", ".inf", "-.inf", ".nan", "~", "yes", "off",
    "Y", "=", "!!int abc", "!!float x", "!!bool maybe", "!!timestamp soon", "!!binary ***",
    "!!set {a, b}", "!!omap [a: 1]", "!!pairs [a: 1, a: 2]", "!!python/object:os.system x",
    "!!str 5", "!!null x", "!custom x", "*undefined", "&anchor", "{", "[", "'open", "|",
    ">-", "? x", "@x", "`x", "%x", "{a: 1, a: 2}", "[1, [2, [3]]]", "!!map []", "!!seq {}",
    "<<: x", "{<<: [1]}", "!!merge x", "!!value x", "!!yaml x",
])


@st.composite
def text_mutations(draw: st.DrawFn, text: str) -> Mutation:
    """Mutations of the text itself: YAML structure a data-level change cannot express."""
    lines = text.splitlines()
    keyed = [(i, m) for i, line in enumerate(lines) if (m := _KEY_LINE.match(line))]
    inline = [(i, m) for i, m in keyed if m["rest"] and m["rest"].strip()
              and not m["rest"].lstrip().startswith("#")]
    kind = draw(st.sampled_from(["duplicate-key", "alias", "merge", "truncate", "tab", "token",
                                 "key-token", "encoding"]))
    must_refuse = False
    if kind == "duplicate-key":
        index, match = draw(st.sampled_from(keyed))
        indent = match["indent"] + ("  " if match["dash"] else "")
        value = match["rest"] if match["rest"] and match["rest"].strip() else " null"
        copy = f"{indent}{match['key']}:{value}"
        # Inline values repeat the line below it; a block value goes above (its block follows).
        at = index + 1 if match["dash"] or (match["rest"] and match["rest"].strip()) else index
        lines.insert(at, copy)
        must_refuse = True
        detail = f"duplicate {match['key']!r} of line {index + 1}"
    elif kind == "alias":
        first, anchored = draw(st.sampled_from(keyed))
        later = [(i, m) for i, m in inline if i > first]
        assume(later)
        second, aliased = draw(st.sampled_from(later))
        rest = anchored["rest"] or ""
        lines[first] = f"{anchored['indent']}{anchored['dash'] or ''}{anchored['key']}: &a1{rest}"
        lines[second] = f"{aliased['indent']}{aliased['dash'] or ''}{aliased['key']}: *a1"
        detail = f"line {second + 1} aliases line {first + 1}"
    elif kind == "merge":
        blocks = [(i, m) for i, m in keyed if not (m["rest"] or "").strip()]
        first, anchored = draw(st.sampled_from(blocks))
        later = [(i, m) for i, m in keyed if i > first and not m["dash"]]
        assume(later)
        second, target = draw(st.sampled_from(later))
        lines[first] = f"{anchored['indent']}{anchored['dash'] or ''}{anchored['key']}: &m1"
        lines.insert(second, f"{target['indent']}<<: *m1")
        detail = f"line {second + 1} merges the mapping of line {first + 1}"
    elif kind == "key-token":
        index, match = draw(st.sampled_from(keyed))
        key = draw(st.sampled_from([*NOT_STRING_KEYS, "'1'", "<<", "\"a\\nb\"", "''", "' '",
                                    "-"]))
        lines[index] = f"{match['indent']}{match['dash'] or ''}{key}:{match['rest'] or ''}"
        # Every key of a stack file is a string; odd strings may name a tag.
        must_refuse = key in NOT_STRING_KEYS
        detail = f"line {index + 1}: key {match['key']!r} -> {key}"
    elif kind == "encoding":
        prefix = draw(st.sampled_from(["\ufeff", "\x00", "\x85", "\ud7ff", "\U0001f600: x\n"]))
        at = draw(st.integers(0, len(text)))
        return Mutation(kind, text[:at] + prefix + text[at:], False, f"{prefix!r} at {at}")
    elif kind == "token":
        index, match = draw(st.sampled_from(inline))
        token = draw(TOKENS)
        lines[index] = f"{match['indent']}{match['dash'] or ''}{match['key']}: {token}"
        detail = f"line {index + 1}: {match['key']}: {token}"
    elif kind == "truncate":
        cut = draw(st.integers(0, len(text)))
        return Mutation(kind, text[:cut], False, f"cut at {cut}")
    else:
        at = draw(st.integers(0, len(text)))
        return Mutation(kind, text[:at] + "\t" + text[at:], False, f"tab at {at}")
    return Mutation(kind, "\n".join(lines) + "\n", must_refuse, detail)


@st.composite
def mutated_stacks(draw: st.DrawFn, *, text_level: bool = True) -> tuple[str, Mutation]:
    stack = draw(st.sampled_from(sorted(SHIPPED)))
    text = SHIPPED[stack]
    kinds = [data_mutations(text), *([text_mutations(text)] if text_level else [])]
    return stack, draw(st.one_of(kinds))


# ------------------------------------------------------------------ the oracle


@contextmanager
def _no_hang(seconds: int) -> Iterator[None]:
    def _alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"validation took more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _validate(directory: Path, stack: str) -> Any:
    with _no_hang(HANG_SECONDS):
        return CliRunner().invoke(cli, ["validate", "--stack-dir", str(directory), stack])


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def same_value(written: Any, parsed: Any) -> bool:
    """`parsed` is what the file says (`written`), modulo the lossless coercions above."""
    if written is None or parsed is None:
        return written is parsed  # an optional layer left out (`objectStore: null`)
    if isinstance(written, bool) or isinstance(parsed, bool):
        return type(written) is type(parsed) and written == parsed
    if isinstance(written, int | float) and isinstance(parsed, int | float):
        return written == parsed or (math.isnan(written) and math.isnan(parsed))
    if isinstance(written, str) and isinstance(parsed, int | float):
        return _number(written) == parsed
    if isinstance(written, str) and isinstance(parsed, str):
        return written == parsed  # an enum member is its string value
    return False


def differences(written: Any, parsed: Any, path: str) -> Iterator[str]:
    """Every path where the parsed config does not carry what the file says."""
    if isinstance(written, dict) and set(written) == {"secure"}:
        # A Pulumi secret (`secure: <ciphertext>`): offline, its value is never read.
        if parsed != "[secret]":
            yield f"{path}: a secret in the file, {parsed!r} in the config"
        return
    if isinstance(written, dict):
        if not isinstance(parsed, dict):
            yield f"{path}: file has a mapping, config has {parsed!r}"
            return
        for key, value in written.items():
            if key not in parsed:
                yield f"{path}.{key}: in the file, not in the config"
            else:
                yield from differences(value, parsed[key], f"{path}.{key}")
    elif isinstance(written, list):
        if not isinstance(parsed, list) or len(parsed) != len(written):
            yield f"{path}: file has {written!r}, config has {parsed!r}"
            return
        for index, (item, got) in enumerate(zip(written, parsed, strict=True)):
            yield from differences(item, got, f"{path}[{index}]")
    elif not same_value(written, parsed):
        yield f"{path}: file has {written!r}, config has {parsed!r}"


def silent_changes(text: str, stack: str, directory: Path) -> list[str]:
    """Compare what a plain YAML reader sees with the config mlplat accepted."""
    environment = validate_stack(stack, directory)
    parsed = environment.model_dump(mode="python", by_alias=True)
    config = (yaml.load(text, Loader=READER) or {}).get("config") or {}
    found: list[str] = []
    for key, value in config.items():
        namespace, _, name = str(key).partition(":")
        if key == "aws:region":
            found += differences(value, parsed["region"], key)
        elif namespace == "mlplat":
            found += differences(value, parsed.get(name, _MISSING), key)
    return found


_MISSING = object()


def check_outcome(stack: str, mutation: Mutation, directory: Path) -> bool:
    """Assert the outcome is one of the allowed ones; True when the file was accepted."""
    path = directory / f"Pulumi.{stack}.yaml"
    for other, text in SHIPPED.items():  # a shared-mode stack reads its platform's file
        (directory / f"Pulumi.{other}.yaml").write_text(text, encoding="utf-8")
    path.write_text(mutation.text, encoding="utf-8")
    result = _validate(directory, stack)
    context = f"{mutation.kind}: {mutation.detail}\n--- file:\n{mutation.text[:3000]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}\n{context}") from result.exception
    output = result.stdout + result.stderr
    assert "Traceback" not in output, f"{output}\n{context}"
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {output}\n{context}"
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert lines, context
        for line in lines:
            assert line.startswith(f"error: {path}: "), f"{line!r}\n{context}"
        return False
    assert not mutation.must_refuse, f"accepted a mutation that must be refused\n{context}"
    changes = silent_changes(mutation.text, stack, directory)
    assert not changes, "silently changed:\n" + "\n".join(changes) + f"\n{context}"
    return True


@SETTINGS
@given(mutated_stacks())
def test_a_mutated_stack_file_is_accepted_as_written_or_refused_line_by_line(
        case: tuple[str, Mutation]) -> None:
    stack, mutation = case
    with tempfile.TemporaryDirectory() as scratch:
        check_outcome(stack, mutation, Path(scratch))


@settings(max_examples=max(3, _DEEP // 100), derandomize=not _DEEP, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(mutated_stacks(text_level=False))  # changes to the data, not to comments or layout
def test_an_accepted_mutation_plans_offline(case: tuple[str, Mutation]) -> None:
    """What validation accepts, the program can plan: validation is not looser than it."""
    stack, mutation = case
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        assume(check_outcome(stack, mutation, directory))
        plan = plan_stack(stack, directory)
        assert plan.managed(), mutation.detail
