"""A threaded DNS server over UDP on a free loopback port: the lab's DNS servers share it."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable
from typing import Self

import dns.exception
import dns.message
import dns.rcode
import dns.rrset

# What a server says to one query; None keeps it silent (the client times out).
Respond = Callable[[dns.message.Message], dns.message.Message | None]


class LoopbackUdp:
    """Use as a context manager; ``address`` is ``host:port`` once constructed."""

    def _serve(self, respond: Respond) -> None:
        self._server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), _handler_for(respond))
        self._server.daemon_threads = True

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def txt_response(query: dns.message.Message, text: str | None) -> dns.message.Message:
    """One TXT record holding ``text`` for the question, or NXDOMAIN for None."""
    response = dns.message.make_response(query)
    if text is None:
        response.set_rcode(dns.rcode.NXDOMAIN)
        return response
    name = query.question[0].name
    response.answer.append(dns.rrset.from_text(name, 60, "IN", "TXT", f'"{text}"'))
    return response


def _handler_for(respond: Respond) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            try:
                query = dns.message.from_wire(data)
            except dns.exception.DNSException:
                return  # not DNS: no answer, as a real server would drop it
            response = respond(query)
            if response is not None:
                sock.sendto(response.to_wire(), self.client_address)

    return Handler
