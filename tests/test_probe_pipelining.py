"""PIPELINING (RFC 2920), the run order of the tests, politeness buckets, and a lean start.

Every lab behaviour is probed pipelined and in lock-step, and must get the
same verdict both ways; servers that confuse a pipelined group send the probe
back to lock-step on a new connection.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lab.smtp import BEHAVIOURS, Lab
from probes import smtp
from probes.smtp import ProbeSettings, Target, run_sync
from tests.probe_helpers import peak_in_flight, probe_settings

SETTINGS = probe_settings(deadline=8, read_timeout=2)
LOCKSTEP = ProbeSettings(**{**SETTINGS.__dict__, "pipelining": False})
ROOT = Path(__file__).resolve().parent.parent

# What the lab's truth is for each behaviour, whichever way the probe talks.
EXPECTED = {
    "open": (smtp.OPEN_RELAY, [2]),
    "closed": (smtp.NOT_RELAY, []),
    "auth": (smtp.AUTH_REQUIRED, []),
    "starttls": (smtp.OPEN_RELAY, [2]),
    "greylist": (smtp.TEMP_FAILURE, []),
    "percent": (smtp.OPEN_RELAY, [5]),
    "smtps": (smtp.OPEN_RELAY, [2]),
    "confused": (smtp.NOT_RELAY, []),
    "tarpit": (smtp.TIMEOUT, []),
    "garbage": (smtp.NO_SMTP, []),
    "drop": (smtp.PROTOCOL_ERROR, []),
    "huge": (smtp.PROTOCOL_ERROR, []),
    "binary": (smtp.PROTOCOL_ERROR, []),
    # The verdict table's lab hosts (issue 15): the same verdict both ways.
    "auth_rcpt": (smtp.AUTH_REQUIRED, []),
    "banner521": (smtp.REFUSED, []),
    "banner554": (smtp.REFUSED, []),
    "banner_odd": (smtp.NO_SMTP, []),
    "blocks_us": (smtp.REFUSED, []),
    "busy": (smtp.TEMP_FAILURE, []),
    "client_deferred": (smtp.TEMP_FAILURE, []),
    "client_denied": (smtp.REFUSED, []),
    "client_rejected": (smtp.REFUSED, []),
    "client_rejected_later": (smtp.TEMP_FAILURE, []),
    "defers_us": (smtp.TEMP_FAILURE, []),
    "ehlo421": (smtp.TEMP_FAILURE, []),
    "greylist_some": (smtp.TEMP_FAILURE, []),
    "hangup": (smtp.NO_SMTP, []),
    "helo_busy": (smtp.TEMP_FAILURE, []),
    "helo_denied": (smtp.REFUSED, []),
    "helo_odd": (smtp.PROTOCOL_ERROR, []),
    "helo_only": (smtp.OPEN_RELAY, [2]),
    "open_then_blocks": (smtp.OPEN_RELAY, [2]),
    "sender_deferred": (smtp.TEMP_FAILURE, []),
    "sender_refused": (smtp.REFUSED, []),
    "starttls_broken": (smtp.TLS_FAILED, []),
    "starttls_missing": (smtp.TLS_FAILED, []),
    "starttls_refused": (smtp.TLS_FAILED, []),
}


@pytest.fixture(scope="module")
def lab():
    """A lab whose hosts advertise PIPELINING, as Postfix, Exim and OpenSMTPD do."""
    with Lab(pipelining=True, network=84, tarpit_seconds=30) as lab:
        yield lab
    assert lab.data_attempts() == 0


def probe(lab: Lab, behaviour: str, settings: ProbeSettings) -> tuple[smtp.ProbeResult, object]:
    host = lab.hosts_add([behaviour])[0]
    port = 465 if behaviour == "smtps" else 25
    target = Target(ip=host.ip, port=port, connect_host=host.ip, connect_port=host.port)
    return run_sync(smtp.probe(target, settings)), host


def finished(host: object) -> list[int]:
    """The lab host's round trips per connection, once its connections have closed."""
    for _ in range(100):
        if host.connections and len(host.round_trips) == host.connections:
            break
        time.sleep(0.02)
    return host.round_trips


def test_it_knows_the_truth_of_every_lab_behaviour():
    assert set(EXPECTED) == set(BEHAVIOURS)


@pytest.mark.parametrize("how", [SETTINGS, LOCKSTEP], ids=["pipelined", "lock-step"])
@pytest.mark.parametrize("behaviour", sorted(EXPECTED))
def test_it_gives_each_lab_behaviour_its_verdict_both_ways(lab, behaviour, how):
    if behaviour == "tarpit":
        how = ProbeSettings(**{**how.__dict__, "deadline": 1})
    result, _ = probe(lab, behaviour, how)
    assert (result.verdict, result.tests_passed) == EXPECTED[behaviour]


