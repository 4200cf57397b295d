"""Stack templates (`stacks/templates/<name>.yaml`): a stack file's `config:` body with typed
parameters, which teams instantiate to self-serve an environment (`mlplat new`, later).

A template file:

    description: One paragraph: what this template creates and for whom.
    parameters:
      team: {description: "...", required: true, example: vision}
      env: {description: "...", default: dev}
      gpuLimit: {description: "...", type: integer, default: 8}
    creates: [short list of what it creates]
    config:
      aws:region: "{{ region }}"
      mlplat:team: "{{ team }}"

A placeholder `{{ name }}` is a whole YAML scalar (quoted: a bare `{` starts a YAML flow
mapping) and is replaced by the parameter's typed value (`string`, the default, `integer`
or `boolean`). There is no partial-string interpolation and no Jinja: a template stays a
plain data file whose shape is visible. A parameter is `required` or has a `default`;
`example` (optional) is the value documentation and `mlplat plan --all` use for a required
one. Unknown keys, placeholders without a parameter, parameters never used, unknown
parameters at render time and missing required ones are errors naming the template file
and the parameter (`TemplateError`, a ConfigError: the CLI exits 2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mlplat.config import ConfigError
from mlplat.core.errors import one_line
from mlplat.core.paths import STACKS_DIR
from mlplat.core.yamlfile import YamlError, read_yaml_file

TEMPLATES_DIR: Final = STACKS_DIR / "templates"
TEMPLATE_KEYS: Final = ("description", "parameters", "creates", "config")
PARAMETER_KEYS: Final = ("description", "required", "default", "type", "example")
PARAMETER_TYPES: Final = ("string", "integer", "boolean")

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


class TemplateError(ConfigError):
    """A template file, or the values given to it, is not acceptable."""


@dataclass(frozen=True)
class Parameter:
    """One documented, typed parameter of a template."""

    name: str
    description: str
    type: str = "string"
    required: bool = False
    default: Any = None
    example: Any = None

    def convert(self, text: str, source: str) -> Any:
        """`text` as this parameter's type; TemplateError naming it if it is not one."""
        if self.type == "integer":
            if re.fullmatch(r"-?\d+", text.strip()):
                return int(text)
        elif self.type == "boolean":
            if text.strip().lower() in ("true", "false"):
                return text.strip().lower() == "true"
        else:
            return text
        raise TemplateError(f"{source}: parameters.{self.name}: {text!r} is not "
                            f"{'an' if self.type == 'integer' else 'a'} {self.type}")


@dataclass(frozen=True)
class Template:
    """A loaded, checked template."""

    name: str
    description: str
    parameters: Mapping[str, Parameter]
    creates: tuple[str, ...]
    config: Mapping[str, Any]
    source: str
    """The template file as named in messages (repository-relative)."""

    def render(self, values: Mapping[str, str]) -> dict[str, Any]:
        """The stack file `config:` mapping for `values` (parameter name -> text, converted
        by type); defaults fill the rest."""
        unknown = sorted(set(values) - set(self.parameters))
        if unknown:
            raise TemplateError(f"{self.source}: unknown parameter {unknown[0]!r} (parameters: "
                                f"{', '.join(self.parameters)})")
        typed: dict[str, Any] = {}
        for name, parameter in self.parameters.items():
            if name in values:
                typed[name] = parameter.convert(values[name], self.source)
            elif parameter.required:
                raise TemplateError(f"{self.source}: parameters.{name}: required, not given "
                                    f"({parameter.description})")
            else:
                typed[name] = parameter.default
        return {key: _substitute(item, typed) for key, item in self.config.items()}

    def example_values(self) -> dict[str, str]:
        """Values for every required parameter from its `example` (for planning a template
        as it ships); TemplateError naming a required parameter without one."""
        values = {}
        for name, parameter in self.parameters.items():
            if parameter.required:
                if parameter.example is None:
                    raise TemplateError(f"{self.source}: parameters.{name}: required but has "
                                        "no example to plan the template with")
                values[name] = _text(parameter.example)
        return values


def list_templates(directory: Path = TEMPLATES_DIR) -> list[Template]:
    """Every template in `directory`, by name."""
    return [load_template(path.stem, directory) for path in sorted(directory.glob("*.yaml"))]


def load_template(name: str, directory: Path = TEMPLATES_DIR) -> Template:
    """The template `<directory>/<name>.yaml`, checked."""
    from mlplat.stackfile import display_path

    if not _NAME.fullmatch(name):
        raise TemplateError(f"invalid template name {name!r}")
    path = directory / f"{name}.yaml"
    source = display_path(path)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.yaml"))) or "none"
        raise TemplateError(f"{source}: no such template (templates: {known})")
    try:
        data = read_yaml_file(path, source).data
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"{source}: cannot read: {error}") from None
    except YamlError as error:
        raise TemplateError(one_line(str(error))) from None
    return _parse(name, data, source)


