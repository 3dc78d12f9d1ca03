"""Probe tasks (feeds, relay probes): thin wrappers that take ids and call the services."""

from __future__ import annotations

import logging
from functools import partial
from typing import Unpack

from celery import shared_task
from celery.result import AsyncResult
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from outreach.models import Campaign
from probes import selectors, smtp, uploads
from probes.feed_import import feed_import_source
from probes.feeds import FeedError
from probes.models import Feed
from probes.sources import FeedFetchError
from probes.verify import VerifyOptions, hosts_verify, temp_retry_delay

logger = logging.getLogger(__name__)


@shared_task(name="probes.feeds_refresh")
def feeds_refresh() -> int:
    """Beat's entry point: queue one refresh per feed that has a URL or path.

    It also deletes admin uploads that were previewed but never committed.
    """
    uploads.uploads_purge()
    ids = list(Feed.objects.exclude(url="").values_list("pk", flat=True))
    for pk in ids:
        transaction.on_commit(partial(feed_refresh.delay, pk))
    return len(ids)


@shared_task(
    name="probes.feed_refresh",
    autoretry_for=(FeedFetchError,),
    retry_backoff=60,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=5,
)
def feed_refresh(feed_id: int) -> dict | None:
    """Re-import one feed from its URL (conditionally: a 304 imports nothing)."""
    feed = Feed.objects.filter(pk=feed_id).first()
    if feed is None or not feed.url:
        return None
    try:
        return feed_import_source(feed=feed).as_dict()
    except FeedFetchError:
        raise
    except FeedError as exc:
        # The file itself is bad: retrying will not fix it.
        logger.warning("feed %s: %s", feed.name, exc)
        return {"feed": feed.name, "error": str(exc)}


@shared_task(name="probes.feed_upload_import")
def feed_upload_import(
    feed_id: int,
    token: str,
    fmt: str = "",
    ip_column: str = "",
    campaign_id: int | None = None,
    snapshot: bool = False,
) -> dict | None:
    """Import a file uploaded through the admin, reporting progress beside it.

    ``snapshot``: the file is the whole feed, so its absent listings are
    marked removed; otherwise it only adds.
    """
    feed = Feed.objects.filter(pk=feed_id).first()
    if feed is None or not uploads.upload_exists(token):
        return None
    campaign = Campaign.objects.filter(pk=campaign_id).first() if campaign_id else None
    return uploads.upload_import(
        token=token, feed=feed, fmt=fmt, ip_column=ip_column, campaign=campaign, snapshot=snapshot
    )


@shared_task(
    name="probes.hosts_verify_batch",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=30,
    retry_jitter=True,
    max_retries=3,
)
def hosts_verify_batch(
    host_ids: list[int],
    port: int = 25,
    all_tests: bool = False,
    attempt: int = 0,
    concurrency: int | None = None,
) -> list[dict]:
    """Probe a batch of hosts and record the verdicts; retry greylisted ones later.

    Idempotent: a batch delivered twice writes a second set of Probe rows and
    sets the same statuses. Ids of hosts that are gone are skipped.
    """
    results = hosts_verify(
        host_ids=host_ids, port=port, all_tests=all_tests, concurrency=concurrency
    )
    again = [r.host_id for r in results if r.verdict == smtp.TEMP_FAILURE and r.host_id]
    # In-process (embedded) mode has no clock to wait on: no retries there.
    if again and attempt < settings.PROBE_TEMP_RETRIES and not settings.CELERY_TASK_ALWAYS_EAGER:
        hosts_verify_batch.apply_async(
            args=[again, port, all_tests, attempt + 1, concurrency],
            countdown=temp_retry_delay(attempt),
        )
    return [r.as_json() for r in results]


@shared_task(name="probes.open_relays_reverify")
def open_relays_reverify() -> int:
    """Beat: send open relays whose evidence is getting old back to the probes."""
    ids = selectors.open_relays_due()
    hosts_verify_enqueue(host_ids=ids)
    logger.info("re-verifying %d open relays", len(ids))
    return len(ids)


def hosts_verify_enqueue(
    *, host_ids: list[int], **options: Unpack[VerifyOptions]
) -> list[AsyncResult]:
    """Fan out probe batches to the workers, once the current transaction commits.

    The ``options`` go to each batch as they are: the defaults are the task's.
    """
    size = settings.PROBE_BATCH_SIZE
    # Ids follow import order, which often follows address order: mixed up,
    # a batch holds many networks and the per-/24 cap does not serialise it.
    host_ids = sorted(host_ids, key=_scatter)
    batches = [host_ids[i : i + size] for i in range(0, len(host_ids), size)]
    sent: list[AsyncResult] = []
    for batch in batches:
        transaction.on_commit(lambda b=batch: sent.append(hosts_verify_batch.delay(b, **options)))
    # Outside a transaction on_commit runs at once, so the list is complete here.
    return sent


def _scatter(host_id: int) -> int:
    # A fixed multiplicative hash: the same ids always make the same batches.
    return (host_id * 2654435761) % 2**32


# The contacts stage keeps its tasks in their own module; importing them here
# lets Celery autodiscovery find them.
from probes.tasks_rdap import campaign_contacts_lookup, contacts_lookup_batch  # noqa: E402, F401


@shared_task(name="probes.probes_purge")
def probes_purge_task() -> int:
    """Daily: purge probes past ``PROBE_RETENTION_DAYS`` (an audited service)."""
    from probes.retention import probes_purge

    return probes_purge()
