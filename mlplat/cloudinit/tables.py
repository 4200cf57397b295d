"""Markdown tables of the input models, generated for cloud-init/README.md."""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from mlplat.cloudinit.models import TEMPLATE_MODELS

BEGIN = "<!-- BEGIN GENERATED INPUTS (python -m mlplat.cloudinit inputs-table) -->"
END = "<!-- END GENERATED INPUTS -->"


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _submodel(arg)
            if found:
                return found
    return None


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in typing.get_args(annotation))}]"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "(see below)"
        return f"`{value!r}`"
    if field.default is PydanticUndefined:
        return ""
    value = field.default.value if isinstance(field.default, enum.Enum) else field.default
    return f"`{value!r}`" if value is not None else "`None`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    nested = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        desc = (field.description or "").replace("|", "\\|")
        type_name = _type_name(field.annotation).replace(" | ", " \\| ")
        rows.append(f"| `{path}` | {type_name} | {_default(field)} | {desc} |")
        sub = _submodel(field.annotation)
        if sub is not None:
            nested.append((path, sub))
    for path, sub in nested:
        rows += _rows(sub, f"{path}.")
    return rows


def inputs_table() -> str:
    parts = [BEGIN]
    for template, model in sorted(TEMPLATE_MODELS.items()):
        parts += [
            "",
            f"#### `{template}` — `{model.__name__}`",
            "",
            "| Field | Type | Default | Description |",
            "|---|---|---|---|",
            *_rows(model, ""),
        ]
    parts += ["", END]
    return "\n".join(parts) + "\n"
