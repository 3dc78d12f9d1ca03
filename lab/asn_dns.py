"""A Team Cymru-style IP-to-ASN DNS server on loopback (UDP), for tests and the lab.

It answers the two TXT questions ipwhois asks:
``<reversed ip>.origin[6].asn.cymru.com`` → "ASN | CIDR | CC | registry | date"
and ``AS<n>.asn.cymru.com`` → "ASN | CC | registry | date | AS name".
Point ``RDAP_ASN_DNS`` at it (``127.0.0.1:PORT``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

import dns.message

from lab.udp import LoopbackUdp, txt_response


@dataclass
class Origin:
    asn: int
    cidr: str
    country: str
    registry: str
    name: str


Lookup = Callable[[str], Origin | None]


def zone_address(name: str) -> str | None:
    """The address an origin question asks about, from its reversed labels."""
    labels = name.lower().rstrip(".").split(".")
    if labels[-4:-3] == ["origin"]:
        octets = labels[:-4][::-1]
        return ".".join(octets) if len(octets) == 4 else None
    if labels[-4:-3] == ["origin6"]:
        nibbles = "".join(labels[:-4][::-1]).ljust(32, "0")
        try:
            groups = [nibbles[i : i + 4] for i in range(0, 32, 4)]
            return str(ipaddress.IPv6Address(":".join(groups)))
        except ValueError:
            return None
    return None


class AsnDnsServer(LoopbackUdp):
    """Use as a context manager; ``lookup(ip)`` gives the origin of an address."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self.by_asn: dict[int, Origin] = {}
        self.queries: list[str] = []
        self._serve(self.respond)

    def respond(self, query: dns.message.Message) -> dns.message.Message:
        return txt_response(query, self.answer(query.question[0].name.to_text()))

    def answer(self, name: str) -> str | None:
        self.queries.append(name)
        address = zone_address(name)
        if address is not None:
            origin = self.lookup(address)
            if origin is None:
                return None
            self.by_asn[origin.asn] = origin
            return (
                f"{origin.asn} | {origin.cidr} | {origin.country} | {origin.registry} | 2004-05-19"
            )
        label = name.lower().split(".")[0]
        if label.startswith("as") and label[2:].isdigit():
            origin = self.by_asn.get(int(label[2:]))
            if origin is not None:
                fields = (origin.asn, origin.country, origin.registry, "2004-05-19", origin.name)
                return " | ".join(str(f) for f in fields)
        return None
