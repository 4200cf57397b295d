"""User-facing messages for invalid input: one line per problem, in the user's words.

    FILE: field.path: message (got VALUE)

Every problem pydantic found is reported (not the first one), under the name the user
wrote (aliases, list indexes in brackets), without Python or pydantic vocabulary. Unknown
keys get the closest known field of the model at that depth; rules that span fields name
the fields they are about instead of the model.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # pydantic is imported where an error is formatted: reading a stack file
    # or a cached plan needs `one_line`, not pydantic (ADR 0030)
    from pydantic import BaseModel, ValidationError

#: A location as pydantic reports it, validator internals already removed.
Location = tuple[int | str, ...]

# Location parts pydantic adds for union members, dict keys and wrapping validators:
# they name validator internals, not anything the user wrote.
_INTERNAL_LOC: Final = re.compile(
    r"^(\[key\]|function-\w+(\[.*\])?|constrained-str|str|int|bool|float|none|nullable|"
    r"list\[.*\]|dict\[.*\]|tagged-union\[.*\]|lax-or-strict|json-or-python\[.*\])$"
)
_MAX_SHOWN: Final = 60
# Messages pydantic words with a class name or Python type names; said plainly instead.
_PLAIN_MESSAGES: Final = {
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "missing": "required field is missing",
    "extra_forbidden": "unknown key",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_parsing": "must be a whole number",
    "float_parsing": "must be a number",
    "int_from_float": "must be a whole number",
}
# Problems where echoing the value adds nothing (the key itself is the problem) or
# could leak it (our own checks refuse secrets, and say what they need).
_VALUE_NOT_SHOWN: Final = frozenset({"missing", "extra_forbidden", "value_error",
                                     "assertion_error"})


def dotted_path(loc: Location) -> str:
    """`('admin', 'keys', 0)` -> `admin.keys[0]`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def format_validation_errors(
    source: str,
    error: ValidationError,
    model: type[BaseModel] | None = None,
    *,
    field_path: Callable[[Location], str] = dotted_path,
) -> list[str]:
    """One `SOURCE: field.path: message (got VALUE)` line per problem, in input order.

    `model` (the model validated) lets unknown keys suggest the closest known field and
    whole-model rules name the fields they are about. `field_path` spells a location as
    the user wrote it (e.g. `mlplat:network.natMode` for stack files)."""
    by_location: dict[Location, list[tuple[str, str]]] = {}
    for item in error.errors(include_url=False):
        raw = tuple(item["loc"])
        loc = tuple(part for part in raw
                    if isinstance(part, int) or not _INTERNAL_LOC.match(part))
        if item["type"] == "invalid_key" or (item["type"] == "string_type" and "[key]" in raw):
            # A mapping key that is not a string (`1:`, `null:`, `2026-01-01:`): pydantic puts
            # the key in the location, where it reads like a list index or a field name.
            loc = loc[:-1]
            key = _shown(item["input"] if item["type"] == "invalid_key" else raw[-2])
            message = f"key {key} must be a string; quote it"
            by_location.setdefault(loc, []).append(("key", message))
            continue
        by_location.setdefault(loc, []).append((item["type"], _message(item, loc, model,
                                                                       field_path)))
    lines = []
    for loc, problems in by_location.items():
        # A value failing every member of `str | int` yields one error per member; our own
        # check's message, when there is one, is the one that explains the problem.
        ours = [message for kind, message in problems if kind in ("value_error",
                                                                  "assertion_error")]
        for message in dict.fromkeys(ours or [message for _, message in problems]):
            where, text = _where(loc, message, model, field_path)
            lines.append(one_line(f"{source}: {where}{text}"))
    return lines


def broken_rules(title: str, messages: Sequence[str]) -> ValidationError:
    """Several broken rules of one model as one error, each its own problem.

    A validator can raise only one exception; raised from a model validator, this one is
    unpacked by pydantic into one error per message, so every rule the input breaks is
    reported at once instead of the first."""
    from pydantic import ValidationError
    from pydantic_core import InitErrorDetails, PydanticCustomError

    return ValidationError.from_exception_data(title, [
        InitErrorDetails(type=PydanticCustomError("value_error", message), loc=(), input=None)
        for message in messages
    ])


