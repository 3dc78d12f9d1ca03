"""The SMTP relay probe: one asyncio dialogue per host, no ORM.

It follows nmap's smtp-open-relay: read the banner, EHLO (HELO if refused),
then for each of the 16 tests RSET, MAIL FROM and RCPT TO, and QUIT. It never
sends DATA, so nothing is ever delivered. When EHLO advertises PIPELINING
(RFC 2920) each test's three commands go out as one group and cost one round
trip instead of three; replies that do not fit the group send the probe back
to lock-step on a new connection. Commands go out raw (``probes.smtp_wire``),
so the quoted and source-routed addresses the tests are about reach the
server exactly as written.

Everything a hostile server controls is bounded: a deadline per host, a
timeout per read, 8 KiB a line and 32 KiB a reply, and a size-capped
transcript.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import ssl
import time
from collections import defaultdict
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from probes.smtp_wire import (
    Reply,
    Wire,
    WireClosed,
    WireError,
    WireTimeout,
    tls_context_unverified,
)

OPEN_RELAY = "open_relay"
NOT_RELAY = "not_relay"
AUTH_REQUIRED = "auth_required"
TLS_FAILED = "tls_failed"
TEMP_FAILURE = "temp_failure"
NO_SMTP = "no_smtp"
REFUSED = "refused"
TIMEOUT = "timeout"
PROTOCOL_ERROR = "protocol_error"
# Not a probe verdict: the safety guard refused to touch the address.
SKIPPED = "skipped"
T = TypeVar("T")

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.?)*[A-Za-z0-9]$")
# Control characters and the surrogates that undecodable bytes become: never
# stored as they are (PostgreSQL refuses NUL, and a terminal obeys escapes).
_UNSAFE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\ud800-\udfff]")
LINE_LIMIT = 512


def printable(text: str, limit: int = LINE_LIMIT) -> str:
    """Server text made safe to store and show: bounded, controls escaped."""
    text = text[:limit]
    # Every character the pattern escapes is unprintable: most lines skip the regex.
    return text if text.isprintable() else _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char) - 0xDC00 if 0xDC80 <= ord(char) <= 0xDCFF else ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


@dataclass(frozen=True)
class ProbeSettings:
    """What the probe says and how long it waits."""

    helo_name: str
    sender: str
    rcpt_domain: str
    rcpt_local: str = "relaytest"
    deadline: float = 30.0
    read_timeout: float = 10.0
    transcript_limit: int = 32_000
    all_tests: bool = False
    # Off only to compare with lock-step (tests, benchmarks).
    pipelining: bool = True


@dataclass(frozen=True)
class Target:
    """An address to probe, and where to connect (a lab endpoint in lab mode)."""

    ip: str
    port: int = 25
    connect_host: str = ""
    connect_port: int = 0
    asn: int | None = None
    host_id: int | None = None

    @property
    def endpoint(self) -> tuple[str, int]:
        return (self.connect_host or self.ip, self.connect_port or self.port)


@dataclass
class ProbeResult:
    ip: str
    port: int
    verdict: str
    tests_passed: list[int] = field(default_factory=list)
    starttls: bool | None = None
    banner: str = ""
    transcript: str = ""
    error: str = ""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0
    host_id: int | None = None
    evidence: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        """The short form ``verify_relays --json`` prints and tasks return (no transcript)."""
        return {
            "ip": self.ip,
            "port": self.port,
            "verdict": self.verdict,
            "tests_passed": self.tests_passed,
            "seconds": round(self.seconds, 3),
            "starttls": self.starttls,
            "error": self.error[:500],
            "host_id": self.host_id,
        }


# The order the tests run in; evidence keeps nmap's numbers. A fully open
# relay passes any test, so the order only matters for relays that accept
# some forms and not others (and for closed hosts, which run all 16 anyway).
# Plain addresses come first, because they are what most relays that relay
# at all accept and they are evidence an owner cannot dismiss as a parser's
# quirk: 2 (a foreign sender to a foreign recipient, the plainest proof),
# then 3 and 4 (a sender in the server's own name or address, which relays
# that trust "local" senders accept while refusing 2), then 1 (the null
# sender of bounces). Then the routing tricks, from those still met on
# deployed software to the oldest: the % hack (5, 6; Sendmail and old
# Exchange), source routes (12, 13), a second @ (9, 11), quoted local parts
# (7, 8, 10; these and % are also where some non-relays answer 250 and
# refuse later, so they should decide only when nothing plainer passed), and
# UUCP bang paths (14-16) last.
RUN_ORDER = (2, 3, 4, 1, 5, 6, 12, 13, 9, 11, 7, 8, 10, 14, 15, 16)


@dataclass(frozen=True)
class RelayTest:
    number: int
    mail_from: str
    rcpt_to: str


def address_literal(ip: str) -> str:
    """The RFC 5321 address literal: [192.0.2.1] or [IPv6:2001:db8::1]."""
    return f"[IPv6:{ip}]" if ipaddress.ip_address(ip).version == 6 else f"[{ip}]"


def relay_tests(
    *, ip: str, srvname: str, sender: str, rcpt_local: str, rcpt_domain: str
) -> list[RelayTest]:
    """nmap's 16 relay tests, in its order, as the raw strings sent inside <>."""
    lit, local, dom = address_literal(ip), sender.split("@", 1)[0], rcpt_domain
    rcpt, f = f"{rcpt_local}@{dom}", f"{local}@{lit}"
    first = [("", rcpt), (sender, rcpt), (f"{local}@{srvname}", rcpt), (f, rcpt)]
    rest = [
        f"{rcpt_local}%{dom}@{lit}",
        f"{rcpt_local}%{dom}@{srvname}",
        f'"{rcpt}"',
        f'"{rcpt_local}%{dom}"',
        f"{rcpt}@{lit}",
        f'"{rcpt}"@{lit}',
        f"{rcpt}@{srvname}",
        f"@{lit}:{rcpt}",
        f"@{srvname}:{rcpt}",
        f"{dom}!{rcpt_local}",
        f"{dom}!{rcpt_local}@{lit}",
        f"{dom}!{rcpt_local}@{srvname}",
    ]
    pairs = first + [(f, r) for r in rest]
    return [RelayTest(n, m, r) for n, (m, r) in enumerate(pairs, start=1)]


