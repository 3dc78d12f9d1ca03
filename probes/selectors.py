"""Probe reads that more than one caller needs."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from outreach.models import Host


def open_relays_due() -> list[int]:
    """Ids of open relays whose last probe is older than PROBE_REVERIFY_DAYS."""
    cutoff = timezone.now() - timedelta(days=settings.PROBE_REVERIFY_DAYS)
    return list(
        Host.objects.filter(status=Host.Status.OPEN_RELAY, last_probed_at__lt=cutoff)
        .order_by("last_probed_at")
        .values_list("id", flat=True)
    )


def campaign_host_ids(slug: str) -> list[int]:
    return list(
        Host.objects.filter(campaigns__slug=slug).order_by("id").values_list("id", flat=True)
    )
