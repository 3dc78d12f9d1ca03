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

``python -m lab.smtp`` runs one standalone and writes a LAB_HOST_MAP file;
``--processes N`` spreads its hosts over N processes (``LabCluster``) so the
lab is not the bottleneck of a benchmark, and ``--pipelining`` makes hosts
advertise PIPELINING, as real MTAs do. Each host counts the round trips of
every connection, and the lab prints them, with its CPU time, when it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import json
import logging
import multiprocessing as mp
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

# Behaviours spoken through aiosmtpd, and raw ones that are not (really) SMTP.
# "confused" advertises PIPELINING (whatever the lab's setting) and answers
# commands that arrive together in reverse order; one at a time it answers
# like "closed".
SMTP_BEHAVIOURS = (
    "open", "closed", "auth", "starttls", "greylist", "percent", "smtps", "confused",
)  # fmt: skip
RAW_BEHAVIOURS = ("tarpit", "garbage", "drop", "huge", "binary")
BEHAVIOURS = SMTP_BEHAVIOURS + RAW_BEHAVIOURS
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
    # One entry per connection that has ended: the round trips it cost, that
    # is the banner plus each batch of commands the client sent and then
    # waited on (lock-step: one per command; pipelined: one per group).
    round_trips: list[int] = field(default_factory=list)

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

    def __init__(
        self, host: LabHost, latency: float, pipelining: bool, split: bool = False, **kwargs: Any
    ) -> None:
        self.lab_host = host
        self.latency = latency
        # Split: every line of every reply pays the latency, as on a link that
        # delivers each line of a multi-line reply in a segment of its own.
        self.split = split
        self.flights = 0
        # The latency is a round trip's: owed once per flight of commands
        # (and for the banner), so the replies to a pipelined group, like the
        # lines of one multi-line reply, come back together, as over a network.
        self.owed = True
        self.held: list[Any] = []
        pipelining = pipelining or host.behaviour == "confused"
        handler = _EhloPipelining() if pipelining else object()
        super().__init__(handler, hostname=host.name, ident="ESMTP lab", **kwargs)

    def data_received(self, data: bytes) -> None:
        # Each arrival is one flight of commands the client now waits on.
        self.flights += 1
        self.owed = True
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lab_host.round_trips.append(1 + self.flights)  # 1: connect and banner
        super().connection_lost(exc)

    async def push(self, status: Any) -> None:
        if self.lab_host.behaviour == "confused" and self._more_commands_waiting():
            self.held.append(status)  # answered, reversed, with the group's last command
            return
        if self.latency and (self.owed or self.split):
            self.owed = False
            await asyncio.sleep(self.latency)
        for held in [status, *reversed(self.held)]:
            await super().push(held)
        self.held.clear()

    def _more_commands_waiting(self) -> bool:
        # aiosmtpd reads one line at a time from this StreamReader (its own
        # code looks at the same buffer): bytes left mean a pipelined group.
        return bool(self._reader._buffer)  # type: ignore[attr-defined]

    async def smtp_MAIL(self, arg: str | None) -> None:
        self.lab_host.mail_lines.append(f"MAIL {arg or ''}".rstrip())
        if not self.session.host_name:
            await self.push("503 5.5.1 Error: send HELO first")
        elif self.lab_host.behaviour == "auth":
            await self.push("530 5.7.0 Authentication required")
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


