"""Abuse contacts from an Abusix-format DNS zone (``abuse-contacts.abusix.zone``).

A TXT question for the reversed address (octets for IPv4, nibbles for IPv6)
under the zone is answered with comma-separated addresses; NXDOMAIN means
the zone knows none. Queries go to one configured resolver
(``CONTACT_DNS_RESOLVER``: "host:port", or "system"), are cached in process
(answers and NXDOMAIN alike), and at most ``max_in_flight`` are outstanding
at once. No ORM here.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

import dns.asyncresolver
import dns.exception
import dns.resolver

ZONE = "abuse-contacts.abusix.zone"
MAX_ADDRESSES = 10
MAX_TXT = 2000

FOUND = "found"
NXDOMAIN = "nxdomain"
EMPTY = "empty"
TIMEOUT = "timeout"
ERROR = "error"


def query_name(ip: str, *, zone: str = ZONE) -> str:
    """``4.3.2.1.<zone>`` for 1.2.3.4; 32 reversed nibbles for an IPv6 address."""
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        labels = reversed(str(address).split("."))
    else:
        labels = reversed(address.exploded.replace(":", ""))
    return ".".join(labels) + "." + zone.strip(".")


def txt_addresses(strings: Iterable[str]) -> list[str]:
    """The addresses of a TXT answer: comma- (or space-) separated, in order, deduplicated."""
    found: list[str] = []
    for text in strings:
        for part in text[:MAX_TXT].replace(" ", ",").split(","):
            email = part.strip().strip('"').lower()
            if email and "@" in email and email not in found:
                found.append(email)
    return found[:MAX_ADDRESSES]


@dataclass(frozen=True)
class DnsAnswer:
    ip: str
    status: str
    emails: tuple[str, ...] = ()

    @property
    def retry(self) -> bool:
        """A timeout or server failure: ask again later, it says nothing yet."""
        return self.status in {TIMEOUT, ERROR}


@dataclass
class AbusixSource:
    """Cached, bounded TXT lookups against one resolver."""

    resolver: str = "system"
    zone: str = ZONE
    timeout: float = 2.0
    max_in_flight: int = 50
    cache_size: int = 200_000
    queries: int = 0
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False)

    def _resolver(self) -> dns.asyncresolver.Resolver:
        if self.resolver == "system":
            resolver = dns.asyncresolver.Resolver()
        else:
            host, _sep, port = self.resolver.rpartition(":")
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [host]
            resolver.port = int(port)
        resolver.lifetime = resolver.timeout = self.timeout
        return resolver

    def lookup_many(self, ips: list[str]) -> dict[str, DnsAnswer]:
        """Answers for ``ips`` (from the cache where known), at most ``max_in_flight`` at once."""
        return asyncio.run(self._many(ips))

    async def _many(self, ips: list[str]) -> dict[str, DnsAnswer]:
        resolver = self._resolver()
        gate = asyncio.Semaphore(self.max_in_flight)
        missing = [ip for ip in dict.fromkeys(ips) if ip not in self._cache]
        answers = await asyncio.gather(*(self._one(ip, resolver, gate) for ip in missing))
        for answer in answers:
            if not answer.retry:  # a timeout is not an answer: never cache it
                self._remember(answer)
        fresh = {a.ip: a for a in answers}
        return {ip: fresh.get(ip) or self._cache[ip] for ip in dict.fromkeys(ips)}

    async def _one(
        self, ip: str, resolver: dns.asyncresolver.Resolver, gate: asyncio.Semaphore
    ) -> DnsAnswer:
        async with gate:
            self.queries += 1
            try:
                answer = await resolver.resolve(query_name(ip, zone=self.zone), "TXT")
            except dns.resolver.NXDOMAIN:
                return DnsAnswer(ip, NXDOMAIN)
            except dns.resolver.NoAnswer:
                return DnsAnswer(ip, EMPTY)
            except dns.exception.Timeout:
                return DnsAnswer(ip, TIMEOUT)
            except dns.exception.DNSException:
                return DnsAnswer(ip, ERROR)
        strings = [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
        emails = tuple(txt_addresses(strings))
        return DnsAnswer(ip, FOUND if emails else EMPTY, emails)

    def _remember(self, answer: DnsAnswer) -> None:
        self._cache[answer.ip] = answer
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
