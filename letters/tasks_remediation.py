"""Remediation tasks: re-probe letters' hosts on the workers.

Thin, they take ids and call ``letters.remediation``. Their names keep the
``letters.tasks.`` prefix the beat schedule and queued messages use.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, transaction

from letters.remediation import letters_due, letters_remediate
from letters.retests import deferred_retests_run
from outreach.celery import retried_task


@retried_task("letters.tasks.letters_remediate_task", retry_on=(DatabaseError, OSError))
def letters_remediate_task(letter_ids: list[int]) -> dict:
    """Re-probe one batch of letters' hosts and derive their outcomes."""
    return {str(k): v for k, v in letters_remediate(letter_ids=letter_ids).items()}


@shared_task(name="letters.tasks.campaigns_remediate_task")
def campaigns_remediate_task() -> int:
    """Daily: letters past their campaign's deadline, in batches of ids."""
    ids = list(letters_due().values_list("id", flat=True))
    size = settings.REMEDIATION_BATCH
    for start in range(0, len(ids), size):
        letters_remediate_task.delay(ids[start : start + size])
    return len(ids)


@shared_task(name="letters.tasks.deferred_retests_task")
def deferred_retests_task() -> int:
    """Hourly: the re-tests the recipient page promised when the day's were used up."""
    return len(deferred_retests_run(enqueue=fixed_claim_remediate_one))


def fixed_claim_remediate_one(letter_id: int) -> None:
    fixed_claim_remediate(letter_id=letter_id)


def fixed_claim_remediate(*, letter_id: int) -> None:
    """An owner says it is fixed: re-probe as soon as this transaction commits."""
    transaction.on_commit(lambda: letters_remediate_task.delay([letter_id]))
