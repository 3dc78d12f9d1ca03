"""Render, then send, real letters: the product's path end to end, timed by stage.

1. **Render** (timed on its own): approved letters in all 23 languages, each
   with a probed open relay, are rendered once by ``letters.rendered`` (the
   function the ``render`` queue task runs) in 2 processes, as the two render
   queues would: one worker takes the ``render`` queue, one ``render-cjk``
   and then ``render`` (as ``celery worker -Q render-cjk,render`` does).
   Bodies and PDF are stored in the blob store, hashes on the letter. The
   naive renderer, timed in the same run on a sample, builds a new
   FontConfiguration and CSS for every letter in 2 processes on the mix.
2. **Send**: the same letters, now rendered, go through the real outbox
   (claims on PostgreSQL, the stored bodies and PDF read back, MIME built,
   64 pooled aiosmtplib connections, results recorded, every message archived)
   to a loopback sink in its own process that waits 20 ms on MAIL, RCPT and
   DATA. The baseline sends the same real messages one by one through
   Django's SMTP backend over one connection, on a sample, in the same run.

Nothing is canned: every PDF is one WeasyPrint rendered from a letter.

Run alone: ``python -m bench.send_bench`` (BENCH_SEND_LETTERS, BENCH_SEND_CONNECTIONS,
BENCH_RENDER_NAIVE, BENCH_SEND_BASELINE; BENCH_PROFILE=1 adds cProfile summaries).
"""

from __future__ import annotations

import cProfile
import io
import multiprocessing
import os
import pstats
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row, forked_worker_init, peak_rss_mb, print_table, setup_django, timed

LETTERS = int(os.environ.get("BENCH_SEND_LETTERS", "2300"))
CONNECTIONS = int(os.environ.get("BENCH_SEND_CONNECTIONS", "64"))
BASELINE_SAMPLE = int(os.environ.get("BENCH_SEND_BASELINE", "150"))
NAIVE_SAMPLE = int(os.environ.get("BENCH_RENDER_NAIVE", "138"))  # 6 rounds of 23 languages
PROFILE = os.environ.get("BENCH_PROFILE", "") == "1"
DELAY_MS = 20
SLUG = f"send-bench-{LETTERS}"
RENDER_TARGET, RSS_MIX_MB, RSS_LATIN_MB, NAIVE_RATIO = 50, 250, 100, 2.5
SEND_TARGET, DJANGO_RATIO = 100, 10


# --- fixtures ---------------------------------------------------------------


def letters_ensure() -> int:
    """A campaign of LETTERS approved letters, languages round robin; reset to unsent."""
    from letters.models import Letter, SentMessage
    from outreach.models import Campaign

    campaign = Campaign.objects.filter(slug=SLUG).first() or _campaign_create()
    letters = Letter.objects.filter(campaign=campaign)
    SentMessage.objects.filter(letter__campaign=campaign).delete()
    letters.update(
        status=Letter.Status.APPROVED,
        content_sha256="",
        pdf_sha256="",
        rendered_at=None,
        message_id=None,
        sent_at=None,
        claim_token="",
        send_attempts=0,
        next_attempt_at=None,
        outcome="",
    )
    return campaign.pk


def _contact_email(n: int) -> str:
    return f"abuse{n}@isp{n % 500}.send-bench-{LETTERS}.example"


def _campaign_create() -> object:
    from django.db import transaction
    from django.utils import timezone

    from bench.world import relay_campaign_create
    from letters.build import letters_build
    from letters.models import Letter, Smarthost
    from outreach.models import Agency

    with transaction.atomic():
        agency, _ = Agency.objects.update_or_create(
            code="send-bench",
            defaults={
                "name": "Send Bench Agency",
                "country": "US",
                "contact_email": "relay@send-bench.example",
                "reply_domain": "send-bench.example",
            },
        )
        Smarthost.objects.filter(agency=agency).delete()
        campaign = relay_campaign_create(
            SLUG,
            agency,
            LETTERS,
            email=_contact_email,
            net=f"5e{LETTERS % 256:02x}",
            finished_at=timezone.now(),
            transcript="S: 220 relay ESMTP\nC: MAIL FROM:<a@b.example>\nS: 250 OK\n",
        )
    letters_build(campaign_id=campaign.pk)
    Letter.objects.filter(campaign=campaign).update(
        status=Letter.Status.APPROVED, approved_at=timezone.now()
    )
    return campaign


# --- render stage -------------------------------------------------------------


def _render_queue_worker(
    queues: list[multiprocessing.Queue], results: multiprocessing.Queue, name: str
) -> None:
    """One render worker taking batches from its queues in order, as a Celery
    worker started with ``-Q render-cjk,render`` does: the CJK worker helps
    with Latin letters once the CJK ones are done."""
    forked_worker_init()
    from letters.rendered import letters_rendering_store

    _touch(0)
    profiler = cProfile.Profile() if PROFILE else None
    done, start = 0, time.perf_counter()
    if profiler:
        profiler.enable()
    for queue in queues:
        while (batch := queue.get()) is not None:
            done += letters_rendering_store(letter_ids=batch)
    if profiler:
        profiler.disable()
    results.put((name, done, time.perf_counter() - start, peak_rss_mb(), _profile_text(profiler)))


