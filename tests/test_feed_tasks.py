"""The feed tasks and their beat schedule."""

from __future__ import annotations

from unittest import mock

import pytest
from django.conf import settings

from outreach.models import Host
from probes import tasks
from probes.sources import FeedFetchError
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


def test_beat_refreshes_the_feeds_on_a_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["feeds-refresh"]
    assert entry["task"] == "probes.feeds_refresh"
    assert entry["schedule"] == settings.FEED_REFRESH_MINUTES * 60


def test_it_refreshes_every_feed_with_a_source(tmp_path, django_capture_on_commit_callbacks):
    path = tmp_path / "list.txt"
    path.write_bytes(b"8.8.4.4\n9.9.9.9\n")
    factories.FeedFactory(url=str(path))
    factories.FeedFactory(url="")
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.feeds_refresh.delay().get() == 1
    assert Host.objects.count() == 2


def test_it_returns_quietly_for_a_feed_that_is_gone():
    assert tasks.feed_refresh.delay(987654).get() is None


def test_it_reports_a_bad_file_without_retrying(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(b"<html><body>maintenance</body></html>")
    feed = factories.FeedFactory(url=str(path))
    result = tasks.feed_refresh.delay(feed.pk).get()
    assert result == {
        "feed": feed.name,
        "error": "line 1: an HTML page was served instead of a list",
    }


def test_it_retries_when_the_server_cannot_be_reached():
    assert FeedFetchError in tasks.feed_refresh.autoretry_for
    feed = factories.FeedFactory(url="http://127.0.0.1:9/list.txt")
    refusal = RuntimeError("retry")
    with (
        mock.patch.object(tasks.feed_refresh, "retry", side_effect=refusal) as retry,
        pytest.raises(RuntimeError, match="retry"),
    ):
        tasks.feed_refresh.apply(args=[feed.pk], throw=True)
    assert isinstance(retry.call_args.kwargs["exc"], FeedFetchError)


def test_it_purges_uploads_nobody_committed(tmp_path):
    import os
    import time

    from probes import uploads

    old = uploads.upload_save(chunks=[b"8.8.4.4\n"])
    fresh = uploads.upload_save(chunks=[b"9.9.9.9\n"])
    path = uploads._path(old, ".upload")
    a_day_ago = time.time() - 2 * 24 * 3600
    os.utime(path, (a_day_ago, a_day_ago))
    tasks.feeds_refresh.delay().get()
    assert not uploads.upload_exists(old)
    assert uploads.upload_exists(fresh)
