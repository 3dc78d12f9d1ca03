"""Recipient page: how fast a big letter's page renders, and a token lookup.

The evidence selector reads a letter's hosts and their latest probes in two
queries whatever the number of hosts; the naive baseline asks for each
host's latest probe in turn (N+1), as a template walking ``host.probes``
would. Run alone with ``python -m bench.recipient_bench``.
"""

from __future__ import annotations

import statistics
import time

from bench.common import Measure, Row, print_table, setup_django, versus

HOSTS = 200
PROBES_PER_HOST = 3
ROUNDS = 20
SLUG = "bench-recipient"


def _fixture() -> object:
    from django.utils import timezone

    from letters.models import Letter
    from outreach.models import Agency, Campaign, Contact, Host
    from probes.models import Probe

    Campaign.objects.filter(slug=SLUG).delete()
    Host.objects.filter(ip__startswith="198.18.").delete()
    agency, _ = Agency.objects.get_or_create(
        code="bench-rcpt", defaults={"name": "Bench agency", "country": "US"}
    )
    campaign = Campaign.objects.create(name="Bench", slug=SLUG, lead_agency=agency)
    contact, _ = Contact.objects.get_or_create(email="abuse@bench-recipient.example")
    letter = Letter.objects.create(campaign=campaign, agency=agency, contact=contact)
    # 198.18.0.0/15 is the benchmarking range (RFC 2544): never a real host.
    hosts = Host.objects.bulk_create(
        Host(ip=f"198.18.{n // 250}.{n % 250 + 1}") for n in range(HOSTS)
    )
    letter.hosts.add(*hosts)
    now = timezone.now()
    Probe.objects.bulk_create(
        Probe(
            host=host,
            verdict="open_relay",
            started_at=now - timezone.timedelta(days=k),
            transcript="S: 220 bench ESMTP\nC: EHLO probe\n" * 10,
        )
        for host in hosts
        for k in range(PROBES_PER_HOST)
    )
    return letter


def _naive_evidence(letter: object) -> list[tuple]:
    from letters.evidence import transcript_excerpt

    rows = []
    for host in letter.hosts.order_by("ip"):
        probe = host.probes.order_by("-started_at").first()
        rows.append((host.ip, probe.verdict, transcript_excerpt(probe.transcript)))
    return rows


def _median_ms(func: object, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def run() -> list[Row]:
    setup_django()
    from django.conf import settings
    from django.test import Client

    from letters import recipient

    letter = _fixture()
    settings.OUTREACH_RECIPIENT_IP_PER_HOUR = 10**9
    path = recipient.recipient_url(letter=letter).removeprefix(settings.OUTREACH_PUBLIC_URL)
    if not path:
        settings.OUTREACH_PUBLIC_URL = "https://outreach.bench.example"
        path = recipient.recipient_url(letter=letter).removeprefix(settings.OUTREACH_PUBLIC_URL)
    raw = path.split("/")[2]

    fast = _median_ms(lambda: recipient.recipient_evidence(letter=letter))
    naive = _median_ms(lambda: _naive_evidence(letter))
    client = Client(HTTP_HOST="localhost")
    status = client.get(path, secure=True).status_code
    if status != 200:
        raise SystemExit(f"the bench page answered {status}, not 200")
    page = _median_ms(lambda: client.get(path, secure=True))
    lookup = _median_ms(lambda: recipient.recipient_token_find(raw), rounds=200)
    return [
        versus(
            f"recipient evidence, {HOSTS} hosts x {PROBES_PER_HOST} probes",
            "< 50 ms",
            Measure(fast, "ms"),
            Measure(naive, "ms", "query per host"),
            ok=fast < 50,
        ),
        Row(
            figure=f"recipient page GET, {HOSTS} hosts",
            target="< 200 ms",
            measured=f"{page:.1f} ms",
            ok=page < 200,
        ),
        Row(
            figure="recipient token lookup (hash, index)",
            target="< 10 ms",
            measured=f"{lookup:.2f} ms",
            ok=lookup < 10,
        ),
    ]


if __name__ == "__main__":
    print_table(run())
