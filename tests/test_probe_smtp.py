"""The probe's dialogue against the lab: every verdict, raw variants, no DATA."""

from __future__ import annotations

import re

import pytest

from lab.smtp import Lab
from probes import smtp
from probes.smtp import ProbeSettings, Target, run_sync
from tests.probe_helpers import lab_probe, peak_in_flight, probe_settings

SETTINGS = probe_settings(deadline=5, read_timeout=3)


@pytest.fixture(scope="module")
def lab():
    with Lab(tarpit_seconds=30) as lab:
        yield lab
    assert lab.data_attempts() == 0


def run(lab: Lab, behaviour: str, settings: ProbeSettings = SETTINGS) -> smtp.ProbeResult:
    return lab_probe(lab, behaviour, settings)


@pytest.mark.parametrize(
    ("behaviour", "verdict", "passed"),
    [
        ("open", smtp.OPEN_RELAY, [2]),
        ("closed", smtp.NOT_RELAY, []),
        ("auth", smtp.AUTH_REQUIRED, []),
        ("starttls", smtp.OPEN_RELAY, [2]),
        ("greylist", smtp.TEMP_FAILURE, []),
        ("percent", smtp.OPEN_RELAY, [5]),
        ("garbage", smtp.NO_SMTP, []),
        ("drop", smtp.PROTOCOL_ERROR, []),
        ("huge", smtp.PROTOCOL_ERROR, []),
    ],
)
def test_it_gives_each_lab_behaviour_its_verdict(lab, behaviour, verdict, passed):
    result = run(lab, behaviour)
    assert (result.verdict, result.tests_passed) == (verdict, passed)


def test_it_runs_every_test_with_all_tests(lab):
    settings = ProbeSettings(**{**SETTINGS.__dict__, "all_tests": True})
    assert run(lab, "open", settings).tests_passed == list(range(1, 17))
    assert run(lab, "percent", settings).tests_passed == [5, 6, 8]


def test_it_sends_the_raw_variants_unmodified(lab):
    host = lab.hosts_add(["closed"])[0]
    run_sync(smtp.probe(Target(ip=host.ip, port=host.port), SETTINGS))
    lit, d = f"[{host.ip}]", "relaytest.agency.example"
    # Lines arrive in the run order; put them back in nmap's numbering.
    rcpt = dict(zip(smtp.RUN_ORDER, host.rcpt_lines, strict=True))
    mail = dict(zip(smtp.RUN_ORDER, host.mail_lines, strict=True))
    assert [rcpt[n] for n in range(5, 17)] == [
        f"RCPT TO:<relaytest%{d}@{lit}>",
        f"RCPT TO:<relaytest%{d}@{host.name}>",
        f'RCPT TO:<"relaytest@{d}">',
        f'RCPT TO:<"relaytest%{d}">',
        f"RCPT TO:<relaytest@{d}@{lit}>",
        f'RCPT TO:<"relaytest@{d}"@{lit}>',
        f"RCPT TO:<relaytest@{d}@{host.name}>",
        f"RCPT TO:<@{lit}:relaytest@{d}>",
        f"RCPT TO:<@{host.name}:relaytest@{d}>",
        f"RCPT TO:<{d}!relaytest>",
        f"RCPT TO:<{d}!relaytest@{lit}>",
        f"RCPT TO:<{d}!relaytest@{host.name}>",
    ]
    assert [mail[n] for n in range(1, 5)] == [
        "MAIL FROM:<>",
        "MAIL FROM:<probe@agency.example>",
        f"MAIL FROM:<probe@{host.name}>",
        f"MAIL FROM:<probe@{lit}>",
    ]


def test_it_never_sends_data_even_to_an_open_relay(lab):
    settings = ProbeSettings(**{**SETTINGS.__dict__, "all_tests": True})
    host = lab.hosts_add(["open"])[0]
    run_sync(smtp.probe(Target(ip=host.ip, port=host.port), settings))
    assert host.data_attempts == 0
    assert len(host.rcpt_lines) == 16


def test_it_records_starttls_and_upgrades_when_demanded(lab):
    result = run(lab, "starttls")
    assert result.starttls is True
    assert "C: STARTTLS" in result.transcript
    assert result.transcript.index("C: STARTTLS") < result.transcript.index("C: MAIL FROM:")


def test_it_holds_the_deadline_against_a_tarpit(lab):
    settings = ProbeSettings(**{**SETTINGS.__dict__, "deadline": 1, "read_timeout": 20})
    result = run(lab, "tarpit", settings)
    assert result.verdict == smtp.TIMEOUT
    assert result.seconds < 5


def test_it_reports_a_refused_connection(lab):
    host = lab.hosts_add(["closed"])[0]
    # Nothing listens on the port below the lab's on that address.
    result = run_sync(smtp.probe(Target(ip=host.ip, port=host.port - 1), SETTINGS))
    assert result.verdict == smtp.REFUSED


def test_it_keeps_a_timestamped_transcript_of_both_sides(lab):
    result = run(lab, "closed")
    lines = result.transcript.splitlines()
    assert any(" S: 220 " in line for line in lines)
    assert any(" C: EHLO probe.agency.example" in line for line in lines)
    assert all(line.startswith("+") and "ms " in line for line in lines)
    assert "DATA" not in result.transcript