def _parse(name: str, data: Any, source: str) -> Template:
    if not isinstance(data, dict):
        raise TemplateError(f"{source}: top level must be a mapping with keys "
                            f"{', '.join(TEMPLATE_KEYS)}")
    problems = [f"{key}: unknown key (a template holds: {', '.join(TEMPLATE_KEYS)})"
                for key in data if key not in TEMPLATE_KEYS]
    problems += [f"{key}: missing" for key in TEMPLATE_KEYS if key not in data]
    if problems:
        raise TemplateError("\n".join(f"{source}: {p}" for p in problems))
    description, creates, config = data["description"], data["creates"], data["config"]
    if not isinstance(description, str) or not description.strip():
        problems.append("description: must be a non-empty paragraph")
    if not isinstance(creates, list) or not all(isinstance(c, str) for c in creates):
        problems.append("creates: must be a list of short phrases")
    if not isinstance(config, dict) or not config:
        problems.append("config: must be a stack file's config mapping")
    raw_parameters = data["parameters"]
    if not isinstance(raw_parameters, dict):
        problems.append("parameters: must be a mapping of name -> {description, ...}")
        raw_parameters = {}
    parameters: dict[str, Parameter] = {}
    for key, spec in raw_parameters.items():
        parameter, why = _parameter(key, spec)
        if parameter is None:
            problems.append(f"parameters.{key}: {why}")
        else:
            parameters[key] = parameter
    if not problems:
        used = _placeholders(config, problems, "config")
        problems += [f"{where}: placeholder {{{{ {p} }}}} has no parameter"
                     for p, where in used.items() if p not in raw_parameters]
        problems += [f"parameters.{p}: never used in config" for p in raw_parameters
                     if p not in used]
    if problems:
        raise TemplateError("\n".join(one_line(f"{source}: {p}") for p in problems))
    return Template(name=name, description=" ".join(description.split()),
                    parameters=parameters, creates=tuple(creates), config=config, source=source)


def _parameter(name: Any, spec: Any) -> tuple[Parameter | None, str]:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return None, "names are identifiers (letters, digits, _)"
    if not isinstance(spec, dict):
        return None, "must be a mapping {description, required | default, type, example}"
    unknown = [k for k in spec if k not in PARAMETER_KEYS]
    if unknown:
        return None, f"unknown key {unknown[0]!r} (known: {', '.join(PARAMETER_KEYS)})"
    description = spec.get("description")
    if not isinstance(description, str) or not description.strip():
        return None, "needs a description"
    kind = spec.get("type", "string")
    if kind not in PARAMETER_TYPES:
        return None, f"type {kind!r} is not one of {', '.join(PARAMETER_TYPES)}"
    required = spec.get("required", False)
    if not isinstance(required, bool):
        return None, "required must be true or false"
    if required == ("default" in spec):
        return None, "give exactly one of required: true and a default"
    parameter = Parameter(name, description, kind, required, spec.get("default"),
                          spec.get("example"))
    for key in ("default", "example"):
        if key in spec:
            try:
                if parameter.convert(_text(spec[key]), "") != spec[key]:
                    raise TemplateError("")
            except TemplateError:
                return None, f"{key} {spec[key]!r} is not a {kind}"
    return parameter, ""


def _text(value: Any) -> str:
    """A YAML value as the text a user would give for it."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _placeholders(value: Any, problems: list[str], where: str) -> dict[str, str]:
    """Parameter name -> first place it is used; partial interpolation is a problem."""
    found: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "{{" in key:
                problems.append(f"{where}.{key}: placeholders are not allowed in keys")
            for name, place in _placeholders(item, problems, f"{where}.{key}").items():
                found.setdefault(name, place)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for name, place in _placeholders(item, problems, f"{where}[{index}]").items():
                found.setdefault(name, place)
    elif isinstance(value, str) and "{{" in value:
        match = _PLACEHOLDER.fullmatch(value.strip())
        if match is None:
            problems.append(f"{where}: {value!r}: a placeholder must be the whole value "
                            "(no partial interpolation)")
        else:
            found.setdefault(match.group(1), where)
    return found


def _substitute(value: Any, typed: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: _substitute(item, typed) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, typed) for item in value]
    if isinstance(value, str):
        match = _PLACEHOLDER.fullmatch(value.strip())
        if match is not None:
            return typed[match.group(1)]
    return value
