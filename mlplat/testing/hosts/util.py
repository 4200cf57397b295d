"""Small process, lock and environment helpers shared by the harness modules."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("mlplat.testhosts")

# A clean environment for commands run inside hosts: the venv's PATH or
# PYTHON* variables of this machine must not leak into a booted host.
HOST_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
    "TERM": "dumb",
}


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    check: bool = True,
    timeout: float | None = 120,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capture text output, raise with stderr on failure."""
    args = [str(c) for c in cmd]
    log.debug("run: %s", " ".join(args))
    proc = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, env=env, input=input
    )
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(args)}\n"
            f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}"
        )
    return proc


def terminate(
    proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None,
    grace: float = 5.0,
    group: bool = False,
) -> None:
    """Stop a process this harness started, by its PID (or its own process group).

    Never by name: other engineers' processes on the same machine stay alone.
    """
    if proc is None or proc.poll() is not None:
        return
    sig_target = (lambda s: os.killpg(proc.pid, s)) if group else proc.send_signal
    try:
        sig_target(signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        sig_target(signal.SIGKILL)
    except ProcessLookupError:
        return
    proc.wait(timeout=10)


class FileLock:
    """An flock()-based lock file; released automatically if the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, blocking: bool = True, timeout: float = 600) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not blocking or time.monotonic() > deadline:
                    os.close(fd)
                    return False
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), None if it is gone.

    The command name may hold spaces and parentheses, so the split is after its last ")".
    """
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def proc_start(pid: int) -> str | None:
    """Start time of a process (clock ticks since boot), None if it is gone.

    Recorded beside a PID so a later cleanup never signals a reused PID.
    """
    fields = _stat_fields(pid)
    return fields[19] if fields else None


def parent_pids() -> dict[int, int]:
    """PID -> parent PID of every process on the machine, read from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(entry.name)):
            parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> list[int]:
    """PIDs of every process below `pid` (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for child, parent in parent_pids().items():
        children.setdefault(parent, []).append(child)
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(leader: int) -> None:
    """SIGKILL a process group leader's group and every descendant of the leader, by PID.

    The descendants are collected first, while they are still the leader's: once it dies
    they are re-parented and can no longer be told apart from other processes. The group
    alone is not enough: ansible-playbook's forked workers can start sessions of their own.
    """
    tree = descendants(leader)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(leader, signal.SIGKILL)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def same_process(pid: int, start: str | None) -> bool:
    return start is not None and proc_start(pid) == start


def put_venv_on_path(path: str) -> str:
    """``path`` (a PATH value) with the running interpreter's bin directory first if missing.

    Tools the harness starts look for the venv's ansible commands on PATH, and pytest run as
    ``.venv/bin/pytest`` without an activated venv does not put them there.
    """
    venv_bin = str(Path(sys.executable).parent)
    parts = path.split(os.pathsep) if path else []
    return path if venv_bin in parts else os.pathsep.join([venv_bin, *parts])
