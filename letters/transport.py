"""Hand finished messages to a mail server: pure protocol code, no ORM.

``SmtpPool`` keeps N aiosmtplib connections open on one background event
loop and reuses each for many messages: aiosmtplib runs one command at a time
per connection and has no PIPELINING, so throughput comes from parallel
connections. ``DjangoTransport`` is the same interface over Django's mail
backend, for the embedded mode (mail written to files) and as the baseline.

Each envelope gets one ``Result``: sent, retry (4xx or a connection problem),
failed (5xx, with the server's reason), unknown (the whole message was written
but no reply came: the server may have taken it, RFC 1047) or deferred (set
by the outbox when the recipient domain's rate limit is used up; not an
attempt).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Literal

import aiosmtplib
from aiosmtplib.protocol import normalize_message_line_endings

State = Literal["sent", "retry", "failed", "unknown", "deferred"]
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class Envelope:
    """One SMTP transaction to make: the sender, one recipient and the bytes of DATA."""

    key: int
    sender: str
    recipient: str
    data: bytes


@dataclass(frozen=True)
class Result:
    key: int
    state: State
    detail: str = ""
    retry_after: float = 0.0
    accepted_at: float = 0.0  # epoch seconds of the server's 250 after DATA


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str = ""
    password: str = ""
    connections: int = 16
    timeout: float = 30.0
    local_hostname: str = "outreach.localdomain"
    validate_certs: bool = True


def result_from_error(key: int, error: BaseException) -> Result:
    """Map an SMTP error to retry (4xx, connection) or failed (5xx)."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        error = error.recipients[0]
    code = getattr(error, "code", None)
    message = str(getattr(error, "message", "") or error)[:400]
    if isinstance(code, int) and 500 <= code < 600:
        return Result(key, "failed", f"{code} {message}")
    if isinstance(code, int) and code >= 400:
        return Result(key, "retry", f"{code} {message}")
    return Result(key, "retry", f"{type(error).__name__}: {message}")


class DeliveryUnknown(Exception):
    """The end of DATA went out and no reply came back: maybe delivered."""


async def smtp_transaction(client: aiosmtplib.SMTP, envelope: Envelope, timeout: float) -> None:
    """MAIL, RCPT and DATA, telling a lost reply after the data apart.

    ``sendmail`` raises the same ``SMTPServerDisconnected`` whether the line
    dropped before DATA (nothing delivered, safe to retry) or after the final
    "." (perhaps delivered: retrying may deliver twice). So the DATA step is
    done here and the second case raises ``DeliveryUnknown``.
    """
    try:
        await client.mail(envelope.sender)
        await client.rcpt(envelope.recipient)
        start = await client.execute_command(b"DATA")
        if start.code != 354:
            raise aiosmtplib.SMTPDataError(start.code, start.message)
    except aiosmtplib.SMTPResponseException as error:
        await _reset(client, error)
        raise
    await _data_end(client, envelope.data, timeout)


async def _reset(client: aiosmtplib.SMTP, error: aiosmtplib.SMTPResponseException) -> None:
    # The server answered and the connection stays in use: clear the envelope.
    if client.is_connected and error.code != 421:
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


async def _data_end(client: aiosmtplib.SMTP, data: bytes, timeout: float) -> None:
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("connection lost before the message")
    payload = _LEADING_DOT.sub(b"..", normalize_message_line_endings(data)) + b".\r\n"
    protocol.write(payload)  # raises, with nothing written, if the line is already down
    try:
        reply = await protocol.read_response(timeout=timeout)
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as error:
        client.close()  # a late reply would pair with the next command
        raise DeliveryUnknown(
            f"no reply after the end of DATA: {type(error).__name__}: {error}"
        ) from error
    if reply.code != 250:
        if reply.code == 421:
            client.close()
        raise aiosmtplib.SMTPDataError(reply.code, reply.message)


class _Batch:
    """The results of one submitted batch, handed over when the last arrives."""

    def __init__(self, future: Future[list[Result]], size: int) -> None:
        self.future = future
        self.size = size
        self.results: list[Result] = []

    def add(self, result: Result) -> None:
        self.results.append(result)
        if len(self.results) == self.size:
            self.future.set_result(self.results)


