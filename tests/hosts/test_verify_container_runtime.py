"""container_runtime on the converged site: containerd running with the config we rendered."""

from __future__ import annotations

import tomllib

import pytest
from hosts_site import ConvergedSite

from mlplat.testing.hosts import Host, connect_testinfra

pytestmark = pytest.mark.hosts

CRI = "io.containerd.grpc.v1.cri"


@pytest.fixture(scope="module")
def infra(converged_site: ConvergedSite) -> dict:
    return connect_testinfra(converged_site.inventory)


def _effective_config(h: Host) -> dict:
    """containerd's own view of its configuration (defaults merged with our file)."""
    return tomllib.loads(h.exec(["containerd", "config", "dump"], check=True).stdout)


def test_containerd_active_and_enabled(converged_site: ConvergedSite, infra: dict) -> None:
    for h in converged_site.hosts:
        svc = infra[h.name].service("containerd")
        assert svc.is_running and svc.is_enabled, h.name


def test_daemon_answers_on_its_socket(converged_site: ConvergedSite) -> None:
    for h in converged_site.hosts:
        out = h.exec(["ctr", "version"], check=True).stdout
        # "Server:" only appears when ctr reached the running daemon.
        assert "Server:" in out and "Revision" in out.split("Server:", 1)[1], out


def test_systemd_cgroup_driver_is_effective(converged_site: ConvergedSite) -> None:
    for h in converged_site.hosts:
        cri = _effective_config(h)["plugins"][CRI]
        runc = cri["containerd"]["runtimes"]["runc"]
        assert runc["runtime_type"] == "io.containerd.runc.v2"
        assert runc["options"]["SystemdCgroup"] is True, f"{h.name}: {runc['options']}"


def test_no_nvidia_runtime_without_gpus(converged_site: ConvergedSite) -> None:
    """No test host has a GPU, so auto mode must leave the NVIDIA runtime out."""
    for h in converged_site.hosts:
        containerd = _effective_config(h)["plugins"][CRI]["containerd"]
        assert "nvidia" not in containerd["runtimes"], h.name
        assert containerd["default_runtime_name"] == "runc"


def test_config_file_is_ours_and_root_owned(converged_site: ConvergedSite, infra: dict) -> None:
    for h in converged_site.hosts:
        f = infra[h.name].file("/etc/containerd/config.toml")
        assert f.user == "root" and f.group == "root" and f.mode == 0o644
        assert "mlplat role container_runtime" in f.content_string
        sandbox = _effective_config(h)["plugins"][CRI]["sandbox_image"]
        assert sandbox == "registry.k8s.io/pause:3.10"
