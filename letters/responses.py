"""What comes back about a letter, and what it changes.

One function stores every answer (``response_store``), whether it came by
email, through the recipient page or from an investigator in the admin.
One rule says what an answer does to its letter (``letter_answered``), and
that change goes through the one audit path (``outreach.audit``). Bounces
score the contact and, past the threshold, hand the letter to the next
contact of the chain.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from letters.delivery import letter_delivery_confirm
from letters.models import Letter, Response
from letters.tasks_remediation import fixed_claim_remediate
from outreach.audit import audit_update
from outreach.models import Contact
from probes.contacts import contact_fallback

# What a person says back (not bounces, not auto-replies): it proves the
# letter reached someone.
HUMAN = frozenset(
    {
        Response.Kind.REPLY,
        Response.Kind.FIXED_CLAIM,
        Response.Kind.DISPUTE,
        Response.Kind.OPT_OUT,
        Response.Kind.QUESTION,
    }
)
# What an investigator may say a reply is.
MARKABLE = HUMAN
# Only a letter that went out can be answered.
ANSWERABLE = [Letter.Status.SENT, Letter.Status.EXPORTED, Letter.Status.BOUNCED]


# The text columns a stranger's message (or our notes on it) may fill past
# their length.
_CLIPPED = ("sender", "subject", "message_id", "outcome", "rule", "inbox", "identity")


class ResponseError(Exception):
    """A response cannot be recorded or marked like that."""


def response_store(response: Response, *, actor: Any = None, note: str = "") -> Response:
    """Store one response its caller built, and let it answer its letter.

    The caller builds the unsaved ``Response``: the inbound service from what
    it parsed, the recipient page from the form, the admin from its add form
    (so every field the investigator filled in is kept, and the admin goes on
    with a saved object). ``letter_id`` is None for mail that matched no letter
    (it waits in the unmatched queue). ``actor`` is the investigator who
    entered it, if any.
    """
    # Sender, subject and Message-ID come from strangers' headers: bound them
    # to their columns rather than lose the message to a database error.
    for name in _CLIPPED:
        setattr(response, name, column_bounded(name, getattr(response, name)))
    if response.handled_by_id is None and getattr(actor, "pk", None):
        response.handled_by = actor
    response.save(force_insert=True)
    if response.letter_id is not None:
        letter_answered(letter_id=response.letter_id, kind=response.kind, actor=actor, note=note)
    return response


def column_bounded(name: str, value: str) -> str:
    """``value`` cut to the length of the Response column ``name`` (as stored)."""
    return value[: Response._meta.get_field(name).max_length]


def letter_answered(*, letter_id: int, kind: str, actor: Any = None, note: str = "") -> int:
    """The one status rule: a person's answer to a letter that went out marks it answered."""
    if kind not in HUMAN:
        return 0
    return audit_update(
        actor=actor if getattr(actor, "pk", None) else None,
        queryset=Letter.objects.filter(id=letter_id, status__in=ANSWERABLE),
        event="status",
        note=note or f"answered ({kind})",
        status=Letter.Status.ANSWERED,
    )


def response_mark(*, response_id: int, kind: str, user_id: int | None) -> Response:
    """An investigator says what a reply is: a fixed-claim re-probes at once,
    an opt-out stops all contact."""
    if kind not in MARKABLE:
        raise ResponseError(f"a response cannot be marked {kind!r}")
    response = Response.objects.select_related("letter").get(id=response_id)
    Response.objects.filter(id=response_id).update(kind=kind, handled_by_id=user_id)
    if response.letter is not None:
        letter_answered(letter_id=response.letter_id, kind=kind, note="marked in the admin")
        if kind == Response.Kind.OPT_OUT:
            contact_opt_out(contact_id=response.letter.contact_id, reason="opt-out in a reply")
        elif kind == Response.Kind.FIXED_CLAIM:
            fixed_claim_remediate(letter_id=response.letter_id)
    response.refresh_from_db()
    return response


