#!/usr/bin/python
"""Find NVIDIA GPUs on the PCI bus by reading sysfs (no lspci, no driver needed)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nvidia_gpu_pci_scan
short_description: Find NVIDIA GPUs in /sys/bus/pci/devices
description:
  - Reads the C(vendor) and C(class) attribute of every PCI device below O(sysfs_pci_path) and
    reports the ones with vendor 0x10de (NVIDIA) and a display-controller class (0x03xxxx:
    VGA, 3D controller, ...). NVIDIA audio, USB and bridge functions of the same card are
    not GPUs and are not reported.
  - Works before any driver is installed and never changes anything.
options:
  sysfs_pci_path:
    description: Directory holding one entry per PCI device; point it at a fake tree in tests.
    type: path
    default: /sys/bus/pci/devices
author: mlplat
"""

RETURN = r"""
present:
  description: Whether at least one NVIDIA GPU was found.
  type: bool
  returned: always
devices:
  description: The GPUs found, sorted by PCI address.
  type: list
  elements: dict
  returned: always
  sample: [{"address": "0000:3b:00.0", "device": "0x20b5", "class": "0x030200"}]
reason:
  description: One line saying what was found and where, for the play output.
  type: str
  returned: always
"""

# Ansible modules keep DOCUMENTATION/RETURN ahead of the imports.
import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

NVIDIA_VENDOR = 0x10DE
DISPLAY_CLASS = 0x03


def _read_hex(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip(), 16)
    except (OSError, ValueError):
        return None


def scan(sysfs_pci_path: str) -> list[dict[str, str]]:
    """Return the NVIDIA display controllers below sysfs_pci_path, sorted by address."""
    found = []
    try:
        entries = sorted(os.listdir(sysfs_pci_path))
    except FileNotFoundError:
        return []
    for address in entries:
        device_dir = os.path.join(sysfs_pci_path, address)
        vendor = _read_hex(os.path.join(device_dir, "vendor"))
        pci_class = _read_hex(os.path.join(device_dir, "class"))
        if vendor != NVIDIA_VENDOR or pci_class is None:
            continue
        # class is 0xCCSSPP: base class, subclass, programming interface.
        if (pci_class >> 16) != DISPLAY_CLASS:
            continue
        device = _read_hex(os.path.join(device_dir, "device"))
        found.append(
            {
                "address": address,
                "device": f"0x{device:04x}" if device is not None else "unknown",
                "class": f"0x{pci_class:06x}",
            }
        )
    return found


def main() -> None:
    module = AnsibleModule(
        argument_spec={"sysfs_pci_path": {"type": "path", "default": "/sys/bus/pci/devices"}},
        supports_check_mode=True,
    )
    path = module.params["sysfs_pci_path"]
    if not os.path.isdir(path):
        module.fail_json(msg=f"{path} is not a directory: cannot look for PCI devices there")
    devices = scan(path)
    if devices:
        reason = f"{len(devices)} NVIDIA GPU(s) in {path}: " + ", ".join(
            f"{d['address']} ({d['device']})" for d in devices
        )
    else:
        reason = f"no PCI device in {path} has vendor 0x10de with a display-controller class"
    module.exit_json(changed=False, present=bool(devices), devices=devices, reason=reason)


if __name__ == "__main__":
    main()
