"""dcgm_exporter on the GPU-group host without a GPU: it must skip, say why, touch nothing."""

from __future__ import annotations

import pytest
from hosts_site import ConvergedSite

from mlplat.testing.hosts import Host

pytestmark = pytest.mark.hosts


def _gpu_group_hosts(site: ConvergedSite, groups: dict[str, list[str]]) -> list[Host]:
    return [site.host(n) for n in groups["gpu_hosts"]]


def test_skip_is_reported_in_the_converge(converged_site: ConvergedSite) -> None:
    out = converged_site.result.stdout
    assert "dcgm_exporter: skipped, no NVIDIA GPU on this host" in out


def test_no_dcgm_task_changed_anything(converged_site: ConvergedSite) -> None:
    changed = [t for t in converged_site.result.changed_tasks() if t[0].startswith("dcgm_exporter")]
    assert not changed, changed


def test_nothing_dcgm_on_the_host(
    converged_site: ConvergedSite, site_groups: dict[str, list[str]]
) -> None:
    for h in _gpu_group_hosts(converged_site, site_groups):
        pkgs = h.exec(["dpkg-query", "-W", "-f", "${Package}\\n"], check=True).stdout.split()
        assert not [p for p in pkgs if p.startswith("datacenter-gpu-manager")], h.name
        units = h.exec(["systemctl", "list-unit-files", "--no-legend", "*dcgm*"]).stdout
        assert units.strip() == "", f"{h.name}: dcgm units present:\n{units}"
        assert not (h.root / "etc/systemd/system/dcgm-exporter.service").exists()
        assert not (h.root / "etc/nftables.d/mlplat-dcgm-exporter.nft").exists()
        table = h.exec(["nft", "list", "table", "inet", "mlplat_dcgm_exporter"])
        # "No such file or directory" is nft's answer for an absent table; a missing nft
        # binary or a syntax error would also exit non-zero and prove nothing.
        assert table.returncode == 1 and "No such file or directory" in table.stderr, table.stderr
        listening = h.exec(["ss", "-Htln", "sport = :9400"]).stdout
        assert listening.strip() == "", listening