@pytest.mark.parametrize(
    "behaviour", ["open", "closed", "auth", "starttls", "greylist", "percent", "smtps"]
)
def test_it_pipelines_only_when_asked_and_gets_the_same_evidence(lab, behaviour):
    # The same host both ways: the evidence (error text included) names it.
    pipelined, host = probe(lab, behaviour, SETTINGS)
    port = 465 if behaviour == "smtps" else 25
    target = Target(ip=host.ip, port=port, connect_host=host.ip, connect_port=host.port)
    lockstep = run_sync(smtp.probe(target, LOCKSTEP))
    assert "*: PIPELINING" in pipelined.transcript
    assert "PIPELINING:" not in lockstep.transcript
    assert "confused" not in pipelined.transcript
    same = ("verdict", "tests_passed", "starttls", "error")
    assert [getattr(pipelined, k) for k in same] == [getattr(lockstep, k) for k in same]


def test_it_sends_a_closed_host_fewer_than_twenty_round_trips(lab):
    _, host = probe(lab, "closed", SETTINGS)
    # Banner, EHLO, one group for each of the 16 tests, QUIT.
    assert finished(host) == [19]
    assert len(host.rcpt_lines) == 16 and host.data_attempts == 0


def test_it_spends_three_round_trips_a_test_in_lock_step(lab):
    _, host = probe(lab, "closed", LOCKSTEP)
    assert finished(host) == [51]


def test_it_does_not_pipeline_when_the_server_does_not_advertise_it():
    with Lab(network=85) as plain:
        result, host = probe(plain, "closed", SETTINGS)
        assert result.verdict == smtp.NOT_RELAY
        assert "PIPELINING" not in result.transcript
        assert finished(host) == [51]


def test_it_falls_back_to_lock_step_when_replies_come_out_of_order(lab):
    result, host = probe(lab, "confused", SETTINGS)
    assert result.verdict == smtp.NOT_RELAY
    assert "pipelining confused (RSET answered 554" in result.transcript
    # The confused connection, then a lock-step one with every test.
    assert finished(host) == [3, 51]
    assert len(host.rcpt_lines) == 17


def test_it_quotes_a_pipelined_pass_as_it_went_over_the_wire(lab):
    result, _ = probe(lab, "percent", SETTINGS)
    excerpt = smtp.transcript_of_test(result.transcript, result.tests_passed[0])
    lines = [line.split("ms ", 1)[1] for line in excerpt.splitlines()]
    assert lines[0] == "C: RSET"
    assert lines[1].startswith("C: MAIL FROM:<probe@[")
    assert [line[:2] for line in lines] == ["C:", "C:", "C:", "S:", "S:", "S:"]
    assert lines[2].startswith("C: RCPT TO:<relaytest%relaytest.agency.example@[")
    assert lines[-1] == "S: 250 2.1.5 OK"


def test_it_runs_the_tests_in_the_documented_order(lab):
    assert sorted(smtp.RUN_ORDER) == list(range(1, 17))
    result, host = probe(lab, "closed", ProbeSettings(**{**SETTINGS.__dict__, "all_tests": True}))
    tests = {
        t.number: t
        for t in smtp.relay_tests(
            ip=host.ip,
            srvname=host.name,
            sender=SETTINGS.sender,
            rcpt_local="relaytest",
            rcpt_domain=SETTINGS.rcpt_domain,
        )
    }
    assert host.rcpt_lines == [f"RCPT TO:<{tests[n].rcpt_to}>" for n in smtp.RUN_ORDER]
    markers = [
        line.rsplit(" ", 1)[1] for line in result.transcript.splitlines() if "*: test" in line
    ]
    assert markers == [str(n) for n in smtp.RUN_ORDER]


def test_it_stops_at_the_first_pass_by_default(lab):
    result, host = probe(lab, "percent", SETTINGS)
    # 2, 3, 4 and 1 fail; 5 (the % hack) is the first that passes.
    assert result.tests_passed == [5]
    assert len(host.rcpt_lines) == 5


# --- Servers that misread a group: a scripted server on loopback -------------


