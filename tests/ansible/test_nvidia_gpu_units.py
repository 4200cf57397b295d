"""nvidia_gpu without a GPU or root: the sysfs detection module, the MIG output parsers,
per-OS package sources, the rendered files and the hold selection."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible_helpers import ROLES_DIR, tool
from test_node_exporter_render import Renderer, check_golden, role_vars

pytestmark = pytest.mark.unit

ROLE = ROLES_DIR / "nvidia_gpu"
OS_FILES = {"Debian-12": "debian12", "Ubuntu-22": "ubuntu2204", "Ubuntu-24": "ubuntu2404"}


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


scan_module = _load(ROLE / "library/nvidia_gpu_pci_scan.py", "nvidia_gpu_pci_scan")
mig = _load(ROLE / "filter_plugins/nvidia_gpu_mig.py", "nvidia_gpu_mig")


def fake_pci(root: Path, devices: dict[str, tuple[str, str, str]]) -> Path:
    for address, (vendor, device, cls) in devices.items():
        d = root / address
        d.mkdir(parents=True)
        (d / "vendor").write_text(vendor + "\n")
        (d / "device").write_text(device + "\n")
        (d / "class").write_text(cls + "\n")
    return root


# -- detection ------------------------------------------------------------------------


def test_finds_nvidia_display_controllers_only(tmp_path: Path) -> None:
    root = fake_pci(
        tmp_path,
        {
            "0000:3b:00.0": ("0x10de", "0x20b5", "0x030200"),  # A100: 3D controller
            "0000:3b:00.1": ("0x10de", "0x1aef", "0x040300"),  # its audio function
            "0000:5e:00.0": ("0x10de", "0x2230", "0x030000"),  # RTX A6000: VGA
            "0000:00:02.0": ("0x8086", "0x46a6", "0x030000"),  # Intel VGA
            "0000:00:1f.0": ("0x10de", "0x1ad8", "0x0c0330"),  # NVIDIA USB controller
        },
    )
    found = scan_module.scan(str(root))
    assert [d["address"] for d in found] == ["0000:3b:00.0", "0000:5e:00.0"]
    assert found[0] == {"address": "0000:3b:00.0", "device": "0x20b5", "class": "0x030200"}


def test_no_gpu_and_unreadable_entries(tmp_path: Path) -> None:
    root = fake_pci(tmp_path, {"0000:00:02.0": ("0x8086", "0x46a6", "0x030000")})
    (root / "0000:00:03.0").mkdir()  # no attributes at all
    broken = root / "0000:00:04.0"
    broken.mkdir()
    (broken / "vendor").write_text("0x10de\n")
    (broken / "class").write_text("garbage\n")
    assert scan_module.scan(str(root)) == []
    assert scan_module.scan(str(tmp_path / "missing")) == []


def _run_module(args: dict) -> dict:
    """Run the module the way Ansible does (JSON args in, JSON result out)."""
    proc = subprocess.run(
        [sys.executable, str(ROLE / "library/nvidia_gpu_pci_scan.py")],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": args}),
        capture_output=True,
        text=True,
    )
    return json.loads(proc.stdout)


def test_module_reports_reason_and_never_changes(tmp_path: Path) -> None:
    fake_pci(tmp_path / "gpu", {"0000:3b:00.0": ("0x10de", "0x20b5", "0x030200")})
    fake_pci(tmp_path / "none", {"0000:00:02.0": ("0x8086", "0x46a6", "0x030000")})
    with_gpu = _run_module({"sysfs_pci_path": str(tmp_path / "gpu")})
    assert with_gpu["present"] is True and with_gpu["changed"] is False
    assert with_gpu["reason"] == f"1 NVIDIA GPU(s) in {tmp_path / 'gpu'}: 0000:3b:00.0 (0x20b5)"
    without = _run_module({"sysfs_pci_path": str(tmp_path / "none")})
    assert without["present"] is False and without["devices"] == []
    assert "vendor 0x10de" in without["reason"]
    missing = _run_module({"sysfs_pci_path": str(tmp_path / "nope")})
    assert missing.get("failed") is True and "is not a directory" in missing["msg"]


# -- MIG parsers ----------------------------------------------------------------------

LGI = """\
+-------------------------------------------------------+
| GPU instances:                                        |
| GPU   Name             Profile  Instance   Placement  |
|                          ID       ID       Start:Size |
|=======================================================|
|   0  MIG 3g.40gb          9        2          4:4     |
+-------------------------------------------------------+
|   0  MIG 3g.40gb          9        1          0:4     |
+-------------------------------------------------------+
|   0  MIG 1g.10gb         19        9          6:1     |
+-------------------------------------------------------+
"""


def test_mig_profiles_parse_sorted() -> None:
    assert mig.nvidia_gpu_mig_profiles(LGI) == ["1g.10gb", "3g.40gb", "3g.40gb"]
    assert mig.nvidia_gpu_mig_profiles("No GPU instances found: Not Found\n") == []


def test_mig_modes_parse() -> None:
    out = "0, Enabled\n1, Disabled\n2, [N/A]\n"
    assert mig.nvidia_gpu_mig_modes(out) == {0: "Enabled", 1: "Disabled", 2: "[N/A]"}
    assert mig.nvidia_gpu_mig_modes("") == {}


# -- package sources ------------------------------------------------------------------


def test_per_os_vars_files_define_the_same_keys() -> None:
    keys = {f: set(yaml.safe_load((ROLE / "vars" / f"{f}.yml").read_text())) for f in OS_FILES}
    assert len({frozenset(k) for k in keys.values()}) == 1, keys


@pytest.mark.parametrize("os_file", sorted(OS_FILES))
@pytest.mark.parametrize(
    ("arch", "repo_arch", "deb_arch"), [("x86_64", "x86_64", "amd64"), ("aarch64", "sbsa", "arm64")]
)
def test_sources_per_os_and_arch(os_file: str, arch: str, repo_arch: str, deb_arch: str) -> None:
    r = Renderer(role_vars("nvidia_gpu", f"vars/{os_file}.yml"), facts={"architecture": arch})
    repos = r.var("_nvidia_gpu_repositories")
    cuda, toolkit = repos
    base = (
        f"https://developer.download.nvidia.com/compute/cuda/repos/{OS_FILES[os_file]}/{repo_arch}/"
    )
    assert cuda["uri"] == base and cuda["key_url"] == base + "3bf863cc.pub"
    assert toolkit["uri"] == f"https://nvidia.github.io/libnvidia-container/stable/deb/{deb_arch}/"
    for repo in repos:
        assert re.fullmatch(r"[0-9A-F]{40}", repo["key_fingerprint"]), repo
        text = r.template("nvidia_gpu", "nvidia.sources.j2", item=repo)
        if arch == "x86_64":
            check_golden(f"nvidia_gpu/{os_file}/{repo['name']}.sources", text)
        fields = dict(
            line.split(": ", 1) for line in text.splitlines() if line and not line.startswith("#")
        )
        # A flat repository: Suites "/" and no Components (deb822).
        assert fields == {
            "Types": "deb",
            "URIs": repo["uri"],
            "Suites": "/",
            "Signed-By": f"/etc/apt/keyrings/{repo['name']}.asc",
        }


def test_toolkit_version_pin() -> None:
    r = Renderer(role_vars("nvidia_gpu", nvidia_gpu_container_toolkit_version="1.17.8-1"))
    assert r.var("_nvidia_gpu_toolkit_packages") == ["nvidia-container-toolkit=1.17.8-1"]
    assert Renderer(role_vars("nvidia_gpu")).var("_nvidia_gpu_toolkit_packages") == [
        "nvidia-container-toolkit"
    ]


def test_driver_packages_follow_the_branch() -> None:
    r = Renderer(role_vars("nvidia_gpu", nvidia_gpu_driver_branch="550"))
    assert r.var("nvidia_gpu_driver_packages") == ["cuda-drivers-550"]


# -- rendered configuration -----------------------------------------------------------


def test_modprobe_and_persistenced_golden() -> None:
    r = Renderer(
        role_vars(
            "nvidia_gpu",
            "vars/Debian-12.yml",
            nvidia_gpu_module_options={"nvidia": "NVreg_EnableGpuFirmware=0"},
        )
    )
    modprobe = r.template("nvidia_gpu", "modprobe.conf.j2")
    check_golden("nvidia_gpu/mlplat-nvidia.conf", modprobe)
    assert "blacklist nouveau" in modprobe.splitlines()
    assert "options nvidia NVreg_EnableGpuFirmware=0" in modprobe.splitlines()
    persist = r.template("nvidia_gpu", "persistenced.conf.j2")
    check_golden("nvidia_gpu/10-mlplat.conf", persist)
    assert persist.splitlines()[-2:] == [
        "ExecStart=",
        "ExecStart=/usr/bin/nvidia-persistenced --user nvidia-persistenced"
        " --persistence-mode --verbose",
    ]


def test_options_off() -> None:
    r = Renderer(
        role_vars(
            "nvidia_gpu",
            "vars/Debian-12.yml",
            nvidia_gpu_blacklist_nouveau=False,
            nvidia_gpu_persistence_mode=False,
        )
    )
    assert "nouveau" not in r.template("nvidia_gpu", "modprobe.conf.j2")
    assert "--no-persistence-mode" in r.template("nvidia_gpu", "persistenced.conf.j2")


# -- holds ----------------------------------------------------------------------------


def test_holds_exactly_the_branch_and_the_installed_kernel() -> None:
    installed = {
        "cuda-drivers-550": "550.54.15-1",
        "nvidia-driver-550": "550.54.15-1",
        "libnvidia-compute-550": "550.54.15-0ubuntu1",
        "nvidia-persistenced": "550.54.15-1",
        "nvidia-container-toolkit": "1.17.0-1",  # toolkit version line: not the branch
        "libnvidia-container1": "1.17.0-1",
        "nvidia-driver-570": "570.86.15-1",  # another branch
        "cuda-toolkit-12-4": "550.0-1",  # name outside the driver pattern
        "linux-image-6.1.0-28-amd64": "6.1.119-1",
        "linux-image-amd64": "6.1.119-1",
        "openssh-server": "1:9.2p1-2",
    }
    packages = {name: [{"name": name, "version": v}] for name, v in installed.items()}
    facts = {"packages": packages, "kernel": "6.1.0-28-amd64"}
    r = Renderer(
        role_vars("nvidia_gpu", "vars/Debian-12.yml", nvidia_gpu_driver_branch="550"), facts=facts
    )
    assert r.var("_nvidia_gpu_hold_packages") == [
        "cuda-drivers-550",
        "libnvidia-compute-550",
        "nvidia-driver-550",
        "nvidia-persistenced",
        # linux-headers-* are not installed, so not held
        "linux-image-6.1.0-28-amd64",
        "linux-image-amd64",
    ]
    r = Renderer(
        role_vars(
            "nvidia_gpu",
            "vars/Debian-12.yml",
            nvidia_gpu_driver_branch="550",
            nvidia_gpu_hold_kernel=False,
        ),
        facts=facts,
    )
    assert not any(p.startswith("linux-") for p in r.var("_nvidia_gpu_hold_packages"))


def test_argument_specs_match_defaults() -> None:
    specs = yaml.safe_load((ROLE / "meta/argument_specs.yml").read_text())["argument_specs"]
    defaults = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    for name, spec in specs["main"]["options"].items():
        assert defaults[name] == spec["default"], name
    assert set(defaults) == set(specs["main"]["options"])
    assert set(specs["detect"]["options"]) <= set(specs["main"]["options"])


# -- key fingerprint check ------------------------------------------------------------


def _fingerprint_check_expression() -> str:
    tasks = yaml.safe_load((ROLE / "tasks/install_gpu.yml").read_text())
    block = next(t for t in tasks if "block" in t and "fingerprint" in t["name"])
    assert_task = next(t for t in block["block"] if "ansible.builtin.assert" in t)
    (expr,) = assert_task["ansible.builtin.assert"]["that"]
    return expr


def _check(stdout: str, fingerprint: str) -> bool:
    item = {"stdout": stdout, "item": {"key_fingerprint": fingerprint}}
    r = Renderer({"item": item})
    return r.var(_fingerprint_check_expression()) is True


CUDA_FPR = "EB693B3035CD5710E231E123A4B469963BF863CC"
OTHER_FPR = "0123456789ABCDEF0123456789ABCDEF01234567"


def _colons(primary: str, sub: str | None = None) -> str:
    lines = [
        f"pub:-:4096:1:{primary[-16:]}:1650000000:::-:::scESC::::::23::0:",
        f"fpr:::::::::{primary}:",
        "uid:-::::1650000000::0000::cudatools <cudatools@nvidia.com>::::::::::0:",
    ]
    if sub:
        lines += [f"sub:-:4096:1:{sub[-16:]}:1650000000::::::e::::::23:", f"fpr:::::::::{sub}:"]
    return "\n".join(lines) + "\n"


def test_key_check_accepts_the_pinned_primary_key() -> None:
    assert _check(_colons(CUDA_FPR), CUDA_FPR)
    assert _check(_colons(CUDA_FPR, sub=OTHER_FPR), CUDA_FPR)


def test_key_check_rejects_other_keys_and_subkey_matches() -> None:
    assert not _check(_colons(OTHER_FPR), CUDA_FPR)
    # The pinned fingerprint as a *subkey* of another primary key is not the pinned key.
    assert not _check(_colons(OTHER_FPR, sub=CUDA_FPR), CUDA_FPR)
    assert not _check("", CUDA_FPR)


def test_key_check_on_real_gpg_output(tmp_path: Path) -> None:
    """The same expression on what `gpg --show-keys --with-colons` really prints."""
    gpg_bin = tool("gpg")  # skips, or fails when CI=true, if gpg is missing
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}

    def gpg(*args: str) -> str:
        return subprocess.run(
            [gpg_bin, "--batch", "--passphrase", "", *args],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    try:
        gpg("--quick-gen-key", "mlplat test <t@mlplat.invalid>", "ed25519", "sign,cert", "1d")
        primary_fpr = gpg("--list-keys", "--with-colons").split("fpr:::::::::")[1].split(":")[0]
        gpg("--quick-add-key", primary_fpr, "cv25519", "encr", "1d")  # a subkey, as NVIDIA's
        key = tmp_path / "key.asc"
        key.write_text(gpg("--armor", "--export"))
    finally:
        # Key generation starts a gpg-agent for this home; stop exactly that one.
        subprocess.run(
            ["gpgconf", "--kill", "gpg-agent"], env=env, check=False, capture_output=True
        )
    shown = gpg("--show-keys", "--with-colons", str(key))
    fprs = [line.split(":")[9] for line in shown.splitlines() if line.startswith("fpr:")]
    primary, sub = fprs[0], fprs[1]
    assert _check(shown, primary)
    assert not _check(shown, sub)
    assert not _check(shown, CUDA_FPR)