def response_assign(*, response_id: int, letter_id: int, user_id: int | None) -> Response:
    """A person matched a message from the unmatched queue: act as if it had matched."""
    response = Response.objects.get(id=response_id)
    letter = Letter.objects.get(id=letter_id)
    Response.objects.filter(id=response_id).update(letter=letter, handled_by_id=user_id)
    letter_delivery_confirm(letter_id=letter.id, evidence=f"{response.kind} matched by hand")
    if response.kind == Response.Kind.BOUNCE:
        # The stored field decides, never the free-text note.
        bounce_record(letter=letter, severity=response.severity or Response.Severity.UNKNOWN)
    elif response.kind == Response.Kind.OPT_OUT:
        contact_opt_out(contact_id=letter.contact_id, reason="asked by email")
    letter_answered(letter_id=letter.id, kind=response.kind, note="assigned in the admin")
    response.refresh_from_db()
    return response


# --- bounces and opt-outs -------------------------------------------------


def bounce_record(
    *, letter: Letter, hard: bool | None = None, severity: str = "", when: datetime | None = None
) -> None:
    """Mailman's score: hard 1, soft 0.5, once a day; disabled at the threshold.

    A bounce of unknown severity (no failed address, no status) is recorded
    by its Response but scores nothing and never moves to the next contact.
    """
    severity = severity or ("hard" if hard else "soft")
    if severity not in {"hard", "soft"}:
        return
    hard = severity == "hard"
    when = when or timezone.now()
    if hard:
        Letter.objects.filter(id=letter.id, status=Letter.Status.SENT).update(
            status=Letter.Status.BOUNCED
        )
    if _bounced_today(letter.contact_id, when):
        return
    Contact.objects.filter(id=letter.contact_id).update(
        bounce_score=F("bounce_score") + (1.0 if hard else 0.5)
    )
    contact = Contact.objects.get(id=letter.contact_id)
    if contact.bounce_score >= settings.BOUNCE_DISABLE_SCORE and not contact.do_not_contact:
        contact_opt_out(contact_id=contact.id, reason="disabled: too many bounces")
        letter_fallback(letter_id=letter.id)


def _bounced_today(contact_id: int, when: datetime) -> bool:
    # The Response just stored is one of them; a second one today is not new.
    day_start = when - timedelta(hours=24)
    return (
        Response.objects.filter(
            letter__contact_id=contact_id,
            kind=Response.Kind.BOUNCE,
            received_at__gt=day_start,
            severity__in=["", Response.Severity.HARD, Response.Severity.SOFT],
            received_at__lte=when,
        ).count()
        > 1
    )


def contact_opt_out(*, contact_id: int, reason: str) -> None:
    Contact.objects.filter(id=contact_id).update(
        do_not_contact=True, do_not_contact_reason=reason[:255]
    )


def letter_fallback(*, letter_id: int) -> Letter | None:
    """Move a letter whose contact was disabled to the next contact in the chain.

    The letter goes back to DRAFT: the new contact may need another language,
    so it is rendered and approved again. With no next contact the letter
    stays as it is.
    """
    letter = Letter.objects.get(id=letter_id)
    fallback = contact_fallback(contact_id=letter.contact_id)
    if fallback is None or fallback.do_not_contact:
        return None
    taken = Letter.objects.filter(
        campaign_id=letter.campaign_id, contact=fallback, kind=letter.kind
    )
    if taken.exists():
        Letter.objects.filter(id=letter.id).update(outcome="fallback_contact_has_letter")
        return None
    Letter.objects.filter(id=letter.id).update(
        contact=fallback,
        status=Letter.Status.DRAFT,
        message_id=None,
        sent_at=None,
        send_attempts=0,
        next_attempt_at=None,
        outcome="fallback_contact",
    )
    return Letter.objects.get(id=letter.id)
