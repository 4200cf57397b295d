"""Input validation: bad values are refused, and the error names the field."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from cloudinit_cases import load_example
from pydantic import BaseModel, ValidationError

from mlplat.cloudinit import GpuNodeInputs, OnpremHostInputs, render
from mlplat.cloudinit.render import TemplateNotFound
from mlplat.core.errors import format_validation_errors
from mlplat.core.paths import CLOUD_INIT_DIR

pytestmark = pytest.mark.unit

EXAMPLES = CLOUD_INIT_DIR / "examples"
GPU = load_example(EXAMPLES / "gpu-node--ansible-pull.yaml")
ONPREM = load_example(EXAMPLES / "onprem-host--default.yaml")
GOOD_KEY = GPU["admin"]["ssh_authorized_keys"][0]
RSA_PREFIX_ED25519_BODY = "ssh-rsa " + GOOD_KEY.split()[1]
FAKE_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


def _errors(model: type[BaseModel], data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return describe(info.value, model)


def describe(error: ValidationError, model: type[BaseModel] | None = None) -> list[str]:
    """The formatter's lines for an inputs file, without the file name in front."""
    return [line.removeprefix("in.yaml: ")
            for line in format_validation_errors("in.yaml", error, model)]


KEY0 = "admin.ssh_authorized_keys.0"
REPO_URL = "ansible_pull.repo_url"


def _field(path: str) -> str:
    """The path as error messages print it: list indexes in brackets."""
    return re.sub(r"\.(\d+)", r"[\1]", path)


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (KEY0, "not a key", "public key"),
        (KEY0, FAKE_PRIVATE_KEY, "private key"),
        (KEY0, "ssh-dss AAAAB3NzaC1kc3M=", "unsupported"),
        (KEY0, RSA_PREFIX_ED25519_BODY, "prefix says"),
        (KEY0, "ssh-ed25519 !!!notbase64", "base64"),
        ("admin.ssh_authorized_keys", [], "at least 1"),
        ("admin.name", "Admin", "not a valid username"),
        ("admin.name", "root", "system or image-default"),
        ("admin.name", "a" * 33, "not a valid username"),
        ("admin.sudo", "sometimes", "nopasswd_all"),
        ("admin.shell", "/bin/sh; rm -rf /", "pattern"),
        (REPO_URL, "http://git.example.org/a.git", "https://"),
        (REPO_URL, "https://bob:hunter2@git.example.org/a.git", "credentials"),
        (REPO_URL, "https://git.example.org/a.git; curl x", "whitespace"),
        ("ansible_pull.commit", "4f3c2a1", "40-character"),
        ("ansible_pull.branch", "../etc", "branch"),
        ("ansible_pull.branch", "-o ProxyCommand=x", "branch"),
        ("ansible_pull.playbook", "../../site.yml", "relative path"),
        ("ansible_pull.playbook", "site.sh", ".yml"),
        ("ansible_pull.interval_minutes", 1, "greater than or equal"),
        ("ansible_pull.extra_vars.db_password", "x", "credential"),
        ("ansible_pull.extra_vars.region", "AKIAABCDEFGHIJKLMNOP", "AWS access key"),
        ("ansible_pull.surprise", 1, "unknown key"),
        ("node_pol", "x", "did you mean node_pool?"),
        ("packages", ["jq; reboot"], "Debian package"),
        ("hostname", "Bad_Host", "RFC 1123"),
        ("timezone", "Mars/Olympus Mons", "time zone"),
        ("callback", {"url": "ftp://x"}, "https://"),
        ("ready_marker", "/tmp/x", "pattern"),
    ],
)
def test_bad_gpu_node_input_names_the_field(path: str, value: Any, needle: str) -> None:
    errors = _errors(GpuNodeInputs, _set(GPU, path, value))
    field = {"packages": "packages[0]", "callback": "callback.url"}.get(path, _field(path))
    matching = [e for e in errors if e.startswith(f"{field}:")]
    assert matching, f"no error for {field}: {errors}"
    assert any(needle in e for e in matching), matching


def test_error_path_for_dict_keys_of_extra_vars() -> None:
    # pydantic reports a bad dict key under "<key>.[key]"; the message still names it.
    errors = _errors(GpuNodeInputs, _set(GPU, "ansible_pull.extra_vars.api_token", "x"))
    assert any("api_token" in e and "credential" in e for e in errors), errors


def test_gpu_node_needs_a_hand_over() -> None:
    data = {k: v for k, v in GPU.items() if k != "ansible_pull"}
    errors = _errors(GpuNodeInputs, data)
    assert any("ansible_pull and callback are both unset" in e for e in errors)


def test_missing_required_field_is_named() -> None:
    errors = _errors(OnpremHostInputs, {k: v for k, v in ONPREM.items() if k != "admin"})
    assert errors == ["admin: required field is missing"]


def test_onprem_controller_key_must_be_public() -> None:
    errors = _errors(OnpremHostInputs, _set(ONPREM, "ansible_controller_keys.0", FAKE_PRIVATE_KEY))
    assert errors == [
        "ansible_controller_keys[0]: looks like a private key; only public keys belong in user data"
    ]


def test_gpu_fields_are_unknown_to_onprem_host() -> None:
    errors = _errors(OnpremHostInputs, {**ONPREM, "node_pool": "a100"})
    assert errors == [
        "node_pool: unknown key"
    ]


def test_callback_url_keeps_the_instance_id_placeholder_only() -> None:
    ok = GpuNodeInputs.model_validate(
        {**GPU, "callback": {"url": "https://awx.example.org/ready/$INSTANCE_ID"}}
    )
    assert ok.callback is not None
    errors = _errors(GpuNodeInputs, {**GPU, "callback": {"url": "https://x.example.org/$HOME"}})
    assert any(e.startswith("callback.url:") for e in errors)


def test_model_instance_and_dict_render_identically() -> None:
    assert render("gpu-node", GpuNodeInputs.model_validate(GPU)) == render("gpu-node", GPU)


def test_wrong_model_for_template_is_refused() -> None:
    with pytest.raises(TypeError, match="takes GpuNodeInputs"):
        render("gpu-node", OnpremHostInputs.model_validate(ONPREM))


def test_unknown_template_is_refused() -> None:
    with pytest.raises(TemplateNotFound, match="unknown template 'gpu'"):
        render("gpu", GPU)


def test_every_field_has_a_description() -> None:
    seen: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = [GpuNodeInputs, OnpremHostInputs]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        assert model.model_config.get("extra") == "forbid", model.__name__
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            for arg in getattr(field.annotation, "__args__", (field.annotation,)):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    todo.append(arg)
    assert len(seen) >= 6


def test_a_foreign_model_with_the_same_fields_is_revalidated() -> None:
    class ComponentArgs(BaseModel):  # e.g. a Pulumi component's own args model
        admin: dict[str, Any]
        node_pool: str
        ansible_pull: dict[str, Any]

    args = ComponentArgs(admin=GPU["admin"], node_pool="x", ansible_pull={"repo_url": "http://x"})
    with pytest.raises(ValidationError) as info:
        render("gpu-node", args)
    assert describe(info.value) == ["ansible_pull.repo_url: 'http://x' must be an https:// URL"]
