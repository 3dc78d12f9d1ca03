"""The verdict table, row by row: the reply that meets it, and a lab host that plays it."""

from __future__ import annotations

import pytest

from lab.smtp import Lab
from probes import smtp
from probes import verdicts as v
from probes.smtp import ProbeSettings, Target, run_sync
from tests.probe_helpers import probe_settings

SETTINGS = probe_settings(deadline=3, read_timeout=2)
DENIED = "5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied"

# One case per row, in the table's order: (reply code or event, text, lab
# behaviour, the verdict the lab host gets). A behaviour "x@465" is probed as
# if on port 465 (implicit TLS); "@closed-port" is a port nothing listens on.
CASES: list[tuple[tuple[str, str, str], object, str, str, str]] = [
    (("any", "421", ""), 421, "closing", "ehlo421", v.TEMP_FAILURE),
    (
        ("any", "530", "names STARTTLS"),
        530,
        "Must issue a STARTTLS first",
        "starttls",
        v.OPEN_RELAY,
    ),
    (("any", v.NO_ANSWER, ""), v.NO_ANSWER, "", "tarpit", v.TIMEOUT),
    (("any", v.TLS_ERROR, ""), v.TLS_ERROR, "", "closed@465", v.TLS_FAILED),
    (("any", v.DROPPED, ""), v.DROPPED, "", "drop", v.PROTOCOL_ERROR),
    (("connect", v.TCP_REFUSED, ""), v.TCP_REFUSED, "", "@closed-port", v.REFUSED),
    (("connect", v.CLOSED, ""), v.CLOSED, "", "hangup", v.NO_SMTP),
    (("banner", "220", ""), 220, "mx ESMTP", "closed", v.NOT_RELAY),
    (("banner", "4xx", ""), 450, "busy", "busy", v.TEMP_FAILURE),
    (("banner", "5xx", ""), 554, "No SMTP service here", "banner554", v.REFUSED),
    (("banner", v.NOT_SMTP, ""), v.NOT_SMTP, "", "garbage", v.NO_SMTP),
    (("banner", "*", ""), 250, "hello", "banner_odd", v.NO_SMTP),
    (("ehlo", "250", ""), 250, "mx", "closed", v.NOT_RELAY),
    (("ehlo", "*", ""), 502, "unknown", "helo_only", v.OPEN_RELAY),
    (("helo", "250", ""), 250, "mx", "helo_only", v.OPEN_RELAY),
    (("helo", "4xx", ""), 450, "later", "helo_busy", v.TEMP_FAILURE),
    (("helo", "5xx", ""), 550, "Access denied", "helo_denied", v.REFUSED),
    (("helo", "*", ""), 354, "What?", "helo_odd", v.PROTOCOL_ERROR),
    (("starttls", v.NOT_OFFERED, ""), v.NOT_OFFERED, "", "starttls_missing", v.TLS_FAILED),
    (("starttls", "220", ""), 220, "Ready", "starttls", v.OPEN_RELAY),
    (("starttls", "*", ""), 454, "TLS not available", "starttls_refused", v.TLS_FAILED),
    (("mail", "250", ""), 250, "OK", "closed", v.NOT_RELAY),
    (("mail", "530", ""), 530, "Authentication required", "auth", v.AUTH_REQUIRED),
    (("mail", "5xx", v.CLIENT_REFUSAL), 550, "Access denied: client", "client_denied", v.REFUSED),
    (
        ("mail", "4xx", v.CLIENT_REFUSAL),
        450,
        "Client host blocked",
        "client_deferred",
        "temp_failure",
    ),
    (("mail", "4xx", ""), 451, "Try again later", "sender_deferred", v.TEMP_FAILURE),
    (("mail", "*", ""), 553, "Sender address rejected", "sender_refused", v.REFUSED),
    (("rcpt", "250/251", ""), 251, "will forward", "open", v.OPEN_RELAY),
    (("rcpt", "530", ""), 530, "Authentication required", "auth_rcpt", v.AUTH_REQUIRED),
    (("rcpt", "5xx", v.CLIENT_REFUSAL), 554, DENIED, "client_rejected", v.REFUSED),
    (
        ("rcpt", "4xx", v.CLIENT_REFUSAL),
        450,
        "Client host rejected",
        "client_rejected_later",
        "temp_failure",
    ),
    (("rcpt", "4xx", ""), 451, "Greylisted", "greylist", v.TEMP_FAILURE),
    (("rcpt", "*", ""), 554, "5.7.1 Relay access denied", "closed", v.NOT_RELAY),
    (("end", v.A_TEST_PASSED, ""), v.A_TEST_PASSED, "", "percent", v.OPEN_RELAY),
    (("end", v.EVERY_SENDER_REFUSED, ""), v.EVERY_SENDER_REFUSED, "", "sender_refused", v.REFUSED),
    (("end", v.EVERY_TEST_REFUSED, ""), v.EVERY_TEST_REFUSED, "", "closed", v.NOT_RELAY),
    (("end", v.SOME_TRY_LATER, ""), v.SOME_TRY_LATER, "", "greylist_some", v.TEMP_FAILURE),
]


