"""Celery: in-process by default, a real worker on Redis in CI."""

from __future__ import annotations

import imaplib

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import DatabaseError

from outreach.celery import app
from outreach.tasks import healthcheck
from tests.factories import AgencyFactory


@pytest.mark.django_db
def test_tasks_run_in_process_on_the_embedded_default(settings):
    if not app.conf.task_always_eager:
        pytest.skip("REDIS_URL is set: tasks go to real workers here")
    AgencyFactory()
    assert healthcheck.delay().get() == {"database": True, "agencies": 1}


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_runs_a_task_round_trip(redis_url):
    AgencyFactory.create_batch(2)
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = healthcheck.delay()
        assert result.get(timeout=20) == {"database": True, "agencies": 2}


@pytest.mark.parametrize(
    ("task_name", "retry_on", "max_retries"),
    [
        ("letters.export", (OSError,), 3),
        ("letters.render", (DatabaseError, OSError), 3),
        ("letters.tasks.letters_send_task", (DatabaseError,), 5),
        ("letters.tasks.mailbox_poll_task", (OSError, imaplib.IMAP4.error), 3),
        ("letters.tasks.letters_remediate_task", (DatabaseError, OSError), 3),
    ],
)
def test_transient_failures_are_retried_with_jittered_backoff(task_name, retry_on, max_retries):
    import letters.tasks
    import letters.tasks_remediation  # noqa: F401 (registers its tasks)

    task = app.tasks[task_name]
    assert task.autoretry_for == retry_on
    assert task.retry_backoff is True and task.retry_jitter is True
    assert task.max_retries == max_retries
