"""ansible-playbook runs against booted hosts: to completion, or in the background to be
killed midway; PLAY RECAP parsing.

Runs use the repository's ``ansible/ansible.cfg`` (when it exists) and the repository root as
working directory, like a person running ``ansible-playbook`` from a checkout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlplat.core.paths import ANSIBLE_DIR, REPO_ROOT
from mlplat.testing.hosts.util import kill_tree, put_venv_on_path

_RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")
_TASK_LINE = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<task>.*)\] \**$")
_CHANGED_LINE = re.compile(r"^changed: \[(?P<host>[^\]]+?)(?: -> [^\]]+)?\]")


def ansible_bin(tool: str) -> str:
    """The ansible tool from the venv running the tests, else from PATH."""
    venv_tool = Path(sys.executable).parent / tool
    return str(venv_tool) if venv_tool.exists() else tool


@dataclass
class PlaybookResult:
    """Outcome of one ansible-playbook run."""

    rc: int
    stdout: str
    stderr: str
    argv: list[str]
    duration: float
    recap: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.rc == 0 and all(
            c.get("failed", 0) == 0 and c.get("unreachable", 0) == 0 for c in self.recap.values()
        )

    def changed(self, host: str | None = None) -> int:
        if host is not None:
            return self.recap[host].get("changed", 0)
        return sum(c.get("changed", 0) for c in self.recap.values())

    def changed_tasks(self) -> list[tuple[str, str]]:
        """(task name, host) for every task that reported changed."""
        out: list[tuple[str, str]] = []
        task = "?"
        for line in self.stdout.splitlines():
            m = _TASK_LINE.match(line)
            if m:
                task = m["task"]
                continue
            m = _CHANGED_LINE.match(line)
            if m:
                out.append((task, m["host"]))
        return out

    def tail(self, lines: int = 60) -> str:
        return "\n".join((self.stdout + "\n" + self.stderr).splitlines()[-lines:])

    def summary(self) -> str:
        return f"rc={self.rc} recap={self.recap} changed_tasks={self.changed_tasks()}"


def parse_recap(stdout: str) -> dict[str, dict[str, int]]:
    recap: dict[str, dict[str, int]] = {}
    in_recap = False
    for line in stdout.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            recap = {}  # the last recap wins (several plays print one at the end)
            continue
        if in_recap:
            m = _RECAP_LINE.match(line.strip())
            if m:
                recap[m["host"]] = {
                    k: int(v) for k, v in (kv.split("=") for kv in m["counts"].split())
                }
            elif line.strip():
                in_recap = False
    return recap


def playbook_env(
    env: Mapping[str, str] | None = None, inventory: Path | str | None = None
) -> dict[str, str]:
    full = dict(os.environ)
    full["PATH"] = put_venv_on_path(full.get("PATH", ""))
    if inventory is not None and "ANSIBLE_LOG_PATH" not in full:
        # A live log beside the inventory: a long converge can be followed
        # with tail -f while the test captures the output.
        full["ANSIBLE_LOG_PATH"] = str(Path(inventory).with_suffix(".ansible.log"))
    cfg = ANSIBLE_DIR / "ansible.cfg"
    if cfg.exists():
        full["ANSIBLE_CONFIG"] = str(cfg)
    full.update(
        {
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "PYTHONUNBUFFERED": "1",
        }
    )
    full.update(env or {})
    return full


def _argv(inventory: Path | str, playbook: Path | str, args: Iterable[str]) -> list[str]:
    return [ansible_bin("ansible-playbook"), "-i", str(inventory), str(playbook), *args]


def run_playbook(
    inventory: Path | str,
    playbook: Path | str,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 1800,
) -> PlaybookResult:
    """Run ansible-playbook to completion; never raises on a failed play."""
    argv = _argv(inventory, playbook, args)
    start = time.monotonic()
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=playbook_env(env, inventory),
        timeout=timeout,
        cwd=REPO_ROOT,
    )
    return PlaybookResult(
        proc.returncode,
        proc.stdout,
        proc.stderr,
        argv,
        time.monotonic() - start,
        parse_recap(proc.stdout),
    )


class RunningPlaybook:
    """An ansible-playbook run in the background, in its own process group.

    Used to kill a converge midway: wait for a line in its output, then kill
    the whole group by its PID (ansible forks workers and ssh clients).
    """

    def __init__(
        self,
        inventory: Path | str,
        playbook: Path | str,
        *args: str,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.argv = _argv(inventory, playbook, args)
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=playbook_env(env, inventory),
            cwd=REPO_ROOT,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self._lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def output(self) -> str:
        with self._cond:
            return "\n".join(self._lines)

    def line_count(self) -> int:
        with self._cond:
            return len(self._lines)

    def last_task(self) -> str | None:
        """The task that was running last (for messages about where a kill landed)."""
        for line in reversed(self.output.splitlines()):
            m = _TASK_LINE.match(line)
            if m:
                return m["task"]
        return None

    def wait_for(self, pattern: str, timeout: float = 300, count: int = 1) -> str | None:
        """Block until ``count`` lines of output matched the regex; returns the last.

        None if the run ends or time runs out first.
        """
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        hits = 0
        with self._cond:
            while True:
                for line in self._lines[seen:]:
                    if rx.search(line):
                        hits += 1
                        if hits >= count:
                            return line
                seen = len(self._lines)
                if self.proc.poll() is not None and not self._reader.is_alive():
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.5))

    def kill(self) -> int:
        """SIGKILL the run's process group and every descendant (by PID); returns the exit code.

        The group alone is not enough: ansible-playbook's forked workers can start sessions of
        their own, and one left behind idles on as an orphan (kill_tree).
        """
        if self.proc.poll() is None:
            kill_tree(self.proc.pid)
        rc = self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        return rc

    def wait(self, timeout: float = 1800) -> PlaybookResult:
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        out = self.output
        return PlaybookResult(rc, out, "", self.argv, 0.0, parse_recap(out))