def server_name(banner: str, ip: str) -> str:
    """The name the server gives in its banner, or [ip] when it is not a hostname.

    The name goes back into our commands, so anything but a plain hostname is
    refused: a hostile banner must not inject text into the dialogue.
    """
    words = banner.split(None, 1)
    name = words[0] if words else ""
    return name if _HOSTNAME.match(name) and "." in name else address_literal(ip)


class Transcript:
    """Both sides of the dialogue, timestamped, escaped and size-bounded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.start = time.monotonic()
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def add(self, side: str, line: str) -> None:
        if self.truncated:
            return
        line = printable(line.replace("\n", "\\n"))
        text = f"+{(time.monotonic() - self.start) * 1000:7.0f}ms {side}: {line}"
        if self.size + len(text) > self.limit:
            self.parts.append("[transcript truncated]")
            self.truncated = True
            return
        self.parts.append(text)
        self.size += len(text) + 1

    def reply(self, response: Reply) -> None:
        lines = response.message.split("\n") or [""]
        for i, line in enumerate(lines):
            sep = " " if i == len(lines) - 1 else "-"
            self.add("S", f"{response.code}{sep}{line}")

    def text(self) -> str:
        return "\n".join(self.parts)


def transcript_of_test(transcript: str, test: int) -> str:
    """The lines of one relay test (RSET to RCPT), for quoting in a letter."""
    marker = f" *: test {test}"
    lines = transcript.splitlines()
    # The last marker: a test retried in lock-step after a confused pipelined
    # group is quoted from the exchange that decided it.
    starts = [i for i, line in enumerate(lines) if line.endswith(marker)]
    if not starts:
        return ""
    start = starts[-1]
    rest = lines[start + 1 :]
    end = next((i for i, line in enumerate(rest) if " *: " in line or " C: QUIT" in line), None)
    return "\n".join(rest[:end])


class _Outcome(Exception):
    """Ends the dialogue early with a verdict."""

    def __init__(self, verdict: str, error: str = "") -> None:
        super().__init__(verdict)
        self.verdict = verdict
        self.error = error


class _Confused(Exception):
    """A pipelined group's replies cannot be trusted: go back to lock-step."""


