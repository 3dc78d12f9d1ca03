"""Which addresses may ever be probed or contacted: a pure module, no ORM.

``ipaddress.is_global`` is not enough: on Python 3.11 multicast and
192.88.99.0/24 report ``is_global=True``, and its ranges changed between
patch releases (cpython #113171). So the answer comes from an explicit copy
of the IANA IPv4 and IPv6 Special-Purpose Address Registries (plus the
multicast blocks, which live in their own registries), where the most
specific block decides. Addresses that embed an IPv4 address (IPv4-mapped,
NAT64, 6to4) are judged by the IPv4 address they carry.

The API other stages use::

    refusal_reason(ip, never_contact=..., allowed=...)  -> str | None
    network_refusal_reason(network, ...)                 -> str | None
    canonical_address(ip)                                -> IPv4Address | IPv6Address
    parse_networks(["192.0.2.0/24", ...])                -> tuple[IPNetwork, ...]
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from outreach.lib.iputil import IPAddress, IPNetwork

# Refusal reasons, as counted in import summaries and probe refusals.
NON_GLOBAL = "non_global"
NEVER_CONTACT = "never_contact"


@dataclass(frozen=True)
class SpecialBlock:
    network: IPNetwork
    name: str
    source: str
    # IANA's "Globally Reachable" column. "N/A" (deprecated 6to4 relay,
    # Teredo, ORCHID) is recorded as False: we never probe those.
    globally_reachable: bool
    # The block carries an IPv4 address in its low 32 bits (or, for 6to4,
    # in bits 16..48): judge that address instead of the block.
    embeds_ipv4: bool = False


def _block(
    cidr: str, name: str, source: str, reachable: bool = False, embeds: bool = False
) -> SpecialBlock:
    return SpecialBlock(ipaddress.ip_network(cidr), name, source, reachable, embeds)


# IANA IPv4 Special-Purpose Address Registry (iana-ipv4-special-registry),
# plus 224.0.0.0/4 from the IPv4 Multicast Address Space Registry.
IPV4_SPECIAL: tuple[SpecialBlock, ...] = (
    _block("0.0.0.0/8", '"This network"', "RFC 791"),
    _block("0.0.0.0/32", '"This host on this network"', "RFC 1122"),
    _block("10.0.0.0/8", "Private-Use", "RFC 1918"),
    _block("100.64.0.0/10", "Shared Address Space", "RFC 6598"),
    _block("127.0.0.0/8", "Loopback", "RFC 1122"),
    _block("169.254.0.0/16", "Link Local", "RFC 3927"),
    _block("172.16.0.0/12", "Private-Use", "RFC 1918"),
    _block("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890"),
    _block("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335"),
    _block("192.0.0.8/32", "IPv4 dummy address", "RFC 7600"),
    _block("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", True),
    _block("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", True),
    _block("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880"),
    _block("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880"),
    _block("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737"),
    _block("192.31.196.0/24", "AS112-v4", "RFC 7535", True),
    _block("192.52.193.0/24", "AMT", "RFC 7450", True),
    _block("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526"),
    _block("192.168.0.0/16", "Private-Use", "RFC 1918"),
    _block("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", True),
    _block("198.18.0.0/15", "Benchmarking", "RFC 2544"),
    _block("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737"),
    _block("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737"),
    _block("224.0.0.0/4", "Multicast", "RFC 5771"),
    _block("240.0.0.0/4", "Reserved", "RFC 1112"),
    _block("255.255.255.255/32", "Limited Broadcast", "RFC 8190"),
)

# IANA IPv6 Special-Purpose Address Registry (iana-ipv6-special-registry),
# plus ff00::/8 (multicast) and, from the IPv6 Address Space registry,
# everything outside 2000::/3 that no registry allocates for unicast.
IPV6_SPECIAL: tuple[SpecialBlock, ...] = (
    _block("::/3", "Not global unicast (IPv6 Address Space)", "RFC 4291"),
    _block("::1/128", "Loopback Address", "RFC 4291"),
    _block("::/128", "Unspecified Address", "RFC 4291"),
    _block("::ffff:0:0/96", "IPv4-mapped Address", "RFC 4291", embeds=True),
    _block("64:ff9b::/96", "IPv4-IPv6 Translat.", "RFC 6052", True, embeds=True),
    _block("64:ff9b:1::/48", "IPv4-IPv6 Translat. (local use)", "RFC 8215"),
    _block("100::/64", "Discard-Only Address Block", "RFC 6666"),
    _block("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780"),
    _block("2001::/23", "IETF Protocol Assignments", "RFC 2928"),
    _block("2001::/32", "TEREDO", "RFC 4380"),
    _block("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", True),
    _block("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", True),
    _block("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665", True),
    _block("2001:2::/48", "Benchmarking", "RFC 5180"),
    _block("2001:3::/32", "AMT", "RFC 7450", True),
    _block("2001:4:112::/48", "AS112-v6", "RFC 7535", True),
    _block("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843"),
    _block("2001:20::/28", "ORCHIDv2", "RFC 7343", True),
    _block("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", True),
    _block("2001:db8::/32", "Documentation", "RFC 3849"),
    _block("2002::/16", "6to4", "RFC 3056", True, embeds=True),
    _block("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", True),
    _block("3fff::/20", "Documentation", "RFC 9637"),
    _block("4000::/2", "Not global unicast (IPv6 Address Space)", "RFC 4291"),
    _block("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602"),
    _block("8000::/1", "Not global unicast (IPv6 Address Space)", "RFC 4291"),
    _block("fc00::/7", "Unique-Local", "RFC 4193"),
    _block("fe80::/10", "Link-Local Unicast", "RFC 4291"),
    _block("ff00::/8", "Multicast", "RFC 4291"),
)

SPECIAL_BLOCKS: tuple[SpecialBlock, ...] = IPV4_SPECIAL + IPV6_SPECIAL


class _Table:
    """Address → most specific special block, by bisection over flat intervals.

    Each family's blocks are flattened once into sorted, non-overlapping
    intervals, so a look-up is one ``bisect`` (the importer does a million).
    """

    def __init__(self, blocks: Iterable[SpecialBlock]) -> None:
        points: set[int] = set()
        ordered = sorted(blocks, key=lambda b: b.network.prefixlen)
        for block in ordered:
            points.add(int(block.network.network_address))
            points.add(int(block.network.broadcast_address) + 1)
        self.starts = sorted(points)
        self.owner: list[SpecialBlock | None] = [
            self._most_specific(ordered, start) for start in self.starts
        ]

    @staticmethod
    def _most_specific(ordered: list[SpecialBlock], value: int) -> SpecialBlock | None:
        found = None
        for block in ordered:
            net = block.network
            if int(net.network_address) <= value <= int(net.broadcast_address):
                found = block
        return found

    def overlapping(self, network: IPNetwork) -> list[SpecialBlock]:
        """The most specific blocks covering any part of this network."""
        first = bisect.bisect_right(self.starts, int(network.network_address)) - 1
        last = bisect.bisect_right(self.starts, int(network.broadcast_address)) - 1
        owners = self.owner[max(first, 0) : last + 1]
        return [block for block in owners if block is not None]

    def lookup(self, value: int) -> SpecialBlock | None:
        index = bisect.bisect_right(self.starts, value) - 1
        return self.owner[index] if index >= 0 else None


_TABLES = {4: _Table(IPV4_SPECIAL), 6: _Table(IPV6_SPECIAL)}


def special_block(ip: IPAddress) -> SpecialBlock | None:
    """The most specific special-purpose block holding this address, if any."""
    return _TABLES[ip.version].lookup(int(ip))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried by an IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4 address."""
    value = int(ip)
    if value >> 32 in (0xFFFF, 0x0064FF9B << 64):
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if value >> 112 == 0x2002:
        return ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)
    return None


