"""A threaded UDP server on a free loopback port: the lab's DNS servers share it."""

from __future__ import annotations

import socketserver
import threading
from typing import Self


class LoopbackUdp:
    """Use as a context manager; ``address`` is ``host:port`` once constructed."""

    def _serve(self, handler: type[socketserver.BaseRequestHandler]) -> None:
        self._server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), handler)
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
