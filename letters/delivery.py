"""Settle letters whose delivery is unknown.

A letter is ``delivery_unknown`` when its worker died mid-batch or when the
end of DATA went out and no reply came back (``letters.outbox``). It is
never resent on its own. Anything that could only exist if the letter
arrived settles it as sent: a bounce or DSN for it, a reply quoting it, a
visit to the page its link opens. A person can also mark it sent, or resend
it as a new message (``letters.outbox.letters_requeue_unknown``).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from letters.models import Letter
from outreach.audit import audit_update

DELIVERY_UNKNOWN = "delivery_unknown"


def letters_delivery_unknown() -> QuerySet[Letter]:
    return Letter.objects.filter(status=Letter.Status.FAILED, outcome=DELIVERY_UNKNOWN)


def letter_delivery_confirm(*, letter_id: int, evidence: str) -> bool:
    """The letter must have arrived (``evidence`` says how we know): mark it sent.

    Returns whether it was delivery-unknown. Called for every matched bounce,
    reply and page visit, so it is one cheap query when there is nothing to do.
    """
    unknown = letters_delivery_unknown().filter(id=letter_id)
    if not unknown.exists():
        return False
    return bool(_mark_sent(unknown, actor=None, note=f"confirmed by {evidence}"))


def letters_mark_sent(*, letter_ids: list[int], actor: object) -> int:
    """A person found the letters in the smarthost's log as delivered."""
    unknown = letters_delivery_unknown().filter(id__in=letter_ids)
    return _mark_sent(unknown, actor=actor, note="marked as sent by an investigator")


def _mark_sent(unknown: QuerySet[Letter], *, actor: object, note: str) -> int:
    return audit_update(
        actor=actor,
        queryset=unknown,
        event="delivery confirmed",
        note=note,
        status=Letter.Status.SENT,
        outcome="",
        # The moment of the lost reply is not known; the settling is.
        sent_at=timezone.now(),
    )