def test_it_bounds_the_transcript():
    transcript = smtp.Transcript(limit=200)
    for _ in range(100):
        transcript.add("S", "250-" + "x" * 70)
    assert len(transcript.text()) < 300
    assert transcript.text().endswith("[transcript truncated]")


def test_it_escapes_control_characters_in_the_transcript():
    transcript = smtp.Transcript(limit=1000)
    transcript.add("S", "220 evil\x1b[2J\x00")
    assert "\x1b" not in transcript.text()
    assert "\\x1b" in transcript.text()


@pytest.mark.parametrize(
    ("banner", "name"),
    [
        ("mail.isp.example ESMTP Postfix", "mail.isp.example"),
        ("localhost ESMTP", "[192.0.2.7]"),
        ("evil>\r\nDATA ESMTP", "[192.0.2.7]"),
        ("", "[192.0.2.7]"),
    ],
)
def test_it_only_reuses_a_banner_name_that_is_a_hostname(banner, name):
    assert smtp.server_name(banner, "192.0.2.7") == name


def test_it_writes_ipv6_address_literals():
    tests = smtp.relay_tests(
        ip="2001:db8::1", srvname="mx.example", sender="p@a.example", rcpt_local="r",
        rcpt_domain="d.example",
    )  # fmt: skip
    assert tests[3].mail_from == "p@[IPv6:2001:db8::1]"
    assert [t.number for t in tests] == list(range(1, 17))


def test_it_probes_many_hosts_at_once_and_keeps_their_order(lab):
    hosts = lab.hosts_add(["open", "closed", "auth", "greylist"] * 5)
    targets = [Target(ip=h.ip, port=h.port) for h in hosts]
    results = run_sync(smtp.probe_many(targets, SETTINGS, concurrency=7))
    expected = [smtp.OPEN_RELAY, smtp.NOT_RELAY, smtp.AUTH_REQUIRED, smtp.TEMP_FAILURE] * 5
    assert [r.verdict for r in results] == expected
    assert [r.ip for r in results] == [h.ip for h in hosts]


def test_it_caps_connections_per_network(monkeypatch):
    politeness = smtp.Politeness(per_network=2)
    targets = [Target(ip=f"198.51.100.{i}") for i in range(1, 11)]
    assert peak_in_flight(monkeypatch, politeness, targets) == 2


def test_it_speaks_implicit_tls_on_port_465(lab):
    smtps, plain = lab.hosts_add(["smtps", "closed"])
    results = [
        run_sync(
            smtp.probe(
                Target(ip="192.0.2.1", port=465, connect_host=h.ip, connect_port=h.port), SETTINGS
            )
        )
        for h in (smtps, plain)
    ]
    assert [r.verdict for r in results] == [smtp.OPEN_RELAY, smtp.TLS_FAILED]
    assert plain.rcpt_lines == []


def test_it_runs_the_lab_standalone_and_writes_a_lab_map(tmp_path):
    import subprocess
    import sys

    from probes.targets import lab_map_load

    path = tmp_path / "map.json"
    args = ["--hosts", "open=2,closed=1", "--port", "0", "--network", "81", "--seconds", "0.1"]
    done = subprocess.run(
        [sys.executable, "-m", "lab.smtp", *args, "--map-file", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    mapping = lab_map_load(path)
    assert list(mapping) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert all(host.startswith("127.81.") for host, _ in mapping.values())
    assert "192.0.2.3 -> 127.81.2.1" in done.stdout


def test_it_caps_connections_per_asn(monkeypatch):
    politeness = smtp.Politeness(per_network=10, per_asn=3)
    # Ten different /24s, one ASN: the ASN cap is the one that binds.
    targets = [Target(ip=f"198.51.{i}.1", asn=64500) for i in range(10)]
    assert peak_in_flight(monkeypatch, politeness, targets) == 3


def test_it_spaces_new_connections_to_keep_the_rate(monkeypatch):
    politeness = smtp.Politeness(rate=10)
    waits = []

    async def record(seconds):
        waits.append(round(seconds, 6))

    monkeypatch.setattr(smtp.time, "monotonic", lambda: 100.0)
    monkeypatch.setattr(smtp.asyncio, "sleep", record)

    async def go():
        for _ in range(4):
            await politeness.pace()

    run_sync(go())
    assert waits == [0.1, 0.2, 0.3]


def test_it_quotes_the_exchange_of_the_test_that_passed(lab):
    result = run(lab, "percent")
    excerpt = smtp.transcript_of_test(result.transcript, result.tests_passed[0])
    lines = [re.sub(r"^\+\s*\d+ms ", "", line) for line in excerpt.splitlines()]
    assert lines[0] == "C: RSET"
    assert lines[-2].startswith("C: RCPT TO:<relaytest%relaytest.agency.example@[")
    assert lines[-1] == "S: 250 2.1.5 OK"
    assert smtp.transcript_of_test(result.transcript, 9) == ""


def test_it_runs_probes_from_a_thread_that_already_runs_an_event_loop(lab):
    [host] = lab.hosts_add(["open"])

    async def caller():
        # Synchronous code called from inside a running loop (as under Playwright).
        return run_sync(smtp.probe(Target(ip=host.ip, port=host.port), SETTINGS))

    assert run_sync(caller()).verdict == smtp.OPEN_RELAY
