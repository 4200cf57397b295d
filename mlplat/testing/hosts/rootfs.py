"""Debian 12 root filesystems for test hosts: built once with debootstrap, cached.

A *flavor* is the minimal base package set plus extra ``--include`` packages. Each
flavor is cached separately as a tarball keyed by a hash of everything that
shapes the tree (suite, mirror, package list, the cleaning recipe version), and
also kept extracted so overlay mounts can use it as a read-only lower dir.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlplat.testing.hosts.util import FileLock, log, run

SUITE = "bookworm"
BASE_PACKAGES = (
    "python3",
    "python3-apt",
    "openssh-server",
    "systemd",
    "systemd-sysv",
    "dbus",
    "sudo",
    "iproute2",
    "procps",
    "libpam-systemd",
)
# Extra packages per flavor. Add a flavor here (or pass extra packages to
# boot_hosts) rather than installing packages at test time.
FLAVORS: dict[str, tuple[str, ...]] = {
    "base": (),
    # debootstrap does not resolve python3-cryptography's virtual dependency
    # (python3-cffi-backend-api-*): name its provider explicitly.
    "cloud-init": ("cloud-init", "python3-cffi-backend"),
}
# Bump when the cleaning recipe below changes, so caches rebuild.
RECIPE_VERSION = "3"
DEFAULT_CACHE = "/var/cache/mlplat-testhosts"
FALLBACK_MIRROR = "http://deb.debian.org/debian"
# Numeric owners, xattrs and ACLs: the tree must come back exactly as debootstrap made it.
TAR = ("tar", "--numeric-owner", "--xattrs", "--acls")


def cache_dir() -> Path:
    return Path(os.environ.get("MLPLAT_TESTHOSTS_CACHE", DEFAULT_CACHE))


def debian_mirror() -> str:
    """The Debian mirror this machine already uses (first http URI for 'debian')."""
    candidates: list[str] = []
    src_dir = Path("/etc/apt/sources.list.d")
    files = sorted(src_dir.glob("*.sources")) + sorted(src_dir.glob("*.list"))
    files.append(Path("/etc/apt/sources.list"))
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        candidates += re.findall(r"^URIs:\s*(\S+)", text, re.M)
        candidates += re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M)
    for uri in candidates:
        if uri.startswith("http://") and uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    return FALLBACK_MIRROR


@dataclass(frozen=True)
class Rootfs:
    flavor: str
    key: str
    tarball: Path
    lower: Path  # extracted, read-only lower dir for overlay mounts
    packages: tuple[str, ...]


def _packages(flavor: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    if flavor not in FLAVORS:
        raise ValueError(f"unknown host flavor {flavor!r}; known: {sorted(FLAVORS)}")
    return tuple(sorted(set(BASE_PACKAGES) | set(FLAVORS[flavor]) | set(extra)))


def rootfs_key(flavor: str, extra: tuple[str, ...] = ()) -> str:
    recipe = "\n".join(
        [SUITE, debian_mirror(), "minbase", RECIPE_VERSION, *_packages(flavor, extra)]
    )
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def ensure_rootfs(flavor: str = "base", extra: tuple[str, ...] = ()) -> Rootfs:
    """Return the cached rootfs for a flavor, building or extracting it if needed.

    Safe to call from concurrent test runs: a lock file per key serialises builds.
    """
    key = rootfs_key(flavor, extra)
    name = f"{flavor}-{key}"
    base = cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    tarball = base / f"rootfs-{name}.tar.zst"
    lower = base / "lower" / name
    rootfs = Rootfs(flavor, key, tarball, lower, _packages(flavor, extra))
    with FileLock(base / f"rootfs-{name}.lock"):
        if _marker(rootfs).exists():
            return rootfs
        if not tarball.exists():
            _build(rootfs)
        _extract(rootfs)
    return rootfs


def _build(rootfs: Rootfs) -> None:
    mirror = debian_mirror()
    work = Path(tempfile.mkdtemp(prefix="build-", dir=cache_dir()))
    tree = work / "root"
    try:
        log.info("debootstrap %s (%s) from %s", rootfs.flavor, rootfs.key, mirror)
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(rootfs.packages)}",
                SUITE,
                tree,
                mirror,
            ],
            timeout=900,
        )
        _clean(tree, mirror)
        tmp_tar = rootfs.tarball.with_suffix(".partial")
        run([*TAR, "-I", "zstd -T0 -3", "-C", tree, "-cf", tmp_tar, "."], timeout=600)
        tmp_tar.rename(rootfs.tarball)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _clean(tree: Path, mirror: str) -> None:
    """Make the tree a neutral template: no identity, no caches, sane apt sources."""
    for pattern in (
        "etc/ssh/ssh_host_*",
        "var/cache/apt/*.bin",
        "var/cache/apt/archives/*.deb",
        "var/lib/apt/lists/*_*",
        "var/log/*.log",
        "var/log/apt/*",
    ):
        for p in tree.glob(pattern):
            if p.is_file() or p.is_symlink():
                p.unlink()
    (tree / "etc/machine-id").write_text("")
    dbus_id = tree / "var/lib/dbus/machine-id"
    if dbus_id.exists() or dbus_id.is_symlink():
        dbus_id.unlink()
    (tree / "etc/hostname").write_text("localhost\n")
    security = mirror.rsplit("/", 1)[0] + "/debian-security"
    (tree / "etc/apt/sources.list").write_text(
        f"deb {mirror} {SUITE} main\n"
        f"deb {mirror} {SUITE}-updates main\n"
        f"deb {security} {SUITE}-security main\n"
    )
    # Hosts must not try to configure networking themselves: the harness
    # owns each host's namespace, addresses and routes.
    for unit in ("systemd-networkd.service", "systemd-resolved.service"):
        wants = tree / "etc/systemd/system/multi-user.target.wants" / unit
        if wants.is_symlink():
            wants.unlink()


def _extract(rootfs: Rootfs) -> None:
    tmp = rootfs.lower.with_name(rootfs.lower.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(rootfs.lower, ignore_errors=True)
    _marker(rootfs).unlink(missing_ok=True)
    tmp.mkdir(parents=True)
    run([*TAR, "-I", "zstd -T0", "-C", tmp, "-xf", rootfs.tarball], timeout=600)
    tmp.rename(rootfs.lower)
    _marker(rootfs).write_text(rootfs.key + "\n")


def _marker(rootfs: Rootfs) -> Path:
    # Kept beside the tree, not in it, so hosts do not see it.
    return rootfs.lower.with_name(rootfs.lower.name + ".complete")
