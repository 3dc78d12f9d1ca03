"""Was the relay really fixed? Probe the letter's hosts again and say so.

After the campaign's remediation deadline, and at once when an owner claims
a fix, the hosts of a letter are re-probed by the probes stage
(``probes.verify.hosts_verify`` marks a former open relay FIXED with
``fixed_at``). The letter's outcome then follows from its hosts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from letters.models import Letter
from outreach.models import Host
from probes.verify import hosts_verify

# Letters whose owner was told: only they can have been remedied.
WRITTEN = [
    Letter.Status.SENT,
    Letter.Status.BOUNCED,
    Letter.Status.ANSWERED,
    Letter.Status.CLOSED,
    Letter.Status.EXPORTED,
]


def outcome_from_statuses(statuses: Iterable[str]) -> str:
    """fixed, partly_fixed, not_fixed, unreachable or unknown, from host statuses."""
    found = set(statuses)
    if Host.Status.OPEN_RELAY in found:
        return "partly_fixed" if Host.Status.FIXED in found else "not_fixed"
    if Host.Status.FIXED in found:
        return "fixed"
    if Host.Status.UNREACHABLE in found:
        return "unreachable"
    return "unknown"


def letter_outcome_update(*, letter_id: int) -> str:
    """Store and return the outcome its hosts give the letter now."""
    statuses = Host.objects.filter(letters__id=letter_id).values_list("status", flat=True)
    outcome = outcome_from_statuses(statuses)
    Letter.objects.filter(id=letter_id).update(outcome=outcome)
    return outcome


def letters_remediate(*, letter_ids: list[int]) -> dict[int, str]:
    """Re-probe the hosts of these letters, then derive each letter's outcome."""
    host_ids = list(
        Host.objects.filter(letters__id__in=letter_ids).values_list("id", flat=True).distinct()
    )
    if host_ids:
        hosts_verify(host_ids=host_ids)
    return {letter_id: letter_outcome_update(letter_id=letter_id) for letter_id in letter_ids}


def letters_due(*, today: dt.date | None = None) -> QuerySet[Letter]:
    """Written letters past their campaign's deadline whose hosts still need a
    look: a host not fixed and not probed since the deadline."""
    today = today or timezone.localdate()
    not_probed_since = Q(hosts__last_probed_at__isnull=True) | Q(
        hosts__last_probed_at__date__lte=F("campaign__remediation_deadline")
    )
    return (
        Letter.objects.filter(campaign__remediation_deadline__lt=today, status__in=WRITTEN)
        .filter(not_probed_since, ~Q(hosts__status=Host.Status.FIXED))
        .distinct()
    )