async def _scripted(reply_group: Callable[[list[bytes]], bytes]) -> tuple[asyncio.Server, int]:
    """A PIPELINING server that answers commands arriving one at a time properly,
    and a group of them with ``reply_group``. It refuses every recipient."""

    def answer(line: bytes) -> bytes:
        verb = line[:4].upper()
        if verb == b"EHLO":
            return b"250-mx.scripted.test\r\n250-PIPELINING\r\n250 HELP\r\n"
        if verb == b"RCPT":
            return b"554 5.7.1 Relay access denied\r\n"
        if verb == b"QUIT":
            return b"221 Bye\r\n"
        return b"250 OK\r\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.scripted.test ESMTP\r\n")
        while data := await reader.read(4096):
            lines = data.splitlines()
            reply = reply_group(lines) if len(lines) > 1 else answer(lines[0])
            writer.write(reply)
            if data.upper().startswith(b"QUIT") or reply.startswith(b"421"):
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def probe_scripted(reply_group: Callable[[list[bytes]], bytes]) -> smtp.ProbeResult:
    settings = ProbeSettings(**{**SETTINGS.__dict__, "read_timeout": 1.5})

    async def go() -> smtp.ProbeResult:
        server, port = await _scripted(reply_group)
        async with server:
            return await smtp.probe(Target(ip="127.0.0.1", port=port), settings)

    return run_sync(go())


@pytest.mark.parametrize(
    ("reply_group", "reason"),
    [
        (lambda lines: b"250 OK\r\n", "1 replies to 3 commands"),
        (lambda lines: b"250 OK\r\n" * 4, "more replies than commands"),
        (lambda lines: b"250 OK\r\n250 OK\r\n250 OK\r\n", None),
        (lambda lines: b"421 4.3.2 Too busy\r\n", "421 in the group"),
        (lambda lines: b"250 OK\r\n554 No\r\n250 OK\r\n", "RCPT accepted after MAIL was refused"),
    ],
    ids=["too-few", "too-many", "all-accepted", "421", "rcpt-after-refused-mail"],
)
def test_it_falls_back_to_lock_step_on_confused_replies(reply_group, reason):
    result = probe_scripted(reply_group)
    if reason is None:
        # Three in-order replies that accept the recipient: a real pass.
        assert (result.verdict, result.tests_passed) == (smtp.OPEN_RELAY, [2])
        assert "confused" not in result.transcript
        return
    # One at a time the scripted server refuses every recipient: not a relay.
    assert (result.verdict, result.tests_passed) == (smtp.NOT_RELAY, [])
    assert f"pipelining confused ({reason}" in result.transcript
    assert result.transcript.count("*: connect") == 2


def test_it_still_ends_on_a_421_in_lock_step():
    result = probe_scripted(lambda lines: b"421 4.3.2 Too busy\r\n")
    lockstep = result.transcript.split("lock-step on a new connection", 1)[1]
    assert "C: RSET" in lockstep and "S: 421" not in lockstep


# --- Politeness: unknown ASNs are grouped by /16 ------------------------------


def test_it_groups_hosts_of_unknown_asn_by_their_16(monkeypatch):
    politeness = smtp.Politeness(per_network=10, per_asn=3)
    # Ten /24s of one /16, no ASN known: the /16 stands in for the ASN.
    targets = [Target(ip=f"198.51.{i}.1") for i in range(10)]
    assert peak_in_flight(monkeypatch, politeness, targets) == 3


def test_it_does_not_put_every_unknown_host_in_one_bucket(monkeypatch):
    politeness = smtp.Politeness(per_network=10, per_asn=3)
    # Ten different /16s, no ASN known: each has a bucket of its own.
    targets = [Target(ip=f"198.{i}.0.1") for i in range(10)]
    assert peak_in_flight(monkeypatch, politeness, targets) == 10


@pytest.mark.parametrize(
    ("target", "group"),
    [
        (Target(ip="203.0.113.9", asn=64500), "AS64500"),
        (Target(ip="203.0.113.9"), "203.0.0.0/16"),
        (Target(ip="2001:db8:1:2::9"), "2001:db8::/32"),
    ],
)
def test_it_names_the_asn_bucket(target, group):
    assert smtp.asn_group(target) == group


def test_it_probes_a_thousand_at_once_and_pipelines_by_default(settings):
    assert settings.PROBE_CONCURRENCY == 1000
    assert settings.PROBE_PIPELINING is True


# --- The lab over several processes ---------------------------------------------


