"""DNS evidence for a probed host: its PTR name and DNSBL listings. No ORM.

The resolver's address and port come from settings (PROBE_DNS_RESOLVER), so
tests and the lab point it at a server on loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress

import dns.asyncresolver
import dns.exception
import dns.resolver
import dns.reversename

LOOKUP_LIFETIME = 5.0
NAME_LIMIT = 255


def resolver_make(address: str, *, lifetime: float = LOOKUP_LIFETIME) -> dns.asyncresolver.Resolver:
    """'system' for the system's resolver, or 'host:port' / 'host' for one server."""
    if address == "system":
        resolver = dns.asyncresolver.Resolver()
    else:
        host, port = _host_port(address)
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [str(ipaddress.ip_address(host))]
        resolver.port = int(port or 53)
    resolver.lifetime = lifetime
    return resolver


def _host_port(address: str) -> tuple[str, str]:
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, rest.removeprefix(":")
    if address.count(":") == 1:
        host, _, port = address.partition(":")
        return host, port
    return address, ""


async def ptr_lookup(ip: str, resolver: dns.asyncresolver.Resolver) -> str:
    """The host's PTR name without the final dot, or '' when it has none."""
    try:
        answer = await resolver.resolve(dns.reversename.from_address(ip), "PTR")
    except (dns.exception.DNSException, OSError):
        return ""
    return str(answer[0].target).rstrip(".")[:NAME_LIMIT]


def dnsbl_query_name(ip: str, zone: str) -> str:
    """1.2.0.192.bl.example for 192.0.2.1; nibbles for IPv6."""
    reverse = dns.reversename.from_address(ip).to_text(omit_final_dot=True)
    reverse = reverse.removesuffix(".in-addr.arpa").removesuffix(".ip6.arpa")
    return f"{reverse}.{zone.strip('.')}"


async def dnsbl_listed(ip: str, zone: str, resolver: dns.asyncresolver.Resolver) -> bool:
    """True when the zone lists the address (answers an A record in 127/8)."""
    try:
        answer = await resolver.resolve(dnsbl_query_name(ip, zone), "A")
    except (dns.exception.DNSException, OSError):
        return False
    return any(ipaddress.ip_address(r.address).is_loopback for r in answer)


async def dns_evidence(
    ip: str, *, resolver: dns.asyncresolver.Resolver, zones: list[str]
) -> dict[str, object]:
    """{'ptr': name, 'dnsbl': [zones that list it]} for one host."""
    ptr, *listed = await asyncio.gather(
        ptr_lookup(ip, resolver), *(dnsbl_listed(ip, zone, resolver) for zone in zones)
    )
    return {"ptr": ptr, "dnsbl": [z for z, hit in zip(zones, listed, strict=True) if hit]}