def _key(rule: v.Rule) -> tuple[str, str, str]:
    return (rule.step, rule.reply, rule.text)


def test_it_has_a_case_for_every_row_of_the_table():
    assert [case[0] for case in CASES] == [_key(rule) for rule in v.RULES]


@pytest.mark.parametrize(("key", "reply", "text", "behaviour", "verdict"), CASES)
def test_it_matches_each_reply_to_its_row(key, reply, text, behaviour, verdict):
    step = key[0]
    rule = v.decide(step, reply, text) if isinstance(reply, int) else v.decide(step, event=reply)
    assert _key(rule) == key


@pytest.fixture(scope="module")
def lab():
    with Lab(tarpit_seconds=10) as lab:
        yield lab
    assert lab.data_attempts() == 0


def probe(lab: Lab, behaviour: str) -> smtp.ProbeResult:
    name, _, special = behaviour.partition("@")
    host = lab.hosts_add([name or "closed"])[0]
    target = Target(ip=host.ip, port=host.port)
    if special == "465":
        target = Target(ip="192.0.2.1", port=465, connect_host=host.ip, connect_port=host.port)
    elif special == "closed-port":
        target = Target(ip=host.ip, port=host.port - 1)
    return run_sync(smtp.probe(target, SETTINGS))


@pytest.mark.parametrize(("key", "reply", "text", "behaviour", "verdict"), CASES)
def test_it_gives_each_rows_lab_host_the_rows_verdict(lab, key, reply, text, behaviour, verdict):
    result = probe(lab, behaviour)
    assert result.verdict == verdict, result.transcript


def test_it_records_the_servers_words_when_it_refuses_our_client(lab):
    result = probe(lab, "client_rejected")
    assert result.verdict == v.REFUSED
    assert "Client host rejected: Access denied" in result.error
    assert probe(lab, "banner554").error.startswith("banner 554 ")


def test_it_treats_a_5xx_banner_as_a_refusal_of_us_never_as_not_a_relay(lab):
    for behaviour in ("banner554", "banner521"):
        result = probe(lab, behaviour)
        assert (result.verdict, result.tests_passed) == (v.REFUSED, [])
        assert "C: MAIL" not in result.transcript


def test_it_gives_not_relay_only_after_every_test_was_refused(lab):
    host = lab.hosts_add(["closed"])[0]
    result = run_sync(smtp.probe(Target(ip=host.ip, port=host.port), SETTINGS))
    assert result.verdict == v.NOT_RELAY
    assert len(host.rcpt_lines) == 16
    assert "C: QUIT" in result.transcript


@pytest.mark.parametrize(
    ("message", "client"),
    [
        ("5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied", True),
        ("5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org", True),
        ("Your IP address is listed", True),
        ("5.7.1 <x@example.net>: Relay access denied", False),
        ("5.7.1 <x@example.net>: Recipient address rejected: Access denied", False),
        ("relay not permitted", False),
        ("5.1.1 User unknown", False),
    ],
)
def test_it_tells_a_refusal_of_our_client_from_a_relay_refusal(message, client):
    assert v.refuses_client(message) is client


def test_it_never_judges_a_battery_with_a_deferred_test_not_a_relay():
    assert v.battery_verdict([v.FAIL] * 15 + [v.TEMP]) == v.TEMP_FAILURE
    assert v.battery_verdict([v.SENDER_FAIL, v.FAIL]) == v.NOT_RELAY
    assert v.battery_verdict([]) == v.TEMP_FAILURE


def test_the_readme_shows_the_table_as_it_is():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert v.table_markdown() in readme


def test_it_keeps_a_pass_as_proof_when_the_server_then_refuses_us(lab):
    host = lab.hosts_add(["open_then_blocks"])[0]
    settings = ProbeSettings(**{**SETTINGS.__dict__, "all_tests": True})
    result = run_sync(smtp.probe(Target(ip=host.ip, port=host.port), settings))
    assert (result.verdict, result.tests_passed) == (v.OPEN_RELAY, [1, 2, 3, 4])
    assert "C: QUIT" in result.transcript
