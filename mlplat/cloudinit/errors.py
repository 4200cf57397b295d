"""Turn pydantic validation errors into one line per field, naming the field."""

from __future__ import annotations

from pydantic import ValidationError


def field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(inputs)"


def describe(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (not an input of this template; check the spelling)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"{field_path(err['loc'])}: {msg}")
    return lines
