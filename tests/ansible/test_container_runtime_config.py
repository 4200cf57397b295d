"""container_runtime: config.toml rendered by Ansible parses as TOML, uses the systemd cgroup
driver, and carries the NVIDIA runtime exactly when GPUs are present."""

from __future__ import annotations

import tomllib

import pytest
from test_node_exporter_render import Renderer, check_golden, role_vars

pytestmark = pytest.mark.unit

CRI = "io.containerd.grpc.v1.cri"


def render(**overrides) -> tuple[str, dict]:
    text = Renderer(role_vars("container_runtime", **overrides)).template(
        "container_runtime", "config.toml.j2"
    )
    return text, tomllib.loads(text)


def runtimes(config: dict) -> dict:
    return config["plugins"][CRI]["containerd"]["runtimes"]


def test_cpu_host_golden_and_systemd_cgroup() -> None:
    text, config = render()  # auto, and nvidia_gpu did not run: no fact
    check_golden("container_runtime/config-cpu.toml", text)
    assert config["version"] == 2
    runc = runtimes(config)["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is True
    assert "nvidia" not in runtimes(config)
    assert config["plugins"][CRI]["containerd"]["default_runtime_name"] == "runc"
    assert config["plugins"][CRI]["sandbox_image"] == "registry.k8s.io/pause:3.10"


@pytest.mark.parametrize(
    ("mode", "gpu_fact", "expected"),
    [
        ("auto", None, False),
        ("auto", False, False),
        ("auto", True, True),
        ("enabled", False, True),
        ("disabled", True, False),
    ],
)
def test_nvidia_runtime_only_when_gpus(mode: str, gpu_fact: bool | None, expected: bool) -> None:
    overrides = {"container_runtime_nvidia": mode}
    if gpu_fact is not None:
        overrides["nvidia_gpu_present"] = gpu_fact
    _, config = render(**overrides)
    assert ("nvidia" in runtimes(config)) is expected


def test_gpu_host_golden_and_runtime() -> None:
    text, config = render(nvidia_gpu_present=True)
    check_golden("container_runtime/config-gpu.toml", text)
    nvidia = runtimes(config)["nvidia"]
    assert nvidia["runtime_type"] == "io.containerd.runc.v2"
    assert nvidia["options"] == {
        "BinaryName": "/usr/bin/nvidia-container-runtime",
        "SystemdCgroup": True,
    }
    assert config["plugins"][CRI]["containerd"]["default_runtime_name"] == "runc"


def test_nvidia_as_default_runtime() -> None:
    _, config = render(nvidia_gpu_present=True, container_runtime_nvidia_default=True)
    assert config["plugins"][CRI]["containerd"]["default_runtime_name"] == "nvidia"
    # ...but never a default that does not exist.
    _, config = render(nvidia_gpu_present=False, container_runtime_nvidia_default=True)
    assert config["plugins"][CRI]["containerd"]["default_runtime_name"] == "runc"


def test_cgroupfs_when_asked() -> None:
    _, config = render(container_runtime_systemd_cgroup=False, nvidia_gpu_present=True)
    assert runtimes(config)["runc"]["options"]["SystemdCgroup"] is False
    assert runtimes(config)["nvidia"]["options"]["SystemdCgroup"] is False
