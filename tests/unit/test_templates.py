"""Stack templates: the loader's rules, and every shipped template plans offline, audit-clean.

The planning test iterates over stacks/templates/, so a template added there is covered
without touching this file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplat.audit.engine import audit_plans
from mlplat.config import environment_from_stack_config
from mlplat.plan import plan_requests
from mlplat.plan.api import template_request
from mlplat.templates import TEMPLATES_DIR, TemplateError, list_templates, load_template

SHIPPED = sorted(path.stem for path in TEMPLATES_DIR.glob("*.yaml"))


def test_the_templates_the_issue_asks_for_ship() -> None:
    assert {"platform", "shared-team", "dedicated-team"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_template_is_documented(name: str) -> None:
    template = load_template(name)
    assert len(template.description.split()) >= 15, "one paragraph: what and for whom"
    assert template.creates
    for parameter in template.parameters.values():
        assert parameter.description.strip()
        assert parameter.required or parameter.default is not None
    # Rendered with its examples and defaults, it is a valid stack config.
    environment_from_stack_config(template.render(template.example_values()), template.source)


def test_every_shipped_template_plans_offline_and_passes_the_audit() -> None:
    requests = [template_request(template) for template in list_templates()]
    assert [r.stack for r in requests] == [f"template-{name}" for name in SHIPPED]
    plans = plan_requests(requests)
    for plan in plans:
        assert plan.managed(), plan.stack
    report = audit_plans(plans)
    assert not report.blocking, [str(o.finding) for o in report.blocking]


# ---------------------------------------------------------------------- the loader's rules

GOOD = """\
description: A test template that creates one small thing for one team.
parameters:
  team: {description: The team., required: true, example: vision}
  env: {description: The tier., default: dev}
  gpus: {description: GPUs., type: integer, default: 8}
  public: {description: A switch., type: boolean, default: false}
creates: [one thing]
config:
  mlplat:team: "{{ team }}"
  mlplat:env: "{{env}}"
  mlplat:limits: {gpus: "{{ gpus }}", open: ["{{ public }}"]}
"""


def write(directory: Path, text: str, name: str = "t") -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_render_replaces_whole_scalars_with_typed_values(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    template = load_template("t", tmp_path)
    assert [p for p in template.parameters] == ["team", "env", "gpus", "public"]
    config = template.render({"team": "nlp", "gpus": "4", "public": "true"})
    assert config == {"mlplat:team": "nlp", "mlplat:env": "dev",
                      "mlplat:limits": {"gpus": 4, "open": [True]}}
    assert template.render({"team": "nlp"})["mlplat:limits"] == {"gpus": 8, "open": [False]}


@pytest.mark.parametrize(("values", "expected"), [
    ({}, "parameters.team: required, not given"),
    ({"team": "a", "colour": "red"}, "unknown parameter 'colour'"),
    ({"team": "a", "gpus": "four"}, "parameters.gpus: 'four' is not an integer"),
    ({"team": "a", "public": "yes"}, "parameters.public: 'yes' is not a boolean"),
])
def test_render_errors_name_the_template_and_parameter(
        tmp_path: Path, values: dict[str, str], expected: str) -> None:
    write(tmp_path, GOOD)
    with pytest.raises(TemplateError) as error:
        load_template("t", tmp_path).render(values)
    assert str(error.value).startswith(f"{tmp_path / 't.yaml'}: ")
    assert expected in str(error.value)


@pytest.mark.parametrize(("edit", "expected"), [
    (("  mlplat:env: \"{{env}}\"\n", ""), "parameters.env: never used in config"),
    (("{{ gpus }}", "{{ gpu }}"), "placeholder {{ gpu }} has no parameter"),
    (("\"{{ team }}\"", "\"team-{{ team }}\""), "a placeholder must be the whole value"),
    (("creates: [one thing]\n", ""), "creates: missing"),
    (("creates:", "colour: red\ncreates:"), "colour: unknown key"),
    (("default: dev}", "default: dev, required: true}"), "parameters.env: give exactly one"),
    (("type: integer, default: 8", "type: integer, default: eight"),
     "parameters.gpus: default 'eight' is not a integer"),
    (("{description: The tier., default: dev}", "{default: dev}"),
     "parameters.env: needs a description"),
    (("type: boolean", "type: bool"), "type 'bool' is not one of"),
])
def test_bad_templates_are_refused_naming_file_and_parameter(
        tmp_path: Path, edit: tuple[str, str], expected: str) -> None:
    old, new = edit
    assert old in GOOD
    write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(TemplateError) as error:
        load_template("t", tmp_path)
    assert f"{tmp_path / 't.yaml'}: " in str(error.value)
    assert expected in str(error.value)


def test_example_values_need_an_example_for_every_required_parameter(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace(", example: vision", ""))
    with pytest.raises(TemplateError, match=r"parameters\.team: required but has no example"):
        load_template("t", tmp_path).example_values()
    write(tmp_path, GOOD)
    assert load_template("t", tmp_path).example_values() == {"team": "vision"}


def test_unknown_template_lists_the_known_ones(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "one")
    with pytest.raises(TemplateError, match=r"no such template \(templates: one\)"):
        load_template("two", tmp_path)
    with pytest.raises(TemplateError, match="invalid template name"):
        load_template("../etc", tmp_path)
