"""Booted hosts and the pool that owns everything one run starts.

A :class:`Host` is a systemd-nspawn container booted from a cached rootfs (see ``rootfs``) on
an overlay of its own, in a network namespace of its own (``net``), with apt through the
pool's relay (``aptproxy``). A :class:`HostPool` leases the run's subnet, starts the apt
relay, boots hosts in parallel, records what it started for stale-run cleanup (``stale``) and
stops all of it, by PID, on ``close()``, at interpreter exit, or on SIGTERM.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mlplat.testing.hosts.aptproxy import APT_PROXY_CONF, AptProxy
from mlplat.testing.hosts.net import (
    HostNet,
    SubnetLease,
    create_host_net,
    delete_host_net,
    lease_subnet,
)
from mlplat.testing.hosts.rootfs import Rootfs, ensure_rootfs
from mlplat.testing.hosts.stale import RunRecord, cleanup_stale
from mlplat.testing.hosts.util import HOST_ENV, log, proc_start, run, terminate

RUN_BASE = Path("/var/tmp/mlplat-testhosts")

BOOT_TIMEOUT = 120.0  # generous: a loaded 2-vCPU CI machine boots hosts far slower
NSPAWN_REBOOT_EXIT = 133  # nspawn's exit code when the container asked for a reboot


class Host:
    """One booted container. ``root`` is its merged overlay as seen from this machine."""

    def __init__(self, pool: HostPool, name: str, index: int, rootfs: Rootfs) -> None:
        self.pool = pool
        self.name = name
        self.index = index
        self.rootfs = rootfs
        self.dir = pool.run_dir / "hosts" / name
        self.root = self.dir / "merged"
        self.net: HostNet | None = None
        self.leader_pid = 0
        self.failed_units_at_boot: list[str] = []
        self._nspawn: subprocess.Popen[bytes] | None = None
        self._relay: subprocess.Popen[bytes] | None = None
        self._mounted = False

    @property
    def address(self) -> str:
        assert self.net is not None
        return self.net.address

    def __repr__(self) -> str:
        return f"Host({self.name!r}, {self.address if self.net else '-'}, pid={self.leader_pid})"

    # -- lifecycle -----------------------------------------------------------
    def _prepare(self, before_boot: Callable[[Path, str], None] | None) -> None:
        for d in ("upper", "work", "merged"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        run(
            [
                "mount",
                "-t",
                "overlay",
                "overlay",
                "-o",
                f"lowerdir={self.rootfs.lower},upperdir={self.dir / 'upper'},"
                f"workdir={self.dir / 'work'}",
                self.root,
            ]
        )
        self._mounted = True
        self.pool.record.set_host(self.name, merged=str(self.root))
        r = self.root
        run(["ssh-keygen", "-A", "-f", r])  # fresh host keys for this host only
        (r / "etc/machine-id").write_text("")
        (r / "etc/hostname").write_text(self.name + "\n")
        (r / "etc/hosts").write_text(
            f"127.0.0.1\tlocalhost\n{self.address}\t{self.name}\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
        )
        ssh_dir = r / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        keys = ssh_dir / "authorized_keys"
        keys.write_text(self.pool.public_key)
        keys.chmod(0o600)
        (r / "etc/apt/apt.conf.d/00mlplat-test-proxy").write_text(APT_PROXY_CONF)
        # Old lists so cache_valid_time never skips the first apt update.
        lists = r / "var/lib/apt/lists"
        lists.mkdir(parents=True, exist_ok=True)
        os.utime(lists, (0, 0))
        if before_boot is not None:
            before_boot(r, self.name)

    def _start(self, timeout: float = BOOT_TIMEOUT) -> None:
        assert self.net is not None
        env = {**os.environ, "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network"}
        console = open(self.dir / "console.log", "ab")  # noqa: SIM115
        self._nspawn = subprocess.Popen(
            [
                "systemd-nspawn",
                "--quiet",
                "--boot",
                "--register=no",
                "--keep-unit",
                f"--directory={self.root}",
                # nspawn keeps per-machine state under /run/systemd/nspawn keyed by
                # the machine name: concurrent runs booting "gpu1" would collide, so
                # the machine name carries the run's lease; the hostname stays plain.
                f"--machine={self.name}-r{self.pool.lease.index}",
                f"--hostname={self.name}",
                f"--network-namespace-path={self.net.netns_path}",
                "--capability=CAP_NET_ADMIN",
                "--link-journal=no",
                "--resolv-conf=off",
                "--timezone=off",
                "--console=read-only",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        console.close()
        self.pool.record.set_host(
            self.name, nspawn=[self._nspawn.pid, proc_start(self._nspawn.pid)]
        )
        self.leader_pid = self._find_leader(timeout)
        self.pool.record.set_host(self.name, leader=[self.leader_pid, proc_start(self.leader_pid)])
        self._wait_running(timeout)

    def console_tail(self, lines: int = 25) -> str:
        """The end of the container's console (nspawn and systemd messages)."""
        try:
            text = (self.dir / "console.log").read_text(errors="replace")
        except OSError:
            return "(no console log)"
        tail = "\n".join(text.splitlines()[-lines:])
        if "Too many open files" in tail:
            tail += (
                "\nhint: every booted systemd takes inotify instances and the machine-wide "
                "limit is low (fs.inotify.max_user_instances, often 128); too many hosts "
                "are up on this machine (other runs too). Raise the limit or boot fewer."
            )
        return tail

    def _find_leader(self, timeout: float) -> int:
        """PID (on this machine) of the container's PID 1, a descendant of nspawn."""
        assert self._nspawn is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._nspawn.poll() is not None:
                raise RuntimeError(
                    f"{self.name}: systemd-nspawn exited with {self._nspawn.returncode}:\n"
                    + self.console_tail()
                )
            todo, seen = [self._nspawn.pid], set()
            while todo:
                pid = todo.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                with contextlib.suppress(OSError):
                    status = Path(f"/proc/{pid}/status").read_text()
                    nspid = next(
                        (ln.split()[1:] for ln in status.splitlines() if ln.startswith("NSpid:")),
                        [],
                    )
                    if pid != self._nspawn.pid and len(nspid) >= 2 and nspid[-1] == "1":
                        return pid
                    for task in Path(f"/proc/{pid}/task").iterdir():
                        todo += [int(c) for c in (task / "children").read_text().split()]
            time.sleep(0.02)
        raise RuntimeError(f"{self.name}: container init did not appear")

    def _wait_running(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            if self._nspawn is not None and self._nspawn.poll() is not None:
                raise RuntimeError(
                    f"{self.name}: container exited during boot:\n" + self.console_tail()
                )
            state = self.exec(["systemctl", "is-system-running"], timeout=10).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{self.name}: not running after {timeout}s (state {state!r})")
        if state == "degraded":
            failed = self.exec(["systemctl", "--failed", "--plain", "--no-legend"]).stdout
            self.failed_units_at_boot = [ln.split()[0] for ln in failed.splitlines() if ln]
            log.warning("%s booted degraded: %s", self.name, self.failed_units_at_boot)
        self._wait_ssh(deadline)

    def _wait_ssh(self, deadline: float) -> None:
        import socket

        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.address, 22), timeout=1) as s:
                    if s.recv(4).startswith(b"SSH"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name}: sshd not answering on {self.address}:22")

    def exec(
        self,
        cmd: str | Sequence[str],
        *,
        check: bool = False,
        timeout: float = 300,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the host (all its namespaces, a clean environment)."""
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        full = [
            "nsenter",
            "-t",
            str(self.leader_pid),
            "-a",
            "env",
            "-i",
            *(f"{k}={v}" for k, v in HOST_ENV.items()),
            *argv,
        ]
        return run(full, check=check, timeout=timeout, input=input)

    def reboot(self, timeout: float = BOOT_TIMEOUT) -> None:
        """Reboot for real: the container's systemd shuts down, nspawn exits and is
        started again on the same root (the overlay's upper layer is kept)."""
        assert self._nspawn is not None
        old_leader = self.leader_pid
        self.exec(["systemctl", "reboot"], timeout=30)
        try:
            rc = self._nspawn.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{self.name}: did not shut down for reboot") from None
        if rc not in (0, NSPAWN_REBOOT_EXIT):
            log.warning("%s: nspawn exited with %s on reboot", self.name, rc)
        self._start(timeout)
        assert self.leader_pid != old_leader

    def stop(self, timeout: float = 20) -> None:
        """Power the container off (SIGTERM to nspawn = orderly halt), then SIGKILL."""
        proc, self._nspawn = self._nspawn, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.leader_pid, signal.SIGKILL)  # kills its pid namespace
                terminate(proc, grace=5)
        self.leader_pid = 0

    def _teardown(self) -> None:
        self.stop()
        if self._relay is not None:
            self.pool.apt.detach(self._relay)
            self._relay = None
        if self._mounted:
            for attempt in range(20):
                if run(["umount", self.root], check=False).returncode == 0:
                    break
                time.sleep(0.1 * (attempt + 1))
            else:
                run(["umount", "-l", self.root], check=False)
            self._mounted = False
        if self.net is not None:
            delete_host_net(self.net)
            self.net = None
        shutil.rmtree(self.dir, ignore_errors=True)


class HostPool:
    """Owns everything one test run starts: subnet lease, apt relay, hosts."""

    def __init__(self) -> None:
        RUN_BASE.mkdir(parents=True, exist_ok=True)
        cleanup_stale(RUN_BASE)  # only runs whose owner process is gone
        self.run_dir = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=RUN_BASE))
        self.record = RunRecord(self.run_dir)
        self.hosts: dict[str, Host] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._lease: SubnetLease | None = None
        self._next_index = 0
        self.apt = AptProxy(self.run_dir, on_process=self.record.add_process)
        self._apt_started = False
        key = self.run_dir / "id_ed25519"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mlplat-testhosts", "-f", key])
        self.key_path = key
        self.public_key = (self.run_dir / "id_ed25519.pub").read_text()
        # SSH control sockets need a short path (sun_path is 108 bytes and ssh
        # appends a 17-character suffix while creating one), so not under run_dir.
        self.control_dir = Path("/run/mlplat-testhosts") / f"cp-{self.run_dir.name[-8:]}"
        self.control_dir.mkdir(parents=True, mode=0o700)
        self.record.set_owner(self.control_dir)
        atexit.register(self.close)
        _install_sigterm_handler()

    @property
    def lease(self) -> SubnetLease:
        if self._lease is None:
            self._lease = lease_subnet()
        return self._lease

    @property
    def monitoring_cidr(self) -> str:
        return str(self.lease.network)

    @property
    def controller_address(self) -> str:
        return self.lease.gateway

    def connection_vars(self) -> dict[str, Any]:
        cp = self.control_dir
        return {
            "ansible_user": "root",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_private_key_file": str(self.key_path),
            "ansible_control_path_dir": str(cp),
            "ansible_ssh_common_args": (
                "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                "-o LogLevel=ERROR -o ConnectTimeout=10 -o ControlMaster=auto "
                f"-o ControlPersist=300s -o ControlPath={cp}/%C"
            ),
        }

    def boot(
        self,
        names: Iterable[str],
        flavor: str = "base",
        *,
        extra_packages: Sequence[str] = (),
        before_boot: Callable[[Path, str], None] | None = None,
        timeout: float = BOOT_TIMEOUT,
    ) -> list[Host]:
        """Boot hosts in parallel; returns them in the order of ``names``."""
        if self._closed:
            raise RuntimeError("HostPool is closed")
        names = list(names)
        if len(set(names)) != len(names) or set(names) & set(self.hosts):
            raise ValueError(f"host names must be unique in a pool: {names}")
        rootfs = ensure_rootfs(flavor, tuple(sorted(extra_packages)))
        with self._lock:
            lease = self.lease  # leased once, before the boot threads need it
            if not self._apt_started:
                self.apt.start()
                self._apt_started = True
            hosts = []
            for name in names:
                self._next_index += 1
                host = Host(self, name, self._next_index, rootfs)
                self.hosts[name] = host
                hosts.append(host)

        def bring_up(h: Host) -> Host:
            h.net = create_host_net(lease, h.index, h.name)
            self.record.set_host(h.name, netns=h.net.netns, host_if=h.net.host_if)
            h._relay = self.apt.attach(h.net.netns_path)
            h._prepare(before_boot)
            h._start(timeout)
            return h

        with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as ex:
            futures = [ex.submit(bring_up, h) for h in hosts]
            errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise RuntimeError(f"booting {names} failed: {errors[0]}") from errors[0]
        return hosts

    def destroy(self, host: Host) -> None:
        host._teardown()
        self.hosts.pop(host.name, None)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with ThreadPoolExecutor(max_workers=max(1, len(self.hosts))) as ex:
            list(ex.map(lambda h: _quietly(h._teardown), list(self.hosts.values())))
        self.hosts.clear()
        _close_control_masters(self.control_dir)
        shutil.rmtree(self.control_dir, ignore_errors=True)
        _quietly(self.apt.stop)
        if self._lease is not None:
            self._lease.release()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> HostPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _quietly(fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception as e:  # cleanup must go on for the other resources
        log.warning("cleanup step failed: %s", e)


def _close_control_masters(cp_dir: Path) -> None:
    """Ask every SSH ControlMaster under our run dir to exit (they live past ansible)."""
    if not cp_dir.is_dir():
        return
    for sock in cp_dir.iterdir():
        run(
            ["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "mlplat-test-host"],
            check=False,
            timeout=10,
        )


_sigterm_installed = False


def _install_sigterm_handler() -> None:
    """Turn SIGTERM into SystemExit so finalizers and atexit clean up hosts."""
    global _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):

        def _exit(signum: int, frame: object) -> None:
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, _exit)
    _sigterm_installed = True


_default_pool: HostPool | None = None


def boot_hosts(names: Iterable[str], flavor: str = "base", **kwargs: Any) -> list[Host]:
    """Boot hosts in a process-wide pool that is closed at interpreter exit."""
    global _default_pool
    if _default_pool is None or _default_pool._closed:
        _default_pool = HostPool()
    return _default_pool.boot(names, flavor, **kwargs)
