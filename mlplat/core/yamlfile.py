"""Reading YAML that people write (stack files, cloud-init inputs) safely, with locations.

Only plain data is built (a safe loader), and input that could hurt the reader is refused
with a message naming the file and line instead of being half-read:
- a key written twice in one mapping (YAML keeps the last silently; a reviewer sees the
  first), naming both lines;
- files above a size bound, nesting deeper than a bound (parsers and every consumer recurse),
  aliases that expand to more values than a bound ("billion laughs") or refer to themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml

#: A location inside a document: mapping keys and sequence indexes from the root.
YamlPath = tuple[str | int, ...]

# libyaml's parser when PyYAML was built with it: several times faster on many files.
if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_KEY: Final = "<<"
_CORE_TAG: Final = "tag:yaml.org,2002:"
# Types a reader turns into something else than the file shows: `!!binary` into bytes
# (which pydantic then accepts as the text they decode to), `!!set` into an unordered
# set, `!!omap` / `!!pairs` into lists of tuples.
_NOT_PLAIN_DATA: Final = frozenset(f"{_CORE_TAG}{name}" for name in ("binary", "set", "omap",
                                                                      "pairs"))


@dataclass(frozen=True)
class YamlLimits:
    """Bounds on what a YAML file may cost to read. Hand-written config stays far below."""

    max_bytes: int = 1024 * 1024
    max_depth: int = 64
    #: Values after alias expansion: what every consumer walking the data would visit.
    max_values: int = 100_000


DEFAULT_LIMITS: Final = YamlLimits()


class YamlError(ValueError):
    """The file is not YAML we accept; the message names the file and, if known, the line."""


@dataclass(frozen=True)
class YamlDocument:
    """Parsed data plus the 1-based line of each mapping key and sequence item."""

    data: Any
    lines: Mapping[YamlPath, int] = field(default_factory=dict)

    def line_of(self, path: YamlPath) -> int | None:
        return self.lines.get(path)


def read_yaml_file(path: Path, source: str, limits: YamlLimits = DEFAULT_LIMITS) -> YamlDocument:
    """Read and parse `path`; `source` names it in messages.

    Raises YamlError for a file we do not accept, OSError / UnicodeDecodeError when it
    cannot be read (callers word those: "no such stack file", "cannot read inputs")."""
    with path.open("rb") as handle:
        raw = handle.read(limits.max_bytes + 1)
    if len(raw) > limits.max_bytes:
        raise YamlError(f"{source}: larger than {_size(limits.max_bytes)}; "
                        "a configuration file is never this big")
    return parse_yaml(raw.decode("utf-8"), source, limits)


def parse_yaml(text: str, source: str, limits: YamlLimits = DEFAULT_LIMITS) -> YamlDocument:
    """Parse one YAML document from `text` within `limits`."""
    if len(text.encode("utf-8")) > limits.max_bytes:
        raise YamlError(f"{source}: larger than {_size(limits.max_bytes)}; "
                        "a configuration file is never this big")
    try:
        _check_nesting(text, source, limits.max_depth)
        loader = _Loader(text, source)
        try:
            node = loader.get_single_node()
            if node is None:
                return YamlDocument(None)
            lines: dict[YamlPath, int] = {}
            _Expansion(source, limits, lines).size(node, (), 0)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise YamlError(f"{source}: not valid YAML{_where(exc)}: {_problem(exc)}") from None
    return YamlDocument(data, lines)


def _size(count: int) -> str:
    return f"{count // (1024 * 1024)} MiB" if count >= 1024 * 1024 else f"{count} bytes"


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""


def _problem(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or str(exc).splitlines()[0])


def _line(mark: Any) -> str:
    """1-based line of a mark (libyaml and pure-Python marks differ in type only)."""
    return str(mark.line + 1) if mark is not None else "?"


def _check_nesting(text: str, source: str, max_depth: int) -> None:
    """Refuse deep nesting from the event stream, before anything recursive runs on it
    (the node composer recurses once per level, in C with libyaml)."""
    depth = 0
    for event in _events(text):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                raise YamlError(f"{source}: line {_line(event.start_mark)}: nested more "
                                f"than {max_depth} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _events(text: str) -> Iterator[yaml.Event]:
    loader = _BaseLoader(text)
    try:
        while loader.check_event():
            yield loader.get_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
    finally:
        loader.dispose()


class _Expansion:
    """Walks the node graph once: counts values as consumers would see them (aliases
    expanded), refuses self-referring aliases, and records the line of each key."""

    def __init__(self, source: str, limits: YamlLimits, lines: dict[YamlPath, int]) -> None:
        self.source = source
        self.limits = limits
        self.lines = lines
        # id(node) -> (values at and below it, height), aliases expanded
        self.sizes: dict[int, tuple[int, int]] = {}
        self.open: set[int] = set()  # nodes being walked: meeting one again is a cycle

    def size(self, node: yaml.Node, path: YamlPath, depth: int) -> int:
        """Values at and below `node` (aliases expanded); `depth` is its expanded depth."""
        key = id(node)
        if key in self.open:
            raise YamlError(f"{self.source}: line {node.start_mark.line + 1}: an alias refers "
                            "to the value that contains it (a recursive alias)")
        if key not in self.sizes:
            self.open.add(key)
            self.sizes[key] = self._walk(node, path, depth)
            self.open.discard(key)
        total, height = self.sizes[key]
        # A node met again through an alias sits at another depth: check it there too.
        if depth + height > self.limits.max_depth:
            raise YamlError(f"{self.source}: line {node.start_mark.line + 1}: nested more than "
                            f"{self.limits.max_depth} levels deep (aliases expanded)")
        return total

    def _walk(self, node: yaml.Node, path: YamlPath, depth: int) -> tuple[int, int]:
        total, height = 1, 0
        children: list[tuple[yaml.Node, YamlPath]] = []
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = (*path, key_node.value) if isinstance(key_node, yaml.ScalarNode) else path
                self.lines.setdefault(child, key_node.start_mark.line + 1)
                children += [(key_node, child), (value_node, child)]
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.lines.setdefault((*path, index), item.start_mark.line + 1)
                children.append((item, (*path, index)))
        for child_node, child_path in children:
            total += self.size(child_node, child_path, depth + 1)
            height = max(height, 1 + self.sizes[id(child_node)][1])
        if total > self.limits.max_values:
            raise YamlError(f"{self.source}: line {node.start_mark.line + 1}: aliases expand "
                            f"to more than {self.limits.max_values} values")
        return total, height


class _Loader(_BaseLoader):
    """A safe loader that refuses a key written twice in one mapping."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == _MERGE_KEY:
                continue
            line = key_node.start_mark.line + 1
            first = seen.get((key_node.tag, key_node.value))
            if first is not None:
                raise YamlError(f"{self.source}: key {key_node.value!r} appears twice: "
                                f"lines {first} and {line}")
            seen[(key_node.tag, key_node.value)] = line
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Build one value; a value PyYAML cannot build is refused with its line.

        PyYAML's constructors raise plain Python errors for some input, not YAMLError: a
        plain `2026-13-45` (a timestamp with month 13), `!!int abc`, `!!binary` that is not
        base64, `!!timestamp soon`. Any of them is a value we cannot read."""
        if node.tag in _NOT_PLAIN_DATA:
            raise YamlError(f"{self.source}: line {_line(node.start_mark)}: "
                            f"{node.tag.replace(_CORE_TAG, '!!')} values are not accepted; "
                            "write plain text, numbers, booleans, lists and mappings")
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, YamlError):
            raise
        except Exception:  # whatever a constructor raises on this input
            # Python's own message ("'NoneType' object has no attribute ...") would not
            # help the author; the value, its line and its type do.
            tag = str(node.tag).replace(_CORE_TAG, "!!")
            raise YamlError(f"{self.source}: line {_line(node.start_mark)}: "
                            f"{str(node.value)[:40]!r} is not a valid {tag} value") from None
