"""Feed tasks: thin wrappers that take ids and call probes.services."""

from __future__ import annotations

import logging
from functools import partial

from celery import shared_task
from django.db import transaction

from outreach.models import Campaign
from probes import uploads
from probes.feeds import FeedError
from probes.models import Feed
from probes.services import feed_import_source
from probes.sources import FeedFetchError

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
    feed_id: int, token: str, fmt: str = "", ip_column: str = "", campaign_id: int | None = None
) -> dict | None:
    """Import a file uploaded through the admin, reporting progress beside it."""
    feed = Feed.objects.filter(pk=feed_id).first()
    if feed is None or not uploads.upload_exists(token):
        return None
    campaign = Campaign.objects.filter(pk=campaign_id).first() if campaign_id else None
    return uploads.upload_import(
        token=token, feed=feed, fmt=fmt, ip_column=ip_column, campaign=campaign
    )
