"""The lab: simulated SMTP hosts on 127.x.y.z for tests, the demo and benchmarks.

Each host listens on its own loopback address, all on one port, on an event
loop that runs in a thread of its own (aiosmtpd's Controller cannot bind port
0 and costs a thread per server). Hosts record every MAIL and RCPT line
exactly as it arrived and count DATA attempts, which must stay at zero: the
probe never sends DATA.

    lab = Lab(latency=0.02).start()
    hosts = lab.hosts_add(["open", "closed", "tarpit"])
    ...
    lab.host_behaviour_set(hosts[0].ip, "closed")   # the owner fixed it
    lab.stop()

``python -m lab.smtp`` runs one standalone and writes a LAB_HOST_MAP file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import json
import logging
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

# Behaviours spoken through aiosmtpd, and raw ones that are not (really) SMTP.
# "blocks_us" refuses our client at MAIL ("access denied"), as an owner who
# noticed the prober does; "defers_us" is its 4xx twin. A host can switch to them.
SMTP_BEHAVIOURS = (
    "open", "closed", "auth", "starttls", "greylist", "percent", "smtps", "blocks_us", "defers_us"
)  # fmt: skip
RAW_BEHAVIOURS = ("tarpit", "garbage", "drop", "huge", "binary", "hangup")
# Scripted hosts: a banner and fixed replies per command, for the verdict
# table's rows that aiosmtpd cannot play (refusals of our client, odd codes).
# A reply that starts with "!" is sent, then the host hangs up.
_DENIED = "554 5.7.1 <unknown[{ip}]>: Client host rejected: Access denied"
SCRIPTS: dict[str, dict[str, str]] = {
    "busy": {"banner": "!421 4.3.2 {name} Service not available, try again later"},
    "banner554": {"banner": "!554 5.7.1 {name} No SMTP service here for {ip}"},
    "banner521": {"banner": "!521 5.3.2 {name} Server does not accept mail"},
    "banner_odd": {"banner": "!250 {name} hello, but not a greeting"},
    "ehlo421": {"EHLO": "!421 4.7.0 {name} Too many connections from {ip}, closing"},
    "helo_denied": {
        "EHLO": "550 5.7.1 Access denied",
        "HELO": "550 5.7.1 Access denied for {ip}",
    },
    "helo_busy": {"EHLO": "502 5.5.2 Error", "HELO": "!450 4.7.1 Try again later"},
    "helo_odd": {"EHLO": "502 5.5.2 Error", "HELO": "354 What?"},
    "helo_only": {"EHLO": "502 5.5.2 Error: command not recognized", "RCPT": "250 2.1.5 OK"},
    "client_denied": {"MAIL": "550 5.7.1 Access denied: client {ip} is blocked"},
    "client_deferred": {"MAIL": "450 4.7.1 Client host {ip} temporarily blocked"},
    "client_rejected": {"RCPT": _DENIED},
    "client_rejected_later": {"RCPT": "450 4.7.1 Client host rejected: cannot find your hostname"},
    "sender_deferred": {"MAIL": "451 4.3.0 Try again later"},
    "sender_refused": {"MAIL": "553 5.1.8 Sender address rejected: Domain not found"},
    "auth_rcpt": {"RCPT": "530 5.7.0 Authentication required"},
    "greylist_some": {"RCPT": "%451 4.7.1 Greylisted, try later|554 5.7.1 Relay access denied"},
    # Relays plain recipients, then refuses our client at the first routing trick.
    "open_then_blocks": {"RCPT": "%" + _DENIED + "|250 2.1.5 OK"},
    "starttls_missing": {"MAIL": "530 5.7.0 Must issue a STARTTLS command first"},
    "starttls_refused": {
        "EHLO": "250-{name}\n250 STARTTLS",
        "MAIL": "530 5.7.0 Must issue a STARTTLS command first",
    },
    "starttls_broken": {
        "EHLO": "250-{name}\n250 STARTTLS",
        "MAIL": "530 5.7.0 Must issue a STARTTLS command first",
        # Ready, then it hangs up instead of shaking hands.
        "STARTTLS": "!220 2.0.0 Ready to start TLS",
    },
}
SCRIPT_DEFAULTS = {
    "banner": "220 {name} ESMTP lab",
    "EHLO": "250-{name}\n250 8BITMIME",
    "HELO": "250 {name}",
    "RSET": "250 2.0.0 OK",
    "MAIL": "250 2.1.0 OK",
    "RCPT": "554 5.7.1 Relay access denied",
    "STARTTLS": "454 4.7.0 TLS not available",
    "QUIT": "!221 2.0.0 Bye",
}
BEHAVIOURS = SMTP_BEHAVIOURS + RAW_BEHAVIOURS + tuple(SCRIPTS)
LAB_DOMAIN = "lab.test"

# The lab meets hostile clients on purpose (the tests send TLS to plain hosts).
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass
class LabHost:
    ip: str
    port: int
    behaviour: str
    mail_lines: list[str] = field(default_factory=list)
    rcpt_lines: list[str] = field(default_factory=list)
    data_attempts: int = 0
    connections: int = 0

    @property
    def endpoint(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def name(self) -> str:
        return f"mx{self.ip.replace('.', '-')}.{LAB_DOMAIN}"


class LabSMTP(SMTP):
    """aiosmtpd with the lab's own MAIL/RCPT answers.

    MAIL and RCPT are answered here rather than in a handler because aiosmtpd
    parses addresses first: it refuses ``a@b@[ip]`` and strips source routes,
    and the lab must see (and record) exactly what the probe sent.
    """

    def __init__(self, host: LabHost, latency: float, **kwargs: Any) -> None:
        self.lab_host = host
        self.latency = latency
        super().__init__(object(), hostname=host.name, ident="ESMTP lab", **kwargs)

    async def push(self, status: Any) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)
        await super().push(status)

    async def smtp_MAIL(self, arg: str | None) -> None:
        self.lab_host.mail_lines.append(f"MAIL {arg or ''}".rstrip())
        if not self.session.host_name:
            await self.push("503 5.5.1 Error: send HELO first")
        elif self.lab_host.behaviour == "auth":
            await self.push("530 5.7.0 Authentication required")
        elif self.lab_host.behaviour == "blocks_us":
            await self.push(f"550 5.7.1 Access denied: client {self.lab_host.ip} is blocked")
        elif self.lab_host.behaviour == "defers_us":
            await self.push(f"450 4.7.1 Client host {self.lab_host.ip} temporarily blocked")
        else:
            self.envelope.mail_from = arg
            await self.push("250 2.1.0 OK")

    async def smtp_RCPT(self, arg: str | None) -> None:
        line = f"RCPT {arg or ''}".rstrip()
        self.lab_host.rcpt_lines.append(line)
        if self.envelope.mail_from is None:
            await self.push("503 5.5.1 Error: need MAIL command")
        else:
            await self.push(rcpt_reply(self.lab_host.behaviour, line))

    async def smtp_DATA(self, arg: str | None) -> None:
        # The probe must never get here; count it so the tests can prove it.
        self.lab_host.data_attempts += 1
        await self.push("554 5.7.1 The lab never accepts DATA")


def rcpt_reply(behaviour: str, line: str) -> str:
    if behaviour in ("open", "starttls", "smtps"):
        return "250 2.1.5 OK"
    if behaviour == "greylist":
        return "451 4.7.1 Greylisted, please try again later"
    if behaviour == "percent" and "%" in line:
        return "250 2.1.5 OK"
    return "554 5.7.1 Relay access denied"


class Lab:
    """Loopback SMTP hosts on an event loop in a thread of their own."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        network: int = 77,
        port: int = 0,
        tarpit_seconds: float = 120.0,
        huge_bytes: int = 1_000_000,
    ) -> None:
        self.latency = latency
        self.network = network
        self.port = port
        self.fixed_port = bool(port)
        self.tarpit_seconds = tarpit_seconds
        self.huge_bytes = huge_bytes
        self.hosts: dict[str, LabHost] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lab", daemon=True)
        self.servers: list[asyncio.Server] = []
        self._tls: ssl.SSLContext | None = None

    def start(self) -> Lab:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._call(self._close_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: Awaitable[Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def hosts_add(self, behaviours: list[str]) -> list[LabHost]:
        """Start one host per behaviour, on new addresses, all on the lab's port."""
        unknown = set(behaviours) - set(BEHAVIOURS)
        if unknown:
            raise ValueError(f"unknown lab behaviours: {sorted(unknown)}")
        if {"starttls", "smtps"} & set(behaviours) and self._tls is None:
            self._tls = tls_context_selfsigned()
        return self._call(self._hosts_bind(behaviours))

    def host_behaviour_set(self, ip: str, behaviour: str) -> None:
        """Change how a host answers from its next command on (the demo's "fix")."""
        if behaviour not in SMTP_BEHAVIOURS:
            raise ValueError(f"a host can only switch between {SMTP_BEHAVIOURS}")
        self.hosts[ip].behaviour = behaviour

    def data_attempts(self) -> int:
        return sum(h.data_attempts for h in self.hosts.values())

    def host_map(self, targets: list[str]) -> dict[str, str]:
        """Map target addresses to lab endpoints, in order (for LAB_HOST_MAP)."""
        return {t: h.endpoint for t, h in zip(targets, self.hosts.values(), strict=False)}

    def address(self, index: int) -> str:
        # Consecutive hosts land in different /24s, like real scattered relays.
        return f"127.{self.network}.{index % 256}.{1 + index // 256}"

    async def _hosts_bind(self, behaviours: list[str]) -> list[LabHost]:
        for _attempt in range(5):
            try:
                return await self._hosts_bind_once(behaviours)
            except OSError as exc:
                # Another process holds our port on one of the new addresses: pick
                # another, unless the port was asked for or earlier hosts use it.
                if exc.errno != errno.EADDRINUSE or self.fixed_port or self.hosts:
                    raise
                self.port = 0
        raise OSError(errno.EADDRINUSE, "no free lab port after 5 attempts")

    async def _hosts_bind_once(self, behaviours: list[str]) -> list[LabHost]:
        new: list[LabHost] = []
        try:
            for behaviour in behaviours:
                ip = self.address(len(self.hosts) + len(new))
                host = LabHost(ip=ip, port=self.port, behaviour=behaviour)
                server = await self._serve(host)
                self.port = host.port = server.sockets[0].getsockname()[1]
                self.servers.append(server)
                new.append(host)
        except OSError:
            for _ in new:
                self.servers.pop().close()
            raise
        self.hosts.update((h.ip, h) for h in new)
        return new

    async def _serve(self, host: LabHost) -> asyncio.Server:
        if host.behaviour in RAW_BEHAVIOURS or host.behaviour in SCRIPTS:
            handler = self._raw_handler(host)
            return await asyncio.start_server(handler, host.ip, host.port)

        def factory() -> LabSMTP:
            host.connections += 1
            starttls = host.behaviour == "starttls"
            return LabSMTP(
                host,
                self.latency,
                tls_context=self._tls if starttls else None,
                require_starttls=starttls,
                timeout=60,
                loop=self.loop,
            )

        tls = self._tls if host.behaviour == "smtps" else None  # implicit TLS, as on 465
        return await self.loop.create_server(factory, host.ip, host.port, ssl=tls)

    def _raw_handler(
        self, host: LabHost
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        scripted = host.behaviour in SCRIPTS
        speak = self._raw_scripted if scripted else getattr(self, f"_raw_{host.behaviour}")

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            host.connections += 1
            # Stopping the lab cancels hosts mid-sentence: that ends them quietly.
            with contextlib.suppress(OSError, TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(self.tarpit_seconds + 30):
                    await speak(host, reader, writer)
            writer.close()

        return handle

    async def _say(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)
        writer.write(data)
        await writer.drain()

    async def _raw_tarpit(self, host: LabHost, reader: Any, writer: Any) -> None:
        await asyncio.sleep(self.tarpit_seconds)
        await self._say(writer, f"220 {host.name} ESMTP slow\r\n".encode())
        await reader.readline()

    async def _raw_hangup(self, host: LabHost, reader: Any, writer: Any) -> None:
        return  # closes without a word

    async def _raw_scripted(self, host: LabHost, reader: Any, writer: Any) -> None:
        """Answer each command with the script's reply until a "!" reply or EOF."""
        script = {**SCRIPT_DEFAULTS, **SCRIPTS[host.behaviour]}
        if not await self._script_say(host, writer, script["banner"]):
            return
        while line := await reader.readline():
            text = line.decode("ascii", "replace").strip()
            verb = text.split(" ", 1)[0].upper()
            if verb == "MAIL":
                host.mail_lines.append(text)
            elif verb == "RCPT":
                host.rcpt_lines.append(text)
            elif verb == "DATA":
                host.data_attempts += 1
            reply = script.get(verb, "502 5.5.2 Error: command not recognized")
            if reply.startswith("%"):
                # "%deferred|refused": defer the tests with routing tricks, refuse the others.
                deferred, refused = reply[1:].split("|")
                reply = deferred if any(c in text for c in '%"!') else refused
            if not await self._script_say(host, writer, reply):
                return

    async def _script_say(self, host: LabHost, writer: Any, reply: str) -> bool:
        """Send one (multi-line) reply; False when the script hangs up after it."""
        hang_up = reply.startswith("!")
        text = reply.lstrip("!").format(name=host.name, ip=host.ip)
        await self._say(writer, "".join(f"{line}\r\n" for line in text.split("\n")).encode())
        return not hang_up

    async def _raw_garbage(self, host: LabHost, reader: Any, writer: Any) -> None:
        await self._say(writer, b"HTTP/1.1 400 Bad Request\r\nServer: lab\r\n\r\n")

    async def _raw_drop(self, host: LabHost, reader: Any, writer: Any) -> None:
        await self._say(writer, f"220 {host.name} ESMTP\r\n".encode())

    async def _raw_binary(self, host: LabHost, reader: Any, writer: Any) -> None:
        # NUL, an escape sequence and bytes that are not UTF-8, then goodbye.
        await self._say(writer, b"220 mx\x00\x1b[2J\xff\xfe ESMTP\r\n")

    async def _raw_huge(self, host: LabHost, reader: Any, writer: Any) -> None:
        await self._say(writer, f"220 {host.name} ESMTP\r\n".encode())
        await reader.readline()
        line = b"250-" + b"x" * 72 + b"\r\n"
        for _ in range(self.huge_bytes // len(line)):
            writer.write(line)
            await writer.drain()
        await self._say(writer, b"250 end\r\n")

    async def _close_all(self) -> None:
        for server in self.servers:
            server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()


def tls_context_selfsigned() -> ssl.SSLContext:
    """A server context with a throwaway self-signed certificate (openssl CLI)."""
    directory = Path(tempfile.mkdtemp(prefix="lab-tls-"))
    cert, key = directory / "cert.pem", directory / "key.pem"
    # A fixed argument list naming the system openssl: nothing comes from outside.
    subprocess.run(  # noqa: S603
        [  # noqa: S607
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
            f"/CN={LAB_DOMAIN}", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def parse_counts(text: str) -> list[str]:
    """'open=3,closed=5' → ['open', 'open', 'open', 'closed', ...]."""
    behaviours: list[str] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, count = part.partition("=")
        behaviours += [name] * int(count or 1)
    return behaviours


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run lab SMTP hosts on 127.x.y.z.")
    parser.add_argument("--hosts", default="open=3,closed=3,greylist=1,percent=1,auth=1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--network", type=int, default=77, help="the x in 127.x.y.z")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per reply")
    parser.add_argument("--targets", default="192.0.2.0/24", help="target addresses to map")
    parser.add_argument("--map-file", type=Path, help="write the LAB_HOST_MAP JSON here")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    args = parser.parse_args(argv)
    lab = Lab(latency=args.latency, network=args.network, port=args.port).start()
    hosts = lab.hosts_add(parse_counts(args.hosts))
    targets = [
        str(ip) for ip, _ in zip(ipaddress.ip_network(args.targets).hosts(), hosts, strict=False)
    ]
    mapping = lab.host_map(targets)
    if args.map_file:
        args.map_file.write_text(json.dumps(mapping, indent=2))
    for target, host in zip(targets, hosts, strict=False):
        print(f"{target:>15} -> {host.endpoint:<22} {host.behaviour}")
    print("Ctrl-C stops the lab.", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait(args.seconds or None)
    lab.stop()


if __name__ == "__main__":
    main()
