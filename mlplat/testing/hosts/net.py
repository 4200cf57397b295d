"""Network plumbing for test hosts: one namespace and one veth pair per host.

Topology for a run that leased subnet S (a /24 that collides with nothing in
this machine's routes or addresses):

    this machine (root netns)                 host netns "mlpN-<name>"
    veth mlpNh<i>: S.1/32 peer S.<10+i>  <-->  eth0: S.<10+i>/24, lo up
                                               no default route

This machine reaches each host at S.<10+i>; a host reaches only S.1 (this
machine) and nothing else: no default route, no forwarding, no other hosts.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path

from mlplat.testing.hosts.util import FileLock, run

STATE_DIR = Path("/run/mlplat-testhosts")
# /24s are leased from here; the first one that overlaps nothing wins.
SUBNET_POOL = ipaddress.IPv4Network("10.213.0.0/16")
FIRST_HOST_OCTET = 10


def _used_networks() -> list[ipaddress.IPv4Network]:
    used: list[ipaddress.IPv4Network] = []
    routes = json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]")
    for r in routes:
        dst = r.get("dst")
        if dst and dst != "default":
            try:
                used.append(ipaddress.IPv4Network(dst, strict=False))
            except ValueError:
                continue
    addrs = json.loads(run(["ip", "-j", "-4", "addr"]).stdout or "[]")
    for link in addrs:
        for a in link.get("addr_info", []):
            used.append(
                ipaddress.IPv4Network(f"{a['local']}/{a.get('prefixlen', 32)}", strict=False)
            )
    return used


@dataclass
class SubnetLease:
    index: int
    network: ipaddress.IPv4Network
    lock: FileLock

    @property
    def gateway(self) -> str:
        """This machine's address on every veth of the run (what hosts see as the monitor)."""
        return str(self.network.network_address + 1)

    def host_address(self, i: int) -> str:
        return str(self.network.network_address + FIRST_HOST_OCTET + i)

    def release(self) -> None:
        self.lock.release()


def lease_subnet() -> SubnetLease:
    """Lease a /24 for this run. A lock file per subnet keeps concurrent runs apart."""
    used = _used_networks()
    for index, net in enumerate(SUBNET_POOL.subnets(new_prefix=24)):
        if index == 0 or any(net.overlaps(u) for u in used):
            continue
        lock = FileLock(STATE_DIR / f"subnet-{index}.lock")
        if lock.acquire(blocking=False):
            return SubnetLease(index, net, lock)
    raise RuntimeError(f"no free /24 left in {SUBNET_POOL} for test hosts")


@dataclass
class HostNet:
    netns: str
    host_if: str  # this machine's end of the veth
    address: str
    gateway: str

    @property
    def netns_path(self) -> Path:
        return Path("/run/netns") / self.netns


def create_host_net(lease: SubnetLease, i: int, name: str) -> HostNet:
    netns = f"mlp{lease.index}-{name}"[:60]
    host_if = f"mlp{lease.index}h{i}"
    if len(host_if) > 15:
        raise ValueError(f"interface name too long: {host_if}")
    addr = lease.host_address(i)
    hn = HostNet(netns, host_if, addr, lease.gateway)
    if hn.netns_path.exists():  # a leftover of a killed run with the same lease
        delete_host_net(hn)
    run(["ip", "netns", "add", netns])
    try:
        run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", netns])
        run(["ip", "addr", "add", lease.gateway, "peer", f"{addr}/32", "dev", host_if])
        run(["ip", "link", "set", host_if, "up"])
        run(["ip", "-n", netns, "link", "set", "lo", "up"])
        run(["ip", "-n", netns, "addr", "add", f"{addr}/{lease.network.prefixlen}", "dev", "eth0"])
        run(["ip", "-n", netns, "link", "set", "eth0", "up"])
    except Exception:
        delete_host_net(hn)
        raise
    return hn


def delete_host_net(hn: HostNet) -> None:
    # Deleting the namespace destroys eth0 and with it the peer on this side.
    run(["ip", "netns", "del", hn.netns], check=False)
    run(["ip", "link", "del", hn.host_if], check=False)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
