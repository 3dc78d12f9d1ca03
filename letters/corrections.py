"""A manual correction of a host's status: audited, with a reason, never touching probes.

A host's status changes only through the services: verification
(``probes.verify.host_verdicts_record``), remediation, and this. The probe
a correction overrides stays as it was: the record of what the dialogue said.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from outreach.audit import audit_update
from outreach.models import Host

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@transaction.atomic
def host_status_correct(*, host_id: int, status: str, reason: str, user: AbstractBaseUser) -> Host:
    """Set a host's status by hand; the reason and the old status go to the audit log.

    The outcomes of the host's written letters follow the corrected status.
    """
    from letters.remediation import WRITTEN, letter_outcome_update

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(gettext("A correction needs a reason."))
    if status not in Host.Status.values:
        raise ValidationError(gettext("%(status)r is not a host status.") % {"status": status})
    if not user.has_perm("outreach.change_host"):
        raise PermissionDenied(gettext("Correcting a host needs the change_host permission."))
    if not Host.objects.for_user(user).filter(pk=host_id).exists():
        raise PermissionDenied(gettext("No such host."))
    host = Host.objects.select_for_update().get(pk=host_id)
    fixed_at = host.fixed_at or timezone.now() if status == Host.Status.FIXED else None
    audit_update(
        actor=user,
        queryset=Host.objects.filter(pk=host.pk),
        event="status_correction",
        note=reason[:500],
        status=status,
        fixed_at=fixed_at,
    )
    for letter_id in host.letters.filter(status__in=WRITTEN).values_list("id", flat=True):
        letter_outcome_update(letter_id=letter_id)
    host.refresh_from_db()
    return host
