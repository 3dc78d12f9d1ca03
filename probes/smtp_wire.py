"""The probe's SMTP connection: commands out, replies in, in order, bounded.

aiosmtplib (which sends our letters) waits for one reply per command and
does not implement PIPELINING: its protocol parses one reply per chunk of
bytes received and drops bytes that arrive while a parsed reply waits to be
picked up, so three replies sent back to back would be lost or mispaired.
RFC 2920 needs exactly that: write RSET, MAIL and RCPT at once, then read one
reply per command, in order. This small client does both, lock-step and
grouped, and keeps every byte it has not yet read in one buffer of its own,
so unsolicited replies are seen rather than silently paired with the next
command.

Everything a hostile server controls is bounded: 8 KiB a line, 32 KiB a
reply, 64 KiB unread, a timeout on every connect and read.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from typing import NamedTuple

MAX_LINE = 8192
MAX_REPLY = 32 * 1024
MAX_UNREAD = 64 * 1024
# Only what the probe builds itself goes out; a CR or LF inside an argument
# would smuggle in a second command (DATA, say).
_INJECTION = re.compile(rb"[\r\n]")


class Reply(NamedTuple):
    """One SMTP reply: the code, and its lines' text joined by newlines."""

    code: int
    message: str


class WireError(Exception):
    """The server broke the protocol (a line that is not a reply, too much text)."""


class WireClosed(WireError):
    """The server closed the connection while we waited for a reply."""


class WireTimeout(WireError):
    """No (complete) reply within the read timeout."""


class _Inbox(asyncio.Protocol):
    """Collects what the server sends; wakes the reader when more arrives."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.closed = False
        self.overflow = False
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > MAX_UNREAD:
            # More than any reply we could be waiting for: stop reading it.
            self.overflow = True
            del self.buffer[:]
            if self.transport is not None:
                self.transport.close()
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None:
            _wake(self._waiter)

    async def more(self, timeout: float) -> None:
        """Wait until more bytes arrive, the connection ends or ``timeout`` passes."""
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        # One timer per wait, and only when we do wait: replies already here
        # (the rest of a pipelined group) cost none.
        timer = loop.call_later(timeout, _wake, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Wire:
    """One SMTP client connection. Open it with ``await Wire.open(...)``."""

    def __init__(self, inbox: _Inbox, read_timeout: float) -> None:
        self.inbox = inbox
        self.read_timeout = read_timeout

    @classmethod
    async def open(
        cls, host: str, port: int, *, timeout: float, tls: ssl.SSLContext | None = None
    ) -> Wire:
        """Connect (with implicit TLS when ``tls`` is given). Raises OSError or TimeoutError."""
        loop = asyncio.get_running_loop()
        inbox = _Inbox()
        async with asyncio.timeout(timeout):
            await loop.create_connection(
                lambda: inbox,
                host,
                port,
                ssl=tls,
                server_hostname="" if tls else None,
                ssl_handshake_timeout=timeout if tls else None,
            )
        return cls(inbox, timeout)

    @property
    def unread(self) -> int:
        """Bytes the server sent that no reply has been read for yet."""
        return len(self.inbox.buffer)

    def send(self, *commands: bytes) -> None:
        """Write these command lines in one go (one segment on the wire, as a rule)."""
        for command in commands:
            if _INJECTION.search(command):
                raise ValueError(f"a CR or LF inside a command: {command!r}")
        transport = self.inbox.transport
        if transport is None or transport.is_closing() or self.inbox.closed:
            raise WireClosed("connection closed")
        transport.write(b"".join(c + b"\r\n" for c in commands))

    async def exchange(self, command: bytes) -> Reply:
        """Send one command and read its reply (lock-step)."""
        self.send(command)
        return await self.read_reply()

    async def group(self, commands: list[bytes]) -> list[Reply]:
        """Send commands as one RFC 2920 group and read their replies, in order."""
        self.send(*commands)
        return [await self.read_reply() for _ in commands]

    async def read_reply(self) -> Reply:
        """Read one whole reply, single or multi-line (``250-a``, ``250 b``)."""
        inbox = self.inbox
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.read_timeout
        while True:
            reply = self._take_reply()
            if reply is not None:
                return reply
            if inbox.overflow:
                raise WireError(f"more than {MAX_UNREAD} bytes unasked")
            if inbox.closed:
                raise WireClosed("connection closed by the server")
            left = deadline - loop.time()
            if left <= 0:
                raise WireTimeout(f"no reply within {self.read_timeout:g} s")
            await inbox.more(left)

    def _take_reply(self) -> Reply | None:
        """A whole reply off the buffer, or None (and nothing taken) until it has all come."""
        buffer = self.inbox.buffer
        start, lines = 0, []
        while True:
            end = buffer.find(b"\n", start)
            if end < 0 or end + 1 - start > MAX_LINE:
                if end >= 0 or len(buffer) - start > MAX_LINE:
                    raise WireError(f"line longer than {MAX_LINE} bytes")
                return None
            code, more, text = _parse_line(bytes(buffer[start : end + 1]))
            lines.append(text)
            start = end + 1
            if start > MAX_REPLY:
                raise WireError(f"reply longer than {MAX_REPLY} bytes")
            if not more:
                del buffer[:start]
                return Reply(code, "\n".join(lines))

    async def starttls(self, context: ssl.SSLContext) -> None:
        """Upgrade to TLS after the server said 220 to STARTTLS."""
        if self.unread:
            # Bytes sent before the handshake would be read as if they came
            # through TLS (the STARTTLS injection of CVE-2011-0411).
            raise WireError("the server sent data after agreeing to STARTTLS")
        transport = self.inbox.transport
        assert transport is not None
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.read_timeout):
            new = await loop.start_tls(
                transport, self.inbox, context, server_hostname="", ssl_handshake_timeout=None
            )
        self.inbox.transport = new  # type: ignore[assignment]

    def close(self) -> None:
        if self.inbox.transport is not None:
            self.inbox.transport.close()


def _parse_line(line: bytes) -> tuple[int, bool, str]:
    """(code, more lines follow, text) of one reply line, or WireError."""
    head, sep = line[:3], line[3:4]
    if not (head.isdigit() and head.isascii()) or sep not in (b" ", b"-", b"\r", b"\n", b""):
        shown = line[:80].decode("utf-8", "replace").rstrip()
        raise WireError(f"not an SMTP reply line: {shown}")
    text = line[4:].strip(b" \t\r\n").decode("utf-8", "surrogateescape")
    return int(head), sep == b"-", text


def tls_context_unverified() -> ssl.SSLContext:
    """TLS for evidence only: the probe records what it meets and checks no certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
