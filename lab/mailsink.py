"""A mail sink on loopback for tests, the demo and the send benchmark.

It accepts everything (or answers what ``replies`` scripts for a recipient at
RCPT, and ``data_replies`` after the end of DATA), keeps what it received,
and can wait ``delay`` seconds on MAIL, RCPT and DATA to behave like a real
smarthost across a network. It only ever binds to
127.0.0.0/8. Run it alone: ``python -m lab.mailsink PORT [DELAY_MS] [JSONL]``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from aiosmtpd.controller import Controller

_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)
# aiosmtpd logs every command at INFO: far too much for a sink.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port(host: str = "127.0.0.1") -> int:
    # aiosmtpd's Controller cannot take port 0 (aiosmtpd #276), so ask the OS.
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message_id(self) -> str:
        # The header block only: a regex is ten times cheaper than a parser
        # at benchmark rates.
        head = self.data.split(b"\r\n\r\n", 1)[0]
        match = _MESSAGE_ID.search(head)
        return match.group(1).decode("ascii", "replace") if match else ""


# A scripted reply that closes the connection instead of answering. After
# DATA it keeps the message first: the server took it and the reply was lost.
DROP = "DROP"
# After DATA only: keep the message, then say nothing until the client gives up.
HANG = "HANG"
HANG_SECONDS = 3.0


@dataclass
class SinkHandler:
    delay: float = 0.0
    replies: dict[str, str] = field(default_factory=dict)
    data_replies: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    journal: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _journal_handle: TextIO | None = None

    def _journal_file(self) -> TextIO:
        if self._journal_handle is None:
            # Line-buffered: a killed sink still leaves every line it accepted.
            self._journal_handle = self.journal.open("a", buffering=1)
        return self._journal_handle

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        await asyncio.sleep(self.delay)
        reply = self.replies.get(address.lower())
        if reply == DROP:
            # Hang up without a word, as a crashing or overloaded server does.
            server.transport.close()
            return "421 4.4.2 connection dropped"
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        reply = next(
            (
                self.data_replies[r.lower()]
                for r in envelope.rcpt_tos
                if r.lower() in self.data_replies
            ),
            "",
        )
        if reply and reply not in (DROP, HANG):
            return reply  # refused after the data: nothing kept
        item = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        with self.lock:
            self.received.append(item)
            if self.journal is not None:
                self._journal_file().write(json.dumps({"message_id": item.message_id}) + "\n")
        if reply == HANG:
            await asyncio.sleep(HANG_SECONDS)
        if reply in (DROP, HANG):
            server.transport.close()
            return "421 4.4.2 connection dropped"  # never reaches the client
        return "250 Message accepted for delivery"


class MailSink:
    """Context manager: a sink listening on 127.0.0.1 in a background thread."""

    def __init__(self, *, delay: float = 0.0, host: str = "127.0.0.1", port: int = 0) -> None:
        if not host.startswith("127."):
            raise ValueError("the mail sink only listens on loopback")
        self.handler = SinkHandler(delay=delay)
        self.host = host
        self.port = port or free_port(host)
        self.controller = Controller(
            self.handler, hostname=host, port=self.port, server_hostname="sink.localdomain"
        )

    def __enter__(self) -> MailSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def main(argv: list[str]) -> None:
    port = int(argv[1])
    delay = float(argv[2]) / 1000 if len(argv) > 2 else 0.0
    sink = MailSink(delay=delay, port=port)
    if len(argv) > 3:
        sink.handler.journal = Path(argv[3])
    with sink:
        print(f"mail sink on 127.0.0.1:{port}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv)
