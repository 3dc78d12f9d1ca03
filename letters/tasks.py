"""Letter tasks: thin, they take ids and call services (exports, outbox, inbound mail)."""

from __future__ import annotations

import imaplib

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, transaction

from letters import outbox
from letters.exports import export_job_run
from outreach.celery import retried_task


@retried_task("letters.export", retry_on=(OSError,))
def letters_export_task(
    *, export_id: str, letter_ids: list[int], user_id: int, merged: bool
) -> str:
    """Write an admin-started export ZIP; progress goes to its JSON file."""
    export_job_run(export_id=export_id, letter_ids=letter_ids, user_id=user_id, merged=merged)
    return export_id


@retried_task("letters.render", retry_on=(DatabaseError, OSError))
def letters_render_task(letter_ids: list[int]) -> int:
    """Render and store a batch of approved letters (queue ``render`` or
    ``render-cjk``); letters already stored, or gone, are skipped."""
    from letters.rendered import letters_rendering_store

    return letters_rendering_store(letter_ids=letter_ids)


@retried_task("letters.tasks.letters_send_task", retry_on=(DatabaseError,), max_retries=5)
def letters_send_task(campaign_id: int, agency_id: int | None = None) -> dict:
    """Send up to OUTBOX_TASK_LETTERS approved letters, then hand on to a
    fresh task while more remain, so no task outlives its time limit. Each
    letter keeps its own retry schedule; a rerun only claims what is sendable."""
    chunk = settings.OUTBOX_TASK_LETTERS
    report = outbox.outbox_send(campaign_id=campaign_id, agency_id=agency_id, limit=chunk)
    if report.claimed >= chunk:
        transaction.on_commit(lambda: letters_send_task.delay(campaign_id, agency_id))
    return {state: report.outcomes[state] for state in ("sent", "retry", "failed")}


@shared_task(name="letters.tasks.outbox_recover_task")
def outbox_recover_task() -> int:
    """Close the claims of workers that died mid-batch (delivery unknown)."""
    return outbox.outbox_recover()


@shared_task(name="letters.tasks.mailboxes_poll_task")
def mailboxes_poll_task() -> int:
    """Fan out one poll task per active agency mailbox."""
    from letters.models import Mailbox

    ids = list(Mailbox.objects.filter(is_active=True).values_list("id", flat=True))
    for mailbox_id in ids:
        mailbox_poll_task.delay(mailbox_id)
    return len(ids)


@retried_task("letters.tasks.mailbox_poll_task", retry_on=(OSError, imaplib.IMAP4.error))
def mailbox_poll_task(mailbox_id: int) -> int:
    from letters.inbound import mailbox_poll
    from letters.models import Mailbox

    if not Mailbox.objects.filter(id=mailbox_id, is_active=True).exists():
        return 0
    return mailbox_poll(mailbox_id=mailbox_id).stored


# The remediation tasks live in their own module (remediation and the
# recipient page queue them, and must not import this one, which imports
# the outbox); importing them here lets Celery autodiscovery find them.
from letters.tasks_remediation import (  # noqa: E402, F401
    campaigns_remediate_task,
    letters_remediate_task,
)