def is_global(ip: IPAddress) -> bool:
    """True when the registries call this address globally reachable."""
    block = special_block(ip)
    if block is None:
        return True
    if block.embeds_ipv4 and ip.version == 6:
        inner = embedded_ipv4(ip)
        return inner is not None and is_global(inner)
    return block.globally_reachable


def canonical_address(ip: IPAddress | str) -> IPAddress:
    """One spelling per host: IPv4-mapped and NAT64 (64:ff9b::/96) become plain IPv4."""
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip)
    if ip.version == 6 and int(ip) >> 32 in (0xFFFF, 0x0064FF9B << 64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse a settings list such as NEVER_CONTACT_NETWORKS; a bad entry raises ValueError."""
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


def _in_any(ip: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)


def refusal_reason(
    ip: IPAddress | str,
    *,
    never_contact: Iterable[IPNetwork] = (),
    allowed: Iterable[IPNetwork] = (),
) -> str | None:
    """Why this address must not be probed or contacted, or None when it may be.

    ``never_contact`` (the operator's list) always wins. ``allowed`` lets a
    lab reach its own non-global networks (PROBE_ALLOWED_NETWORKS); it is
    empty in production.
    """
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip)
    ip = canonical_address(ip)
    if _in_any(ip, never_contact):
        return NEVER_CONTACT
    if not is_global(ip) and not _in_any(ip, allowed):
        return NON_GLOBAL
    return None


def network_refusal_reason(
    network: IPNetwork,
    *,
    never_contact: Iterable[IPNetwork] = (),
    allowed: Iterable[IPNetwork] = (),
) -> str | None:
    """Why a listed network must not be kept, or None.

    A network that overlaps any special-purpose or never-contact block is
    refused whole: a feed listing 10.0.0.0/8 or 0.0.0.0/1 lists nothing we
    may write about, and half-trusting it would hide bogons among real blocks.
    """
    if any(_overlaps(network, net) for net in never_contact):
        return NEVER_CONTACT
    if any(network.subnet_of(net) for net in allowed if net.version == network.version):
        return None
    for block in _TABLES[network.version].overlapping(network):
        if not _block_allows(network, block):
            return NON_GLOBAL
    return None


def _overlaps(a: IPNetwork, b: IPNetwork) -> bool:
    return a.version == b.version and a.overlaps(b)


def _block_allows(network: IPNetwork, block: SpecialBlock) -> bool:
    if not block.globally_reachable:
        return False
    if block.embeds_ipv4:
        return _embedded_network_global(network)
    return True


def _embedded_network_global(network: IPNetwork) -> bool:
    first = embedded_ipv4(network.network_address)  # type: ignore[arg-type]
    last = embedded_ipv4(network.broadcast_address)  # type: ignore[arg-type]
    if first is None or last is None:
        return False
    for inner in ipaddress.summarize_address_range(first, last):
        if network_refusal_reason(inner) is not None:
            return False
    return True