class _EhloPipelining:
    """aiosmtpd handler that adds PIPELINING to the EHLO reply."""

    async def handle_EHLO(
        self, server: SMTP, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # this hook form must set it (aiosmtpd docs)
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


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
        pipelining: bool = False,
        split_replies: bool = False,
        networks: int = 1,
        first_index: int = 0,
        index_step: int = 1,
    ) -> None:
        self.latency = latency
        self.network = network
        self.pipelining = pipelining
        self.split_replies = split_replies
        # Hosts spread over this many /16s (127.network.*.*, 127.network+1.*.*, ...),
        # and this lab's share of a cluster's addresses (see LabCluster).
        self.networks = networks
        self.first_index = first_index
        self.index_step = index_step
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
        # Consecutive hosts land in different /24s (and /16s when the lab has
        # several), like real scattered relays.
        index = self.first_index + index * self.index_step
        network, index = self.network + index % self.networks, index // self.networks
        return f"127.{network}.{index % 256}.{1 + index // 256}"

    def stats(self) -> list[dict]:
        """What each host saw: connections, round trips per connection, DATA attempts."""
        return [
            {
                "ip": h.ip,
                "behaviour": h.behaviour,
                "connections": h.connections,
                "round_trips": list(h.round_trips),
                "data_attempts": h.data_attempts,
            }
            for h in self.hosts.values()
        ]

    def counters_reset(self) -> None:
        """Start counting afresh (between two tools probing the same hosts)."""
        for host in self.hosts.values():
            host.round_trips.clear()
            host.connections = 0

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
        if host.behaviour in RAW_BEHAVIOURS:
            handler = self._raw_handler(host)
            return await asyncio.start_server(handler, host.ip, host.port)

        def factory() -> LabSMTP:
            host.connections += 1
            starttls = host.behaviour == "starttls"
            return LabSMTP(
                host,
                self.latency,
                self.pipelining,
                self.split_replies,
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
        speak = getattr(self, f"_raw_{host.behaviour}")

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


class LabCluster:
    """Lab hosts spread over several processes, each with its own event loop.

    One Python process answers with one core at most, so on a small machine
    a single-process lab saturates before the prober does. Host i lives in
    process i % N, at the address a single Lab would give it, so addresses do
    not depend on N. Processes are forked: start a cluster before threads.
    """

    def __init__(self, behaviours: list[str], *, processes: int = 1, **lab_options: Any) -> None:
        self.behaviours = behaviours
        self.processes = max(1, processes)
        self.lab_options = lab_options
        self.pipes: list[Connection] = []
        self.children: list[Any] = []
        self.hosts: list[LabHost] = []

    def start(self) -> LabCluster:
        ctx = mp.get_context("fork")
        options, shares = dict(self.lab_options), []
        for k in range(self.processes):
            here, there = ctx.Pipe()
            mine = self.behaviours[k :: self.processes]
            opts = {**options, "first_index": k, "index_step": self.processes}
            child = ctx.Process(target=_cluster_child, args=(mine, opts, there), daemon=True)
            child.start()
            self.pipes.append(here)
            self.children.append(child)
            reply = here.recv()
            if isinstance(reply, str):
                self.stop()
                raise OSError(f"lab process {k}: {reply}")
            shares.append(reply)
            if reply:  # every process listens on the port the first one got
                options["port"] = reply[0].port
        n = self.processes
        self.hosts = [shares[i % n][i // n] for i in range(len(self.behaviours))]
        return self

    def _ask(self, command: str) -> list[Any]:
        for pipe in self.pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    def stats(self) -> tuple[list[dict], float]:
        """Each host's counters (in host order) and the lab processes' CPU seconds."""
        answers = self._ask("stats")
        by_ip = {row["ip"]: row for rows, _ in answers for row in rows}
        return [by_ip[h.ip] for h in self.hosts], sum(cpu for _, cpu in answers)

    def counters_reset(self) -> None:
        self._ask("reset")

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError, EOFError):
                pipe.send("stop")
                pipe.recv()
        for child in self.children:
            child.join(timeout=10)
        self.pipes, self.children = [], []

    def __enter__(self) -> LabCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _cluster_child(behaviours: list[str], options: dict, conn: Connection) -> None:
    # Ctrl-C reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lab = Lab(**options).start()
    try:
        conn.send(lab.hosts_add(behaviours) if behaviours else [])
    except (OSError, ValueError) as exc:
        conn.send(f"{type(exc).__name__}: {exc}")
        lab.stop()
        return
    command = ""
    while command != "stop":
        try:
            command = conn.recv()
        except EOFError:
            break
        if command == "stats":
            conn.send((lab.stats(), time.process_time()))
        elif command == "reset":
            lab.counters_reset()
            conn.send("ok")
    lab.stop()
    with contextlib.suppress(OSError):
        conn.send("stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run lab SMTP hosts on 127.x.y.z.")
    parser.add_argument("--hosts", default="open=3,closed=3,greylist=1,percent=1,auth=1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--network", type=int, default=77, help="the x in 127.x.y.z")
    parser.add_argument("--networks", type=int, default=1, help="spread hosts over this many /16s")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per round trip")
    parser.add_argument(
        "--split-replies", action="store_true", help="each reply line pays the latency"
    )
    parser.add_argument("--pipelining", action="store_true", help="advertise PIPELINING")
    parser.add_argument("--processes", type=int, default=1, help="spread hosts over N processes")
    parser.add_argument("--targets", default="192.0.2.0/24", help="target addresses to map")
    parser.add_argument("--map-file", type=Path, help="write the LAB_HOST_MAP JSON here")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    args = parser.parse_args(argv)
    if not 1 <= args.processes <= 64:
        parser.error("--processes must be from 1 to 64")
    options = {
        "latency": args.latency,
        "network": args.network,
        "networks": args.networks,
        "port": args.port,
        "pipelining": args.pipelining,
        "split_replies": args.split_replies,
    }
    cluster = LabCluster(parse_counts(args.hosts), processes=args.processes, **options).start()
    hosts = cluster.hosts
    targets = [
        str(ip) for ip, _ in zip(ipaddress.ip_network(args.targets).hosts(), hosts, strict=False)
    ]
    mapping = {t: h.endpoint for t, h in zip(targets, hosts, strict=False)}
    if args.map_file:
        args.map_file.write_text(json.dumps(mapping, indent=2))
    for target, host in zip(targets, hosts, strict=False):
        print(f"{target:>15} -> {host.endpoint:<22} {host.behaviour}")
    print(f"{len(hosts)} hosts in {args.processes} process(es). Ctrl-C stops the lab.", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait(args.seconds or None)
    stats_print(*cluster.stats())
    cluster.stop()


def stats_print(rows: list[dict], cpu: float) -> None:
    """Round trips per connection, by behaviour, and the lab's CPU time."""
    trips: dict[str, list[int]] = {}
    for row in rows:
        trips.setdefault(row["behaviour"], []).extend(row["round_trips"])
    for behaviour, counts in sorted(trips.items()):
        if counts:
            mean = sum(counts) / len(counts)
            print(f"{behaviour:>10}: {len(counts)} connections, {mean:.1f} round trips each")
    print(f"lab CPU: {cpu:.2f} s", flush=True)


if __name__ == "__main__":
    main()
