"""An Abusix-format abuse-contact zone on loopback (UDP), for tests, the lab and the bench.

``lookup(ip)`` gives the addresses for an address (or None: NXDOMAIN);
``silent`` addresses are never answered (the client times out). It counts
queries and the most that were in flight at once.

    with AbusixDnsServer(lambda ip: ["abuse@isp.example"]) as server:
        server.address   # "127.0.0.1:40213" for CONTACT_DNS_RESOLVER
"""

from __future__ import annotations

import ipaddress
import socketserver
import threading
import time
from collections.abc import Callable

import dns.exception
import dns.message
import dns.rcode
import dns.rrset

from lab.udp import LoopbackUdp
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
        self._serve(_handler_for(self))

    def enter(self) -> None:
        with self._lock:
            self.queries += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


def _handler_for(server: AbusixDnsServer) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            try:
                query = dns.message.from_wire(data)
            except dns.exception.DNSException:
                return
            question = query.question[0]
            address = name_address(question.name.to_text())
            if address in server.silent:
                return
            server.enter()
            try:
                if server.latency:
                    time.sleep(server.latency)
                response = _response(query, server.lookup(address) if address else None)
            finally:
                server.leave()
            sock.sendto(response.to_wire(), self.client_address)

    return Handler


def _response(query: dns.message.Message, emails: list[str] | None) -> dns.message.Message:
    response = dns.message.make_response(query)
    if not emails:
        response.set_rcode(dns.rcode.NXDOMAIN)
        return response
    text = '"' + ",".join(emails) + '"'
    response.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "TXT", text))
    return response
