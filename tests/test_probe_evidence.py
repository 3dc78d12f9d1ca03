"""The proof a letter quotes, for each lab behaviour: banner, greeting, the
whole passing exchange (after TLS for STARTTLS hosts), elisions marked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from lab.smtp import Lab
from letters import recipient
from letters.compose import letter_compose as letter_render
from outreach.models import Host
from probes import smtp
from probes.evidence import ELISION, proof_excerpt
from tests.factories import HostFactory, LetterFactory, ProbeFactory
from tests.letters_helpers import letter_with_relays
from tests.probe_helpers import lab_probe, probe_settings

SETTINGS = probe_settings(deadline=3, read_timeout=2)


@pytest.fixture(scope="module")
def lab():
    with Lab(network=81, tarpit_seconds=5) as lab:
        yield lab
    assert lab.data_attempts() == 0


def probe(lab: Lab, behaviour: str) -> smtp.ProbeResult:
    return lab_probe(lab, behaviour, SETTINGS)


def bare(line: str) -> str:
    return re.sub(r"^\+\s*\d+ms ", "", line)


def assert_faithful(excerpt: str, transcript: str) -> None:
    """Every quoted line is a transcript line, in order; gaps are marked."""
    lines = transcript.splitlines()
    position, marked = -1, False
    for line in excerpt.splitlines():
        if line == ELISION:
            marked = True
            continue
        found = lines.index(line, position + 1)
        assert found == position + 1 or marked, f"unmarked gap before {line!r}"
        position, marked = found, False
    assert position == len(lines) - 1 or marked, "unmarked gap at the end"


def passing_exchange(transcript: str, test: int) -> list[str]:
    lines = transcript.splitlines()
    start = lines.index(next(li for li in lines if li.endswith(f"*: test {test}")))
    end = next(i for i in range(start + 1, len(lines)) if " C: QUIT" in lines[i])
    return lines[start:end]


@pytest.mark.parametrize("behaviour", ["open", "percent", "starttls", "helo_only"])
def test_it_quotes_banner_greeting_and_the_whole_passing_exchange(lab, behaviour):
    result = probe(lab, behaviour)
    assert len(result.tests_passed) == 1
    test = result.tests_passed[0]
    excerpt = proof_excerpt(result.transcript, result.tests_passed)
    quoted = [bare(li) for li in excerpt.splitlines()]
    assert any(q.startswith("S: 220 ") for q in quoted)
    assert any(q.startswith(("C: EHLO", "C: HELO")) for q in quoted)
    exchange = passing_exchange(result.transcript, test)
    assert "\n".join(exchange) in excerpt  # whole and uncut
    assert bare(exchange[-2]).startswith("C: RCPT TO:<")
    assert bare(exchange[-1]).startswith("S: 250 ")
    assert_faithful(excerpt, result.transcript)


def test_it_quotes_the_exchange_after_tls_for_a_starttls_host(lab):
    result = probe(lab, "starttls")
    quoted = [bare(li) for li in proof_excerpt(result.transcript, result.tests_passed).splitlines()]
    tls = quoted.index("C: STARTTLS")
    assert quoted[tls + 1].startswith("S: 220 ")
    assert quoted[tls + 2] == "C: EHLO probe.agency.example"
    after = quoted[tls:]
    rcpt = max(i for i, q in enumerate(after) if q.startswith("C: RCPT TO:<"))
    assert after[rcpt - 2].startswith("C: MAIL FROM:<")
    assert after[rcpt - 1] == "S: 250 2.1.0 OK"
    assert after[rcpt + 1] == "S: 250 2.1.5 OK"
    assert "S: 250-STARTTLS" in quoted  # the offer, before TLS


def test_it_marks_elisions_and_ends_with_one_after_the_proof(lab):
    result = probe(lab, "percent")
    excerpt = proof_excerpt(result.transcript, [5]).splitlines()
    assert ELISION in excerpt[:-1]  # tests 1 to 4 and EHLO extensions left out
    assert excerpt[-1] == ELISION  # QUIT left out
    assert "*: test 1" not in "\n".join(excerpt)


def test_it_never_cuts_a_long_line_of_the_passing_exchange():
    rcpt = "C: RCPT TO:<" + "x" * 400 + "@relaytest.example>"
    transcript = "\n".join(
        [
            "+      0ms S: 220 mx.example ESMTP " + "y" * 400,
            "+      1ms C: EHLO probe.example",
            "+      2ms S: 250 mx.example",
            "+      3ms *: test 1",
            "+      3ms C: RSET",
            "+      4ms S: 250 OK",
            "+      5ms C: MAIL FROM:<>",
            "+      6ms S: 250 OK",
            f"+      7ms {rcpt}",
            "+      8ms S: 250 2.1.5 OK",
        ]
    )
    excerpt = proof_excerpt(transcript, [1])
    assert rcpt in excerpt
    assert "y" * 400 not in excerpt  # lines outside the proof are bounded


@pytest.mark.parametrize(
    ("behaviour", "shows"),
    [
        ("closed", "S: 554 5.7.1 Relay access denied"),
        ("banner554", "S: 554 5.7.1"),
        ("busy", "S: 421 4.3.2"),
        ("ehlo421", "S: 421 4.7.0"),
        ("client_denied", "S: 550 5.7.1 Access denied: client"),
        ("client_rejected", "Client host rejected"),
        ("greylist", "S: 451 4.7.1"),
        ("auth", "S: 530 5.7.0"),
        ("starttls_missing", "*: tls_failed"),
        ("tarpit", "*: timeout"),
        ("garbage", "*: no_smtp"),
        ("drop", "*: protocol_error"),
    ],
)
def test_it_quotes_why_when_no_test_passed(lab, behaviour, shows):
    result = probe(lab, behaviour)
    excerpt = proof_excerpt(result.transcript, result.tests_passed)
    assert result.tests_passed == []
    assert shows in excerpt
    assert_faithful(excerpt, result.transcript)
    assert len(excerpt.splitlines()) <= 24


# --- Where the excerpt is quoted ----------------------------------------------


@pytest.fixture
def lab_letter(lab, db):
    """A letter over one open relay probed through STARTTLS, then one refused re-test."""
    open_result = probe(lab, "starttls")
    refused = probe(lab, "banner554")
    now = timezone.now()
    host = HostFactory(status=Host.Status.OPEN_RELAY, last_verdict="refused", last_probed_at=now)
    proof = ProbeFactory(
        host=host,
        verdict="open_relay",
        tests_passed=[1],
        transcript=open_result.transcript,
        started_at=now - timedelta(days=8),
        finished_at=now - timedelta(days=8),
    )
    retest = ProbeFactory(
        host=host, verdict="refused", transcript=refused.transcript, started_at=now, finished_at=now
    )
    letter = LetterFactory(language="en")
    letter.hosts.add(host)
    return letter, proof, retest, open_result.transcript


def test_the_letter_quotes_the_proof_not_an_inconclusive_retest(lab_letter):
    letter, _proof, _retest, _transcript = lab_letter
    rendered = letter_render(letter)
    assert "Open relay confirmed" in rendered.print_html
    assert "C: STARTTLS" in rendered.print_html
    assert "RCPT TO:&lt;relaytest@relaytest.agency.example&gt;" in rendered.print_html
    assert "No SMTP service here" not in rendered.print_html


def test_the_recipient_page_says_inconclusive_and_links_the_full_transcript(
    lab_letter, client, settings
):
    settings.OUTREACH_PUBLIC_URL = "https://outreach.agency.example"
    letter, proof, retest, transcript = lab_letter
    path = recipient.recipient_url(letter=letter).removeprefix(settings.OUTREACH_PUBLIC_URL)
    html = client.get(path + "?lang=en").content.decode()
    assert "Open relay: it accepted our test messages" in html
    assert "was inconclusive" in html
    assert "C: STARTTLS" in html
    link = f"{path}transcript/{proof.pk}/"
    assert link in html
    full = client.get(link)
    assert full.status_code == 200
    assert full["Content-Type"].startswith("text/plain")
    assert full.content.decode() == transcript
    other = ProbeFactory(transcript="secret of another letter")
    assert client.get(f"{path}transcript/{other.pk}/").status_code == 404
    assert client.get(f"{path}transcript/{retest.pk}/").status_code == 200


def test_a_letter_over_a_plain_probe_still_renders(db):
    letter = letter_with_relays(transcript="S: 220 relay.isp.example ESMTP\n")
    assert "S: 220 relay.isp.example ESMTP" in letter_render(letter).print_html
    assert django_settings.LANGUAGE_CODE