class Dialogue:
    """One probe of one host. ``run()`` returns the result and never raises."""

    def __init__(self, target: Target, settings: ProbeSettings) -> None:
        self.target = target
        self.settings = settings
        self.log = Transcript(settings.transcript_limit)
        self.result = ProbeResult(ip=target.ip, port=target.port, verdict="")
        self.result.host_id = target.host_id
        self.wire: Wire | None = None
        self.tls = target.port == 465
        self.tls_tried = False
        # Pipelining is used while the server advertises it, and given up for
        # the rest of the probe as soon as one group's replies look wrong.
        self.pipelining = False
        self.lockstep = not settings.pipelining
        self.answers: list[str] = []

    async def run(self) -> ProbeResult:
        start = time.monotonic()
        try:
            async with asyncio.timeout(self.settings.deadline):
                await self._dialogue()
        except _Outcome as outcome:
            self._finish(outcome.verdict, outcome.error)
        except WireTimeout as exc:
            self._finish(TIMEOUT, str(exc))
        except TimeoutError:
            self._finish(TIMEOUT, f"deadline of {self.settings.deadline:g} s reached")
        except ssl.SSLError as exc:
            self._finish(TLS_FAILED, str(exc))
        except (WireError, OSError) as exc:
            self._finish(PROTOCOL_ERROR, f"{type(exc).__name__}: {exc}")
        finally:
            if self.wire is not None:
                self.wire.close()
        self.result.seconds = time.monotonic() - start
        self.result.tests_passed.sort()
        self.result.transcript = self.log.text()
        return self.result

    def _finish(self, verdict: str, error: str) -> None:
        # Passes found before the server went away are still evidence.
        self.result.verdict = OPEN_RELAY if self.result.tests_passed else verdict
        self.result.error = printable(error, 500)
        self.log.add("*", f"{verdict}: {error}" if error else verdict)

    async def _dialogue(self) -> None:
        await self._connect()
        await self._greet()
        self.result.verdict = await self._run_tests()
        await self._quit()

    async def _connect(self) -> None:
        host, port = self.target.endpoint
        self.log.add("*", f"connect {self.target.ip} port {self.target.port}")
        tls = _tls_context() if self.tls else None
        try:
            self.wire = await Wire.open(host, port, timeout=self.settings.read_timeout, tls=tls)
        except TimeoutError:
            raise _Outcome(TIMEOUT, f"Timed out connecting to {host} on port {port}") from None
        except ssl.SSLError as exc:
            raise _Outcome(TLS_FAILED, str(exc)) from None
        except OSError as exc:
            raise _Outcome(*_connect_failure(exc)) from None
        banner = await self._banner()
        self.log.reply(banner)
        if banner.code != 220:
            raise _Outcome(*_banner_refusal(banner.code, banner.message))
        self.result.banner = printable(banner.message, 1000)

    async def _banner(self) -> Reply:
        assert self.wire is not None
        try:
            return await self.wire.read_reply()
        except WireTimeout:
            raise _Outcome(TIMEOUT, "Timed out waiting for server ready message") from None
        except WireClosed:
            raise _Outcome(NO_SMTP, "closed the connection without a banner") from None
        except WireError as exc:
            raise _Outcome(NO_SMTP, f"banner is not SMTP: {str(exc)[:200]}") from None

    async def _greet(self) -> None:
        response = await self._command(b"EHLO", self.settings.helo_name.encode())
        if response.code != 250:
            response = await self._command(b"HELO", self.settings.helo_name.encode())
            if response.code != 250:
                raise _Outcome(*_refusal(response, "HELO refused"))
            if not self.tls:
                self.result.starttls = False  # no ESMTP, so no STARTTLS either
            self.pipelining = False
            return
        extensions = ehlo_extensions(response.message)
        if not self.tls:
            self.result.starttls = "STARTTLS" in extensions
        self.pipelining = "PIPELINING" in extensions and not self.lockstep
        if self.pipelining:
            self.log.add("*", "PIPELINING: each test's RSET, MAIL and RCPT go as one group")

    async def _command(self, *args: bytes) -> Reply:
        """Send one raw command; upgrade to TLS first if the server demands it."""
        assert self.wire is not None
        self.log.add("C", b" ".join(args).decode("ascii", "replace"))
        response = await self.wire.exchange(b" ".join(args))
        self.log.reply(response)
        if _demands_starttls(response) and not self.tls:
            await self._starttls()
            return await self._command(*args)
        if response.code == 421:
            raise _Outcome(TEMP_FAILURE, f"server closing: {response.message[:200]}")
        return response

    async def _starttls(self) -> None:
        assert self.wire is not None
        if self.tls_tried or not self.result.starttls:
            raise _Outcome(TLS_FAILED, "server demands STARTTLS but does not offer it")
        self.tls_tried = True
        self.log.add("C", "STARTTLS")
        response = await self.wire.exchange(b"STARTTLS")
        self.log.reply(response)
        if response.code != 220:
            raise _Outcome(TLS_FAILED, f"STARTTLS refused: {response.code}")
        try:
            # Evidence only: certificate checks are off on purpose.
            await self.wire.starttls(_tls_context())
        except (ssl.SSLError, WireError, OSError) as exc:
            raise _Outcome(TLS_FAILED, f"{type(exc).__name__}: {exc}") from None
        self.tls = True
        await self._greet()

    async def _run_tests(self) -> str:
        srvname = server_name(self.result.banner, self.target.ip)
        s = self.settings
        tests = relay_tests(
            ip=self.target.ip,
            srvname=srvname,
            sender=s.sender,
            rcpt_local=s.rcpt_local,
            rcpt_domain=s.rcpt_domain,
        )
        for test in sorted(tests, key=lambda t: RUN_ORDER.index(t.number)):
            answer = await self._run_test(test)
            if answer == AUTH_REQUIRED:
                return AUTH_REQUIRED
            if answer == "pass":
                self.result.tests_passed.append(test.number)
                if not s.all_tests:
                    break
            self.answers.append(answer)
        return _battery_verdict(self.result.tests_passed, self.answers)

    async def _run_test(self, test: RelayTest) -> str:
        """One test: 'pass', 'fail', 'temp' or AUTH_REQUIRED."""
        # The marker lets a letter quote exactly the exchange of one test.
        self.log.add("*", f"test {test.number}")
        if self.pipelining:
            try:
                return await self._run_test_grouped(test)
            except _Confused as confused:
                await self._lockstep_again(str(confused))
                self.log.add("*", f"test {test.number}")
        await self._command(b"RSET")
        mail = await self._command(b"MAIL", f"FROM:<{test.mail_from}>".encode())
        if mail.code != 250:
            return _answer(mail)
        rcpt = await self._command(b"RCPT", f"TO:<{test.rcpt_to}>".encode())
        return "pass" if rcpt.code in (250, 251) else _answer(rcpt)

    async def _run_test_grouped(self, test: RelayTest) -> str:
        """One test as an RFC 2920 group: RSET, MAIL and RCPT sent at once.

        RCPT goes out whatever MAIL's fate; when MAIL fails its reply is read
        and ignored, as lock-step would never have sent it.
        """
        assert self.wire is not None
        commands = [b"RSET", f"MAIL FROM:<{test.mail_from}>".encode()]
        commands.append(f"RCPT TO:<{test.rcpt_to}>".encode())
        if self.wire.unread:
            raise _Confused(f"{self.wire.unread} bytes came unasked before the group")
        for command in commands:
            self.log.add("C", command.decode("ascii", "replace"))
        replies = await self._group_replies(commands)
        if any(_demands_starttls(r) for r in replies) and not self.tls:
            await self._starttls()
            return await self._run_test(test)
        rset, mail, rcpt = replies
        _group_check(rset, mail, rcpt, self.wire.unread)
        if mail.code != 250:
            return _answer(mail)
        return "pass" if rcpt.code in (250, 251) else _answer(rcpt)

    async def _group_replies(self, commands: list[bytes]) -> list[Reply]:
        assert self.wire is not None
        replies: list[Reply] = []
        self.wire.send(*commands)
        try:
            for _ in commands:
                replies.append(await self.wire.read_reply())
                self.log.reply(replies[-1])
                if replies[-1].code == 421:  # closing: the rest will not come
                    raise _Confused(f"421 in the group's replies ({len(replies)} of 3)")
        except WireTimeout:
            raise _Confused(f"{len(replies)} replies to {len(commands)} commands") from None
        except WireClosed:
            raise _Confused("the server closed the connection during a group") from None
        return replies

    async def _lockstep_again(self, reason: str) -> None:
        """Start over on a new connection without pipelining (RFC 2920 is optional)."""
        self.log.add("*", f"pipelining confused ({reason}): lock-step on a new connection")
        if self.wire is not None:
            self.wire.close()
        self.lockstep, self.pipelining = True, False
        self.tls, self.tls_tried = self.target.port == 465, False
        await self._connect()
        await self._greet()

    async def _quit(self) -> None:
        try:
            await self._command(b"QUIT")
        except (WireError, OSError) as exc:
            self.log.add("*", f"QUIT: {type(exc).__name__}")