def _naive_worker(ids: list[int]) -> tuple[int, float]:
    """The naive renderer: a new FontConfiguration and CSS for every letter."""
    from letters.compose import letter_compose
    from letters.models import Letter
    from letters.pdf import html_to_pdf, pdf_kit_new

    letters = Letter.objects.filter(pk__in=ids).select_related("campaign", "agency", "contact")
    for letter in letters:
        rendered = letter_compose(letter)
        html_to_pdf(rendered.print_html, kit=pdf_kit_new())
    return len(ids), peak_rss_mb()


def _profile_text(profiler: cProfile.Profile | None, lines: int = 14) -> str:
    if profiler is None:
        return ""
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(lines)
    return out.getvalue()


def _warm(pool: multiprocessing.pool.Pool) -> None:
    # Import WeasyPrint's layout and load fonts in both children first, as a
    # long-lived worker has; the first letter otherwise pays 0.5 s.
    pool.map(_touch, range(2))


def _touch(_n: int) -> None:
    from letters.pdf import html_to_pdf

    html_to_pdf("<html><body><p>warm</p></body></html>")


def render_stage(campaign_id: int) -> tuple[dict, float]:
    """Render every letter once with two workers: one on ``render``, one on
    ``render-cjk`` then ``render``, batches of 10 taken as they come."""
    from django.db import connections

    from letters.models import Letter
    from letters.rendered import render_queue

    context = multiprocessing.get_context("fork")
    queues = {"render": context.Queue(), "render-cjk": context.Queue()}
    ids: dict[str, list[int]] = {"render": [], "render-cjk": []}
    rows = Letter.objects.filter(campaign_id=campaign_id).order_by("id")
    for letter_id, language in rows.values_list("id", "language"):
        ids[render_queue(language)].append(letter_id)
    for name, queue in queues.items():
        for start in range(0, len(ids[name]), 10):
            queue.put(ids[name][start : start + 10])
        queue.put(None)
        queue.put(None)  # one end mark for each worker that reads this queue
    connections.close_all()
    results = context.Queue()
    plans = {"render": [queues["render"]], "render-cjk": [queues["render-cjk"], queues["render"]]}
    workers = [
        context.Process(target=_render_queue_worker, args=(plan, results, name))
        for name, plan in plans.items()
    ]
    with timed() as elapsed:
        for worker in workers:
            worker.start()
        collected = [results.get() for _ in workers]
    seconds = elapsed()
    for worker in workers:
        worker.join()
    return {r[0]: r[1:] for r in collected}, seconds


def naive_stage(campaign_id: int) -> tuple[float, float]:
    from django.db import connections

    from letters.models import Letter

    ids = list(
        Letter.objects.filter(campaign_id=campaign_id)
        .order_by("id")
        .values_list("id", flat=True)[:NAIVE_SAMPLE]
    )
    connections.close_all()
    halves = [ids[0::2], ids[1::2]]  # both workers get the mix
    context = multiprocessing.get_context("fork")
    with context.Pool(2, initializer=forked_worker_init) as pool:
        _warm(pool)
        with timed() as elapsed:
            results = pool.map(_naive_worker, halves, chunksize=1)
        seconds = elapsed()
    return sum(r[0] for r in results) / seconds, max(r[1] for r in results)


# --- send stage ------------------------------------------------------------------


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


def smarthost_point(campaign_id: int, port: int) -> None:
    from letters.models import Smarthost
    from outreach.models import Campaign

    agency = Campaign.objects.get(pk=campaign_id).lead_agency
    Smarthost.objects.update_or_create(
        agency=agency,
        defaults={
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "connections": CONNECTIONS,
        },
    )


def baseline_rate(campaign_id: int, port: int) -> float:
    """Django's SMTP backend, one message at a time over one connection, sending
    the same real messages (stored bodies and PDF) to fresh test addresses."""
    from letters.models import Letter
    from letters.outbox import letter_envelope, rendered_content
    from letters.transport import DjangoTransport

    letters = list(
        Letter.objects.filter(campaign_id=campaign_id)
        .select_related("agency", "contact", "campaign")
        .order_by("id")[:BASELINE_SAMPLE]
    )
    envelopes = [
        letter_envelope(letter, rendered_content(letter), test_recipient=f"base{n}@sink.example")
        for n, letter in enumerate(letters)
    ]
    from django.conf import settings

    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    backend = "django.core.mail.backends.smtp.EmailBackend"
    with DjangoTransport(backend) as transport, timed() as elapsed:
        results = transport.send_many(envelopes)
    assert all(r.state == "sent" for r in results), results[:3]
    return len(envelopes) / elapsed()


