"""Approval freezes a letter; only an audited "revoke approval" returns it to draft.

Once approved, a letter's contact, hosts, language and content are frozen:
the admin shows them read-only and the services refuse to change them. Once
sent, a letter changes only through responses and outcomes, each its own row.
The recipient's link is issued here, at approval, and again at sending if it
expired: never when someone merely looks at the letter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext

from letters.models import Letter
from outreach.audit import audit_update

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# What approval freezes (the content follows from them and the templates).
FROZEN_FIELDS = ("campaign", "agency", "contact", "hosts", "kind", "language", "language_reason")


def letter_is_frozen(letter: Letter) -> bool:
    return letter.pk is not None and letter.status != Letter.Status.DRAFT


def recipient_link_issue(*, letter: Letter) -> None:
    """Make sure the letter has a usable recipient link (approval, sending, export)."""
    if not settings.OUTREACH_PUBLIC_URL:
        return
    from letters.recipient import recipient_token_ensure

    recipient_token_ensure(letter=letter)


@transaction.atomic
def letter_approval_revoke(*, letter_id: int, user: AbstractBaseUser, reason: str) -> Letter:
    """Return an approved, not yet sent letter to draft, with the reason audited.

    Its unsent recipient link is revoked too: the next approval issues a new one.
    """
    from letters.recipient import recipient_token_revoke
    from letters.rendered import letter_rendering_discard

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(gettext("Revoking an approval needs a reason."))
    if not user.has_perm("letters.approve_letter"):
        raise PermissionDenied(gettext("Revoking an approval needs the approve_letter permission."))
    if not Letter.objects.for_user(user).filter(pk=letter_id).exists():
        raise PermissionDenied(gettext("No such letter."))
    letter = Letter.objects.select_for_update().get(pk=letter_id)
    if letter.status != Letter.Status.APPROVED:
        raise ValidationError(
            gettext(
                "Letter %(id)s is %(status)s: only an approved letter not yet sent "
                "or exported can return to draft."
            )
            % {"id": letter.pk, "status": letter.get_status_display().lower()}
        )
    audit_update(
        actor=user,
        queryset=Letter.objects.filter(pk=letter.pk),
        event="revoke_approval",
        note=reason[:500],
        status=Letter.Status.DRAFT,
        approved_by=None,
        approved_at=None,
    )
    recipient_token_revoke(letter_id=letter.pk)
    # Its stored rendering goes too: the next approval renders again.
    letter_rendering_discard(letter_id=letter.pk)
    letter.refresh_from_db()
    return letter
