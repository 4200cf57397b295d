"""Parse nvidia-smi output for the MIG tasks of the nvidia_gpu role."""

from __future__ import annotations

import re

_GI_LINE = re.compile(r"^\|\s*(\d+)\s+MIG\s+(\S+)\s", re.MULTILINE)


def nvidia_gpu_mig_modes(query_output: str) -> dict[int, str]:
    """`nvidia-smi --query-gpu=index,mig.mode.current --format=csv,noheader` -> {index: mode}.

    Mode is "Enabled", "Disabled" or "[N/A]" (the GPU cannot do MIG).
    """
    modes: dict[int, str] = {}
    for line in query_output.splitlines():
        if "," not in line:
            continue
        index, mode = (part.strip() for part in line.split(",", 1))
        if index.isdigit():
            modes[int(index)] = mode
    return modes


def nvidia_gpu_mig_profiles(lgi_output: str) -> list[str]:
    """`nvidia-smi mig -i N -lgi` -> sorted GPU instance profile names, e.g. ["1g.10gb", "3g.40gb"].

    "No GPU instances found" (or any output without instance rows) gives [].
    """
    return sorted(match.group(2) for match in _GI_LINE.finditer(lgi_output))


class FilterModule:
    def filters(self):
        return {
            "nvidia_gpu_mig_modes": nvidia_gpu_mig_modes,
            "nvidia_gpu_mig_profiles": nvidia_gpu_mig_profiles,
        }
