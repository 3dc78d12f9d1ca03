"""System checks that read the database (run by `manage.py check` and at start-up)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.db import DatabaseError

SENDER_CHECK_ID = "outreach.E101"


def senders_routable_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """An error for each active agency of an active campaign whose From,
    Reply-To or bounce address could never get mail back (DEBUG off only:
    the embedded demo runs with documentation domains)."""
    if settings.DEBUG:
        return []
    try:
        return [_error(agency, problem) for agency, problem in _problems()]
    except DatabaseError:
        return []  # no tables yet (before migrate): nothing to check


def _problems() -> list[tuple[Any, Any]]:
    from letters.outbox import agency_sender_problems
    from outreach.models import Agency, Campaign

    active = Campaign.objects.filter(status=Campaign.Status.ACTIVE)
    agencies = Agency.objects.filter(is_active=True).filter(
        id__in=[
            *active.values_list("lead_agency_id", flat=True),
            *active.values_list("partners__id", flat=True),
        ]
    )
    return [(a, p) for a in agencies.order_by("code") for p in agency_sender_problems(a)]


def _error(agency: Any, problem: Any) -> Error:
    return Error(
        f"Agency {agency.name} ({agency.code}) is in an active campaign but its {problem}.",
        hint=f"Set a real {problem.field} on the agency (admin), or deactivate it.",
        obj=agency,
        id=SENDER_CHECK_ID,
    )
