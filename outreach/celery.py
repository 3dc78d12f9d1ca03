"""The Celery app. Tasks live in each app's tasks.py; the schedule in settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from celery import Celery, shared_task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outreach.settings")

app = Celery("outreach")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def retried_task(
    name: str, *, retry_on: tuple[type[BaseException], ...], max_retries: int = 3
) -> Callable[[Callable[..., Any]], Any]:
    """``shared_task`` retrying on ``retry_on`` with exponential back-off and jitter.

    The house default for tasks whose failures are transient (a database
    restart, a full disk, a mailbox that hangs up).
    """
    return shared_task(
        name=name,
        autoretry_for=retry_on,
        retry_backoff=True,
        retry_jitter=True,
        max_retries=max_retries,
    )
