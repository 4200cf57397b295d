"""nvidia_gpu on real hosts.

1. The no-GPU path, for real: gpu1 is in gpu_hosts but has no GPU. The converge must
   say why it skipped and leave no NVIDIA package, repository, key, hold or file.
2. The GPU path as far as a host without a GPU allows: a fresh host gets a fake PCI
   tree (one NVIDIA 3D controller, its audio function, an Intel VGA), stand-in .debs
   for the driver branch, the toolkit and the running kernel, and a stub
   nvidia-container-runtime. nvidia_gpu runs with nvidia_gpu_manage_packages=false
   (NVIDIA's repositories are unreachable here), container_runtime after it. Asserted:
   detection, the modprobe and nvidia-persistenced files, dpkg holds of exactly the
   branch's packages and the kernel, containerd accepting the NVIDIA runtime,
   idempotence and a clean --check --diff.
"""

from __future__ import annotations

import textwrap
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from hosts_site import ConvergedSite, write_site_inventory

from mlplat.testing.hosts import Host, HostPool, run_playbook

pytestmark = pytest.mark.hosts

NVIDIA_FILES = [
    "etc/apt/sources.list.d/mlplat-nvidia-cuda.sources",
    "etc/apt/sources.list.d/mlplat-nvidia-container-toolkit.sources",
    "etc/apt/keyrings/mlplat-nvidia-cuda.asc",
    "etc/apt/keyrings/mlplat-nvidia-container-toolkit.asc",
    "etc/modprobe.d/mlplat-nvidia.conf",
    "etc/systemd/system/nvidia-persistenced.service.d/10-mlplat.conf",
]


def _packages(h: Host) -> list[str]:
    return h.exec(["dpkg-query", "-W", "-f", "${Package}\\n"], check=True).stdout.split()


def _holds(h: Host) -> set[str]:
    out = h.exec(["dpkg", "--get-selections"], check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.split()[-1] == "hold"}


# -- 1. no GPU: nothing changes --------------------------------------------------------


def test_no_gpu_host_reports_why_it_skipped(converged_site: ConvergedSite) -> None:
    out = converged_site.result.stdout
    assert "nvidia_gpu: skipped, no PCI device in /sys/bus/pci/devices has vendor 0x10de" in out


def test_no_gpu_host_no_nvidia_task_changed(converged_site: ConvergedSite) -> None:
    changed = [t for t in converged_site.result.changed_tasks() if t[0].startswith("nvidia_gpu")]
    assert not changed, changed


def test_no_gpu_host_has_no_nvidia_packages_repos_or_holds(
    converged_site: ConvergedSite, site_groups: dict[str, list[str]]
) -> None:
    for name in site_groups["gpu_hosts"]:
        h = converged_site.host(name)
        nvidia = [
            p
            for p in _packages(h)
            if p.startswith(("nvidia", "libnvidia", "cuda", "datacenter-gpu"))
        ]
        assert not nvidia, f"{name}: {nvidia}"
        present = [f for f in NVIDIA_FILES if (h.root / f).exists()]
        assert not present, f"{name}: {present}"
        sources = h.exec("grep -rl nvidia /etc/apt/sources.list.d/ || true").stdout
        assert sources.strip() == "", sources
        assert _holds(h) == set(), f"{name}: packages held: {_holds(h)}"


# -- 2. fake GPU ------------------------------------------------------------------------

FAKE_SYSFS = "/srv/fake-sysfs"
FAKE_DEVICES = {
    # address: (vendor, device, class)
    "0000:3b:00.0": ("0x10de", "0x20b5", "0x030200"),  # NVIDIA A100 80GB, 3D controller
    "0000:3b:00.1": ("0x10de", "0x1aef", "0x040300"),  # its HD audio function: not a GPU
    "0000:00:02.0": ("0x8086", "0x46a6", "0x030000"),  # Intel VGA: not NVIDIA
}
BRANCH = "550"  # tests/hosts/vars/nvidia_gpu.yml
FAKE_DEBS = {
    f"cuda-drivers-{BRANCH}": f"{BRANCH}.54.15-1",
    "nvidia-persistenced": f"{BRANCH}.54.15-1",
    "nvidia-container-toolkit": "1.17.0-1",  # not of the branch: must not be held
    "nvidia-driver-570": "570.86.15-1",  # another branch: must not be held
}
PLAY = """\
- name: nvidia_gpu and container_runtime on a host with a fake GPU
  hosts: gpu_hosts
  become: true
  roles:
    - role: nvidia_gpu
    - role: container_runtime
"""


def _prepare_fake_gpu(root: Path, name: str) -> None:
    for address, (vendor, device, cls) in FAKE_DEVICES.items():
        d = root / FAKE_SYSFS.lstrip("/") / address
        d.mkdir(parents=True)
        (d / "vendor").write_text(vendor + "\n")
        (d / "device").write_text(device + "\n")
        (d / "class").write_text(cls + "\n")
    stub = root / "usr/bin/nvidia-container-runtime"
    stub.write_text("#!/bin/sh\n# stand-in for the NVIDIA container runtime (tests)\nexit 1\n")
    stub.chmod(0o755)


