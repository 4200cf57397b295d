"""What the rendered user data does, read back as YAML — not just what it looks like."""

from __future__ import annotations

import configparser
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudinit_cases import load_example, template_of

from mlplat.cloudinit import render
from mlplat.cloudinit.checks import find_secret
from mlplat.core.paths import CLOUD_INIT_DIR

pytestmark = pytest.mark.unit

EXAMPLES = CLOUD_INIT_DIR / "examples"
STAGED_SUDOERS = "/etc/mlplat/sudoers.staged/60-mlplat-admin"
SSHD_DROPIN = "/etc/ssh/sshd_config.d/10-mlplat-hardening.conf"


def _render(template: str, inputs: dict[str, Any]) -> dict[str, Any]:
    text = render(template, inputs)
    assert text.splitlines()[0] == "#cloud-config"
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


def _files(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in doc.get("write_files", [])}


def _runcmd(doc: dict[str, Any]) -> list[str]:
    return [c if isinstance(c, str) else " ".join(c) for c in doc["runcmd"]]


def _sshd_settings(doc: dict[str, Any]) -> dict[str, str]:
    lines = _files(doc)[SSHD_DROPIN]["content"].splitlines()
    pairs = [ln.split(None, 1) for ln in lines if ln.strip() and not ln.startswith("#")]
    return {k.lower(): v for k, v in pairs}