def ehlo_extensions(message: str) -> set[str]:
    """The keywords an EHLO reply advertises (its first line is the server's name)."""
    return {line.split(None, 1)[0].upper() for line in message.split("\n")[1:] if line.strip()}


def _demands_starttls(response: Reply) -> bool:
    return response.code == 530 and "starttls" in response.message.lower()


def _group_check(rset: Reply, mail: Reply, rcpt: Reply, unread: int) -> None:
    """Raise _Confused when a group's replies cannot be one reply per command, in order.

    A 421 means the server is closing: lock-step on a new connection decides.
    RSET always succeeds on a server in step, and no server accepts a
    recipient without a sender, so either sign means replies are shifted.
    """
    codes = f"{rset.code} {mail.code} {rcpt.code}"
    if 421 in (rset.code, mail.code, rcpt.code):
        raise _Confused(f"421 in the group's replies ({codes})")
    if rset.code != 250:
        raise _Confused(f"RSET answered {rset.code} ({codes})")
    if mail.code // 100 not in (2, 4, 5) or rcpt.code // 100 not in (2, 4, 5):
        raise _Confused(f"replies no MAIL or RCPT can get ({codes})")
    if mail.code // 100 != 2 and rcpt.code // 100 == 2:
        raise _Confused(f"RCPT accepted after MAIL was refused ({codes})")
    if unread:
        raise _Confused(f"more replies than commands ({unread} bytes left)")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return tls_context_unverified()


