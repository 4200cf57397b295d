"""apt for test hosts: a private apt-cacher-ng on 127.0.0.1, relayed into namespaces.

    host netns 127.0.0.1:3142 --socat--> unix socket --socat--> 127.0.0.1:<port> acng
                                                                   (this machine)

Hosts have no route anywhere; the relay is the only way out, and it only
speaks to the cache. The cache directory persists between runs (one per
"slot", so two concurrent runs never share a cache directory).
"""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from mlplat.testing.hosts.rootfs import cache_dir
from mlplat.testing.hosts.util import FileLock, terminate

HOST_PROXY_PORT = 3142
APT_PROXY_CONF = 'Acquire::http::Proxy "http://127.0.0.1:3142";\nAcquire::Retries "3";\n'
MAX_SLOTS = 8


def _free_port() -> int:
    # apt-cacher-ng 3.7 formats its port with "%hi" (a signed short): a port
    # above 32767 turns negative and it cannot bind. Pick one below that.
    for port in random.sample(range(20000, 32000), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32000 on 127.0.0.1 for apt-cacher-ng")


def _wait_listening(
    port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


class AptProxy:
    """One apt-cacher-ng instance plus the unix-socket relay end on this machine."""

    def __init__(self, run_dir: Path, on_process: Callable[[int], None] = lambda pid: None) -> None:
        self.run_dir = run_dir
        self._on_process = on_process
        self.socket_path = run_dir / "apt.sock"
        self.port = 0
        self._slot_lock: FileLock | None = None
        self._acng: subprocess.Popen[bytes] | None = None
        self._relay: subprocess.Popen[bytes] | None = None
        self._netns_relays: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        base = cache_dir() / "apt-cacher-ng"
        for slot in range(MAX_SLOTS):
            lock = FileLock(base / f"slot-{slot}.lock")
            if lock.acquire(blocking=False):
                self._slot_lock = lock
                break
        else:
            raise RuntimeError("all apt-cacher-ng cache slots are in use")
        slot_dir = base / f"slot-{slot}"
        conf_dir = self.run_dir / "acng-conf"
        for d in (slot_dir / "cache", slot_dir / "log", conf_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        (conf_dir / "acng.conf").write_text(
            f"CacheDir: {slot_dir / 'cache'}\n"
            f"LogDir: {slot_dir / 'log'}\n"
            f"Port: {self.port}\n"
            "BindAddress: 127.0.0.1\n"
            f"SocketPath: {self.run_dir / 'acng-admin.sock'}\n"
            f"PidFile: {self.run_dir / 'acng.pid'}\n"
            "ForeGround: 1\n"
            "ExThreshold: 30\n"
        )
        log_file = open(self.run_dir / "acng.stdout", "wb")  # noqa: SIM115
        self._acng = subprocess.Popen(
            ["apt-cacher-ng", "-c", str(conf_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._on_process(self._acng.pid)
        _wait_listening(self.port, self._acng, "apt-cacher-ng")
        self._relay = self._spawn_relay(
            f"UNIX-LISTEN:{self.socket_path},fork,mode=600,unlink-early",
            f"TCP4:127.0.0.1:{self.port}",
        )
        deadline = time.monotonic() + 10
        while not self.socket_path.exists():
            if time.monotonic() > deadline or self._relay.poll() is not None:
                raise RuntimeError("socat relay socket did not appear")
            time.sleep(0.05)

    def attach(self, netns_path: Path) -> subprocess.Popen[bytes]:
        """Listen on 127.0.0.1:3142 inside a namespace, relaying to the cache."""
        proc = self._spawn_relay(
            f"TCP4-LISTEN:{HOST_PROXY_PORT},bind=127.0.0.1,reuseaddr,fork",
            f"UNIX-CONNECT:{self.socket_path}",
            netns_path=netns_path,
        )
        self._netns_relays.append(proc)
        return proc

    def _spawn_relay(
        self, listen: str, connect: str, netns_path: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """A socat relay (inside a namespace if given), recorded for stale-run clean-up."""
        enter = ["nsenter", f"--net={netns_path}"] if netns_path is not None else []
        proc = subprocess.Popen(
            [*enter, "socat", listen, connect],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._on_process(proc.pid)
        return proc

    def detach(self, proc: subprocess.Popen[bytes]) -> None:
        terminate(proc)
        if proc in self._netns_relays:
            self._netns_relays.remove(proc)

    def stop(self) -> None:
        for proc in list(self._netns_relays):
            self.detach(proc)
        terminate(self._relay)
        terminate(self._acng)
        self._relay = self._acng = None
        if self._slot_lock:
            self._slot_lock.release()
            self._slot_lock = None
