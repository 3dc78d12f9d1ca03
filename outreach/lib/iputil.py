"""Address helpers shared by every stage.

Networks are stored with their first and last address as fixed-width hex
keys, so "which cached network holds this address" is one indexed range
query on both SQLite and PostgreSQL. IPv4 sits in the IPv4-mapped IPv6 range
(::ffff:a.b.c.d), so one column orders both families.
"""

from __future__ import annotations

import ipaddress

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_V4_MAPPED = 0xFFFF << 32


def ip_int128(ip: IPAddress) -> int:
    return int(ip) | _V4_MAPPED if ip.version == 4 else int(ip)


def ip_key(ip: IPAddress | str) -> str:
    """A 32-character hex key that sorts in address order."""
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip)
    return f"{ip_int128(ip):032x}"


def network_keys(network: IPNetwork | str) -> tuple[str, str]:
    """The keys of a network's first and last address."""
    if isinstance(network, str):
        network = ipaddress.ip_network(network, strict=False)
    return ip_key(network.network_address), ip_key(network.broadcast_address)
