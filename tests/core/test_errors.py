"""mlplat.core.errors: every problem, one line each, in the user's words."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from mlplat.cloudinit.models import GpuNodeInputs
from mlplat.config import EnvironmentConfig
from mlplat.core.errors import format_validation_errors
from mlplat.core.paths import CLOUD_INIT_DIR, STACKS_DIR
from mlplat.stackfile import read_stack_config

pytestmark = pytest.mark.unit

# Words that belong to Python or pydantic, never to a message for a user.
JARGON = re.compile(r"pydantic|ValidationError|ValueError|TypeError|Input should|"
                    r"[A-Z][a-z]+(Config|Inputs)\b|\bdict\b|\bstr\b|\bint\b|float|NoneType")


def stack_path(loc: tuple[int | str, ...]) -> str:
    head, *rest = loc
    path = "aws:region" if head == "region" else f"mlplat:{head}"
    return path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)


def demo_raw() -> dict[str, Any]:
    config = read_stack_config(STACKS_DIR / "Pulumi.demo.yaml")
    raw = {key.removeprefix("mlplat:"): value for key, value in config.items()
           if key.startswith("mlplat:")}
    return {**raw, "region": config["aws:region"]}


def errors_of(model: type[BaseModel], data: dict[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return format_validation_errors("FILE", info.value, model, **kwargs)


def test_every_problem_one_line_each_with_the_value_and_no_jargon():
    raw = demo_raw()
    raw["team"] = 1.33
    raw["cluster"]["systemNodeGroup"] = {"minSize": "two"}
    raw["gpuPools"][0]["gpuLimt"] = 3
    raw["network"]["flowLogz"] = {}
    lines = errors_of(EnvironmentConfig, raw, field_path=stack_path)
    assert lines == [
        'FILE: mlplat:team: must be a string, got 1.33 (a number): quote it, "1.33"',
        "FILE: mlplat:network.flowLogz: unknown key; did you mean mlplat:network.flowLogs?",
        "FILE: mlplat:cluster.systemNodeGroup.minSize: must be a whole number (got 'two')",
        "FILE: mlplat:gpuPools[0].gpuLimt: unknown key; did you mean mlplat:gpuPools[0].gpuLimit?",
    ]
    for line in lines:
        assert not JARGON.search(line), line


def test_wrong_shape_is_said_plainly():
    raw = demo_raw()
    raw["network"] = ["not", "a", "mapping"]
    raw["gpuPools"] = {"name": "x"}
    lines = errors_of(EnvironmentConfig, raw, field_path=stack_path)
    assert "FILE: mlplat:network: must be a mapping of keys (got ['not', 'a', 'mapping'])" in lines
    assert "FILE: mlplat:gpuPools: must be a list" in lines
    for line in lines:
        assert not JARGON.search(line), line


def test_a_rule_on_a_whole_model_names_its_fields_not_the_model():
    data = yaml.safe_load((CLOUD_INIT_DIR / "examples" / "gpu-node--ansible-pull.yaml")
                          .read_text())
    del data["ansible_pull"]
    assert errors_of(GpuNodeInputs, data) == [
        "FILE: ansible_pull, callback: ansible_pull and callback are both unset: "
        "a gpu-node must hand over to Ansible by at least one of them"]


def test_a_model_rule_naming_no_field_is_still_one_plain_line():
    class Pair(BaseModel):
        model_config = ConfigDict(extra="forbid")
        low: int
        high: int

        @model_validator(mode="after")
        def _ordered(self) -> Pair:
            if self.low > self.high:
                raise ValueError("the bounds are the wrong way round")
            return self

    assert errors_of(Pair, {"low": 2, "high": 1}) == [
        "FILE: the bounds are the wrong way round"]
    assert errors_of(Pair, {"low": 2, "hihg": 1}) == [
        "FILE: high: required field is missing",
        "FILE: hihg: unknown key; did you mean high?",
    ]


def test_stack_rules_name_the_fields_as_written_without_repeating_them():
    raw = demo_raw()
    raw["env"] = "prod"
    raw["network"]["natMode"] = "single"
    lines = errors_of(EnvironmentConfig, raw, field_path=stack_path)
    assert len(lines) == 1 and lines[0].startswith("FILE: mlplat:network.natMode: "), lines
    raw = demo_raw()
    raw["gpuPools"].append(dict(raw["gpuPools"][0]))
    lines = errors_of(EnvironmentConfig, raw, field_path=stack_path)
    assert lines == ["FILE: mlplat:gpuPools, mlplat:cpuPools: duplicate pool names ['training']"]
    assert not any("mlplat:: " in line or line.startswith("FILE: mlplat: ") for line in lines)