def _unit(content: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(content)
    return parser


@pytest.fixture
def gpu_inputs() -> dict[str, Any]:
    return load_example(EXAMPLES / "gpu-node--ansible-pull.yaml")


@pytest.fixture
def onprem_inputs() -> dict[str, Any]:
    return load_example(EXAMPLES / "onprem-host--default.yaml")


def test_admin_is_the_only_user_key_only_and_locked(example: Path) -> None:
    inputs = load_example(example)
    doc = _render(template_of(example), inputs)
    (user,) = doc["users"]  # no "default": the image's debian/ubuntu user is not created
    assert user["name"] == inputs["admin"]["name"]
    assert user["lock_passwd"] is True
    for key in inputs["admin"]["ssh_authorized_keys"]:
        assert key in user["ssh_authorized_keys"]
    for forbidden in ("passwd", "hashed_passwd", "plain_text_passwd", "sudo"):
        assert forbidden not in user, f"users entry must not carry {forbidden!r}"
    assert "chpasswd" not in doc and "password" not in doc


def test_no_password_logins_and_no_root_login(example: Path) -> None:
    doc = _render(template_of(example), load_example(example))
    assert doc["ssh_pwauth"] is False
    assert doc["disable_root"] is True
    sshd = _sshd_settings(doc)
    assert sshd["permitrootlogin"] == "no"
    assert sshd["passwordauthentication"] == "no"
    assert sshd["kbdinteractiveauthentication"] == "no"
    assert sshd["authenticationmethods"] == "publickey"
    # The admin must still be able to log in: one of its groups is allowed.
    (user,) = doc["users"]
    assert set(user["groups"]) & set(sshd["allowgroups"].split())


def test_sudo_rule_is_checked_by_visudo_before_it_is_installed(example: Path) -> None:
    inputs = load_example(example)
    doc = _render(template_of(example), inputs)
    files = _files(doc)
    staged = files[STAGED_SUDOERS]
    assert staged["permissions"] == "0440"
    rules = [ln for ln in staged["content"].splitlines() if ln and not ln.startswith("#")]
    assert rules == [f"{inputs['admin']['name']} ALL=(ALL:ALL) NOPASSWD: ALL"]
    assert not any(p.startswith("/etc/sudoers") for p in files), "sudoers written unchecked"
    cmds = _runcmd(doc)
    assert cmds[0] == "set -eu", "a failed visudo must stop the script"
    check = cmds.index(f"visudo -c -f {STAGED_SUDOERS}")
    install = next(i for i, c in enumerate(cmds) if c.startswith("install") and "sudoers.d" in c)
    assert check < install
    assert "-m 0440" in cmds[install]


def test_sudo_none_writes_no_rule(onprem_inputs: dict[str, Any]) -> None:
    onprem_inputs["admin"]["sudo"] = "none"
    doc = _render("onprem-host", onprem_inputs)
    assert STAGED_SUDOERS not in _files(doc)
    assert not any("sudoers" in c for c in _runcmd(doc))


def test_ready_marker_is_the_last_step_and_bootcmd_makes_state_dirs(example: Path) -> None:
    doc = _render(template_of(example), load_example(example))
    assert _runcmd(doc)[-1].endswith("> /var/lib/mlplat/bootstrap-complete")
    (mkdirs,) = doc["bootcmd"]
    assert mkdirs[:4] == ["install", "-d", "-m", "0755"]
    assert mkdirs[-2:] == ["/etc/mlplat", "/var/lib/mlplat"]


def test_packages_include_ssh_python_and_unattended_upgrades(example: Path) -> None:
    inputs = load_example(example)
    doc = _render(template_of(example), inputs)
    wanted = [
        "openssh-server",
        "python3",
        "sudo",
        "unattended-upgrades",
        *inputs.get("packages", []),
    ]
    assert set(wanted) <= set(doc["packages"])
    assert len(doc["packages"]) == len(set(doc["packages"]))
    assert doc["package_update"] is True
    periodic = _files(doc)["/etc/apt/apt.conf.d/21mlplat-auto-upgrades"]["content"]
    assert 'APT::Periodic::Unattended-Upgrade "1";' in periodic


def test_unattended_upgrades_can_be_turned_off(onprem_inputs: dict[str, Any]) -> None:
    onprem_inputs["unattended_upgrades"] = {"enabled": False}
    doc = _render("onprem-host", onprem_inputs)
    assert "unattended-upgrades" not in doc["packages"]
    assert not any("mlplat-auto-upgrades" in p for p in _files(doc))


def test_ansible_pull_is_pinned_to_the_commit(gpu_inputs: dict[str, Any]) -> None:
    doc = _render("gpu-node", gpu_inputs)
    files = _files(doc)
    service = _unit(files["/etc/systemd/system/mlplat-ansible-pull.service"]["content"])
    assert service["Service"]["Type"] == "oneshot"
    argv = service["Service"]["ExecStart"].split()
    ap = gpu_inputs["ansible_pull"]
    assert argv[0] == "/usr/bin/ansible-pull"
    assert argv[argv.index("--url") + 1] == ap["repo_url"]
    assert argv[argv.index("--checkout") + 1] == ap["commit"]
    assert "--full" in argv  # a pinned commit is not necessarily a branch head
    assert argv[-1] == ap["playbook"]
    assert argv[argv.index("--extra-vars") + 1] == "@/etc/mlplat/ansible-pull-vars.json"
    extra = json.loads(files["/etc/mlplat/ansible-pull-vars.json"]["content"])
    assert extra == ap["extra_vars"]
    assert files["/etc/mlplat/ansible-pull-vars.json"]["permissions"] == "0600"
    timer = _unit(files["/etc/systemd/system/mlplat-ansible-pull.timer"]["content"])
    assert timer["Timer"]["OnUnitInactiveSec"] == f"{ap['interval_minutes']}min"
    assert timer["Install"]["WantedBy"] == "timers.target"
    cmds = _runcmd(doc)
    assert "systemctl enable --now mlplat-ansible-pull.timer" in cmds
    assert "systemctl start --no-block mlplat-ansible-pull.service" in cmds
    assert {"ansible-core", "git"} <= set(doc["packages"])
    fact = json.loads(files["/etc/ansible/facts.d/mlplat.fact"]["content"])
    assert fact == {"role": "gpu-node", "node_pool": gpu_inputs["node_pool"]}


def test_ansible_pull_follows_the_branch_when_no_commit(gpu_inputs: dict[str, Any]) -> None:
    del gpu_inputs["ansible_pull"]["commit"]
    gpu_inputs["ansible_pull"]["branch"] = "release/2026-11"
    gpu_inputs["ansible_pull"]["run_at_boot"] = False
    doc = _render("gpu-node", gpu_inputs)
    content = _files(doc)["/etc/systemd/system/mlplat-ansible-pull.service"]["content"]
    argv = _unit(content)["Service"]["ExecStart"].split()
    assert argv[argv.index("--checkout") + 1] == "release/2026-11"
    assert "--full" not in argv
    assert not any("start --no-block" in c for c in _runcmd(doc))


def test_callback_only_node_phones_home_and_has_no_ansible_pull() -> None:
    inputs = load_example(EXAMPLES / "gpu-node--callback.yaml")
    doc = _render("gpu-node", inputs)
    assert doc["phone_home"]["url"] == inputs["callback"]["url"]
    assert "instance_id" in doc["phone_home"]["post"]
    assert not any("ansible-pull" in p for p in _files(doc))
    assert "ansible-core" not in doc["packages"]


def test_onprem_host_authorizes_the_controller_keys(onprem_inputs: dict[str, Any]) -> None:
    doc = _render("onprem-host", onprem_inputs)
    (user,) = doc["users"]
    admin_keys = onprem_inputs["admin"]["ssh_authorized_keys"]
    assert user["ssh_authorized_keys"] == admin_keys + onprem_inputs["ansible_controller_keys"]
    assert "python3" in doc["packages"]
    assert "gpu-users" in _sshd_settings(doc)["allowgroups"].split()


def test_no_plaintext_secrets_in_any_rendering(example: Path) -> None:
    text = render(template_of(example), load_example(example))
    assert find_secret(text) is None
    assert "PRIVATE KEY" not in text


def test_hostile_strings_cannot_inject_yaml(onprem_inputs: dict[str, Any]) -> None:
    # gecos allows spaces and dots only, but the quoting must hold on its own too:
    # the renderer quotes every scalar, so a value never becomes structure.
    onprem_inputs["admin"]["gecos"] = "Ops team. x"
    doc = _render("onprem-host", onprem_inputs)
    assert doc["users"][0]["gecos"] == "Ops team. x"
    assert set(doc) >= {"users", "runcmd", "write_files"}
