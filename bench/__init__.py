"""Benchmarks. Each writes its results table into docs/performance.md (its own section)."""

from __future__ import annotations

from pathlib import Path


def cpu_model() -> str:
    """The CPU model this machine reports, for the record beside each result."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"
