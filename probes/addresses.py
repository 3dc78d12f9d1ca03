"""Which addresses may ever be probed or contacted: a pure module, no ORM.

``ipaddress.is_global`` is not enough: on Python 3.11 multicast and
192.88.99.0/24 report ``is_global=True``, and its ranges changed between
patch releases (cpython #113171). So the answer comes from an explicit copy
(``special_addresses.csv``) of the IANA IPv4 and IPv6 Special-Purpose
Address Registries (plus the multicast blocks, which live in their own
registries), where the most specific block decides. Addresses that embed an
IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by the IPv4 address they
carry.

The API other stages use::

    refusal_reason(ip, never_contact=..., allowed=...)  -> str | None
    network_refusal_reason(network, ...)                 -> str | None
    canonical_address(ip)                                -> IPv4Address | IPv6Address
    parse_networks(["192.0.2.0/24", ...])                -> tuple[IPNetwork, ...]
"""

from __future__ import annotations

import bisect
import csv
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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


# The table, in the columns of IANA's own CSV files so that a new edition of a
# registry can be compared line by line:
# - the IPv4 Special-Purpose Address Registry (iana-ipv4-special-registry),
#   plus 224.0.0.0/4 from the IPv4 Multicast Address Space Registry;
# - the IPv6 Special-Purpose Address Registry (iana-ipv6-special-registry),
#   plus ff00::/8 (multicast) and, from the IPv6 Address Space registry,
#   everything outside 2000::/3 that no registry allocates for unicast.
# "Embeds IPv4" is ours: see SpecialBlock.embeds_ipv4.
SPECIAL_REGISTRY = Path(__file__).with_name("special_addresses.csv")
_BOOLEAN = {"True": True, "False": False}


def load_special_blocks(path: Path = SPECIAL_REGISTRY) -> tuple[SpecialBlock, ...]:
    """The blocks of ``path``; a malformed row stops start-up with its line named."""
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        try:
            return tuple(
                SpecialBlock(
                    ipaddress.ip_network(row["Address Block"]),
                    row["Name"],
                    row["RFC"],
                    _BOOLEAN[row["Globally Reachable"]],
                    _BOOLEAN[row["Embeds IPv4"]],
                )
                for row in reader
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path.name} line {reader.line_num}: {error!r}") from error


SPECIAL_BLOCKS: tuple[SpecialBlock, ...] = load_special_blocks()
IPV4_SPECIAL = tuple(block for block in SPECIAL_BLOCKS if block.network.version == 4)
IPV6_SPECIAL = tuple(block for block in SPECIAL_BLOCKS if block.network.version == 6)


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
