"""Exactly once under a killed worker: SIGKILL mid-batch, then finish the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings

from lab.mailsink import MailSink
from letters.models import Letter
from letters.outbox import DELIVERY_UNKNOWN, outbox_recover, outbox_send
from tests.factories import LetterFactory
from tests.letter_content import content
from tests.outbox_helpers import sink_campaign

ROOT = Path(__file__).resolve().parent.parent


def worker_database_url(postgres_url: str) -> str:
    parts = urlsplit(postgres_url)
    name = django_settings.DATABASES["default"]["NAME"]
    return urlunsplit(parts._replace(path=f"/{name}"))


def wait_for(condition, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_sends_each_letter_once_when_a_worker_is_killed_mid_batch(postgres_url, settings):
    with MailSink(delay=0.02) as sink:
        campaign = sink_campaign(sink, connections=4)
        LetterFactory.create_batch(40, campaign=campaign, status=Letter.Status.APPROVED)
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(postgres_url),
            "OUTBOX_BATCH_SIZE": "8",
            # The test agencies send from .example domains: lab mode only.
            "LAB_MODE": "true",
            "LAB_MODE_WITH_DATABASE": "true",
            "OUTBOX_DOMAIN_RATE_PER_MINUTE": "0",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.outbox_worker", str(campaign.id)], cwd=ROOT, env=env
        )
        wait_for(lambda: len(sink.received) >= 10)
        worker.send_signal(signal.SIGKILL)
        worker.wait()

        assert Letter.objects.filter(status=Letter.Status.SENDING).exists()
        outbox_recover(older_than=timedelta(0))
        settings.OUTBOX_DOMAIN_RATE_PER_MINUTE = 0
        outbox_send(campaign_id=campaign.id, content=content)

    ids = Counter(r.message_id for r in sink.received)
    assert max(ids.values()) == 1
    states = Counter(Letter.objects.values_list("status", "outcome"))
    assert set(states) <= {(Letter.Status.SENT, ""), (Letter.Status.FAILED, DELIVERY_UNKNOWN)}
    sent = set(Letter.objects.filter(status="sent").values_list("message_id", flat=True))
    assert sent <= set(ids)
    assert states[(Letter.Status.SENT, "")] + states[(Letter.Status.FAILED, DELIVERY_UNKNOWN)] == 40
