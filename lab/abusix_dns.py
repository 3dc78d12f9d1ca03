"""An Abusix-format abuse-contact zone on loopback (UDP), for tests, the lab and the bench.

``lookup(ip)`` gives the addresses for an address (or None: NXDOMAIN);
``silent`` addresses are never answered (the client times out). It counts
queries and the most that were in flight at once.

    with AbusixDnsServer(lambda ip: ["abuse@isp.example"]) as server:
        server.address   # "127.0.0.1:40213" for CONTACT_DNS_RESOLVER
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable

import dns.message

from lab.udp import LoopbackUdp, txt_response
from probes.abusix import ZONE

Lookup = Callable[[str], list[str] | None]


def name_address(name: str, *, zone: str = ZONE) -> str | None:
    """The address a question asks about, from its reversed octets or nibbles."""
    suffix = "." + zone.strip(".")
    text = name.lower().rstrip(".")
    if not text.endswith(suffix):
        return None
    labels = text[: -len(suffix)].split(".")[::-1]
    try:
        if len(labels) == 4:
            return str(ipaddress.IPv4Address(".".join(labels)))
        if len(labels) == 32:
            nibbles = "".join(labels)
            return str(ipaddress.IPv6Address(":".join(nibbles[i : i + 4] for i in range(0, 32, 4))))
    except ValueError:
        return None
    return None


class AbusixDnsServer(LoopbackUdp):
    """Use as a context manager."""

    def __init__(
        self, lookup: Lookup, *, silent: set[str] | None = None, latency: float = 0.0
    ) -> None:
        self.lookup = lookup
        self.silent = silent or set()
        self.latency = latency
        self.queries = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._serve(self.respond)

    def enter(self) -> None:
        with self._lock:
            self.queries += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def respond(self, query: dns.message.Message) -> dns.message.Message | None:
        address = name_address(query.question[0].name.to_text())
        if address in self.silent:
            return None
        self.enter()
        try:
            if self.latency:
                time.sleep(self.latency)
            emails = self.lookup(address) if address else None
        finally:
            self.leave()
        return txt_response(query, ",".join(emails) if emails else None)