def _install_fake_debs(h: Host) -> str:
    kernel = h.exec(["uname", "-r"], check=True).stdout.strip()
    debs = {**FAKE_DEBS, f"linux-image-{kernel}": "1.0"}
    script = ["set -e"]
    for pkg, version in debs.items():
        control = "\\n".join(
            [
                f"Package: {pkg}",
                f"Version: {version}",
                "Architecture: all",
                "Maintainer: mlplat tests <t@mlplat.invalid>",
                "Description: empty stand-in (mlplat fake-GPU test)",
            ]
        )
        script.append(
            textwrap.dedent(f"""\
            d=$(mktemp -d); mkdir $d/DEBIAN
            printf '{control}\\n' > $d/DEBIAN/control
            dpkg-deb --build $d /tmp/{pkg}.deb >/dev/null && dpkg -i /tmp/{pkg}.deb >/dev/null""")
        )
    h.exec("\n".join(script), check=True)
    return kernel


@pytest.fixture(scope="module")
def fake_gpu(
    host_factory: Callable[..., list[Host]],
    host_pool: HostPool,
    tmp_path_factory: pytest.TempPathFactory,
):
    (h,) = host_factory(["fakegpu"], before_boot=_prepare_fake_gpu)
    kernel = _install_fake_debs(h)
    tmp = tmp_path_factory.mktemp("fakegpu")
    inventory = write_site_inventory(
        [h],
        {"gpu_hosts": ["fakegpu"]},
        tmp / "inventory.yml",
        extra_vars={
            "nvidia_gpu_sysfs_pci_path": FAKE_SYSFS,
            "nvidia_gpu_manage_packages": False,
            "nvidia_gpu_module_options": {"nvidia": "NVreg_EnableGpuFirmware=0"},
        },
    )
    playbook = tmp / "play.yml"
    playbook.write_text(PLAY)
    result = run_playbook(inventory, playbook, "--diff")
    assert result.ok, f"fake-GPU converge failed: {result.summary()}\n{result.tail(80)}"
    return h, kernel, inventory, playbook, result


def test_fake_gpu_detected_and_only_the_gpu(fake_gpu) -> None:
    _, _, _, _, result = fake_gpu
    assert f"1 NVIDIA GPU(s) in {FAKE_SYSFS}: 0000:3b:00.0 (0x20b5)" in result.stdout


def test_fake_gpu_modprobe_config(fake_gpu) -> None:
    h = fake_gpu[0]
    lines = (h.root / "etc/modprobe.d/mlplat-nvidia.conf").read_text().splitlines()
    assert "blacklist nouveau" in lines
    assert "options nouveau modeset=0" in lines
    assert "options nvidia NVreg_EnableGpuFirmware=0" in lines


def test_fake_gpu_persistenced_in_persistence_mode(fake_gpu) -> None:
    h = fake_gpu[0]
    dropin = "/etc/systemd/system/nvidia-persistenced.service.d/10-mlplat.conf"
    text = (h.root / dropin.lstrip("/")).read_text()
    exec_lines = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    assert exec_lines[0] == "ExecStart=", "the packaged ExecStart must be reset first"
    assert "--persistence-mode" in exec_lines[1].split()
    assert "--user nvidia-persistenced" in exec_lines[1]
    # systemd parses the drop-in (the unit itself only exists once the driver is installed).
    verify = h.exec(["systemd-analyze", "cat-config", dropin])
    assert verify.returncode == 0, verify.stderr


def test_fake_gpu_holds_branch_and_kernel_only(fake_gpu) -> None:
    h, kernel = fake_gpu[0], fake_gpu[1]
    assert _holds(h) == {f"cuda-drivers-{BRANCH}", "nvidia-persistenced", f"linux-image-{kernel}"}


def test_fake_gpu_adds_no_repository_when_packages_are_not_managed(fake_gpu) -> None:
    h = fake_gpu[0]
    assert not list((h.root / "etc/apt/sources.list.d").glob("mlplat-nvidia*"))
    assert not list((h.root / "etc/apt/keyrings").glob("mlplat-nvidia*"))


def test_fake_gpu_containerd_gets_the_nvidia_runtime(fake_gpu) -> None:
    h = fake_gpu[0]
    dump = tomllib.loads(h.exec(["containerd", "config", "dump"], check=True).stdout)
    containerd = dump["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]
    nvidia = containerd["runtimes"]["nvidia"]
    assert nvidia["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"
    assert nvidia["options"]["SystemdCgroup"] is True
    assert containerd["default_runtime_name"] == "runc"
    assert h.exec(["systemctl", "is-active", "containerd"]).stdout.strip() == "active"


def test_fake_gpu_second_run_and_check_mode_change_nothing(fake_gpu) -> None:
    _, _, inventory, playbook, _ = fake_gpu
    for args in ((), ("--check", "--diff")):
        result = run_playbook(inventory, playbook, *args)
        assert result.ok, result.tail(60)
        assert result.changed() == 0, (args, result.changed_tasks())
