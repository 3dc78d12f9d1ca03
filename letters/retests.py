"""The recipient page's re-tests: how many are left today, and the later one
it promises when they are used up. Writes only records; the caller queues
the re-probe, so this module needs no task module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from letters.models import Letter, RecipientAction
from outreach.audit import audit_event
from probes.models import Probe


def retests_left(*, letter_id: int) -> int:
    since = timezone.now() - timedelta(days=1)
    used = RecipientAction.objects.filter(
        letter_id=letter_id, action=RecipientAction.Action.RETEST, created_at__gte=since
    ).count()
    return max(0, settings.OUTREACH_RECIPIENT_RETESTS_PER_DAY - used)


# A refused re-test is a promise ("we will test again later") kept for this long.
DEFERRED_RETEST_DAYS = 7


def deferred_retests_run(
    *, enqueue: Callable[[int], None], now: datetime | None = None
) -> list[int]:
    """Keeps the page's promise: queues the re-test refused for the day's limit.

    A letter is due when its latest refused re-test is recent, nothing has
    probed its hosts since, no re-test was queued since, and the day's limit
    has room again. The queued re-test is recorded like one the owner asked
    for, so it counts against the limit and is never queued twice.
    ``enqueue(letter_id)`` queues the re-probe (the task's, after commit).
    """
    now = now or timezone.now()
    refused = (
        RecipientAction.objects.filter(
            action=RecipientAction.Action.RETEST_REFUSED,
            created_at__gte=now - timedelta(days=DEFERRED_RETEST_DAYS),
        )
        .values("letter_id")
        .annotate(latest=Max("created_at"))
    )
    queued = []
    for row in refused:
        with transaction.atomic():
            letter = Letter.objects.select_for_update().get(pk=row["letter_id"])
            if not _deferred_retest_due(letter, promised_at=row["latest"]):
                continue
            RecipientAction.objects.create(
                letter=letter,
                action=RecipientAction.Action.RETEST,
                detail={"deferred": True, "promised_at": row["latest"].isoformat()},
            )
            audit_event(actor=None, obj=letter, event="recipient retest (deferred, as promised)")
            enqueue(letter.pk)
            queued.append(letter.pk)
    return queued


def _deferred_retest_due(letter: Letter, *, promised_at: datetime) -> bool:
    kept = (
        RecipientAction.objects.filter(
            letter=letter, action=RecipientAction.Action.RETEST, created_at__gte=promised_at
        ).exists()
        or Probe.objects.filter(host__letters=letter, started_at__gte=promised_at).exists()
    )
    return not kept and letter.hosts.exists() and retests_left(letter_id=letter.pk) > 0
