"""Send 10,000 letters with a PDF to a loopback sink that waits 20 ms per command.

The outbox path is timed end to end: claiming batches on PostgreSQL, building
each message (text + HTML + PDF), sending over the aiosmtplib pool, recording
results. The baseline is Django's SMTP backend sending the same messages one
by one over one connection, timed on a sample (at ~16 msg/s, all 10,000 would
take ten minutes) in the same run. The sink runs in its own process.

Run alone: ``python -m bench.send_bench`` (BENCH_SEND_LETTERS, BENCH_SEND_CONNECTIONS).
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row, print_table, setup_django, timed

LETTERS = int(os.environ.get("BENCH_SEND_LETTERS", "10000"))
CONNECTIONS = int(os.environ.get("BENCH_SEND_CONNECTIONS", "64"))
BASELINE_SAMPLE = int(os.environ.get("BENCH_SEND_BASELINE", "150"))
DELAY_MS = 20
# A stand-in of a typical one-page letter PDF (the letters stage renders the real one).
PDF = b"%PDF-1.7\n" + os.urandom(30_000) + b"\n%%EOF\n"


def start_sink(journal: Path) -> tuple[subprocess.Popen, int]:
    from lab.mailsink import free_port

    port = free_port()
    args = [sys.executable, "-m", "lab.mailsink", str(port), str(DELAY_MS), str(journal)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise RuntimeError("the mail sink did not start")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def content(letter: object) -> object:
    from letters.outbox import LetterContent

    text = f"Dear abuse desk,\n\nThe host listed in letter {letter.pk} relays mail.\n"
    return LetterContent(
        subject=f"Open mail relay on your network ({letter.pk})",
        text=text,
        html=f"<p>{text}</p>",
        language="en",
        pdf=PDF,
    )


def letters_create(port: int) -> int:
    from letters.models import Letter, Smarthost
    from outreach.models import Agency, Campaign, Contact

    Campaign.objects.filter(slug="send-bench").delete()
    Contact.objects.filter(email__endswith=".bench.example").delete()
    agency, _ = Agency.objects.update_or_create(
        code="bench",
        defaults={"name": "Bench Agency", "country": "US", "reply_domain": "bench.example"},
    )
    agency.contact_email = "relay@bench.example"
    agency.save()
    Smarthost.objects.update_or_create(
        agency=agency,
        defaults={
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "connections": CONNECTIONS,
        },
    )
    campaign = Campaign.objects.create(name="Send bench", slug="send-bench", lead_agency=agency)
    contacts = Contact.objects.bulk_create(
        Contact(email=f"abuse{i}@isp{i % 500}.bench.example") for i in range(LETTERS)
    )
    Letter.objects.bulk_create(
        Letter(campaign=campaign, agency=agency, contact=c, status=Letter.Status.APPROVED)
        for c in contacts
    )
    return campaign.id


def baseline_rate(port: int) -> float:
    """Django's SMTP backend, one message at a time, over one connection."""
    from django.core.mail import EmailMultiAlternatives, get_connection

    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port, timeout=30
    )
    connection.open()
    with timed() as elapsed:
        for i in range(BASELINE_SAMPLE):
            message = EmailMultiAlternatives(
                subject=f"Open mail relay ({i})",
                body="Dear abuse desk,\n",
                from_email="relay@bench.example",
                to=[f"base{i}@isp.bench.example"],
                connection=connection,
            )
            message.attach_alternative("<p>Dear abuse desk,</p>", "text/html")
            message.attach("letter.pdf", PDF, "application/pdf")
            message.send()
    connection.close()
    return BASELINE_SAMPLE / elapsed()


def run() -> list[Row]:
    setup_django()
    from django.conf import settings

    from letters.outbox import outbox_send

    settings.OUTBOX_DOMAIN_RATE_PER_MINUTE = 0
    settings.OUTBOX_BATCH_SIZE = CONNECTIONS * 4
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "received.jsonl"
        sink, port = start_sink(journal)
        try:
            campaign_id = letters_create(port)
            cpu_before = (own_cpu(), process_cpu(sink.pid))
            with timed() as elapsed:
                report = outbox_send(campaign_id=campaign_id, content=content)
            seconds = elapsed()
            client_cpu = own_cpu() - cpu_before[0]
            sink_cpu = process_cpu(sink.pid) - cpu_before[1]
            base = baseline_rate(port)
        finally:
            sink.kill()
            sink.wait()
        lines = journal.read_text().splitlines()
    received = len(lines) - BASELINE_SAMPLE  # the sink saw the baseline's messages too
    rate = report.sent / seconds
    unique = len(set(lines)) == len(lines)
    return [
        Row(
            figure=f"send: {LETTERS} letters + PDF, {CONNECTIONS} connections, 20 ms/command",
            target=">= 500 msg/s",
            measured=f"{rate:.0f} msg/s ({report.sent} sent in {seconds:.1f} s)",
            baseline=f"{base:.1f} msg/s (Django SMTP, {BASELINE_SAMPLE} sampled)",
            ratio=f"{rate / base:.1f}x (target >= 20x)",
            ok=rate >= 500 and rate / base >= 20 and report.sent == LETTERS and unique,
        ),
        Row(
            figure="send: CPU per message, outbox process / sink process",
            target="(where the time goes)",
            measured=f"{client_cpu / LETTERS * 1000:.2f} ms / {sink_cpu / LETTERS * 1000:.2f} ms",
        ),
        Row(
            figure="send: each Message-ID once at the sink",
            target=f"{LETTERS}",
            measured=f"{received} messages, unique={unique}",
            ok=unique and received == LETTERS,
        ),
    ]


if __name__ == "__main__":
    print_table(run())
