"""Probe tasks: thin wrappers that take batches of host ids."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from probes import selectors, smtp
from probes.services import hosts_verify, hosts_verify_enqueue, temp_retry_delay

log = logging.getLogger(__name__)


@shared_task(
    name="probes.hosts_verify_batch",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=30,
    retry_jitter=True,
    max_retries=3,
)
def hosts_verify_batch(
    host_ids: list[int], port: int = 25, all_tests: bool = False, attempt: int = 0
) -> list[dict]:
    """Probe a batch of hosts and record the verdicts; retry greylisted ones later.

    Idempotent: a batch delivered twice writes a second set of Probe rows and
    sets the same statuses. Ids of hosts that are gone are skipped.
    """
    results = hosts_verify(host_ids=host_ids, port=port, all_tests=all_tests)
    again = [r.host_id for r in results if r.verdict == smtp.TEMP_FAILURE and r.host_id]
    # In-process (embedded) mode has no clock to wait on: no retries there.
    if again and attempt < settings.PROBE_TEMP_RETRIES and not settings.CELERY_TASK_ALWAYS_EAGER:
        hosts_verify_batch.apply_async(
            args=[again, port, all_tests, attempt + 1], countdown=temp_retry_delay(attempt)
        )
    return [r.as_json() for r in results]


@shared_task(name="probes.open_relays_reverify")
def open_relays_reverify() -> int:
    """Beat: send open relays whose evidence is getting old back to the probes."""
    ids = selectors.open_relays_due()
    hosts_verify_enqueue(host_ids=ids)
    log.info("re-verifying %d open relays", len(ids))
    return len(ids)
