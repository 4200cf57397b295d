"""What an IPv4 CIDR in the config may mean: the VPC and the networks allowed into the private
API endpoint are private (RFC 1918) ranges; the public endpoint's allow-list holds internet
ranges; no allow-list may add up to the whole internet."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, collapse_addresses

#: RFC 1918 private ranges: the only ones a VPC or a network routed into it should use
#: (loopback, link-local, CGNAT, benchmark and documentation ranges are not).
RFC1918: tuple[IPv4Network, ...] = (
    IPv4Network("10.0.0.0/8"),
    IPv4Network("172.16.0.0/12"),
    IPv4Network("192.168.0.0/16"),
)

#: Ranges no request from the internet can come from: RFC 1918, "this network", loopback,
#: link-local and CGNAT (RFC 6598) shared address space.
NOT_INTERNET: tuple[IPv4Network, ...] = (
    *RFC1918,
    IPv4Network("0.0.0.0/8"),
    IPv4Network("127.0.0.0/8"),
    IPv4Network("169.254.0.0/16"),
    IPv4Network("100.64.0.0/10"),
)

_ALL_IPV4 = 2**32


def parse(value: str) -> IPv4Network:
    """A network CIDR with no host bits set (`10.0.0.1/8` is refused, it is ambiguous)."""
    try:
        return IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not an IPv4 network CIDR: {exc}") from None


def is_rfc1918(network: IPv4Network) -> bool:
    return any(network.subnet_of(block) for block in RFC1918)


def is_internet(network: IPv4Network) -> bool:
    """False when the whole network lies in a range no internet client can come from."""
    return not any(network.subnet_of(block) for block in NOT_INTERNET)


def check_allow_list(values: Sequence[str], *, private: bool) -> list[IPv4Network]:
    """Validate an allow-list of the API endpoint: each item a network CIDR, private (RFC 1918)
    or public as asked, and the items together not every IPv4 address."""
    networks: list[IPv4Network] = []
    for index, value in enumerate(values):
        try:
            network = parse(value)
        except ValueError as exc:
            raise ValueError(f"item {index} ({value!r}) is not an IPv4 CIDR: {exc}") from None
        if network.prefixlen == 0:
            raise ValueError(f"item {index}: 0.0.0.0/0 would open the API to everyone")
        if private and not is_rfc1918(network):
            raise ValueError(
                f"item {index} ({value!r}) is not inside a private (RFC 1918) range: "
                "use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"
            )
        if not private and not is_internet(network):
            raise ValueError(
                f"item {index} ({value!r}) is not a public (globally routable) range; "
                "networks routed into the VPC belong in privateAccessCidrs"
            )
        networks.append(network)
    covered = sum(n.num_addresses for n in collapse_addresses(networks))
    if covered == _ALL_IPV4:
        raise ValueError(
            "the items together cover every IPv4 address, which would open the API to everyone"
        )
    return networks