class SmtpPool:
    """Parallel, persistent SMTP connections to one smarthost."""

    def __init__(self, config: SmtpSettings) -> None:
        self.config = config
        self.connects = 0
        self._clients: list[aiosmtplib.SMTP | None] = [None] * max(1, config.connections)
        self._queue: asyncio.Queue | None = None
        self._workers: list[asyncio.Task] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def __enter__(self) -> SmtpPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, envelopes: Sequence[Envelope]) -> Future[list[Result]]:
        """Queue these messages; the future holds every result once all are in.

        Batches queue behind each other on the same long-lived workers, so the
        caller can build the next batch while this one is on the wire.
        """
        future: Future[list[Result]] = Future()
        if not envelopes:
            future.set_result([])
            return future
        self._loop.call_soon_threadsafe(self._enqueue, list(envelopes), future)
        return future

    def send_many(self, envelopes: Sequence[Envelope]) -> list[Result]:
        """Send these messages over the pool; blocks until each has a result."""
        return self.submit(envelopes).result()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._quit_all(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def _enqueue(self, envelopes: list[Envelope], future: Future[list[Result]]) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._workers = [
                self._loop.create_task(self._worker(slot)) for slot in range(len(self._clients))
            ]
        batch = _Batch(future, len(envelopes))
        for envelope in envelopes:
            self._queue.put_nowait((envelope, batch))

    async def _worker(self, slot: int) -> None:
        while True:
            envelope, batch = await self._queue.get()
            try:
                result = await self._send_one(slot, envelope)
            except Exception as error:  # a bug must not leave the caller waiting
                result = Result(envelope.key, "retry", f"{type(error).__name__}: {error}"[:400])
            batch.add(result)

    async def _send_one(self, slot: int, envelope: Envelope) -> Result:
        try:
            client = await self._client(slot)
            await smtp_transaction(client, envelope, self.config.timeout)
        except DeliveryUnknown as error:
            await self._drop_if_broken(slot, error)
            return Result(envelope.key, "unknown", str(error)[:500])
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
            await self._drop_if_broken(slot, error)
            return result_from_error(envelope.key, error)
        return Result(envelope.key, "sent", accepted_at=time.time())

    async def _client(self, slot: int) -> aiosmtplib.SMTP:
        client = self._clients[slot]
        if client is not None and client.is_connected:
            return client
        config = self.config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username or None,
            password=config.password or None,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            validate_certs=config.validate_certs,
            timeout=config.timeout,
            # The default asks DNS for our own name: say it instead.
            local_hostname=config.local_hostname,
        )
        self._clients[slot] = client
        await client.connect()
        self.connects += 1
        return client

    async def _drop_if_broken(self, slot: int, error: BaseException) -> None:
        client = self._clients[slot]
        if client is None:
            return
        answered = (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused)
        if isinstance(error, answered) and getattr(error, "code", None) != 421:
            return  # the server answered (and we reset): the connection is still good
        self._clients[slot] = None
        client.close()

    async def _quit_all(self) -> None:
        for worker in self._workers:
            worker.cancel()
        for slot, client in enumerate(self._clients):
            self._clients[slot] = None
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()


class _RawMessage:
    """What Django's SMTP backend asks of a message: bytes with CRLF."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def as_bytes(self, linesep: str = "\n") -> bytes:
        return self.data.replace(b"\r\n", b"\n").replace(b"\n", linesep.encode())


class DjangoTransport:
    """One message at a time through ``django.core.mail`` (any backend)."""

    def __init__(self, backend: str | None = None) -> None:
        from django.core.mail import get_connection

        self.connection = get_connection(backend)

    def __enter__(self) -> DjangoTransport:
        self.connection.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    def submit(self, envelopes: Sequence[Envelope]) -> Future[list[Result]]:
        future: Future[list[Result]] = Future()
        future.set_result(self.send_many(envelopes))
        return future

    def send_many(self, envelopes: Iterable[Envelope]) -> list[Result]:
        results = []
        for envelope in envelopes:
            try:
                self.connection.send_messages([_django_message(envelope)])
            except Exception as error:
                results.append(result_from_error(envelope.key, error))
            else:
                results.append(Result(envelope.key, "sent", accepted_at=time.time()))
        return results


def _django_message(envelope: Envelope) -> object:
    from django.core.mail import EmailMessage

    class Prebuilt(EmailMessage):
        def message(self, *, policy: object = None) -> _RawMessage:
            return _RawMessage(envelope.data)

    return Prebuilt(from_email=envelope.sender, to=[envelope.recipient])