def test_it_spreads_the_lab_over_processes_and_counts_round_trips(tmp_path):
    path = tmp_path / "map.json"
    args = ["--hosts", "open=2,closed=2", "--port", "0", "--network", "86", "--processes", "2"]
    lab = subprocess.Popen(
        [sys.executable, "-m", "lab.smtp", *args, "--pipelining", "--map-file", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "2 process(es)" in lab.stdout.readline() + "".join(
            lab.stdout.readline() for _ in range(4)
        )
        mapping = json.loads(path.read_text())
        targets = [
            Target(
                ip=ip, port=25, connect_host=ep.split(":")[0], connect_port=int(ep.split(":")[1])
            )
            for ip, ep in mapping.items()
        ]
        results = run_sync(smtp.probe_many(targets, SETTINGS))
        time.sleep(1)  # the lab counts a connection once it has closed on its side too
    finally:
        lab.send_signal(signal.SIGINT)
        out, _ = lab.communicate(timeout=30)
    # Same addresses as one process would give; both processes answer.
    assert [t.connect_host for t in targets] == [
        "127.86.0.1",
        "127.86.1.1",
        "127.86.2.1",
        "127.86.3.1",
    ]
    assert [r.verdict for r in results] == [smtp.OPEN_RELAY] * 2 + [smtp.NOT_RELAY] * 2
    assert "closed: 2 connections, 19.0 round trips each" in out
    assert "open: 2 connections, 4.0 round trips each" in out
    assert "lab CPU:" in out


# --- Start-up: the probe path imports nothing heavy ------------------------------

HEAVY = ("weasyprint", "ipwhois", "django.contrib.admin", "letters.admin", "probes.admin")


def _modules_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def _modules_after_setup_for(command: str, then: str = "") -> set[str]:
    """The modules loaded once Django is set up as ``manage.py <command>`` sets
    it up (whether the admin is autodiscovered depends on the command), and
    ``then`` has run."""
    return _modules_after(
        f"import django, os, sys; sys.argv = ['manage.py', {command!r}];"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'outreach.settings');"
        f"django.setup();{then}"
    )


def test_it_imports_the_probe_without_weasyprint_ipwhois_or_the_admin():
    loaded = _modules_after("import probes.smtp, probes.smtp_wire, probes.targets")
    assert "probes.smtp" in loaded
    assert not {m for m in loaded if m.startswith(HEAVY)}


def test_it_starts_verify_relays_without_weasyprint_or_ipwhois():
    # Set up as ``manage.py verify_relays`` is: the admin's autodiscovery (and
    # the letters' PDF stack it would pull in) is skipped for this command.
    loaded = _modules_after_setup_for(
        "verify_relays",
        then=(
            "from django.core.management import load_command_class;"
            "load_command_class('probes', 'verify_relays')"
        ),
    )
    assert "probes.management.commands.verify_relays" in loaded
    heavy = ("weasyprint", "ipwhois", "dns.", "letters.admin", "probes.admin")
    assert not {m for m in loaded if m.startswith(heavy)}


def test_it_still_discovers_the_admin_for_every_other_command():
    loaded = _modules_after_setup_for("check")
    assert {"letters.admin", "probes.admin"} <= loaded


# --- Replies that come in pieces ---------------------------------------------------


def test_it_reads_multi_line_replies_that_come_line_by_line():
    # Each reply line in a segment of its own, late: nmap reads the first line
    # of the EHLO reply as all of it and pairs the rest with later commands.
    with Lab(network=87, latency=0.02, split_replies=True, pipelining=True) as split:
        result, host = probe(split, "closed", SETTINGS)
    assert (result.verdict, result.tests_passed) == (smtp.NOT_RELAY, [])
    assert "S: 250-PIPELINING" in result.transcript and "confused" not in result.transcript
    assert finished(host) == [19]


def test_it_reads_a_reply_cut_in_the_middle_of_a_line():
    async def go() -> smtp.ProbeResult:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            for piece in (b"22", b"0 mx.cut.test ESMTP\r\n"):
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.05)
            await reader.readline()
            for piece in (b"250-mx.cut.test\r\n250-PIPE", b"LINING\r\n25", b"0 HELP\r\n"):
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.05)
            while data := await reader.read(4096):
                lines = data.splitlines()
                if lines[0].upper().startswith(b"QUIT"):
                    writer.write(b"221 Bye\r\n")
                    break
                writer.write(b"250 OK\r\n250 OK\r\n554 5.7.1 Relay access denied\r\n")
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            return await smtp.probe(Target(ip="127.0.0.1", port=port), SETTINGS)

    result = run_sync(go())
    assert result.banner == "mx.cut.test ESMTP"
    assert (result.verdict, result.tests_passed) == (smtp.NOT_RELAY, [])
    assert "*: PIPELINING" in result.transcript and "confused" not in result.transcript
