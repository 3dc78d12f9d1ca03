"""Letters to PDF: 10,000 one-page letters in mixed languages, two workers.

The pipeline a worker runs for real: fetch the letter by id, render it in its
language (letters.render), write the PDF (letters.pdf) with one
FontConfiguration and one compiled CSS shared per process. The naive path,
timed in the same run on a sample, builds a new FontConfiguration and CSS for
every letter. Letters and their relays live in the PostgreSQL bench database
and are created once (``LETTERS_BENCH_COUNT``, default 10,000).

    python -m bench.letters_bench
"""

from __future__ import annotations

import multiprocessing
import os
import time

from bench.common import Measure, Row, forked_worker_init, peak_rss_mb, setup_django, versus

COUNT = int(os.environ.get("LETTERS_BENCH_COUNT", "10000"))
NAIVE_SAMPLE = int(os.environ.get("LETTERS_BENCH_NAIVE", "200"))
WORKERS = 2
SLUG = f"bench-letters-{COUNT}"
TARGET_PER_S = 80
TARGET_RSS_MB = 150
TRANSCRIPT = "S: 220 bench\n"


def _contact_email(n: int) -> str:
    return f"abuse{n}@letters-bench-{COUNT}.example"


def fixtures_ensure() -> list[int]:
    """A campaign with COUNT contacts, one probed open relay each, languages round robin."""
    from django.db import transaction

    from bench.world import relay_campaign_create
    from letters.build import letters_build
    from letters.models import Letter
    from outreach.models import Agency, Campaign

    campaign = Campaign.objects.filter(slug=SLUG).first()
    if campaign is None:
        with transaction.atomic():
            agency, _ = Agency.objects.get_or_create(
                code="letters-bench", defaults={"name": "Letters Bench Agency", "country": "US"}
            )
            campaign = relay_campaign_create(
                SLUG, agency, COUNT, email=_contact_email, net=f"{COUNT:x}", transcript=TRANSCRIPT
            )
        letters_build(campaign_id=campaign.pk)
    return list(
        Letter.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True)
    )


def _naive_build(campaign_id: int) -> None:
    """The obvious loop: one save and one hosts.set() per letter."""
    from letters.models import Letter
    from outreach.models import Campaign, Host

    campaign = Campaign.objects.select_related("lead_agency").get(pk=campaign_id)
    hosts = campaign.hosts.filter(status=Host.Status.OPEN_RELAY).select_related("contact")
    for host in hosts:
        letter = Letter.objects.create(
            campaign=campaign, contact=host.contact, agency=campaign.lead_agency
        )
        letter.hosts.set([host])


def build_row() -> Row:
    """Time letters_build on the campaign against the naive loop, then rebuild it."""
    from letters.build import letters_build
    from letters.models import Letter
    from outreach.models import Campaign

    campaign = Campaign.objects.get(slug=SLUG)
    timings = {}
    for name, build in (
        ("naive", _naive_build),
        ("bulk", lambda pk: letters_build(campaign_id=pk)),
    ):
        Letter.objects.filter(campaign=campaign).delete()
        start = time.perf_counter()
        build(campaign.pk)
        timings[name] = time.perf_counter() - start
    count = Letter.objects.filter(campaign=campaign).count()
    bulk = Measure(count / timings["bulk"], "letters/s", digits=0)
    naive = Measure(count / timings["naive"], "letters/s", "save + hosts.set per letter", digits=0)
    return versus(f"letters_build, {count} new letters", "-", bulk, naive)


def _render_batch(args: tuple[list[int], bool]) -> tuple[int, int, float]:
    from letters.compose import letter_compose
    from letters.models import Letter
    from letters.pdf import html_to_pdf, pdf_kit, pdf_kit_new

    ids, naive = args
    size = 0
    letters = Letter.objects.filter(pk__in=ids).select_related("campaign", "agency", "contact")
    for letter in letters:
        kit = pdf_kit_new() if naive else pdf_kit()
        size += len(html_to_pdf(letter_compose(letter).print_html, kit=kit))
    return len(ids), size, peak_rss_mb()


def timed_run(ids: list[int], *, naive: bool) -> tuple[float, float, float]:
    """Letters per second, peak RSS of the fattest worker (MB), mean PDF size (KB)."""
    batches = [(ids[i : i + 50], naive) for i in range(0, len(ids), 50)]
    context = multiprocessing.get_context("fork")
    with context.Pool(WORKERS, initializer=forked_worker_init) as pool:
        pool.map(_render_batch, [(ids[:4], naive)] * WORKERS)  # warm: import, fonts
        start = time.perf_counter()
        results = pool.map(_render_batch, batches, chunksize=1)
        elapsed = time.perf_counter() - start
    done = sum(r[0] for r in results)
    return done / elapsed, max(r[2] for r in results), sum(r[1] for r in results) / done / 1024


def run() -> list[Row]:
    setup_django()
    from django.db import connections

    fixtures_ensure()
    build = build_row()
    ids = fixtures_ensure()
    connections.close_all()
    shared, rss, size = timed_run(ids, naive=False)
    # The naive sample takes every language in turn too (ids are round robin).
    naive, naive_rss, _size = timed_run(ids[:NAIVE_SAMPLE], naive=True)
    return [
        build,
        versus(
            f"letters → PDF, {len(ids)} mixed languages, {WORKERS} workers",
            f">= {TARGET_PER_S} letters/s",
            Measure(shared, "letters/s"),
            Measure(naive, "letters/s", "new FontConfiguration per letter"),
            ok=shared >= TARGET_PER_S,
        ),
        Row(
            figure="letters → PDF, peak memory per worker",
            target=f"< {TARGET_RSS_MB} MB",
            measured=f"{rss:.0f} MB (mean PDF {size:.0f} KB)",
            baseline=f"{naive_rss:.0f} MB naive",
            ok=rss < TARGET_RSS_MB,
        ),
    ]


if __name__ == "__main__":
    from bench.common import machine, print_table

    rows = run()
    print(f"Machine: {machine()}")
    print_table(rows)
