"""The inputs tables of cloud-init/README.md, generated from the cloud-init input models."""

from __future__ import annotations

import enum
import types
import typing
from typing import Any, Final

from pydantic import BaseModel

from mlplat.cloudinit.models import TEMPLATE_MODELS
from mlplat.core.paths import CLOUD_INIT_DIR
from mlplat.docgen.fields import default_cell
from mlplat.docgen.markdown import replace_block, table

README: Final = CLOUD_INIT_DIR / "README.md"
BEGIN: Final = "<!-- BEGIN GENERATED INPUTS (mlplat docs) -->"
END: Final = "<!-- END GENERATED INPUTS -->"


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
        return " | ".join(f"`{m.value}`" for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return str(getattr(annotation, "__name__", annotation))


def _value(value: Any) -> str:
    return f"`{value.value if isinstance(value, enum.Enum) else value!r}`"


def _rows(model: type[BaseModel], prefix: str) -> list[list[str]]:
    rows: list[list[str]] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        rows.append([f"`{path}`", _type_name(field.annotation), default_cell(field, _value),
                     field.description or ""])
        sub = _submodel(field.annotation)
        if sub is not None:
            nested.append((path, sub))
    for path, sub in nested:
        rows += _rows(sub, f"{path}.")
    return rows


def _body() -> str:
    lines: list[str] = []
    for template, model in sorted(TEMPLATE_MODELS.items()):
        lines += ["", f"#### `{template}` — `{model.__name__}`", "",
                  *table(["Field", "Type", "Default", "Description"], _rows(model, ""))]
    return "\n".join([*lines, ""]) + "\n"


def inputs_table() -> str:
    """The generated block, markers included, as it stands in the README."""
    return f"{BEGIN}\n{_body()}{END}\n"


def render_readme(current: str) -> str:
    """cloud-init/README.md with its generated block brought up to date."""
    return replace_block(current, BEGIN, END, _body(), str(README))
