"""Killing a background ansible-playbook run leaves no process of it behind.

ansible-playbook's forked workers can start sessions of their own, so killing the run's
process group alone left an orphan worker idling after the interrupted-converge host test.
This exercises kill_tree, which RunningPlaybook.kill calls, without hosts: a tree whose
grandchild left the group, as such a worker does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

from mlplat.testing.hosts.util import descendants, kill_tree


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_kill_tree_reaches_a_grandchild_in_a_session_of_its_own() -> None:
    # bash -> (setsid) sleep, and bash -> sleep: one escapes the group.
    leader = subprocess.Popen(
        ["bash", "-c", "setsid sleep 120 & sleep 120 & wait"], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 10
        tree: list[int] = []
        while len(tree) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            tree = descendants(leader.pid)
        assert len(tree) == 2, tree
        escaped = [pid for pid in tree if os.getpgid(pid) != leader.pid]
        assert escaped, "setsid should have left the group (the case being tested)"

        kill_tree(leader.pid)
        leader.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in tree) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in tree)
    finally:
        for pid in [leader.pid, *descendants(leader.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        leader.wait(timeout=10)


def test_descendants_of_a_process_without_children_is_empty() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        assert descendants(proc.pid) == []
    finally:
        proc.kill()
        proc.wait(timeout=10)
