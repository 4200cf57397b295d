"""Turn pydantic validation errors into one line per field, naming the field."""

from __future__ import annotations

import re

from pydantic import ValidationError

# Location parts pydantic adds for union members and dict keys; they name
# validator internals, not fields a user wrote.
_INTERNAL_LOC = re.compile(
    r"^(\[key\]|function-\w+\[.*\]|constrained-str|str|int|bool|float|none|nullable)$"
)


def field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _INTERNAL_LOC.match(part):
            path += f".{part}" if path else part
    return path or "(inputs)"


def describe(exc: ValidationError) -> list[str]:
    """One ``"<field path>: <message>"`` line per problem, in input order."""
    by_path: dict[str, list[tuple[str, str]]] = {}
    for err in exc.errors(include_url=False):
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (not an input of this template; check the spelling)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        by_path.setdefault(field_path(err["loc"]), []).append((err["type"], msg))
    lines = []
    for path, errs in by_path.items():
        # A value failing every member of "str | int | bool" yields one error per
        # member; our own check's message is the one that explains the problem.
        ours = [m for t, m in errs if t == "value_error"]
        for msg in dict.fromkeys(ours or [m for _, m in errs]):
            lines.append(f"{path}: {msg}")
    return lines