def _answer(response: Reply) -> str:
    if response.code == 530:
        return AUTH_REQUIRED
    return "temp" if 400 <= response.code < 500 else "fail"


def _battery_verdict(passed: list[int], answers: list[str]) -> str:
    if passed:
        return OPEN_RELAY
    # Greylisting answers 4xx to everything; a single 5xx is a real refusal.
    if answers and all(a == "temp" for a in answers):
        return TEMP_FAILURE
    return NOT_RELAY


def _refusal(response: Reply, what: str) -> tuple[str, str]:
    verdict = TEMP_FAILURE if 400 <= response.code < 500 else PROTOCOL_ERROR
    return verdict, f"{what}: {response.code} {response.message[:200]}"


def _banner_refusal(code: int, message: str) -> tuple[str, str]:
    """A banner other than 220: 4xx is a try-later, 5xx a refusal of service."""
    text = f"banner {code} {message[:200]}"
    if 400 <= code < 500:
        return TEMP_FAILURE, text
    if 500 <= code < 600:
        return NOT_RELAY, text
    return NO_SMTP, text


def _connect_failure(exc: OSError) -> tuple[str, str]:
    return REFUSED, str(exc)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from synchronous code, on a loop of its own.

    If this thread already runs an event loop (an async caller, or a test
    tool such as Playwright's sync API), the coroutine runs in a fresh thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="probe") as pool:
        return pool.submit(asyncio.run, coro).result()


async def probe(target: Target, settings: ProbeSettings) -> ProbeResult:
    """Probe one host. Never raises: every failure is a verdict."""
    return await Dialogue(target, settings).run()


class Politeness:
    """Caps on concurrent connections per /24 (/48) and per ASN, and a global rate.

    A host whose ASN is unknown counts against its /16 (/32 for IPv6) in
    place of an ASN: one shared bucket for every unknown host would cap a
    whole run of them at one network's share, and none would let a run hit
    one unlisted network at full concurrency.
    """

    def __init__(self, *, per_network: int = 4, per_asn: int = 64, rate: float = 0) -> None:
        self.per_network = per_network
        self.per_asn = per_asn
        self.interval = 1 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._networks: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(per_network)
        )
        self._asns: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_asn))

    async def pace(self) -> None:
        """Space out new connections so the process stays under the global rate."""
        if not self.interval:
            return
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def run(self, target: Target, settings: ProbeSettings) -> ProbeResult:
        async with self._networks[network_of(target.ip)], self._asns[asn_group(target)]:
            await self.pace()
            return await probe(target, settings)


def network_of(ip: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) a politeness cap counts against."""
    prefix = 24 if ipaddress.ip_address(ip).version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def asn_group(target: Target) -> str:
    """The per-ASN bucket: 'AS64500', or the /16 (/32) when the ASN is unknown."""
    if target.asn is not None:
        return f"AS{target.asn}"
    prefix = 16 if ipaddress.ip_address(target.ip).version == 4 else 32
    return str(ipaddress.ip_network(f"{target.ip}/{prefix}", strict=False))


async def probe_many(
    targets: Iterable[Target],
    settings: ProbeSettings,
    *,
    concurrency: int = 1000,
    politeness: Politeness | None = None,
) -> list[ProbeResult]:
    """Probe many hosts on this event loop, at most ``concurrency`` at once.

    A fixed pool of workers pulls from a queue, so memory depends on the
    concurrency, not on how many targets there are. Results keep input order.
    """
    politeness = politeness or Politeness()
    queue = list(enumerate(targets))
    results: list[ProbeResult | None] = [None] * len(queue)
    queue.reverse()

    async def worker() -> None:
        while queue:
            index, target = queue.pop()
            results[index] = await politeness.run(target, settings)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(queue))))))
    return [r for r in results if r is not None]
