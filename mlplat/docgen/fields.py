"""What the model-driven tables need to know about a pydantic field, spelled by each table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined


def default_cell(field: FieldInfo, spell: Callable[[Any], str]) -> str:
    """The Default column: required, none, a nested model (documented below it), or the
    value as `spell` writes it (each document has its own way of writing values)."""
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return ""
    else:
        value = field.default
    return "(see below)" if isinstance(value, BaseModel) else spell(value)
