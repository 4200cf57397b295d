"""Clean up after test runs that died without cleaning up (SIGKILL, OOM, power loss).

Every run records its owner process and everything it starts (PID plus the
process start time, so a reused PID is never signalled) in its run directory.
A run whose owner is gone is taken apart here; live runs of other engineers or
CI jobs on the same machine are left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

from mlplat.testing.hosts.util import log, proc_start, run, same_process


class RunRecord:
    """The state file of one run directory."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / "state.json"
        self._lock = threading.Lock()  # hosts boot in parallel threads

    def load(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data

    def _update(self, fn: Any) -> None:
        with self._lock:
            data = self.load()
            fn(data)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            tmp.rename(self.path)

    def set_owner(self, control_dir: Path) -> None:
        pid = os.getpid()
        self._update(lambda d: d.update(owner=[pid, proc_start(pid)], control_dir=str(control_dir)))

    def add_process(self, pid: int) -> None:
        start = proc_start(pid)
        self._update(lambda d: d.setdefault("processes", []).append([pid, start]))

    def set_host(self, name: str, **fields: Any) -> None:
        self._update(lambda d: d.setdefault("hosts", {}).setdefault(name, {}).update(fields))


def _kill(pid: int, start: str | None) -> None:
    if not same_process(pid, start):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(50):
        if not same_process(pid, start):
            return
        time.sleep(0.05)


def cleanup_stale(run_base: Path) -> list[Path]:
    """Tear down every run under run_base whose owner process is gone."""
    cleaned: list[Path] = []
    if not run_base.is_dir():
        return cleaned
    for run_dir in sorted(run_base.glob("run-*")):
        state = RunRecord(run_dir).load()
        owner = state.get("owner")
        if not owner or same_process(owner[0], owner[1]):
            continue  # alive, or still being created
        log.warning("cleaning up stale test-host run %s", run_dir)
        for host in (state.get("hosts") or {}).values():
            if host.get("leader"):
                _kill(*host["leader"])  # the container's init: its pid namespace dies
            if host.get("nspawn"):
                _kill(*host["nspawn"])
        for pid, start in state.get("processes") or []:
            _kill(pid, start)
        for host in (state.get("hosts") or {}).values():
            if host.get("merged"):
                run(["umount", "-l", host["merged"]], check=False)
            if host.get("netns"):
                run(["ip", "netns", "del", host["netns"]], check=False)
            if host.get("host_if"):
                run(["ip", "link", "del", host["host_if"]], check=False)
        if state.get("control_dir"):
            shutil.rmtree(state["control_dir"], ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)
        cleaned.append(run_dir)
    return cleaned
