"""A tiny authoritative DNS server on loopback for the lab (UDP, dnspython).

It answers PTR and DNSBL (A) questions from a dict, and NXDOMAIN to the rest:

    with LabDNS({"1.2.0.192.in-addr.arpa": ("PTR", "mx.isp.example."),
                 "1.2.0.192.bl.lab.test": ("A", "127.0.0.2")}) as server:
        server.address   # "127.0.0.1:40213" for PROBE_DNS_RESOLVER
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, records: dict[str, tuple[str, str]]) -> None:
        self.records = records
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        with contextlib.suppress(dns.exception.DNSException):
            query = dns.message.from_wire(data)
            assert self.transport is not None
            self.transport.sendto(self.answer(query).to_wire(), addr)

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        record = self.records.get(name)
        if record is None or dns.rdatatype.to_text(question.rdtype) != record[0]:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        response.answer.append(dns.rrset.from_text(question.name, 60, "IN", *record))
        return response


class LabDNS:
    """Serves ``records`` on 127.0.0.1 (a free port) from a thread of its own."""

    def __init__(self, records: dict[str, tuple[str, str]], host: str = "127.0.0.1") -> None:
        self.records = {k.rstrip(".").lower(): v for k, v in records.items()}
        self.host = host
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lab-dns", daemon=True)
        self.transport: asyncio.BaseTransport | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __enter__(self) -> LabDNS:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self._bind(), self.loop)
        future.result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.transport is not None:
            self.loop.call_soon_threadsafe(self.transport.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    async def _bind(self) -> None:
        self.transport, _ = await self.loop.create_datagram_endpoint(
            lambda: _Protocol(self.records), local_addr=(self.host, 0)
        )
        self.port = self.transport.get_extra_info("sockname")[1]