def send_stage(campaign_id: int) -> dict:
    from letters.outbox import outbox_send

    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "received.jsonl"
        sink, port = start_sink(journal)
        try:
            smarthost_point(campaign_id, port)
            cpu_before = (own_cpu(), process_cpu(sink.pid))
            profiler = cProfile.Profile() if PROFILE else None
            if profiler:
                profiler.enable()
            with timed() as elapsed:
                report = outbox_send(campaign_id=campaign_id)
            seconds = elapsed()
            if profiler:
                profiler.disable()
            client_cpu = own_cpu() - cpu_before[0]
            sink_cpu = process_cpu(sink.pid) - cpu_before[1]
            base = baseline_rate(campaign_id, port)
        finally:
            sink.kill()
            sink.wait()
        lines = journal.read_text().splitlines()
    return {
        "report": report,
        "seconds": seconds,
        "client_cpu": client_cpu,
        "sink_cpu": sink_cpu,
        "base": base,
        "received": len(lines) - BASELINE_SAMPLE,
        "unique": len(set(lines)) == len(lines),
        "profile": _profile_text(profiler, 20),
    }


# --- the whole run ----------------------------------------------------------------


def run() -> list[Row]:
    setup_django()
    from django.conf import settings

    blobs = tempfile.TemporaryDirectory(prefix="send-bench-blobs-")
    settings.LETTERS_BLOB_DIR = Path(blobs.name)
    settings.LAB_MODE = True  # the bench agency sends from .example (the lab)
    settings.OUTBOX_DOMAIN_RATE_PER_MINUTE = 0
    settings.OUTBOX_BATCH_SIZE = CONNECTIONS * 4
    campaign_id = letters_ensure()
    workers, render_seconds = render_stage(campaign_id)
    naive_rate, naive_rss = naive_stage(campaign_id)
    sent = send_stage(campaign_id)
    blobs.cleanup()
    if PROFILE:
        for queue, (_n, _s, _rss, text) in workers.items():
            print(f"--- cProfile, {queue} worker ---\n{text}", file=sys.stderr)
        print(f"--- cProfile, outbox_send ---\n{sent['profile']}", file=sys.stderr)
    return render_rows(workers, render_seconds, naive_rate, naive_rss) + send_rows(sent)


def render_rows(workers: dict, seconds: float, naive_rate: float, naive_rss: float) -> list[Row]:
    done = sum(w[0] for w in workers.values())
    rate = done / seconds
    latin, cjk = workers["render"], workers["render-cjk"]
    return [
        Row(
            figure=f"render once: {done} letters, 23 languages, 2 workers (render + render-cjk)",
            target=f">= {RENDER_TARGET} letters/s, >= {NAIVE_RATIO}x naive",
            measured=f"{rate:.1f} letters/s ({seconds:.1f} s)",
            baseline=f"{naive_rate:.1f} letters/s (new FontConfiguration per letter, "
            f"{NAIVE_SAMPLE} sampled)",
            ratio=f"{rate / naive_rate:.1f}x",
            ok=rate >= RENDER_TARGET and rate / naive_rate >= NAIVE_RATIO,
        ),
        Row(
            figure="render: letters each worker did (render-cjk helps with render)",
            target="(balance)",
            measured=f"render {latin[0]} in {latin[1]:.1f} s, "
            f"render-cjk {cjk[0]} in {cjk[1]:.1f} s",
        ),
        Row(
            figure="render: peak memory, Latin worker / CJK worker",
            target=f"< {RSS_LATIN_MB} MB / < {RSS_MIX_MB} MB",
            measured=f"{latin[2]:.0f} MB / {cjk[2]:.0f} MB",
            baseline=f"{naive_rss:.0f} MB naive (mixed)",
            ok=latin[2] < RSS_LATIN_MB and cjk[2] < RSS_MIX_MB,
        ),
    ]


def send_rows(sent: dict) -> list[Row]:
    report, seconds, base = sent["report"], sent["seconds"], sent["base"]
    done, count = report.outcomes["sent"], report.claimed
    rate = done / seconds
    return [
        Row(
            figure=f"send rendered letters + real PDF: {count}, {CONNECTIONS} connections, "
            "20 ms/command, archived",
            target=f">= {SEND_TARGET} msg/s, >= {DJANGO_RATIO}x Django",
            measured=f"{rate:.0f} msg/s ({done} sent in {seconds:.1f} s)",
            baseline=f"{base:.1f} msg/s (Django SMTP, {BASELINE_SAMPLE} sampled)",
            ratio=f"{rate / base:.1f}x",
            ok=rate >= SEND_TARGET and rate / base >= DJANGO_RATIO and done == count,
        ),
        Row(
            figure="send: CPU per message, outbox process / sink process",
            target="(where the time goes)",
            measured=f"{sent['client_cpu'] / count * 1000:.2f} ms / "
            f"{sent['sink_cpu'] / count * 1000:.2f} ms",
        ),
        Row(
            figure="send: each Message-ID once at the sink",
            target=f"{count}",
            measured=f"{sent['received']} messages, unique={sent['unique']}",
            ok=sent["unique"] and sent["received"] == count,
        ),
    ]


if __name__ == "__main__":
    print_table(run())