def one_line(text: str) -> str:
    """`text` with every character that would end, hide or garble a terminal line escaped
    (`\n` as `\\n`, `\u2028` as `\\u2028`): a key or value from a file may hold them,
    and one problem must stay one line."""
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
                   for char in text)


def _message(item: Any, loc: Location, model: type[BaseModel] | None,
             field_path: Callable[[Location], str]) -> str:
    kind: str = item["type"]
    value = item.get("input")
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"must be a string, got {value} (a number): quote it, \"{value}\""
    message = _PLAIN_MESSAGES.get(kind) or _plain(str(item["msg"]))
    if kind == "extra_forbidden" and loc and isinstance(loc[-1], str):
        known = _known_keys(model, loc[:-1])
        close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
        if close:
            return f"{message}; did you mean {field_path((*loc[:-1], close[0]))}?"
        return message
    if kind in _VALUE_NOT_SHOWN or isinstance(value, dict) or "input" not in item:
        return message
    shown = _shown(value)
    return message if shown in message else f"{message} (got {shown})"


def _plain(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return re.sub(r"^Input should be\b", "must be", message)


def _shown(value: Any) -> str:
    """A value as the user would have written it in YAML, cut short."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, list):
        text = "[" + ", ".join(_shown(item) for item in value) + "]"
    else:
        text = str(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _where(loc: Location, message: str, model: type[BaseModel] | None,
           field_path: Callable[[Location], str]) -> tuple[str, str]:
    """The `field.path: ` prefix, and the message without a field name it starts with.

    Fields are looked for in the statement of the problem, before any `;`: the advice
    after it is prose, where a field named like a word ("pods") is just the word.

    A rule on a whole model names the fields its message mentions (`ansible_pull, callback:
    ...`; `network.natMode` as written), not the model."""
    target = _model_at(model, loc)
    if target is not None:
        names = "|".join(re.escape(name) for name in _field_names(target))
        mentioned = list(dict.fromkeys(
            match.group(1) for match in re.finditer(
                # A quoted word is a value ('training' the pool), not the field.
                rf"(?<![\w.'])((?:{names})(?:\.\w+|\[\d+\])*)(?![\w\['])",
                message.partition(";")[0])
        )) if names else []
        if mentioned:
            # "gpuPools: ..." or "gpuPools/cpuPools: ..." once the path says it
            message = re.sub(rf"^(?:{'|'.join(map(re.escape, mentioned))})"
                             rf"(?:/(?:{'|'.join(map(re.escape, mentioned))}))*: ", "", message)
            paths = [field_path((*loc, *_parts(name))) for name in mentioned]
            return ", ".join(paths) + ": ", message
    if not loc:
        return "", message
    return f"{field_path(loc)}: ", message


def _parts(name: str) -> Location:
    """`instanceTypes[1]` -> `('instanceTypes', 1)`; `cluster.endpoint` -> two parts."""
    return tuple(int(part) if part.isdigit() else part
                 for part in re.findall(r"[^.\[\]]+", name))


def _field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _known_keys(model: type[BaseModel] | None, loc: Location) -> list[str]:
    target = _model_at(model, loc)
    return _field_names(target) if target is not None else []


def _model_at(model: type[BaseModel] | None, loc: Location) -> type[BaseModel] | None:
    """The model class validating the value at `loc`, if that value is a model."""
    from pydantic import BaseModel

    current: Any = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            current = _item_model(current)
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        fields = {info.alias or name: info for name, info in current.model_fields.items()}
        info = fields.get(part) or current.model_fields.get(part)
        current = _unwrap(info.annotation) if info is not None else None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """The model or container type inside `Optional[...]` / `Annotated[...]`."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(members[0]) if len(members) == 1 else None
    return annotation


def _item_model(container: Any) -> Any:
    args: Sequence[Any] = typing.get_args(container)
    if typing.get_origin(container) in (list, tuple, set, frozenset) and args:
        return _unwrap(args[0])
    return None
