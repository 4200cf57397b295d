"""Real throwaway Debian 12 hosts for Ansible and cloud-init tests.

Hosts are systemd-nspawn containers booted from a cached debootstrap rootfs, each in its own
network namespace, reachable from this machine over SSH and able to use apt only through a
private apt-cacher-ng relay on 127.0.0.1. Needs root. In pytest, use the fixtures of
:mod:`mlplat.testing.hosts.plugin` (registered for every pytest run of this venv); elsewhere
(a benchmark, another project's script)::

    from mlplat.testing.hosts import HostPool, run_playbook, write_inventory

    with HostPool() as pool:                                 # closes everything it started
        hosts = pool.boot(["web1", "web2"], flavor="base")   # booted in parallel
        h = hosts[0]
        h.name, h.address, h.leader_pid, h.root  # root: the host's / as seen from here
        h.exec("systemctl is-active ssh")        # CompletedProcess (text); str runs via sh -c
        h.exec(["cat", "/etc/hostname"], check=True)
        h.reboot()                               # real restart, same root, waits for boot
        inv = write_inventory(hosts, {"cpu_hosts": ["web1", "web2"]}, pool.run_dir / "i.yml")
        res = run_playbook(inv, "ansible/site.yml", "--diff")     # -> PlaybookResult
        res.rc, res.recap["web1"]["changed"], res.changed(), res.changed_tasks()
        rp = RunningPlaybook(inv, "ansible/site.yml")  # background run; wait_for(regex); kill()
        connect_testinfra(inv)["web1"].service("ssh").is_running

``boot_hosts(names, flavor="base")`` does the same with a process-wide pool closed at exit.
Flavors (``FLAVORS``): ``"base"`` (python3, openssh-server, systemd, sudo, iproute2, procps,
dbus) and ``"cloud-init"`` (base + cloud-init); each is cached separately.
``pool.boot(..., before_boot=fn)`` calls ``fn(root, name)`` after the host's files are
prepared and before it boots (e.g. to drop a NoCloud seed into
``root / "var/lib/cloud/seed/nocloud"``).

What the hosts are: real systemd 252, real sshd, real apt and dpkg, real network namespaces.
What they are not: their own kernel (``vm.*``/``kernel.*`` sysctls are read-only, no kernel
modules can be loaded, no swap), no GPU, no default route (``ansible_default_ipv4`` is empty),
no DNS. See docs/testing-hosts.md.

Environment: ``MLPLAT_TESTHOSTS_CACHE`` (default /var/cache/mlplat-testhosts) holds rootfs
tarballs, extracted lower dirs and the apt cache.
"""

from __future__ import annotations

from mlplat.testing.hosts.fingerprint import diff as diff_fingerprints
from mlplat.testing.hosts.fingerprint import fingerprint
from mlplat.testing.hosts.inventory import connect_testinfra, load_vars_dir, write_inventory
from mlplat.testing.hosts.playbook import (
    PlaybookResult,
    RunningPlaybook,
    ansible_bin,
    parse_recap,
    run_playbook,
)
from mlplat.testing.hosts.pool import Host, HostPool, boot_hosts
from mlplat.testing.hosts.preflight import require_or_skip, usability_problem
from mlplat.testing.hosts.rootfs import FLAVORS

__all__ = [
    "FLAVORS",
    "Host",
    "HostPool",
    "PlaybookResult",
    "RunningPlaybook",
    "ansible_bin",
    "boot_hosts",
    "connect_testinfra",
    "diff_fingerprints",
    "fingerprint",
    "load_vars_dir",
    "parse_recap",
    "require_or_skip",
    "run_playbook",
    "usability_problem",
    "write_inventory",
]
